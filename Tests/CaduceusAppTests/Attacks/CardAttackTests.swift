import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

/// The card station's door: only the hospital's own people, in the roles the policy names, move its cards; an
/// enrolment needs a second person's approval.
@Suite("Attacks: the card station", .serialized)
struct CardAttackTests {
    /// B's registry with one enrolment (by the clerk), and the clerk's client.
    func enrolled(_ fed: LocalFederation) async throws -> (UserClient, CardRecord) {
        let officer = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
        try await officer.signIn(purpose: "HOPERAT")
        _ = try await officer.importStaff(csv: CardLifecycleTests.hrExport)
        return (officer, try await officer.enrollCard(CardEnrollRequest(staffId: "E100", role: "nurse")))
    }

    func cards(_ fed: LocalFederation) async throws -> [CardRecord] {
        try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.cards() }
    }

    @Test("the officer who enrolled a card approves it himself: refused (four eyes), the enrolment stays requested, one audit record")
    func selfApproval() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (officer, card) = try await enrolled(fed)
            let before = try await cards(fed)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await officer.cardAction(card.id, .approve) }
            #expect(refused == "exchange.forbidden")
            #expect(try await cards(fed) == before)
        }
    }

    @Test("hospital A's administrator, signed in at B, approves and blocks B's cards: refused (not B's organisation)")
    func otherOrganisation() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (_, card) = try await enrolled(fed)
            let adminA = try fed.issueCard("Admin A (synthetic)", ca: "hospital-a", role: "administrative")
            let atB = try fed.client(card: adminA, at: LocalFederation.hospitalB)
            try await atB.signIn(purpose: "HOPERAT")
            let before = try await cards(fed)
            for action in [CardLifecycle.Action.approve, .block] {
                let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await atB.cardAction(card.id, action) }
                #expect(refused == "exchange.forbidden")
            }
            let imported = try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await atB.importStaff(csv: CardLifecycleTests.hrExport) }
            #expect(imported == "exchange.forbidden")
            #expect(try await cards(fed) == before)
        }
    }

    @Test("a nurse of B enrols herself a card and imports staff; a patient card calls the station: refused, nothing changed")
    func wrongRoles() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (_, _) = try await enrolled(fed)
            let nurse = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurse.signIn()
            let before = try await cards(fed)
            let staffBefore = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.staff() }
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await nurse.enrollCard(CardEnrollRequest(staffId: "E101", role: "physician")) } == "exchange.forbidden")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await nurse.importStaff(csv: "id,family,given,role\nE9,Mallory,Eve,administrative\n") } == "exchange.forbidden")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await nurse.cards() } == "exchange.forbidden")
            let patient = try fed.client(LocalFederation.patientCard, at: LocalFederation.hospitalA)
            try await patient.signIn(purpose: "PATRQT")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalA) { _ = try await patient.cards() } != nil)
            #expect(try await cards(fed) == before)
            #expect(try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.staff() } == staffBefore)
        }
    }

    @Test("hospital A's node signs an assertion making an A card B's administrator (org B, role administrative), and the card presents it at B's station: refused — the station takes only B's own sign-in, for the card's own organisation and role")
    func forgedAssertionFromAnotherNode() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (_, card) = try await enrolled(fed)
            let mallory = try fed.issueCard("Mallory (synthetic)", ca: "hospital-a", role: "nurse")
            let t = Int64(Date().timeIntervalSince1970)
            let claims = AssertionClaims(iss: LocalFederation.hospitalA, sub: "Mallory (synthetic)", aud: ExchangeNode.federationAudience, role: "administrative", org: LocalFederation.hospitalB, pou: "HOPERAT", iat: t, nbf: t, exp: t + 3600, jti: UUID().uuidString.lowercased())
            let token = try SignedAssertion.issue(claims, by: try nodeCredential(fed, LocalFederation.hospitalA))
            let atB = try fed.client(card: mallory, at: LocalFederation.hospitalB)
            atB.use(assertion: token)
            let before = try await cards(fed)
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await atB.cardAction(card.id, .approve) } == "exchange.forbidden")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await atB.importStaff(csv: "id,family,given,role\nE9,Mallory,Eve,administrative\n") } == "exchange.forbidden")
            #expect(try await cards(fed) == before)
        }
    }
}
