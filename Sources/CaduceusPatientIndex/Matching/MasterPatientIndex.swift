package import CaduceusCore

/// The error type of `CaduceusPatientIndex`.
package struct MPIError: CodedError {
    /// A stable code (`mpi.*`).
    package struct Code: ErrorCode {
        /// The code as text.
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        /// The identity, record, person or review item is not known.
        package static let unknown = Code("mpi.unknown")
        /// The operation would not change anything or contradicts the state (e.g. unlinking a sole identity).
        package static let invalidOperation = Code("mpi.invalid-operation")
    }
    /// What went wrong.
    package let kind: Code
    /// PHI-free message.
    package let message: String
    init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// The state change a registration or an operator action made, for the owner to persist and audit.
package struct MPIChange: Sendable, Hashable {
    /// Records whose person (global id) changed or was set: record → global id.
    package var assignments: [Int64: String] = [:]
    /// For records in ``assignments`` that had a person before: that person.
    package var previousAssignments: [Int64: String] = [:]
    /// Review items added.
    package var addedReviews: [ReviewItem] = []
    /// Review items closed (accepted or rejected).
    package var closedReviews: [Int64] = []
    /// Pairs marked as different people (so they are not queued again).
    package var distinctPairs: [RecordPair] = []
    /// Global ids created.
    package var createdPersons: [String] = []
    /// The decision, for a registration.
    package var decision: MatchDecision?
    /// An empty change (storage adapters' tests build changes field by field).
    package init() {}
}

/// An unordered pair of record ids.
package struct RecordPair: Sendable, Hashable, Codable {
    /// The smaller id.
    package let low: Int64
    /// The larger id.
    package let high: Int64
    /// Creates a pair.
    package init(_ a: Int64, _ b: Int64) {
        low = min(a, b)
        high = max(a, b)
    }
}

/// The master patient index as a pure, in-memory state machine: local identities (records) grouped into persons,
/// each person with a global id (X-PID) under an OID root. Registration links, creates or queues for review;
/// link, unlink, merge and review decisions are explicit operator actions and reversible. Every mutating call
/// returns an ``MPIChange`` for the owner to persist and audit.
package struct MasterPatientIndex: Sendable {
    /// The OID under which global ids are issued (the X-PID assigning authority).
    package let globalAuthority: String
    /// The match model.
    package var model: MatchModel
    /// Link policy.
    package var policy: MatchPolicy
    var index = MatchIndex()
    var identityOf: [Int64: LocalIdentity] = [:]
    var recordOf: [LocalIdentity: Int64] = [:]
    var demographicsOf: [Int64: Demographics] = [:]
    var personOf: [Int64: String] = [:]
    var membersOf: [String: Set<Int64>] = [:]
    var reviews: [Int64: ReviewItem] = [:]
    var distinct: Set<RecordPair> = []
    var nextRecordID: Int64 = 1
    var nextReviewID: Int64 = 1
    var nextPerson: Int64 = 1

    /// An empty index issuing global ids under `globalAuthority`.
    package init(globalAuthority: String, model: MatchModel = .prior, policy: MatchPolicy = MatchPolicy()) {
        self.globalAuthority = globalAuthority
        self.model = model
        self.policy = policy
    }

    /// Number of records (local identities).
    package var recordCount: Int { identityOf.count }
    /// Number of persons (global ids).
    package var personCount: Int { membersOf.count }
    /// The open review queue, oldest first.
    package var reviewQueue: [ReviewItem] { reviews.values.sorted { $0.id < $1.id } }

    /// The record id of an identity.
    package func record(of identity: LocalIdentity) -> Int64? { recordOf[identity] }
    /// The identity of a record.
    package func identity(of record: Int64) -> LocalIdentity? { identityOf[record] }
    /// The demographics of a record.
    package func demographics(of record: Int64) -> Demographics? { demographicsOf[record] }
    /// The global id of a record.
    package func person(of record: Int64) -> String? { personOf[record] }
    /// The records of a person.
    package func members(of person: String) -> [Int64] { (membersOf[person] ?? []).sorted() }

    // MARK: Registration

    /// Registers a local identity with its demographics, or updates a known one. A new identity is matched: linked
    /// to an existing person when certain, given a new person otherwise, and queued for review when uncertain. An
    /// update re-indexes the demographics and never moves the identity to another person by itself; it may queue a
    /// review.
    package mutating func register(_ identity: LocalIdentity, _ demographics: Demographics) -> (record: Int64, change: MPIChange) {
        var change = MPIChange()
        if let existing = recordOf[identity] {
            demographicsOf[existing] = demographics
            index.insert(existing, demographics)
            let candidates = index.matches(for: demographics, model: model, minimumWeight: policy.thresholds.review, excluding: existing)
                .filter { personOf[$0.recordID] != personOf[existing] && !distinct.contains(RecordPair(existing, $0.recordID)) }
            if let best = candidates.first {
                change.addedReviews.append(queue(existing, best, reason: "mpi.review.update"))
            }
            return (existing, change)
        }
        let id = nextRecordID
        nextRecordID += 1
        let candidates = index.matches(for: demographics, model: model, minimumWeight: policy.thresholds.review)
        let decision = policy.decide(
            candidates, personOf: { personOf[$0] },
            sameDomain: { person in (membersOf[person] ?? []).contains { identityOf[$0]?.authority == identity.authority } })
        change.decision = decision
        identityOf[id] = identity
        recordOf[identity] = id
        demographicsOf[id] = demographics
        index.insert(id, demographics)
        switch decision {
        case .link(let best):
            let person = personOf[best.recordID]!
            assign(id, to: person, &change)
        case .review(let list, let reason):
            assign(id, to: newPerson(&change), &change)
            for c in list { change.addedReviews.append(queue(id, c, reason: reason)) }
        case .new:
            assign(id, to: newPerson(&change), &change)
        }
        return (id, change)
    }

    mutating func newPerson(_ change: inout MPIChange) -> String {
        let person = String(nextPerson)
        nextPerson += 1
        change.createdPersons.append(person)
        return person
    }

    mutating func assign(_ record: Int64, to person: String, _ change: inout MPIChange) {
        if let old = personOf[record] {
            if change.previousAssignments[record] == nil { change.previousAssignments[record] = old }
            membersOf[old]?.remove(record)
            if membersOf[old]?.isEmpty == true { membersOf[old] = nil }
        }
        personOf[record] = person
        membersOf[person, default: []].insert(record)
        change.assignments[record] = person
    }

    mutating func queue(_ record: Int64, _ candidate: ScoredCandidate, reason: String) -> ReviewItem {
        let item = ReviewItem(id: nextReviewID, recordID: record, candidateRecordID: candidate.recordID, weight: candidate.weight, reason: reason)
        nextReviewID += 1
        reviews[item.id] = item
        return item
    }

    // MARK: Operator actions (reversible, audited by the owner)

    /// Moves `record` to the person of `target` (a manual link).
    package mutating func link(_ record: Int64, toPersonOf target: Int64) throws(MPIError) -> MPIChange {
        guard identityOf[record] != nil, let person = personOf[target] else { throw MPIError(.unknown, "unknown record") }
        guard personOf[record] != person else { throw MPIError(.invalidOperation, "the records already belong to one person") }
        var change = MPIChange()
        assign(record, to: person, &change)
        distinct.remove(RecordPair(record, target))
        return change
    }

    /// Gives `record` a person of its own (undoes a link). Refused when it already stands alone.
    package mutating func unlink(_ record: Int64) throws(MPIError) -> MPIChange {
        guard let person = personOf[record] else { throw MPIError(.unknown, "unknown record") }
        guard (membersOf[person]?.count ?? 0) > 1 else { throw MPIError(.invalidOperation, "the record is the person's only identity") }
        var change = MPIChange()
        let fresh = newPerson(&change)
        assign(record, to: fresh, &change)
        for other in membersOf[person] ?? [] { distinct.insert(RecordPair(record, other)); change.distinctPairs.append(RecordPair(record, other)) }
        return change
    }

    /// Accepts a review item: links its record to the candidate's person.
    package mutating func acceptReview(_ id: Int64) throws(MPIError) -> MPIChange {
        guard let item = reviews[id] else { throw MPIError(.unknown, "unknown review item") }
        var change = MPIChange()
        if personOf[item.recordID] != personOf[item.candidateRecordID], let person = personOf[item.candidateRecordID] {
            assign(item.recordID, to: person, &change)
        }
        reviews[id] = nil
        change.closedReviews.append(id)
        return change
    }

    /// Rejects a review item: the two records are different people and will not be queued again.
    package mutating func rejectReview(_ id: Int64) throws(MPIError) -> MPIChange {
        guard let item = reviews[id] else { throw MPIError(.unknown, "unknown review item") }
        var change = MPIChange()
        reviews[id] = nil
        let pair = RecordPair(item.recordID, item.candidateRecordID)
        distinct.insert(pair)
        change.closedReviews.append(id)
        change.distinctPairs.append(pair)
        return change
    }

    /// Merges within one domain (HL7 A40): the prior identity `from` is retired into `into`; the record of `from`
    /// joins `into`'s person and keeps its row so the merge can be undone with ``unlink(_:)``.
    package mutating func merge(_ from: LocalIdentity, into: LocalIdentity) throws(MPIError) -> MPIChange {
        guard let source = recordOf[from], let target = recordOf[into], let person = personOf[target] else {
            throw MPIError(.unknown, "unknown identity")
        }
        var change = MPIChange()
        if personOf[source] != person { assign(source, to: person, &change) }
        return change
    }

    // MARK: Queries

    /// PIX: every identity of the person `identity` belongs to (itself included), optionally limited to
    /// `domains`. Nil when the identity is unknown.
    package func crossReferences(of identity: LocalIdentity, domains: Set<String>? = nil) -> (person: String, identities: [LocalIdentity])? {
        guard let record = recordOf[identity], let person = personOf[record] else { return nil }
        let ids = members(of: person).compactMap { identityOf[$0] }.filter { domains?.contains($0.authority) ?? true }
        return (person, ids.sorted())
    }

    /// PDQ: persons whose records agree with every criterion given (names may be similar: same Soundex or
    /// Jaro–Winkler ≥ 0.88; birth date, sex, postal code and phone exact), best first.
    package func search(_ criteria: Demographics, limit: Int = 1_000) -> [(person: String, record: Int64, weight: Double)] {
        var probe = index
        probe.maxBlockSize = 100_000
        let query = NormalizedDemographics(criteria)
        var ids = Set(probe.candidates(query, excluding: nil))
        if ids.isEmpty || (query.birthDate.isEmpty && query.phone.isEmpty) {
            // Criteria too thin to block on (e.g. a family name alone): scan.
            ids = Set(identityOf.keys)
        }
        var best: [String: (Int64, Double)] = [:]
        let weights = model.weights
        for id in ids {
            guard let n = index.records[id], let person = personOf[id] else { continue }
            let v = ComparisonVector(query, n)
            var ok = true
            var w = 0.0
            for f in MatchField.allCases {
                let given = v.levels[f.rawValue]
                if given < 0 { if Self.hasCriterion(query, f) { ok = false; break } else { continue } }
                let minimum = (f == .family || f == .given || f == .street) ? 1 : f.levels - 1
                if given < minimum { ok = false; break }
                w += weights[f.rawValue][Int(given)]
            }
            guard ok else { continue }
            if (best[person]?.1 ?? -.infinity) < w { best[person] = (id, w) }
        }
        return best.map { (person: $0.key, record: $0.value.0, weight: $0.value.1) }
            .sorted { $0.weight > $1.weight || ($0.weight == $1.weight && $0.person < $1.person) }
            .prefix(limit).map { $0 }
    }

    static func hasCriterion(_ q: NormalizedDemographics, _ f: MatchField) -> Bool {
        switch f {
        case .family: return !q.family.isEmpty
        case .given: return !q.given.isEmpty
        case .birthDate: return !q.birthDate.isEmpty
        case .sex: return q.sex != 0
        case .street: return !q.street.isEmpty
        case .postalCode: return !q.postalCode.isEmpty
        case .phone: return !q.phone.isEmpty
        }
    }

    // MARK: Restore

    /// Restores a persisted record (at start-up). Does not match.
    package mutating func restore(record: Int64, identity: LocalIdentity, demographics: Demographics, person: String) {
        identityOf[record] = identity
        recordOf[identity] = record
        demographicsOf[record] = demographics
        personOf[record] = person
        membersOf[person, default: []].insert(record)
        index.insert(record, demographics)
        nextRecordID = max(nextRecordID, record + 1)
        if let n = Int64(person) { nextPerson = max(nextPerson, n + 1) }
    }

    /// Restores an open review item.
    package mutating func restore(review: ReviewItem) {
        reviews[review.id] = review
        nextReviewID = max(nextReviewID, review.id + 1)
    }

    /// Restores a pair known to be different people.
    package mutating func restore(distinct pair: RecordPair) { distinct.insert(pair) }

    /// Re-estimates the model from the indexed records (EM).
    package mutating func retrain() { model = index.trainModel() }

    /// The matching index (for benchmarks and diagnostics).
    package var matchIndex: MatchIndex { index }
}
