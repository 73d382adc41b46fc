import CaduceusCore
import CaduceusPKCS11
import CaduceusTestSupport
import Foundation
import Testing

/// The card encoder's promises about the key it makes, on SoftHSM2 tokens: destroyed when the card was not issued,
/// kept once it was (whatever fails after), and one card at a time per token.
@Suite("Card encoder (SoftHSM2)")
struct CardEncoderTests {
    func holdsCardKey(_ label: String) throws -> Bool {
        let fixture = try SoftHSM.token(label)
        return try PKCS11Token(modulePath: fixture.module, label: fixture.label, pin: Sensitive(SoftHSM.userPIN)).holdsObject(id: CardEncoder.cardKeyId)
    }

    @Test("the CA refused (certify throws): the key made for it is destroyed and the error is the CA's")
    func refusedLeavesNothing() async throws {
        let fixture = try SoftHSM.token("encoder-refused")
        let encoder = CardEncoder(modulePath: fixture.module)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            _ = try await encoder.encode(token: fixture.label, pin: Sensitive(SoftHSM.userPIN)) { _ in throw Refused() }
        }
        #expect(try !holdsCardKey("encoder-refused"))
    }

    @Test("the CA answered but its answer cannot be stored: pkcs11.certificate-not-stored, and the key stays on the token")
    func issuedKeepsTheKey() async throws {
        let fixture = try SoftHSM.token("encoder-kept")
        let encoder = CardEncoder(modulePath: fixture.module)
        let refusal = await #expect(throws: PKCS11Error.self) {
            _ = try await encoder.encode(token: fixture.label, pin: Sensitive(SoftHSM.userPIN)) { _ in "not a certificate" }
        }
        #expect(refusal?.code == "pkcs11.certificate-not-stored")
        #expect(try holdsCardKey("encoder-kept"), "the card is issued for this key: it must not be destroyed")
    }

    @Test("two cards on one token at once: the second is refused (pkcs11.token-in-use) before it logs in")
    func oneCardAtATime() async throws {
        let fixture = try SoftHSM.token("encoder-busy")
        let encoder = CardEncoder(modulePath: fixture.module)
        let (inCertify, entered) = AsyncStream<Void>.makeStream()
        let (released, release) = AsyncStream<Void>.makeStream()
        async let first: CardEncoder.Written? = try? encoder.encode(token: fixture.label, pin: Sensitive(SoftHSM.userPIN)) { _ in
            entered.yield()
            for await _ in released { break }
            throw CancellationError()
        }
        for await _ in inCertify { break }
        let second = await #expect(throws: PKCS11Error.self) {
            _ = try await encoder.encode(token: fixture.label, pin: Sensitive("wrong")) { _ in "" }
        }
        #expect(second?.code == "pkcs11.token-in-use")
        release.yield()
        #expect(await first == nil)
        #expect(try !holdsCardKey("encoder-busy"))
    }
}
