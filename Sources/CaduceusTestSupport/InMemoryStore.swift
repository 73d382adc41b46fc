package import CaduceusStorage
import CaduceusAudit
import CaduceusCore
import CaduceusPatientIndex
import Foundation
import Synchronization

/// A ``CaduceusStore`` held in memory, for unit tests of the use-case services: the same observable behaviour as
/// the SQLite adapter (errors and their codes, ordering, filters, limits, conflicts, the audit hash chain, expiry of
/// the replay cache and sign-outs), and PHI sealed with the ``PHICipher`` exactly as SQLite seals its columns.
///
/// The state is one value under a mutex. A write runs its body on a copy and commits the copy only if the body
/// returns, so a body that throws leaves nothing changed; writes are serialised. A read runs on a snapshot of the
/// committed state. The storage conformance suite (`CaduceusStorageTests`) holds both adapters to one contract.
package final class InMemoryStore: CaduceusStore {
    /// The PHI cipher (a fresh data key, wrapped under the node key, as a new SQLite database makes).
    package let cipher: PHICipher
    let state = Mutex(InMemoryState())

    /// A store whose data key is wrapped by `nodeKey` (a random one when not given).
    package init(nodeKey: NodeKey? = nil) throws {
        let key = nodeKey ?? NodeKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) }))
        cipher = try PHICipher.create(nodeKey: key).0
    }

    package func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let cipher = self.cipher
        return try state.withLock { (committed: inout InMemoryState) throws -> T in
            let tx = InMemoryTransaction(state: committed, cipher: cipher)
            let result = try body(tx)
            committed = tx.state
            return result
        }
    }

    package func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let snapshot = state.withLock { $0 }
        return try body(InMemoryReader(state: snapshot, cipher: cipher))
    }
}

/// Every table of the store, as values. Sealed columns hold what SQLite's hold (AES-GCM under the data key, with
/// the same table.column contexts); dates are kept as SQLite keeps them where they are compared (seconds since
/// 1970, a Double).
struct InMemoryState: Sendable {
    struct MessageRow: Sendable {
        var id: Int64, sender: String, controlID: String, messageType: String, outcome: String, receivedAt: Date, raw: Data, ack: Data
    }
    struct MessageKey: Hashable, Sendable { var sender: String, controlID: String }
    struct TransferRow: Sendable { var record: Data, at: Double, accepted: Bool }
    struct PatientRow: Sendable { var authority: String, record: Data, mergedInto: Data?, updatedAt: Date }
    struct ObservationRow: Sendable { var patient: Data, controlID: String, data: Data, storedAt: Date }
    struct MPIRow: Sendable { var identityIndex: Data, authority: String, identity: Data, demographics: Data, person: String }
    struct ReviewRow: Sendable { var item: ReviewItem, open: Bool }
    struct RepositoryRow: Sendable { var hash: String, size: Int, blob: String, wrappedKey: Data, entry: Data, storedAt: Date }
    struct RegistryRow: Sendable {
        var id: Int64, uniqueId: String, patient: Data, classCode: String, typeCode: String, confidentiality: String
        var creationTime: Double, status: String, hash: String, entry: Data
    }
    struct EvidenceRow: Sendable { var id: Int64, operation: String, sender: String, sha256: String, envelope: Data?, blob: String?, wrappedKey: Data?, receivedAt: Date }
    struct AuditRow: Sendable { var record: ChainedRecord, at: Double, eventID: String, user: String? }
    struct ConsentRow: Sendable { var patient: Data, record: Data, recordedAt: Double }
    struct EmergencyRow: Sendable { var record: Data, startedAt: Double, reviewed: Bool }

