package import CaduceusAudit
package import Foundation

/// The audit repository's rules for a node's shipped trail: it holds a gap-free copy, so a record is kept only if
/// it continues the copy (next sequence number, previous hash = the last hash held, hash recomputed by the syslog
/// decoder). A record already held must be identical: a different one means the node's trail was rewritten or rolled
/// back after it was shipped.
package enum AuditRepository {
    /// What one batch did.
    package struct Outcome: Sendable, Hashable {
        package var accepted = 0
        package var duplicates = 0
        package var checkpoints = 0
        /// The batch skipped ahead of the copy (frames lost): the rest was not kept; the node re-ships from the
        /// repository's position.
        package var gapAt: UInt64?
        /// A record (or checkpoint) differs from the copy held at its sequence number: tampering or rollback at the node.
        package var divergedAt: UInt64?
        package init() {}
    }

    /// Keeps what continues `node`'s copy, in one unit of work; stops at the first gap or divergence.
    package static func ingest(_ items: [AuditSyslog.Shipped], from node: String, in tx: any StoreTransaction, at time: Date) throws -> Outcome {
        var outcome = Outcome()
        var (sequence, head) = try tx.repositoryHead(node: node)
        for item in items {
            switch item {
            case .record(let r):
                if r.sequence <= sequence {
                    if try tx.repositoryHash(node: node, sequence: r.sequence) == r.hash {
                        outcome.duplicates += 1
                        continue
                    }
                    outcome.divergedAt = r.sequence
                    return outcome
                }
                guard r.sequence == sequence + 1, r.previousHash == head else {
                    outcome.gapAt = sequence + 1
                    return outcome
                }
                try tx.appendRepositoryRecord(node: node, r, at: time)
                sequence = r.sequence
                head = r.hash
                outcome.accepted += 1
            case .checkpoint(let c):
                guard c.node == node else { continue }
                if c.sequence <= sequence, let held = try tx.repositoryHash(node: node, sequence: c.sequence), held != c.hash {
                    outcome.divergedAt = c.sequence
                    return outcome
                }
                try tx.saveRepositoryCheckpoint(c)
                outcome.checkpoints += 1
            }
        }
        return outcome
    }
}
