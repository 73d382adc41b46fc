package import CaduceusCore
package import CaduceusPatientIndex
package import Foundation

/// A stored patient in a hospital's registry (from ADT): everything PID, PD1, NK1 and IN1 carried, kept as one
/// encrypted document per local identity.
package struct PatientRecord: Sendable, Hashable, Codable {
    /// The identity the registry keys on (PID-3, first repetition in a known domain).
    package var identity: LocalIdentity
    /// Every PID-3 identifier.
    package var identifiers: [LocalIdentity]
    /// Demographics used for matching.
    package var demographics: Demographics
    /// Other names (PID-5 repetitions after the first), as `family^given`.
    package var otherNames: [String]
    /// Next of kin and emergency contacts (NK1): name, relationship, role, phone.
    package var contacts: [Contact]
    /// Insurance (IN1): plan, company, policy number, group.
    package var insurance: [Insurance]
    /// Primary care provider (PD1-4).
    package var primaryCareProvider: String
    /// MSH-10 of the message that last changed the record.
    package var lastMessageControlID: String
    /// Diagnoses (DG1) from the last ADT that carried any. Optional so records stored before it existed still open.
    package var problems: [ClinicalEntry]?
    /// Allergies (AL1) from the last ADT that carried any.
    package var allergies: [ClinicalEntry]?
    /// Medication orders (RXE from RDE^O11), accumulated.
    package var medications: [ClinicalEntry]?

    /// A coded clinical item (a diagnosis, an allergen, a medication) with its time and free text.
    package struct ClinicalEntry: Sendable, Hashable, Codable {
        /// The code (CWE-1).
        package var code: String
        /// Its text (CWE-2).
        package var text: String
        /// Its coding system (CWE-3: `I10`, `SCT`, `RXNORM`…).
        package var system: String
        /// When (onset, start; HL7 TS), `""` when unknown.
        package var time: String
        /// Free text: reaction for an allergy, instructions for a medication, type for a diagnosis.
        package var detail: String
        /// Severity for an allergy (`SV`, `MO`, `MI`), `""` otherwise.
        package var severity: String
        package init(code: String, text: String, system: String, time: String = "", detail: String = "", severity: String = "") {
            self.code = code
            self.text = text
            self.system = system
            self.time = time
            self.detail = detail
            self.severity = severity
        }
    }

    /// NK1.
    package struct Contact: Sendable, Hashable, Codable {
        package var name: String
        package var relationship: String
        package var role: String
        package var phone: String
        package init(name: String, relationship: String, role: String, phone: String) {
            self.name = name
            self.relationship = relationship
            self.role = role
            self.phone = phone
        }
    }

    /// IN1.
    package struct Insurance: Sendable, Hashable, Codable {
        package var plan: String
        package var company: String
        package var policyNumber: String
        package var groupNumber: String
        package init(plan: String, company: String, policyNumber: String, groupNumber: String) {
            self.plan = plan
            self.company = company
            self.policyNumber = policyNumber
            self.groupNumber = groupNumber
        }
    }

    /// Creates a record.
    package init(identity: LocalIdentity, identifiers: [LocalIdentity], demographics: Demographics, otherNames: [String] = [], contacts: [Contact] = [], insurance: [Insurance] = [], primaryCareProvider: String = "", lastMessageControlID: String = "") {
        self.identity = identity
        self.identifiers = identifiers
        self.demographics = demographics
        self.otherNames = otherNames
        self.contacts = contacts
        self.insurance = insurance
        self.primaryCareProvider = primaryCareProvider
        self.lastMessageControlID = lastMessageControlID
    }
}

/// One observation (OBX) stored against a patient.
package struct Observation: Sendable, Hashable, Codable {
    package var code: String
    package var codeSystem: String
    package var text: String
    package var valueType: String
    package var values: [String]
    package var units: String
    package var status: String
    package var observedAt: String
    package var orderCode: String
    package init(code: String, codeSystem: String, text: String, valueType: String, values: [String], units: String, status: String, observedAt: String, orderCode: String) {
        self.code = code
        self.codeSystem = codeSystem
        self.text = text
        self.valueType = valueType
        self.values = values
        self.units = units
        self.status = status
        self.observedAt = observedAt
        self.orderCode = orderCode
    }
}

/// A message as logged: who sent it, its control id, what it was, and the ACK sent.
package struct LoggedMessage: Sendable, Hashable {
    package var id: Int64
    package var sender: String
    package var controlID: String
    package var messageType: String
    package var receivedAt: Date
    package var outcome: String
    package var raw: Sensitive<[UInt8]>
    package var ack: Sensitive<[UInt8]>
    package init(id: Int64, sender: String, controlID: String, messageType: String, receivedAt: Date, outcome: String, raw: Sensitive<[UInt8]>, ack: Sensitive<[UInt8]>) {
        self.id = id
        self.sender = sender
        self.controlID = controlID
        self.messageType = messageType
        self.receivedAt = receivedAt
        self.outcome = outcome
        self.raw = raw
        self.ack = ack
    }
}

/// An MPI state change as an audit row: who did what to which record. No PHI (ids are internal).
package struct MPIEvent: Sendable, Hashable {
    package var action: String
    package var recordID: Int64
    package var personBefore: String?
    package var personAfter: String?
    package var actor: String
    package init(action: String, recordID: Int64, personBefore: String?, personAfter: String?, actor: String) {
        self.action = action
        self.recordID = recordID
        self.personBefore = personBefore
        self.personAfter = personAfter
        self.actor = actor
    }
}

