package import Crypto
package import struct Foundation.Date
import Foundation

/// One record of the hash-chained audit log: its sequence number (gap-free from 1), the previous record's hash, the
/// event as stored (JSON bytes, hashed as stored so no re-encoding can disagree), and its own hash:
/// `SHA-256("caduceus.audit.v1" ‖ 0 ‖ seq (8 bytes BE) ‖ previous ‖ len(body) (8 bytes BE) ‖ body)`.
package struct ChainedRecord: Sendable, Hashable {
    package let sequence: UInt64
    package let previousHash: [UInt8]
    package let body: [UInt8]
    package let hash: [UInt8]

    package init(sequence: UInt64, previousHash: [UInt8], body: [UInt8], hash: [UInt8]) {
        self.sequence = sequence
        self.previousHash = previousHash
        self.body = body
        self.hash = hash
    }

    /// The hash a record with these fields must carry.
    package static func hash(sequence: UInt64, previous: [UInt8], body: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: Array("caduceus.audit.v1".utf8) + [0])
        h.update(data: bigEndian(sequence))
        h.update(data: previous)
        h.update(data: bigEndian(UInt64(body.count)))
        h.update(data: body)
        return Array(h.finalize())
    }

    static func bigEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
}

/// The chain's head as a pure state machine: appending an event yields the record to store.
package struct AuditChain: Sendable {
    /// The hash before the first record.
    package static let genesis = [UInt8](repeating: 0, count: 32)
    /// The last record's sequence number (0 when empty).
    package private(set) var sequence: UInt64
    /// The last record's hash (``genesis`` when empty).
    package private(set) var head: [UInt8]

    /// A chain continuing after (`sequence`, `head`).
    package init(sequence: UInt64 = 0, head: [UInt8] = AuditChain.genesis) {
        self.sequence = sequence
        self.head = head
    }

    /// Appends an event's stored bytes.
    package mutating func append(body: [UInt8]) -> ChainedRecord {
        sequence += 1
        let hash = ChainedRecord.hash(sequence: sequence, previous: head, body: body)
        let record = ChainedRecord(sequence: sequence, previousHash: head, body: body, hash: hash)
        head = hash
        return record
    }

    /// Appends an event (written by ``AuditJSON``).
    package mutating func append(_ event: AuditMessage) throws -> ChainedRecord {
        append(body: AuditJSON.encode(event))
    }

    /// How events are stored: JSON, sorted keys, times in milliseconds since 1970.
    package static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .millisecondsSince1970
        return e
    }

    /// Reads a stored event.
    package static func decode(_ body: [UInt8]) throws -> AuditMessage {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .millisecondsSince1970
        return try d.decode(AuditMessage.self, from: Data(body))
    }
}

/// A signed statement of the chain's head: "record `sequence` has hash `hash`", signed by the node key (ECDSA P-256,
/// SHA-256) at `time`. Kept locally and shipped to the regional audit repository, whose copy catches truncation and
/// rollback of the local log.
package struct AuditCheckpoint: Sendable, Hashable, Codable {
    package var node: String
    package var sequence: UInt64
    package var hash: [UInt8]
    package var time: Date
    package var signature: [UInt8]

    static func message(node: String, sequence: UInt64, hash: [UInt8], time: Date) -> [UInt8] {
        Array("caduceus.audit.checkpoint.v1".utf8) + [0] + Array(node.utf8) + [0] + ChainedRecord.bigEndian(sequence) + hash
            + ChainedRecord.bigEndian(UInt64(max(0, (time.timeIntervalSince1970 * 1000).rounded())))
    }

    /// Signs the head of `chain`.
    package static func sign(node: String, sequence: UInt64, hash: [UInt8], time: Date, key: P256.Signing.PrivateKey) throws -> AuditCheckpoint {
        let ms = Date(timeIntervalSince1970: (time.timeIntervalSince1970 * 1000).rounded() / 1000)
        let signature = try key.signature(for: message(node: node, sequence: sequence, hash: hash, time: ms))
        return AuditCheckpoint(node: node, sequence: sequence, hash: hash, time: ms, signature: Array(signature.derRepresentation))
    }

    /// Whether the signature is `key`'s over these fields.
    package func isValid(for key: P256.Signing.PublicKey) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return key.isValidSignature(signature, for: AuditCheckpoint.message(node: node, sequence: sequence, hash: hash, time: time))
    }
}