    // HL7 message log
    var messages: [MessageRow] = []
    var messageIndex: [MessageKey: Int] = [:]
    // Patient registry
    var patients: [Data: PatientRow] = [:]
    var observations: [ObservationRow] = []
    // MPI
    var mpiRecords: [Int64: MPIRow] = [:]
    var mpiByIdentity: [Data: Int64] = [:]
    var mpiReviews: [Int64: ReviewRow] = [:]
    var mpiDistinct: Set<RecordPair> = []
    var mpiEvents: [MPIEvent] = []
    /// The match model as SQLite keeps it: JSON text (a model that does not encode reads back as none).
    var matchModel: String?
    var auditEvents: [AuditEvent] = []
    // Documents
    var repository: [String: RepositoryRow] = [:]
    var registry: [RegistryRow] = []
    var registryIndex: [String: Int] = [:]
    var submissionSets: Set<String> = []
    var evidence: [EvidenceRow] = []
    var directory: [String: DirectoryNode] = [:]
    var seenRequests: [String: Double] = [:]
    var signOuts: [String: Double] = [:]
    // Audit chain
    var auditLog: [AuditRow] = []
    var auditPatients: [String: [UInt64]] = [:]
    var checkpoints: [UInt64: AuditCheckpoint] = [:]
    // Audit repository (regional): nodes' shipped trails
    var trails: [String: [UInt64: ChainedRecord]] = [:]
    var trailCheckpoints: [String: [UInt64: AuditCheckpoint]] = [:]
    // Consents and the emergency-access review queue
    var consents: [String: ConsentRow] = [:]
    var emergencies: [String: EmergencyRow] = [:]
    // The personnel registry and the card registry (sealed)
    var staff: [String: Data] = [:]
    var cards: [String: (record: Data, enrolledAt: Double)] = [:]
    var codeTables: [String: [Data]] = [:]
    // Push transfers received and sent (sealed), keyed "direction id"
    var transfers: [String: TransferRow] = [:]
}

/// SQL `LIMIT n`: a negative limit is no limit.
func limited<C: Collection>(_ rows: C, _ limit: Int) -> [C.Element] {
    limit < 0 ? Array(rows) : Array(rows.prefix(limit))
}

/// What SQLite's `sql(_:_:)` wrapper throws when the database refuses a statement (a constraint, typically).
func refused(_ what: String) -> StorageError { StorageError(.database, "the database refused to \(what)") }

/// SQLite's BINARY collation: byte order of the UTF-8.
func binaryOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

/// A write transaction: mutates its own copy of the state, which the store commits if the body returns.
final class InMemoryTransaction: StoreTransaction {
    var state: InMemoryState
    let cipher: PHICipher

    init(state: InMemoryState, cipher: PHICipher) {
        self.state = state
        self.cipher = cipher
    }

    /// Reads within this unit of work.
    var reader: InMemoryReader { InMemoryReader(state: state, cipher: cipher) }

    func loggedMessage(sender: String, controlID: String) throws(StorageError) -> (raw: [UInt8], ack: [UInt8])? {
        guard let i = state.messageIndex[.init(sender: sender, controlID: controlID)] else { return nil }
        let row = state.messages[i]
        return (Array(try cipher.open(row.raw, context: "hl7_messages.raw")), Array(try cipher.open(row.ack, context: "hl7_messages.ack")))
    }

    func logMessage(sender: String, controlID: String, messageType: String, outcome: String, sealed: SealedMessage, at: Date) throws(StorageError) {
        let key = InMemoryState.MessageKey(sender: sender, controlID: controlID)
        guard state.messageIndex[key] == nil else { throw refused("log a message") }  // UNIQUE (sender, control_id)
        let id = (state.messages.last?.id ?? 0) + 1
        state.messageIndex[key] = state.messages.count
        state.messages.append(.init(id: id, sender: sender, controlID: controlID, messageType: messageType, outcome: outcome, receivedAt: at, raw: sealed.raw, ack: sealed.ack))
    }

    func patient(_ identity: LocalIdentity) throws(StorageError) -> PatientRecord? { try reader.patient(identity) }

