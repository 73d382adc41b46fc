import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusPolicy
import CaduceusTestSupport
import Foundation
import Testing

/// Attacks on who decides at the data's owner: the repository, the registry, the MPI.
@Suite("Attacks: the data's owner decides", .serialized)
struct OwnerDecidesAttackTests {
    @Test("a nurse at B deprecates a DICOM study held in A's repository with --replaces: refused, and the study is still found")
    func foreignReplaces() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, dicom, patientA in
            let study = try await fileAtA(fed, dicom, mimeType: "application/dicom", patient: patientA)
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physicianA.signIn()
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn()
            // B files its own copy of a document naming B's patient, declaring it replaces A's study.
            let patientB = PatientIdentifier(id: DemoData.mrnB, authority: LocalFederation.domainB)
            let ccdB = try await CCDComposer.compose(for: LocalIdentity(id: DemoData.mrnB, authority: LocalFederation.domainB), store: fed.runtimes[LocalFederation.hospitalB]!.store, nodeId: LocalFederation.hospitalB, organization: "Hospital B (synthetic)", now: Date())
            let before = try await footprint(fed)
            let head = try await auditHead(fed, LocalFederation.regional)
            let refused = await code { _ = try await nurseB.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccdB)], patient: patientB, replaces: study.uniqueId) }
            #expect(refused == "exchange.forbidden")
            #expect(try await footprint(fed) == before, "nothing filed at B, nothing registered")
            #expect(try await auditHead(fed, LocalFederation.regional) == head + 1, "one audit record at the registry")
            let found = try await physicianA.query(.findDocuments(.init(patientId: patientA)))
            #expect(found.contains { $0.uniqueId == study.uniqueId && $0.status == .approved }, "A's study is still approved and found")
        }
    }

    @Test("a node pulls a document from another hospital's repository with no user: refused")
    func nodePullsDocumentWithoutUser() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let entry = try await fileAtA(fed, ccd, patient: patientA)
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let nodeACert = try nodeCredential(fed, LocalFederation.hospitalA).certificate
            let pull = try envelope(.retrieve, to: LocalFederation.hospitalA, body: RetrieveRequest(uniqueIds: [entry.uniqueId]), from: nodeB, encryptedTo: nodeACert)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await transport(fed, as: nodeB).post(fed.endpoint(LocalFederation.hospitalA), path: ExchangeOperation.retrieve.path, envelope: pull)
            }
            #expect(refused == "exchange.forbidden")
            // With a user's assertion but no release signed by the regional registry: still refused.
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            let token = try await nurseB.signIn().assertion
            let message = ExchangeMessage(header: EnvelopeHeader(operation: .retrieve, audience: LocalFederation.hospitalA, requestId: UUID().uuidString, issuedAt: Date(), body: try JSONEncoder.exchange.encode(RetrieveRequest(uniqueIds: [entry.uniqueId])), assertion: token))
            let withUser = try Envelope.seal(message, from: nodeB, to: nodeACert, now: Date())
            let noRelease = try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await transport(fed, as: nodeB).post(fed.endpoint(LocalFederation.hospitalA), path: ExchangeOperation.retrieve.path, envelope: withUser)
            }
            #expect(noRelease == "exchange.forbidden")
            // The ordinary path still works: B's node asks the registry, forwards her assertion and the release.
            #expect(try await nurseB.retrieve([entry.uniqueId]).1.count == 1)
        }
    }

    @Test("the repository decides itself: a node that skips the policy for its user is still refused by A")
    func repositoryWeighsConsentItself() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let entry = try await fileAtA(fed, ccd, patient: patientA)
            _ = try await patientStates(fed, .deny, patient: patientA)
            // Node B (compromised, or buggy) skips its own decision and asks A directly for its nurse.
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            let token = try await nurseB.signIn().assertion
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await b.retrieveAcross([entry.uniqueId], for: token)
            }
            #expect(refused == "exchange.forbidden")
        }
    }

    @Test("a node registers an identity of another hospital's assigning authority with the regional MPI: refused")
    func identityRegistrationForForeignAuthority() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let regionalCert = try nodeCredential(fed, LocalFederation.regional).certificate
            var demographics = Demographics()
            demographics.family = "SYNTHETIC"
            let request = RegisterIdentityRequest(identity: LocalIdentity(id: "A-66666", authority: LocalFederation.domainA), demographics: demographics)
            let sealed = try envelope(.registerIdentity, to: LocalFederation.regional, body: request, from: nodeB, encryptedTo: regionalCert)
            let refused = try await attack(fed, auditedAt: LocalFederation.regional) {
                _ = try await transport(fed, as: nodeB).post(fed.endpoint(LocalFederation.regional), path: ExchangeOperation.registerIdentity.path, envelope: sealed)
            }
            #expect(refused == "exchange.forbidden")
        }
    }
}
