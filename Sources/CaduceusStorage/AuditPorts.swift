public import CaduceusAudit
public import Foundation
public import Crypto

/// Filters for reading the audit log (`caduceus audit query`, the patient access report).
public struct AuditFilter: Sendable {
    /// Events naming this patient (CX form; the log stores it as this node's pseudonym of it).
    public var patient: String?
    /// Events whose requestor is this user id.
    public var user: String?
    /// Events of this DICOM event id code.
    public var eventID: String?
    /// From (inclusive) and to (exclusive).
    public var from: Date?
    public var to: Date?
    public var limit: Int
    public init(patient: String? = nil, user: String? = nil, eventID: String? = nil, from: Date? = nil, to: Date? = nil, limit: Int = 1000) {
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
public protocol AuditTransaction {
    /// Appends events after the current head; returns the chained records.
    @discardableResult
    func appendAudit(_ messages: [AuditMessage]) throws -> [ChainedRecord]
    /// Stores a signed checkpoint of the head.
    func saveCheckpoint(_ checkpoint: AuditCheckpoint) throws(StorageError)
}

/// Reads the audit log.
public protocol AuditReader {
    /// The head: last sequence number and hash (0 and the genesis hash when empty).
    func auditHead() throws(StorageError) -> (sequence: UInt64, hash: [UInt8])
    /// Calls `body` with every record in sequence order (streamed); stops when it returns false.
    func forEachAuditRecord(_ body: (ChainedRecord) -> Bool) throws(StorageError)
    /// The stored checkpoints.
    func auditCheckpoints() throws(StorageError) -> [AuditCheckpoint]
    /// Events matching `filter`, newest first.
    func auditMessages(_ filter: AuditFilter) throws(StorageError) -> [(sequence: UInt64, message: AuditMessage)]
}

extension AuditReader {
    /// Verifies this log against its own checkpoints and `held` ones (kept elsewhere), signed by `key`, streaming.
    public func verifyAuditLog(key: P256.Signing.PublicKey, held: [AuditCheckpoint] = []) throws(StorageError) -> AuditVerification {
        var verifier = AuditVerifier(checkpoints: try auditCheckpoints() + held, key: key)
        try forEachAuditRecord { verifier.feed($0) }
        return verifier.finish()
    }
}
