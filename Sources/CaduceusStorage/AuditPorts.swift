package import CaduceusAudit
package import Foundation
package import Crypto

/// Filters for reading the audit log (`caduceus audit query`, the patient access report).
package struct AuditFilter: Sendable {
    /// Events naming this patient (CX form; the log stores it as this node's pseudonym of it).
    package var patient: String?
    /// Events whose requestor is this user id.
    package var user: String?
    /// Events of this DICOM event id code.
    package var eventID: String?
    /// From (inclusive) and to (exclusive).
    package var from: Date?
    package var to: Date?
    package var limit: Int
    package init(patient: String? = nil, user: String? = nil, eventID: String? = nil, from: Date? = nil, to: Date? = nil, limit: Int = 1000) {
        self.patient = patient
        self.user = user
        self.eventID = eventID
        self.from = from
        self.to = to
        self.limit = limit
    }
}

/// Appends to the hash-chained audit log (inside the unit of work whose effect it records, so the event and the
/// effect commit together). Patient identifiers are replaced by this node's pseudonyms (HMAC blind indexes) before
/// they are chained: the trail holds no identifier, name or birth date in clear.
package protocol AuditTransaction {
    /// Appends events after the current head; returns the chained records.
    @discardableResult
    func appendAudit(_ messages: [AuditMessage]) throws -> [ChainedRecord]
    /// Stores a signed checkpoint of the head.
    func saveCheckpoint(_ checkpoint: AuditCheckpoint) throws(StorageError)

    /// Audit repository (a regional node): appends a record of `node`'s trail as shipped (the caller has checked
    /// it continues the copy held: see ``AuditRepository``).
    func appendRepositoryRecord(node: String, _ record: ChainedRecord, at: Date) throws(StorageError)
    /// Audit repository: keeps a signed checkpoint `node` shipped.
    func saveRepositoryCheckpoint(_ checkpoint: AuditCheckpoint) throws(StorageError)
    /// Audit repository: the last record held of `node`'s trail, in this unit of work.
    func repositoryHead(node: String) throws(StorageError) -> (sequence: UInt64, hash: [UInt8])
    /// Audit repository: the hash held for `node`'s record `sequence`, in this unit of work.
    func repositoryHash(node: String, sequence: UInt64) throws(StorageError) -> [UInt8]?
}

/// Reads the audit log.
package protocol AuditReader {
    /// The head: last sequence number and hash (0 and the genesis hash when empty).
    func auditHead() throws(StorageError) -> (sequence: UInt64, hash: [UInt8])
    /// Calls `body` with every record in sequence order (streamed); stops when it returns false.
    func forEachAuditRecord(_ body: (ChainedRecord) -> Bool) throws(StorageError)
    /// The stored checkpoints.
    func auditCheckpoints() throws(StorageError) -> [AuditCheckpoint]
    /// The stored checkpoints of sequence numbers above `sequence`, oldest first.
    func auditCheckpoints(after sequence: UInt64) throws(StorageError) -> [AuditCheckpoint]
    /// Up to `limit` records from sequence number `from` on, in order.
    func auditRecords(from: UInt64, limit: Int) throws(StorageError) -> [ChainedRecord]
    /// Events matching `filter`, newest first.
    func auditMessages(_ filter: AuditFilter) throws(StorageError) -> [(sequence: UInt64, message: AuditMessage)]

    /// Audit repository: the last record held of `node`'s trail (0 and the genesis hash when none).
    func repositoryHead(node: String) throws(StorageError) -> (sequence: UInt64, hash: [UInt8])
    /// Audit repository: the hash held for `node`'s record `sequence`.
    func repositoryHash(node: String, sequence: UInt64) throws(StorageError) -> [UInt8]?
    /// Audit repository: the checkpoints `node` shipped, oldest first.
    func repositoryCheckpoints(node: String) throws(StorageError) -> [AuditCheckpoint]
    /// Audit repository: every node with a trail held, and its last sequence number.
    func repositoryNodes() throws(StorageError) -> [String: UInt64]
    /// Audit repository: `node`'s records in sequence order (streamed); stops when `body` returns false.
    func forEachRepositoryRecord(node: String, _ body: (ChainedRecord) -> Bool) throws(StorageError)
}

extension AuditReader {
    /// Verifies this log against its own checkpoints and `held` ones (kept elsewhere), signed by `key`, streaming.
    package func verifyAuditLog(key: P256.Signing.PublicKey, held: [AuditCheckpoint] = []) throws(StorageError) -> AuditVerification {
        var verifier = AuditVerifier(checkpoints: try auditCheckpoints() + held, key: key)
        try forEachAuditRecord { verifier.feed($0) }
        return verifier.finish()
    }
}
