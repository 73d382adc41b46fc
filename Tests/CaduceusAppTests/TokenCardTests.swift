import CaduceusApp
import CaduceusCore
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKCS11
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusTestSupport
import Foundation
import Testing

@Suite("A card on a PKCS#11 token at a running federation", .serialized)
struct TokenCardTests {
    @Test("a clinician whose key is on a SoftHSM2 token signs in (TLS client auth and envelopes on the token) and reads")
    func clinicianSignsInWithTokenCard() async throws {
        let fixture = try SoftHSM.token("signin")
        let token = try PKCS11Token(modulePath: fixture.module, label: fixture.label, pin: Sensitive(SoftHSM.userPIN))
        let tokenKey = try token.generateP256Key(id: [0x0B], keyLabel: "clinician")
        try await withSeededFederation { fed, _, _, patientA in
            // The hospital B CA certifies the token's public key; the private key never leaves the token.
            let card = try fed.issueCard("token.clinician.hospital-b", ca: "hospital-b", role: "nurse", key: try PrivateKeyMaterial(.external(tokenKey)))
            #expect(card.key.isExternal)
            let clinician = try fed.client(card: card, at: LocalFederation.hospitalB)
            // The handshake signs on the token (no key in memory to present), the request envelope is signed on it,
            // and the node's reply, encrypted to the card, is opened with ECDH derived on it.
            let signedIn = try await clinician.signIn()
            #expect(!signedIn.assertion.isEmpty)
            let found = try await clinician.findPatients(FindPatientsRequest(criteria: Demographics(family: DemoData.family, given: DemoData.given, birthDate: DemoData.birthDate)))
            let patient = try #require(found.first)
            #expect(patient.identities.contains(LocalIdentity(id: DemoData.mrnA, authority: LocalFederation.domainA)))
            // A stored query too (nothing submitted yet in the seeded federation: an empty, signed, decrypted answer).
            _ = try await clinician.query(.findDocuments(.init(patientId: patient.patientId)))
            _ = patientA
        }
    }
}