    func savePatient(_ sealed: SealedPatient, at: Date) throws(StorageError) {
        if var row = state.patients[sealed.identityIndex] {
            // ON CONFLICT: the record and its time change; the authority and a merge stay.
            row.record = sealed.blob
            row.updatedAt = at
            state.patients[sealed.identityIndex] = row
        } else {
            state.patients[sealed.identityIndex] = .init(authority: sealed.authority, record: sealed.blob, mergedInto: nil, updatedAt: at)
        }
    }

    func mergePatient(_ prior: LocalIdentity, into survivor: LocalIdentity, at: Date) throws(StorageError) {
        let key = cipher.identityIndex(prior)
        guard state.patients[key] != nil else { return }  // an UPDATE of no row
        state.patients[key]?.mergedInto = cipher.identityIndex(survivor)
        state.patients[key]?.updatedAt = at
    }

    func addObservations(_ observations: [Observation], for identity: LocalIdentity, controlID: String, at: Date) throws(StorageError) {
        let key = cipher.identityIndex(identity)
        for o in observations {
            let sealed = try cipher.seal(json: o, context: "observations.data")
            state.observations.append(.init(patient: key, controlID: controlID, data: sealed, storedAt: at))
        }
    }

    func saveMPIRecord(_ record: Int64, sealed: SealedMPIRecord, person: String) throws(StorageError) {
        if var row = state.mpiRecords[record] {
            // ON CONFLICT (record_id): demographics and person change; the identity stays.
            row.demographics = sealed.demographics
            row.person = person
            state.mpiRecords[record] = row
            return
        }
        guard state.mpiByIdentity[sealed.identityIndex] == nil else { throw refused("save an MPI record") }  // identity_index UNIQUE
        state.mpiRecords[record] = .init(identityIndex: sealed.identityIndex, authority: sealed.authority, identity: sealed.identity, demographics: sealed.demographics, person: person)
        state.mpiByIdentity[sealed.identityIndex] = record
    }

    func applyMPIChange(_ change: MPIChange, actor: String, at: Date) throws(StorageError) {
        let previous = change.previousAssignments
        for (record, person) in change.assignments.sorted(by: { $0.key < $1.key }) {
            state.mpiRecords[record]?.person = person
            state.mpiEvents.append(MPIEvent(action: previous[record] == nil ? "assign" : "relink", recordID: record, personBefore: previous[record], personAfter: person, actor: actor))
        }
        for item in change.addedReviews {
            guard state.mpiReviews[item.id] == nil else { throw refused("apply an MPI change") }  // mpi_reviews.id PRIMARY KEY
            state.mpiReviews[item.id] = .init(item: item, open: true)
            state.mpiEvents.append(MPIEvent(action: "review-queued", recordID: item.recordID, personBefore: nil, personAfter: nil, actor: actor))
        }
        for id in change.closedReviews { state.mpiReviews[id]?.open = false }
        for pair in change.distinctPairs {
            state.mpiDistinct.insert(pair)
            state.mpiEvents.append(MPIEvent(action: "marked-distinct", recordID: pair.low, personBefore: nil, personAfter: String(pair.high), actor: actor))
        }
        // Identity decisions beyond a first assignment go on the audit chain too, in this unit of work.
        var events: [(String, Int64)] = change.assignments.compactMap { record, person in
            guard let before = previous[record], before != person else { return nil }
            return ("mpi.relink", record)
        }
        events += change.addedReviews.map { ("mpi.review-queued", $0.recordID) }
        events += change.distinctPairs.map { ("mpi.marked-distinct", $0.low) }
        guard !events.isEmpty else { return }
        var messages: [AuditMessage] = []
        for (kind, record) in events.sorted(by: { ($0.1, $0.0) < ($1.1, $1.0) }) {
            let identity = try state.mpiRecords[record].map { row throws(StorageError) in
                try cipher.open(json: row.identity, as: LocalIdentity.self, context: "mpi_records.identity")
            }
            messages.append(AuditMessage(
                eventID: .patientRecord, eventTypes: [AuditCode(kind, system: "caduceus-operation", display: kind)], action: .update, outcome: .success,
                time: at, sourceID: "mpi", participants: [AuditParticipant(userID: actor, isRequestor: true)],
                objects: identity.map { [AuditObject.patient("\($0.id)^^^&\($0.authority)&ISO")] } ?? []))
        }
        do { try appendAudit(messages) } catch let e as StorageError { throw e } catch { throw StorageError(.database, "the audit log refused an MPI change") }
    }

