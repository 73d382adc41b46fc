import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPKI
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

// The portal's door into the gate (issue 14), attacked in process: the card is the TLS client certificate the
// browser presented, the assertion the portal's session holds. Cookie binding and CSRF are attacked over HTTPS by
// the browser suite (PortalBrowserTests).

@Suite("Attacks: the portal door", .serialized)
struct PortalAttackTests {
    @Test("portal: a revoked card is refused at the portal door, audited")
    func portalRevokedCard() async throws {
        try await withSeededFederation { fed, _, _, _ in
            let card = try fed.issueCard("Nurse Gone (synthetic)", ca: "hospital-b", role: "nurse")
            try await fed.revoke(serial: card.certificate.serialNumber, ca: "hospital-b")
            await fed.publishCRLs()
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await b.portal(.signIn, body: SignInRequest(purpose: "TREAT"), assertion: nil, client: card.certificate, presented: [card.certificate] + card.chain)
            }
            #expect(refused == "exchange.signer-rejected")
        }
    }

    @Test("portal: another card presenting a person's assertion gets nothing")
    func portalAssertionOfAnotherCard() async throws {
        try await withSeededFederation { fed, _, _, patientA in
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let nurse = fed.users["clinician.hospital-b"]!, clerk = fed.users["clerk.hospital-b"]!
            let signed = try await b.portal(.signIn, body: SignInRequest(purpose: "TREAT"), assertion: nil, client: nurse.certificate, presented: [nurse.certificate] + nurse.chain)
            let assertion = try signed.decodeBody(SignInResponse.self).assertion
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await b.portal(.userQuery, body: StoredQuery.findDocuments(StoredQuery.FindDocuments(patientId: patientA)), assertion: assertion, client: clerk.certificate, presented: [clerk.certificate] + clerk.chain)
            }
            #expect(refused == "assertion.replayed", "the assertion belongs to another person")
        }
    }

    @Test("portal: a patient reads only her own record (another identifier, GetDocuments, a document not hers)")
    func portalPatientOwnRecordOnly() async throws {
        try await withSeededFederation { fed, _, _, _ in
            let a = fed.runtimes[LocalFederation.hospitalA]!.node
            let card = fed.users[LocalFederation.patientCard]!
            let presented = [card.certificate] + card.chain
            let signed = try await a.portal(.signIn, body: SignInRequest(purpose: "PATRQT"), assertion: nil, client: card.certificate, presented: presented)
            let assertion = try signed.decodeBody(SignInResponse.self).assertion
            let other = PatientIdentifier(id: "A-99999", authority: LocalFederation.domainA)
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await a.portal(.userQuery, body: StoredQuery.findDocuments(StoredQuery.FindDocuments(patientId: other)), assertion: assertion, client: card.certificate, presented: presented)
            } == "exchange.forbidden")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await a.portal(.userQuery, body: StoredQuery.getDocuments(uniqueIds: ["2.25.1"]), assertion: assertion, client: card.certificate, presented: presented)
            } == "exchange.forbidden")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await a.portal(.userRetrieve, body: RetrieveRequest(uniqueIds: ["2.25.4242"]), assertion: assertion, client: card.certificate, presented: presented)
            } == "exchange.forbidden")
        }
    }

    @Test("portal: staff cannot claim a patient's purpose (PATRQT); the door is named on the event")
    func portalNodeCertificate() async throws {
        try await withSeededFederation { fed, _, _, _ in
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let nurse = fed.users["clinician.hospital-b"]!
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await b.portal(.signIn, body: SignInRequest(purpose: "PATRQT"), assertion: nil, client: nurse.certificate, presented: [nurse.certificate] + nurse.chain)
            } == "exchange.bad-request")
            let records = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter(limit: 1)) }
            #expect(records.first?.message.eventTypes.contains { $0.code == "portal" && $0.system == "caduceus-door" } == true, "the portal door is named on the event")
        }
    }
}
