import Foundation

/// Fellegi–Sunter parameters (Fellegi & Sunter 1969): for each field and agreement level, m = P(level | same person)
/// and u = P(level | different people). A pair's weight is Σ log2(m/u) over its non-missing fields.
package struct MatchModel: Sendable, Hashable, Codable {
    /// m per field (outer, ``MatchField`` raw value) and level (inner).
    package var m: [[Double]]
    /// u per field and level.
    package var u: [[Double]]
    /// The estimated share of matches among the pairs it was trained on.
    package var matchProportion: Double

    /// Priors used before the index has data to learn from: typical of demographic linkage in the literature.
    package static let prior = MatchModel(
        m: [[0.03, 0.07, 0.90], [0.05, 0.10, 0.85], [0.03, 0.05, 0.92], [0.03, 0.97], [0.20, 0.10, 0.70], [0.15, 0.85], [0.25, 0.75]],
        u: [[0.95, 0.04, 0.01], [0.93, 0.05, 0.02], [0.995, 0.004, 0.001], [0.5, 0.5], [0.98, 0.01, 0.01], [0.97, 0.03], [0.999, 0.001]],
        matchProportion: 0.01)

    /// Creates a model.
    package init(m: [[Double]], u: [[Double]], matchProportion: Double) {
        self.m = m
        self.u = u
        self.matchProportion = matchProportion
    }

    /// The weight of one field at one level: log2(m/u).
    package func weight(_ field: MatchField, level: Int) -> Double {
        log2(m[field.rawValue][level] / u[field.rawValue][level])
    }

    /// The total weight of a comparison vector.
    package func weight(_ v: ComparisonVector) -> Double {
        let table = weights
        var total = 0.0
        for f in MatchField.allCases {
            if let l = v[f] { total += table[f.rawValue][l] }
        }
        return total
    }

    /// log2(m/u) tables.
    var weights: [[Double]] {
        MatchField.allCases.map { f in (0..<f.levels).map { weight(f, level: $0) } }
    }

    /// Estimates m, u and the match proportion by expectation–maximisation over comparison vectors (Winkler 1988;
    /// Jaro 1989), assuming fields independent given match status. Missing fields are skipped. Starts from `start`.
    /// With `fixU`, u stays as given (estimated elsewhere, e.g. from random pairs, as Splink does) and EM estimates
    /// only m and the match proportion: this keeps EM from settling on a latent class such as "same household".
    package static func estimate(from vectors: [ComparisonVector], start: MatchModel = .prior, iterations: Int = 100, fixU: Bool = false) -> MatchModel {
        var patterns: [ComparisonVector: Double] = [:]
        for v in vectors { patterns[v, default: 0] += 1 }
        let distinct = Array(patterns)
        var model = start
        let fields = MatchField.allCases
        let epsilon = 1e-6
        for _ in 0..<iterations {
            var mCount = fields.map { [Double](repeating: epsilon, count: $0.levels) }
            var uCount = fields.map { [Double](repeating: epsilon, count: $0.levels) }
            var matched = 0.0
            var total = 0.0
            for (v, count) in distinct {
                var lm = model.matchProportion
                var lu = 1 - model.matchProportion
                for f in fields {
                    guard let l = v[f] else { continue }
                    lm *= model.m[f.rawValue][l]
                    lu *= model.u[f.rawValue][l]
                }
                let g = lm / max(lm + lu, .leastNonzeroMagnitude)
                matched += g * count
                total += count
                for f in fields {
                    guard let l = v[f] else { continue }
                    mCount[f.rawValue][l] += g * count
                    uCount[f.rawValue][l] += (1 - g) * count
                }
            }
            let next = MatchModel(
                m: mCount.map { row in row.map { $0 / row.reduce(0, +) } },
                u: fixU ? model.u : uCount.map { row in row.map { $0 / row.reduce(0, +) } },
                matchProportion: min(max(matched / max(total, 1), 1e-6), 1 - 1e-6))
            let delta = abs(next.matchProportion - model.matchProportion)
            model = next
            if delta < 1e-9 { break }
        }
        return model
    }
}

/// Where weights turn into decisions. Pairs at or above ``autoLink`` are linked automatically (unless a guard
/// forbids it); pairs between ``review`` and ``autoLink`` go to the review queue; below ``review`` they are
/// different people.
package struct MatchThresholds: Sendable, Hashable, Codable {
    /// Weight at or above which a link is made without review. Default 12.
    package var autoLink: Double
    /// Weight at or above which a pair is queued for review. Default 4.
    package var review: Double

    /// Creates thresholds; `review` must not exceed `autoLink`.
    package init(autoLink: Double = 12, review: Double = 4) {
        precondition(review <= autoLink, "the review threshold must not exceed the auto-link threshold")
        self.autoLink = autoLink
        self.review = review
    }
}


extension MatchThresholds {
    /// Thresholds read off a trained model's posterior: a pair's posterior odds of being a match are
    /// 2^weight × p / (1 − p), with p the model's match proportion among the pairs it was trained on. Auto-link where
    /// the posterior reaches `autoLinkPosterior` (default 0.999), review where it reaches `reviewPosterior` (default
    /// 0.5).
    package static func calibrated(for model: MatchModel, autoLinkPosterior: Double = 0.999, reviewPosterior: Double = 0.5) -> MatchThresholds {
        let prior = log2(model.matchProportion / (1 - model.matchProportion))
        let auto = log2(autoLinkPosterior / (1 - autoLinkPosterior)) - prior
        let review = log2(reviewPosterior / (1 - reviewPosterior)) - prior
        return MatchThresholds(autoLink: auto, review: min(review, auto))
    }
}