    func saveMatchModel(_ model: MatchModel) throws(StorageError) {
        state.matchModel = String(decoding: (try? JSONEncoder().encode(model)) ?? Data(), as: UTF8.self)
    }

    func audit(_ event: AuditEvent, at: Date) throws(StorageError) {
        state.auditEvents.append(event)
    }
}

/// Reads of one snapshot.
struct InMemoryReader: StoreReader {
    let state: InMemoryState
    let cipher: PHICipher

    func patient(_ identity: LocalIdentity) throws(StorageError) -> PatientRecord? {
        guard let row = state.patients[cipher.identityIndex(identity)] else { return nil }
        return try cipher.open(json: row.record, as: PatientRecord.self, context: "patients.record")
    }

    func observations(for identity: LocalIdentity) throws(StorageError) -> [Observation] {
        let key = cipher.identityIndex(identity)
        var out: [Observation] = []
        for row in state.observations where row.patient == key {
            out.append(try cipher.open(json: row.data, as: Observation.self, context: "observations.data"))
        }
        return out
    }

    func messages(limit: Int) throws(StorageError) -> [LoggedMessage] {
        var out: [LoggedMessage] = []
        for row in limited(state.messages.reversed(), limit) {
            let raw = try cipher.open(row.raw, context: "hl7_messages.raw")
            let ack = try cipher.open(row.ack, context: "hl7_messages.ack")
            out.append(LoggedMessage(
                id: row.id, sender: row.sender, controlID: row.controlID, messageType: row.messageType, receivedAt: row.receivedAt,
                outcome: row.outcome, raw: Sensitive(Array(raw)), ack: Sensitive(Array(ack))))
        }
        return out
    }

    func hasMessage(sender: String, controlID: String) throws(StorageError) -> Bool {
        state.messageIndex[.init(sender: sender, controlID: controlID)] != nil
    }

    func messageCount() throws(StorageError) -> Int { state.messages.count }

    func mpiSnapshot() throws(StorageError) -> MPISnapshot {
        var records: [(record: Int64, identity: LocalIdentity, demographics: Demographics, person: String)] = []
        records.reserveCapacity(state.mpiRecords.count)
        for (id, row) in state.mpiRecords.sorted(by: { $0.key < $1.key }) {
            records.append((
                id,
                try cipher.open(json: row.identity, as: LocalIdentity.self, context: "mpi_records.identity"),
                try cipher.open(json: row.demographics, as: Demographics.self, context: "mpi_records.demographics"),
                row.person))
        }
        let reviews = state.mpiReviews.values.filter(\.open).map(\.item).sorted { $0.id < $1.id }
        let distinct = state.mpiDistinct.sorted { ($0.low, $0.high) < ($1.low, $1.high) }
        let model = state.matchModel.flatMap { try? JSONDecoder().decode(MatchModel.self, from: Data($0.utf8)) }
        return MPISnapshot(records: records, reviews: reviews, distinct: distinct, model: model)
    }

    func mpiEvents(record: Int64) throws(StorageError) -> [MPIEvent] {
        state.mpiEvents.filter { $0.recordID == record }
    }

    func auditEvents(limit: Int) throws(StorageError) -> [AuditEvent] {
        limited(state.auditEvents.reversed(), limit)
    }
}
