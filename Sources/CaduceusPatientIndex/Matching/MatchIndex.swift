/// A candidate found for a query record, with its weight and comparison vector.
package struct ScoredCandidate: Sendable, Hashable {
    /// The record's id in the index.
    package var recordID: Int64
    /// Fellegi–Sunter weight.
    package var weight: Double
    /// Field agreement levels.
    package var vector: ComparisonVector
}

/// Blocking: which records a query is compared with. Each record is filed under a few keys; a query is compared
/// only with records sharing at least one key. Keys (hashed to 64 bits):
/// 1. family Soundex + birth year; 2. full birth date; 3. given Soundex + birth month and day (finds family-name
/// changes); 4. phone (last 7 digits); 5. given and family Soundex (finds birth-date typos); 6. postal code + given
/// initial + family initial.
package enum BlockingKeys {
    package static func keys(_ n: NormalizedDemographics) -> [UInt64] { keyed(n).map(\.hash) }

    /// The fields each blocking rule makes agree by construction (rule number → fields): for estimating m by EM
    /// within a rule, these are left out.
    package static let fieldsFixedByRule: [UInt8: Set<MatchField>] = [
        1: [.family, .birthDate], 2: [.birthDate], 3: [.given, .birthDate], 4: [.phone], 5: [.family, .given],
        6: [.postalCode, .family, .given],
    ]

    /// The keys with the rule that made each.
    package static func keyed(_ n: NormalizedDemographics) -> [(rule: UInt8, hash: UInt64)] {
        var keys: [(rule: UInt8, hash: UInt64)] = []
        let year = n.birthDate.prefix(4)
        if !n.familySoundex.isEmpty, !year.isEmpty { keys.append((1, hash(1, n.familySoundex + year))) }
        if !n.birthDate.isEmpty { keys.append((2, hash(2, n.birthDate))) }
        if !n.givenSoundex.isEmpty, n.birthDate.count == 8 { keys.append((3, hash(3, n.givenSoundex + n.birthDate.suffix(4)))) }
        if !n.phone.isEmpty { keys.append((4, hash(4, n.phone))) }
        if !n.givenSoundex.isEmpty, !n.familySoundex.isEmpty {
            // Order-independent, so swapped names share the key.
            let pair = n.givenSoundex.lexicographicallyPrecedes(n.familySoundex)
                ? n.givenSoundex + n.familySoundex : n.familySoundex + n.givenSoundex
            keys.append((5, hash(5, pair)))
        }
        if !n.postalCode.isEmpty, let g = n.given.first, let f = n.family.first { keys.append((6, hash(6, n.postalCode + [g, f]))) }
        return keys
    }

    /// FNV-1a, 64 bits, with the key kind mixed in first. Collisions only add candidates.
    static func hash(_ kind: UInt8, _ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        h = (h ^ UInt64(kind)) &* 0x0000_0100_0000_01B3
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}

/// The in-memory matching index of the MPI: normalised demographics by record id, and the blocking index. Pure
/// and synchronous; the owner (an actor in the exchange layer) serialises access and persists through storage.
package struct MatchIndex: Sendable {
    var records: [Int64: NormalizedDemographics] = [:]
    var blocks: [UInt64: [Int64]] = [:]
    /// Blocks larger than this are skipped when looking for candidates (a very common key, e.g. a default birth
    /// date, says little and would cost much). Default 2,000.
    package var maxBlockSize: Int = 2_000

    /// An empty index.
    package init() {}

    /// How many records are indexed.
    package var count: Int { records.count }

    /// Adds or replaces a record.
    package mutating func insert(_ id: Int64, _ demographics: Demographics) {
        remove(id)
        let n = NormalizedDemographics(demographics)
        records[id] = n
        for key in BlockingKeys.keys(n) { blocks[key, default: []].append(id) }
    }

    /// Removes a record.
    package mutating func remove(_ id: Int64) {
        guard let n = records.removeValue(forKey: id) else { return }
        for key in BlockingKeys.keys(n) {
            blocks[key]?.removeAll { $0 == id }
            if blocks[key]?.isEmpty == true { blocks[key] = nil }
        }
    }

    /// Records that share a blocking key with `demographics`, other than `excluding`.
    package func candidates(for demographics: Demographics, excluding: Int64? = nil) -> [Int64] {
        candidates(NormalizedDemographics(demographics), excluding: excluding)
    }

    func candidates(_ n: NormalizedDemographics, excluding: Int64?) -> [Int64] {
        var seen = Set<Int64>()
        for key in BlockingKeys.keys(n) {
            guard let block = blocks[key], block.count <= maxBlockSize else { continue }
            seen.formUnion(block)
        }
        if let excluding { seen.remove(excluding) }
        return Array(seen)
    }

    /// Candidates scored with `model`, best first, keeping those at or above `minimumWeight`.
    package func matches(
        for demographics: Demographics, model: MatchModel, minimumWeight: Double, excluding: Int64? = nil
    ) -> [ScoredCandidate] {
        let n = NormalizedDemographics(demographics)
        let weights = model.weights
        var out: [ScoredCandidate] = []
        for id in candidates(n, excluding: excluding) {
            guard let other = records[id] else { continue }
            let v = ComparisonVector(n, other)
            var w = 0.0
            for (i, l) in v.levels.enumerated() where l >= 0 { w += weights[i][Int(l)] }
            if w >= minimumWeight { out.append(ScoredCandidate(recordID: id, weight: w, vector: v)) }
        }
        out.sort { $0.weight > $1.weight || ($0.weight == $1.weight && $0.recordID < $1.recordID) }
        return out
    }

    /// Comparison vectors of blocked candidate pairs, for training: up to `limit` pairs.
    package func candidatePairVectors(limit: Int) -> [ComparisonVector] {
        var out: [ComparisonVector] = []
        for (_, block) in blocks where block.count > 1 && block.count <= maxBlockSize {
            for i in 0..<block.count {
                for j in (i + 1)..<block.count {
                    guard let a = records[block[i]], let b = records[block[j]] else { continue }
                    out.append(ComparisonVector(a, b))
                    if out.count >= limit { return out }
                }
            }
        }
        return out
    }

    /// Comparison vectors of pseudo-random pairs (mostly non-matches), for estimating u.
    package func randomPairVectors(count: Int, seed: UInt64 = 0x5EED) -> [ComparisonVector] {
        let ids = Array(records.keys).sorted()
        guard ids.count > 1 else { return [] }
        var state = seed
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33) % ids.count
        }
        var out: [ComparisonVector] = []
        for _ in 0..<count {
            let a = ids[next()]
            let b = ids[next()]
            guard a != b, let x = records[a], let y = records[b] else { continue }
            out.append(ComparisonVector(x, y))
        }
        return out
    }

    /// Trains a model on this index (the approach Splink takes): u from random pairs, which are almost all
    /// non-matches; then, for each blocking rule, EM over that rule's candidate pairs estimates m with u held fixed and
    /// with the fields the rule makes agree left out (within a block they say nothing); a field's m is the
    /// pair-weighted average over the rules that do not fix it. Training on blocked pairs without this step lets EM
    /// settle on another latent class (people who share a household, say).
    package func trainModel(pairLimit: Int = 200_000) -> MatchModel {
        let random = randomPairVectors(count: min(pairLimit, 100_000))
        var model = MatchModel.prior
        guard random.count >= 100 else { return model }
        model.u = MatchModel.estimate(from: random, start: MatchModel(m: model.m, u: model.u, matchProportion: 1e-6), iterations: 1).u
        // Pairs per rule.
        var byRule: [UInt8: [UInt64: [Int64]]] = [:]
        for (id, n) in records {
            for key in BlockingKeys.keyed(n) { byRule[key.rule, default: [:]][key.hash, default: []].append(id) }
        }
        var mSum = MatchField.allCases.map { [Double](repeating: 0, count: $0.levels) }
        var mWeight = [Double](repeating: 0, count: MatchField.allCases.count)
        for (rule, blocks) in byRule.sorted(by: { $0.key < $1.key }) {
            let fixed = BlockingKeys.fieldsFixedByRule[rule] ?? []
            var vectors: [ComparisonVector] = []
            outer: for (_, block) in blocks where block.count > 1 && block.count <= maxBlockSize {
                for i in 0..<block.count {
                    for j in (i + 1)..<block.count {
                        guard let a = records[block[i]], let b = records[block[j]] else { continue }
                        var v = ComparisonVector(a, b)
                        for f in fixed { v.levels[f.rawValue] = -1 }
                        vectors.append(v)
                        if vectors.count >= pairLimit / 6 { break outer }
                    }
                }
            }
            guard vectors.count >= 100 else { continue }
            let fitted = MatchModel.estimate(from: vectors, start: MatchModel(m: MatchModel.prior.m, u: model.u, matchProportion: 0.1), fixU: true)
            let n = Double(vectors.count)
            for f in MatchField.allCases where !fixed.contains(f) {
                for l in 0..<f.levels { mSum[f.rawValue][l] += fitted.m[f.rawValue][l] * n }
                mWeight[f.rawValue] += n
            }
        }
        for f in MatchField.allCases where mWeight[f.rawValue] > 0 {
            model.m[f.rawValue] = mSum[f.rawValue].map { $0 / mWeight[f.rawValue] }
        }
        return model
    }
}
