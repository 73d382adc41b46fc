/// A candidate found for a query record, with its weight and comparison vector.
public struct ScoredCandidate: Sendable, Hashable {
    /// The record's id in the index.
    public var recordID: Int64
    /// Fellegi–Sunter weight.
    public var weight: Double
    /// Field agreement levels.
    public var vector: ComparisonVector
}

/// Blocking: which records a query is compared with. Each record is filed under a few keys; a query is compared
/// only with records sharing at least one key. Keys (hashed to 64 bits):
/// 1. family Soundex + birth year; 2. full birth date; 3. given Soundex + birth month and day (finds family-name
/// changes); 4. phone (last 7 digits); 5. given and family Soundex (finds birth-date typos); 6. postal code + given
/// initial + family initial.
package enum BlockingKeys {
    package static func keys(_ n: NormalizedDemographics) -> [UInt64] {
        var keys: [UInt64] = []
        let year = n.birthDate.prefix(4)
        if !n.familySoundex.isEmpty, !year.isEmpty { keys.append(hash(1, n.familySoundex + year)) }
        if !n.birthDate.isEmpty { keys.append(hash(2, n.birthDate)) }
        if !n.givenSoundex.isEmpty, n.birthDate.count == 8 { keys.append(hash(3, n.givenSoundex + n.birthDate.suffix(4))) }
        if !n.phone.isEmpty { keys.append(hash(4, n.phone)) }
        if !n.givenSoundex.isEmpty, !n.familySoundex.isEmpty {
            // Order-independent, so swapped names share the key.
            let pair = n.givenSoundex.lexicographicallyPrecedes(n.familySoundex)
                ? n.givenSoundex + n.familySoundex : n.familySoundex + n.givenSoundex
            keys.append(hash(5, pair))
        }
        if !n.postalCode.isEmpty, let g = n.given.first, let f = n.family.first { keys.append(hash(6, n.postalCode + [g, f])) }
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
public struct MatchIndex: Sendable {
    var records: [Int64: NormalizedDemographics] = [:]
    var blocks: [UInt64: [Int64]] = [:]
    /// Blocks larger than this are skipped when looking for candidates (a very common key, e.g. a default birth
    /// date, says little and would cost much). Default 2,000.
    public var maxBlockSize: Int = 2_000

    /// An empty index.
    public init() {}

    /// How many records are indexed.
    public var count: Int { records.count }

    /// Adds or replaces a record.
    public mutating func insert(_ id: Int64, _ demographics: Demographics) {
        remove(id)
        let n = NormalizedDemographics(demographics)
        records[id] = n
        for key in BlockingKeys.keys(n) { blocks[key, default: []].append(id) }
    }

    /// Removes a record.
    public mutating func remove(_ id: Int64) {
        guard let n = records.removeValue(forKey: id) else { return }
        for key in BlockingKeys.keys(n) {
            blocks[key]?.removeAll { $0 == id }
            if blocks[key]?.isEmpty == true { blocks[key] = nil }
        }
    }

    /// Records that share a blocking key with `demographics`, other than `excluding`.
    public func candidates(for demographics: Demographics, excluding: Int64? = nil) -> [Int64] {
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
    public func matches(
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
    public func candidatePairVectors(limit: Int) -> [ComparisonVector] {
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
    public func randomPairVectors(count: Int, seed: UInt64 = 0x5EED) -> [ComparisonVector] {
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

    /// Trains a model on this index: u from random pairs, then EM over blocked candidate pairs with u as start.
    public func trainModel(pairLimit: Int = 200_000) -> MatchModel {
        let random = randomPairVectors(count: min(pairLimit, 100_000))
        var start = MatchModel.prior
        if !random.isEmpty {
            let uOnly = MatchModel.estimate(from: random, start: MatchModel(m: start.m, u: start.u, matchProportion: 0.001), iterations: 1)
            start.u = uOnly.u
        }
        let pairs = candidatePairVectors(limit: pairLimit)
        guard pairs.count >= 100 else { return start }
        return MatchModel.estimate(from: pairs, start: start)
    }
}