/// A security or processing event with no PHI (rejections, refusals). The tamper-evident audit trail of the
/// access-control issue will take these over.
package struct AuditEvent: Sendable, Hashable {
    package var kind: String
    package var code: String
    package var detail: String
    package init(kind: String, code: String, detail: String) {
        self.kind = kind
        self.code = code
        self.detail = detail
    }
}

/// The MPI's persisted state, for rebuilding the in-memory index at start-up.
package struct MPISnapshot: Sendable {
    package var records: [(record: Int64, identity: LocalIdentity, demographics: Demographics, person: String)]
    package var reviews: [ReviewItem]
    package var distinct: [RecordPair]
    package var model: MatchModel?
    /// Creates a snapshot.
    package init(records: [(record: Int64, identity: LocalIdentity, demographics: Demographics, person: String)], reviews: [ReviewItem], distinct: [RecordPair], model: MatchModel?) {
        self.records = records
        self.reviews = reviews
        self.distinct = distinct
        self.model = model
    }
}

/// What a write transaction can do. Everything done through one transaction commits together, or not at all.
package protocol StoreTransaction: DocumentTransaction, AuditTransaction, ConsentTransaction, CardTransaction, CodeTableTransaction, TransferTransaction {
    // HL7 message log
    /// The message already processed for (sender, control id) and the ACK sent for it, if any.
    func loggedMessage(sender: String, controlID: String) throws(StorageError) -> (raw: [UInt8], ack: [UInt8])?
    /// Logs a processed message (raw and ACK sealed by ``PHICipher/seal(message:ack:)``).
    func logMessage(sender: String, controlID: String, messageType: String, outcome: String, sealed: SealedMessage, at: Date) throws(StorageError)

    // Patient registry (hospital role)
    /// The patient filed under `identity`.
    func patient(_ identity: LocalIdentity) throws(StorageError) -> PatientRecord?
    /// Creates or replaces a patient (sealed by ``PHICipher/seal(patient:)``).
    func savePatient(_ sealed: SealedPatient, at: Date) throws(StorageError)
    /// Marks `prior` as merged into `survivor` (A40): the prior row stays, pointing at the survivor.
    func mergePatient(_ prior: LocalIdentity, into survivor: LocalIdentity, at: Date) throws(StorageError)
    /// Stores observations for a patient.
    func addObservations(_ observations: [Observation], for identity: LocalIdentity, controlID: String, at: Date) throws(StorageError)

    // MPI (regional/global role)
    /// Stores or updates an MPI record (sealed by ``PHICipher/seal(mpiIdentity:demographics:)``).
    func saveMPIRecord(_ record: Int64, sealed: SealedMPIRecord, person: String) throws(StorageError)
    /// Applies a change: assignments, reviews added and closed, distinct pairs, and an audit event per assignment.
    func applyMPIChange(_ change: MPIChange, actor: String, at: Date) throws(StorageError)
    /// Saves the match model.
    func saveMatchModel(_ model: MatchModel) throws(StorageError)

    // Audit
    /// Appends an audit event.
    func audit(_ event: AuditEvent, at: Date) throws(StorageError)
}

/// Read-only access.
package protocol StoreReader: DocumentReader, AuditReader, ConsentReader, CardReader, CodeTableReader, TransferReader {
    /// The patient filed under `identity`.
    func patient(_ identity: LocalIdentity) throws(StorageError) -> PatientRecord?
    /// Observations of a patient, oldest first.
    func observations(for identity: LocalIdentity) throws(StorageError) -> [Observation]
    /// The patients of the registry not merged into another, most recently updated first, at most `limit` (each one
    /// opened: callers bound `limit`).
    func patients(limit: Int) throws(StorageError) -> [PatientRecord]
    /// Logged messages, newest first.
    func messages(limit: Int) throws(StorageError) -> [LoggedMessage]
    /// Whether (sender, control id) was processed.
    func hasMessage(sender: String, controlID: String) throws(StorageError) -> Bool
    /// Number of logged messages.
    func messageCount() throws(StorageError) -> Int
    /// The whole MPI state.
    func mpiSnapshot() throws(StorageError) -> MPISnapshot
    /// MPI audit events for a record, oldest first.
    func mpiEvents(record: Int64) throws(StorageError) -> [MPIEvent]
    /// Audit events, newest first.
    func auditEvents(limit: Int) throws(StorageError) -> [AuditEvent]
}

/// The storage port (DESIGN §4, layer 2): a unit of work per write, committed durably before it returns.
/// Adapters batch concurrent writes into one commit (group commit) but never return before the fsync.
package protocol CaduceusStore: Sendable {
    /// The PHI cipher, so callers can seal values before they enter a (serialised) write.
    var cipher: PHICipher { get }
    /// Runs `body` in a write transaction; returns after the commit is durable. If `body` throws, nothing it did
    /// is kept (other writes in the same group commit are unaffected).
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
    /// Runs each of `bodies` as its own unit of work, in the order given — each sees what the ones before it did, and
    /// one that throws leaves the others alone — and returns after they are all durable, each with its outcome.
    /// An adapter with group commit queues them together, so they share the commit (and its fsync).
    func writeAll<T: Sendable>(_ bodies: [@Sendable (any StoreTransaction) throws -> T]) async -> [Result<T, any Error>]
    /// Runs `body` on a consistent snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T
}

extension CaduceusStore {
    /// One ``write(_:)`` after another: the order holds, nothing is shared.
    package func writeAll<T: Sendable>(_ bodies: [@Sendable (any StoreTransaction) throws -> T]) async -> [Result<T, any Error>] {
        var results: [Result<T, any Error>] = []
        results.reserveCapacity(bodies.count)
        for body in bodies {
            do { results.append(.success(try await write(body))) } catch { results.append(.failure(error)) }
        }
        return results
    }
}
