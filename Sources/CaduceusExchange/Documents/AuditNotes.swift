import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusPKI
import Foundation
import Synchronization
import CaduceusPolicy
import CaduceusStorage

/// A request inside the gate: the opened envelope, and the audit notes of its operation, handed explicitly to every
/// handler and to the steps it calls (policy decisions, sign-in checks). The envelope's fields read through (`o.message`,
/// `o.identity`).
@dynamicMemberLookup
struct ExchangeRequest: Sendable {
    /// The envelope as the gate opened and checked it.
    let envelope: OpenedEnvelope
    /// What the operation touched, for its one audit event.
    let audit: AuditNotes
    /// The door it came through.
    let door: Door

    subscript<T>(dynamicMember path: KeyPath<OpenedEnvelope, T>) -> T { envelope[keyPath: path] }
}

/// What an operation touched (patients, documents, purpose, policy rules, alerts), collected while it runs, for its
/// audit message. The gate makes one per request and passes it in an ``ExchangeRequest``; steps outside a request
/// (the node's own calls) take `nil`.
final class AuditNotes: Sendable {

    let state = Mutex<(signer: FederationIdentity?, objects: [AuditObject], purpose: String, emergency: Bool, alerts: [AuditCode], rules: [String])>((nil, [], "", false, [], []))

    /// The door the request came through when it is not the envelope API (`portal`): an event type of the system
    /// `caduceus-door` on the operation's event.
    let doorName = Mutex<String?>(nil)

    /// What the operation stores, written by the gate in the one transaction that also appends the operation's audit
    /// event — one durable commit per node per hop, before the reply leaves. When the operation fails, only the writes
    /// marked `always` (signed evidence: what a peer or the requester signed stays on file whatever became of the
    /// operation) are written, with the failure event.
    let writes = Mutex<[(always: Bool, write: @Sendable (any StoreTransaction) throws -> Void)]>([])
    /// What to undo outside the database when the operation fails (blobs written ahead of its commit).
    let cleanups = Mutex<[@Sendable () -> Void]>([])

    /// Adds a write to the operation's commit (see ``writes``).
    func commit(always: Bool = false, _ write: @escaping @Sendable (any StoreTransaction) throws -> Void) {
        writes.withLock { $0.append((always, write)) }
    }

    /// The writes for the commit of an operation that succeeded (all of them) or failed (those marked `always`).
    func writes(succeeded: Bool) -> [@Sendable (any StoreTransaction) throws -> Void] {
        writes.withLock { w in w.filter { succeeded || $0.always }.map(\.write) }
    }

    /// Adds an undo step for when the operation fails.
    func onFailure(_ cleanup: @escaping @Sendable () -> Void) { cleanups.withLock { $0.append(cleanup) } }

    /// Runs the undo steps (the gate, once the operation has failed).
    func failed() {
        for cleanup in cleanups.withLock({ c in defer { c = [] }; return c }) { cleanup() }
    }

    /// Records the door the request came through.
    func door(_ name: String) { doorName.withLock { $0 = name } }

    /// Records a policy decision taken for the operation: its rule ids go on the event (as event types of the system
    /// `caduceus-policy`, `permit:` or `deny:` first), at most 20 distinct.
    func decision(_ d: Decision) {
        state.withLock { s in
            for r in d.reasons {
                let rule = d.effect.rawValue + ":" + r
                if !s.rules.contains(rule), s.rules.count < 20 { s.rules.append(rule) }
            }
        }
    }

    /// Adds a Security Alert of type `type` (emergency override started/stopped, consent changed) beside the
    /// operation's own event, written only if the operation succeeds.
    func alert(_ type: AuditCode) {
        state.withLock { $0.alerts.append(type) }
    }

    /// Records the purpose of use asserted (and whether it is an emergency override).
    func purpose(_ p: String) {
        state.withLock { $0.purpose = p; $0.emergency = p == "ETREAT" }
    }

    var signer: FederationIdentity? {
        get { state.withLock { $0.signer } }
        set { state.withLock { $0.signer = newValue } }
    }

    func patient(_ p: PatientIdentifier) {
        add(.patient(p.description))
    }

    func documents(_ ids: [String]) {
        for id in ids.prefix(100) { add(.document(id)) }
    }

    func add(_ o: AuditObject) {
        state.withLock { s in if !s.objects.contains(o) { s.objects.append(o) } }
    }

