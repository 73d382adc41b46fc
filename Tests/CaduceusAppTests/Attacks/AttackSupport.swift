import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusHTTP
import CaduceusPolicy
import CaduceusExchange
import CaduceusStorage
import Foundation
import Testing

// The attack suite (issue 11): each test reproduces one attack from the review against a running federation and
// checks that it is refused with a stable code, that nothing is stored or changed, and that the node that refused it
// wrote exactly one audit record.

/// What an attack must not change: every node's repository, the registry, and the MPI's identities.
struct Footprint: Equatable {
    var counts: Counts
    var identities: Int
}

func footprint(_ fed: LocalFederation) async throws -> Footprint {
    let regional = fed.runtimes[LocalFederation.regional]!
    let identities = try await regional.store.read { try $0.mpiSnapshot().records.count }
    return Footprint(counts: try await counts(fed), identities: identities)
}

/// The audit head (last sequence number) of a node.
func auditHead(_ fed: LocalFederation, _ node: String) async throws -> UInt64 {
    try await fed.runtimes[node]!.store.read { try $0.auditHead().sequence }
}

/// Runs an attack; returns the refusal's code after checking that nothing changed and that `auditedAt` wrote one
/// audit record (whose outcome is a failure carrying that code).
func attack(_ fed: LocalFederation, auditedAt node: String, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String? {
    let before = try await footprint(fed)
    let head = try await auditHead(fed, node)
    let refused = await code(body)
    #expect(try await footprint(fed) == before, "the attack changed nothing", sourceLocation: sourceLocation)
    let records = try await fed.runtimes[node]!.store.read { try $0.auditMessages(AuditFilter(limit: 10)) }.filter { $0.sequence > head }
    #expect(records.count == 1, "one audit record at \(node), found \(records.count)", sourceLocation: sourceLocation)
    if let refused, let record = records.first {
        #expect(record.message.outcome != .success && record.message.errorCode == refused, "the audit record names the refusal", sourceLocation: sourceLocation)
    }
    return refused
}

/// Hospital A's physician signs in and files `body` for the patient; returns its entry.
func fileAtA(_ fed: LocalFederation, _ body: [UInt8], mimeType: String = "text/xml", patient: PatientIdentifier) async throws -> DocumentEntry {
    let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
    try await physicianA.signIn()
    return try await physicianA.submit([MIMEPart(contentType: mimeType, id: "doc", body: body)], patient: patient)[0]
}

/// The demo patient signs in at hospital A with her card and states `decision` (for `organization`, or everyone).
func patientStates(_ fed: LocalFederation, _ decision: ConsentDirective.Decision, organization: String? = nil, patient: PatientIdentifier) async throws -> (UserClient, ConsentRecord) {
    let card = try fed.client(LocalFederation.patientCard, at: LocalFederation.hospitalA)
    try await card.signIn(purpose: "PATRQT")
    let record = try await card.stateConsent(ConsentDirective(
        id: UUID().uuidString.lowercased(), patient: patient.description, decision: decision, organization: organization,
        validFrom: Date().addingTimeInterval(-60), issuedAt: Date()))
    return (card, record)
}
