/// What the MPI should do with a new or changed local identity.
package enum MatchDecision: Sendable, Hashable {
    /// Link to the person the best candidate belongs to: the weight clears the auto-link threshold, no guard
    /// objects, and no other person's candidate also clears it.
    case link(ScoredCandidate)
    /// Uncertain: create a new person for now and queue each listed candidate pair for review. The reason is a
    /// stable code (`mpi.review.weight`, `mpi.review.ambiguous`, `mpi.review.given-name`, `mpi.review.same-domain`).
    case review([ScoredCandidate], reason: String)
    /// Nobody matches: a new person.
    case new
}

/// Turns scored candidates into a decision. Never links silently when in doubt:
/// - two or more different persons above the auto-link threshold → review (ambiguous);
/// - given names that disagree outright → at most review (twins share family, birth date, address and phone);
/// - the candidate person already has an identity from the same assigning authority → at most review (one
///   hospital does not give one person two record numbers without someone looking).
package struct MatchPolicy: Sendable, Hashable {
    /// Thresholds.
    package var thresholds: MatchThresholds

    /// Creates a policy.
    package init(thresholds: MatchThresholds = MatchThresholds()) { self.thresholds = thresholds }

    /// Decides. `personOf` maps a candidate record to its person (global id); `sameDomain` tells whether that
    /// person already holds an identity in the query's assigning authority.
    package func decide(
        _ candidates: [ScoredCandidate], personOf: (Int64) -> String?, sameDomain: (String) -> Bool
    ) -> MatchDecision {
        let reviewable = candidates.filter { $0.weight >= thresholds.review }
        guard let best = reviewable.first else { return .new }
        let strong = reviewable.filter { $0.weight >= thresholds.autoLink }
        let strongPersons = Set(strong.compactMap { personOf($0.recordID) })
        if strongPersons.count > 1 { return .review(strong, reason: "mpi.review.ambiguous") }
        guard best.weight >= thresholds.autoLink, let person = personOf(best.recordID) else {
            return .review(Array(reviewable.prefix(5)), reason: "mpi.review.weight")
        }
        if best.vector[.given] == 0 { return .review([best], reason: "mpi.review.given-name") }
        if sameDomain(person) { return .review([best], reason: "mpi.review.same-domain") }
        return .link(best)
    }
}