/// The verdict of ``AuditVerifier``.
package struct AuditVerification: Sendable, Hashable {
    /// What was wrong.
    package enum Problem: String, Sendable, Hashable {
        /// A record's hash is not the hash of its fields (changed bytes).
        case hashMismatch = "audit.hash-mismatch"
        /// A record does not point at its predecessor's hash (removed, reordered or inserted records).
        case brokenLink = "audit.broken-link"
        /// Sequence numbers are not consecutive (a record deleted or renumbered).
        case sequenceGap = "audit.sequence-gap"
        /// A checkpoint's signature is not the node key's.
        case badCheckpoint = "audit.bad-checkpoint"
        /// The log disagrees with a signed checkpoint (records rewritten with recomputed hashes).
        case checkpointMismatch = "audit.checkpoint-mismatch"
        /// The log ends before a checkpoint (tail truncated, or the database rolled back).
        case truncated = "audit.truncated"
    }
    /// Records read.
    package var records: UInt64
    /// Checkpoints that matched.
    package var checkpointsMatched: Int
    /// The first sequence number found bad (or the first of the range a checkpoint vouches for), `nil` when intact.
    package var firstBad: UInt64?
    /// The problem, `nil` when intact.
    package var problem: Problem?
    /// Whether the log is intact.
    package var isIntact: Bool { problem == nil }
}

/// Verifies a log: every hash, every link, consecutive sequence numbers, and every checkpoint (local ones and the
/// latest held elsewhere) — signature, and agreement with the record at its sequence number. Fed one record at a
/// time, so memory stays flat however long the log.
package struct AuditVerifier: Sendable {
    var result = AuditVerification(records: 0, checkpointsMatched: 0, firstBad: nil, problem: nil)
    let checkpoints: [AuditCheckpoint]
    var next = 0
    var expected: UInt64 = 1
    var previous = AuditChain.genesis
    var lastGood: UInt64 = 0

    /// A verifier for records checked against `checkpoints` signed by `key`.
    package init(checkpoints: [AuditCheckpoint], key: P256.Signing.PublicKey) {
        self.checkpoints = checkpoints.sorted { $0.sequence < $1.sequence }
        if let bad = self.checkpoints.first(where: { !$0.isValid(for: key) }) {
            result.problem = .badCheckpoint
            result.firstBad = bad.sequence
        }
    }

    /// Whether a problem has been found (feeding more changes nothing).
    package var failed: Bool { result.problem != nil }

    /// Checks the next record; returns false once a problem is found.
    @discardableResult
    package mutating func feed(_ r: ChainedRecord) -> Bool {
        guard !failed else { return false }
        result.records += 1
        if r.sequence != expected { return fail(.sequenceGap, at: expected) }
        if r.previousHash != previous { return fail(.brokenLink, at: r.sequence) }
        if ChainedRecord.hash(sequence: r.sequence, previous: r.previousHash, body: r.body) != r.hash {
            return fail(.hashMismatch, at: r.sequence)
        }
        while next < checkpoints.count, checkpoints[next].sequence == r.sequence {
            // A mismatch: some record after the last matching checkpoint was rewritten and the chain recomputed.
            guard checkpoints[next].hash == r.hash else { return fail(.checkpointMismatch, at: lastGood + 1) }
            lastGood = r.sequence
            result.checkpointsMatched += 1
            next += 1
        }
        previous = r.hash
        expected += 1
        return true
    }

    /// The verdict after the last record.
    package mutating func finish() -> AuditVerification {
        if !failed, next < checkpoints.count { _ = fail(.truncated, at: expected) }
        return result
    }

    mutating func fail(_ p: AuditVerification.Problem, at: UInt64) -> Bool {
        result.problem = p
        result.firstBad = at
        return false
    }

    /// Verifies a whole sequence.
    package static func verify<Records: Sequence<ChainedRecord>>(_ records: Records, checkpoints: [AuditCheckpoint], key: P256.Signing.PublicKey) -> AuditVerification {
        var v = AuditVerifier(checkpoints: checkpoints, key: key)
        for r in records where v.feed(r) {}
        return v.finish()
    }
}
