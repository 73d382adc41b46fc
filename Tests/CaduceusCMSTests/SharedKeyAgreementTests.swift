@testable import CaduceusCMS
import CaduceusPKI
import CaduceusTestSupport
import Crypto
import Foundation
import Testing

@Suite("A KeyAgreeRecipientInfo naming several recipients (RFC 5753 §3.1.1)")
struct SharedKeyAgreementTests {
    @Test(arguments: [ContentCipher.aes256GCM, .aes128CBC])
    func everyRecipientKeyIsRead(cipher: ContentCipher) throws {
        let pki = try TestPKI()
        let first = try pki.credential(.node(dnsNames: ["first.hospital-b.test"]), name: "First")
        let second = try pki.credential(.person(email: "second@hospital-b.test"), name: "Second")
        let rsa = try pki.credential(.node(dnsNames: ["rsa.hospital-b.test"]), name: "RSA", key: .rsa2048)
        let content = Array("shared ephemeral key".utf8)
        let cek = SymmetricKey(size: cipher == .aes256GCM ? .bits256 : .bits128)
        let message = try EnvelopedData.assemble(
            content[...], cek: cek,
            recipientInfos: [
                (try EnvelopedData.keyAgreeRecipientInfo(for: [first.certificate, second.certificate], cek: cek, cipher: cipher), false),
                try EnvelopedData.recipientInfo(for: rsa.certificate, cek: cek, cipher: cipher),
            ],
            cipher: cipher, contentType: CMSOID.data
        ).joined()
        for credential in [first, second, rsa] {
            #expect(try EnvelopedData.decrypt(message[...], credential: credential).content == content)
        }
        // OpenSSL reads the second RecipientEncryptedKey of the shared KARI too.
        let dir = try TemporaryDirectory()
        let files = try dir.write(credential: second, as: "second")
        let input = try dir.write("shared.der", Data(message))
        let out = try ProcessRunner.openssl(["cms", "-decrypt", "-inform", "DER", "-in", input, "-recip", files.cert, "-inkey", files.key, "-binary"])
        #expect(out.ok, "\(out.stderr)")
        #expect(Array(out.stdout) == content)
    }
}