    /// DICOM PS3.15 A.5 event ids and actions per operation (ITI-8/9/21-style for the MPI, ITI-18/41/42/43 for
    /// documents).
    static func kind(_ operation: ExchangeOperation) -> (AuditCode, AuditAction) {
        switch operation {
        case .registerIdentity: return (.patientRecord, .create)
        case .findPatients, .userFindPatients, .query, .userQuery: return (.query, .execute)
        case .registerSubmission, .transfer, .submit: return (.import, .create)
        case .retrieve, .userTransfer: return (.export, .read)
        case .userRetrieve: return (.import, .read)
        case .publishNode: return (.applicationActivity, .update)
        case .signIn, .signOut, .revokeSession: return (.userAuthentication, .execute)
        case .userEmergencies: return (.query, .execute)
        case .userEmergencyReview: return (.securityAlert, .update)
        case .userAuditSearch: return (.query, .execute)
        case .userAuditExport: return (.export, .read)
        case .userConsent, .registerConsent: return (.patientRecord, .update)
        case .userConsents, .queryConsents: return (.query, .execute)
        case .auditPosition: return (.applicationActivity, .execute)
        case .publishCRL: return (.securityAlert, .update)
        case .userAccessReport, .accessReport, .accessEvents: return (.query, .execute)
        case .staffImport: return (.securityAlert, .update)
        case .cardEnroll: return (.securityAlert, .create)
        case .cardAction: return (.securityAlert, .update)
        case .staffList, .cardList, .userCard, .adminOverview, .adminCodes: return (.query, .execute)
        case .adminCodesSave: return (.applicationActivity, .update)
        case .adminPatients, .adminMPIReview, .mpiReview, .mpiLinks, .userTransfers: return (.query, .execute)
        case .adminMPIDecide, .mpiDecide, .userTransferAccept: return (.patientRecord, .update)
        }
    }

    /// DICOM "Node Authentication" (110126): the alert type of a refusal for unknown revocation status.
    static let nodeAuthentication = AuditCode("110126", system: "DCM", display: "Node Authentication")

    /// The operation's audit message, followed (on success) by its Security Alerts; a refusal for unknown
    /// revocation status (`pki.revocation-unknown`) is followed by a Security Alert of its own.
    static func messages(for operation: ExchangeOperation, notes: AuditNotes, node: String, endpoint: String, error: (any Error)?, time: Date) -> [AuditMessage] {
        let main = message(for: operation, notes: notes, node: node, endpoint: endpoint, error: error, time: time)
        if error != nil {
            // A certificate refused because its issuer's revocation status is unknown (no list, or a stale one) is a
            // Security Alert too: the federation's revocation lists are not reaching this node.
            guard main.errorCode.hasSuffix("revocation-unknown") else { return [main] }
            return [main, AuditMessage(
                eventID: .securityAlert, eventTypes: [nodeAuthentication], action: .execute, outcome: .minorFailure, time: time, sourceID: node,
                purposeOfUse: main.purposeOfUse, emergency: main.emergency, errorCode: main.errorCode, participants: main.participants, objects: [])]
        }
        return notes.state.withLock { $0.alerts }.map { type in
            AuditMessage(
                eventID: .securityAlert, eventTypes: [type], action: .execute, outcome: .success, time: time, sourceID: node,
                purposeOfUse: main.purposeOfUse, emergency: main.emergency, participants: main.participants, objects: main.objects)
        }.reduce(into: [main]) { $0.append($1) }
    }

    static func message(for operation: ExchangeOperation, notes: AuditNotes, node: String, endpoint: String, error: (any Error)?, time: Date) -> AuditMessage {
        let (event, action) = kind(operation)
        let (signer, noted, purpose, emergency, rules) = notes.state.withLock { ($0.signer, $0.objects, $0.purpose, $0.emergency, $0.rules) }
        var participants: [AuditParticipant] = []
        var objects = noted
        if let signer, signer.kind == .patient {
            // A patient's card names them by identifier: the requestor is "patient", and the patient is an object
            // (pseudonymised at rest like every patient object), so their own actions appear in their access report.
            participants.append(AuditParticipant(userID: "patient", roles: [AuditCode("patient", system: "caduceus-certificate-policy", display: "patient")], isRequestor: true))
            let own = AuditObject.patient(PatientIdentifier(id: signer.commonName, authority: signer.role ?? "").description)
            if !objects.contains(own) { objects.append(own) }
        } else {
            let role = signer.map { AuditCode($0.role ?? $0.kind.rawValue, system: $0.role == nil ? "caduceus-certificate-policy" : "functional-role", display: $0.role ?? $0.kind.rawValue) }
            participants.append(AuditParticipant(userID: signer?.commonName ?? "unknown", roles: role.map { [$0] } ?? [], isRequestor: true))
        }
        participants.append(AuditParticipant(userID: node, isRequestor: false, networkAccessPoint: endpoint))
        let code = error.map { ($0 as? any CaduceusError)?.code ?? "exchange.internal" } ?? ""
        let door = notes.doorName.withLock { $0 }.map { [AuditCode($0, system: "caduceus-door", display: "door")] } ?? []
        return AuditMessage(
            eventID: event, eventTypes: [AuditCode(operation.rawValue, system: "caduceus-operation", display: operation.rawValue)] + rules.map { AuditCode($0, system: "caduceus-policy", display: "policy rule") } + door,
            action: action, outcome: error == nil ? .success : (code.hasPrefix("storage.") ? .seriousFailure : .minorFailure),
            time: time, sourceID: node, purposeOfUse: purpose, emergency: emergency, errorCode: code, participants: participants, objects: objects)
    }
}
