import CaduceusCMS
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

@Suite("SignedData against openssl cms")
struct SignedDataInteropTests {
    let pki: TestPKI
    let dir: TemporaryDirectory
    let rootPath: String
    let content = Array("MSH|^~\\&|SYNTHETIC|TEST\r\nPID|1||X-0001^^^TEST||DOE^JANE\r\nbinary:\u{0}\u{1}\u{ff}\n".utf8)

    init() throws {
        pki = try TestPKI()
        dir = try TemporaryDirectory()
        rootPath = try dir.write("root.pem", try PEM.encode([pki.root.certificate]))
    }

    @Test("our attached SignedData verifies with openssl cms -verify", arguments: [KeyAlgorithm.p256, .rsa2048])
    func oursVerifiesWithOpenSSL(key: KeyAlgorithm) throws {
        let signer = try pki.credential(.person(email: "dr.test@hospital-a.test"), name: "Dr Test", key: key)
        let cms = try SignedData.sign(content[...], signers: [signer], detached: false, signingTime: Date())
        let input = try dir.write("signed-\(key).der", Data(cms))
        let result = try ProcessRunner.openssl([
            "cms", "-verify", "-inform", "DER", "-in", input, "-CAfile", rootPath, "-binary",
        ])
        #expect(result.ok, "\(result.stderr)")
        #expect(Array(result.stdout) == content)
    }

    @Test("our multipart/signed (detached) and several signers verify with openssl")
    func detachedMultipleSigners() throws {
        let a = try pki.credential(.person(email: "a@hospital-a.test"), name: "Signer A")
        let b = try pki.credential(.node(dnsNames: ["node-b.hospital-a.test"]), name: "Node B", key: .rsa2048)
        let message = try SMIME.sign(content[...], signers: [a, b], detached: true, signingTime: Date())
        #expect(String(decoding: message.prefix(200), as: UTF8.self).contains("multipart/signed"))
        let input = try dir.write("multi.eml", Data(message))
        let result = try ProcessRunner.openssl(["cms", "-verify", "-in", input, "-CAfile", rootPath, "-binary"])
        #expect(result.ok, "\(result.stderr)")
        #expect(Array(result.stdout) == content)
        let info = try ProcessRunner.openssl(["cms", "-cmsout", "-print", "-in", input, "-noout"])
        #expect(info.ok)
    }

    @Test("openssl's signatures verify with ours: DER attached, S/MIME detached, RSA and EC signers")
    func openSSLVerifiesWithOurs() async throws {
        let ec = try pki.credential(.person(email: "ec@hospital-a.test"), name: "EC Signer")
        let rsa = try pki.credential(.person(email: "rsa@hospital-a.test"), name: "RSA Signer", key: .rsa3072)
        let ecFiles = try dir.write(credential: ec, as: "ec")
        let rsaFiles = try dir.write(credential: rsa, as: "rsa")
        let chain = try dir.write("chain.pem", try PEM.encode(ec.chain))
        let contentPath = try dir.write("content.bin", Data(content))

        let der = try ProcessRunner.openssl([
            "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", contentPath, "-md", "sha256",
            "-signer", ecFiles.cert, "-inkey", ecFiles.key, "-signer", rsaFiles.cert, "-inkey", rsaFiles.key,
            "-certfile", chain,
        ])
        #expect(der.ok, "\(der.stderr)")
        let verified = try await SMIME.verify(Array(der.stdout)[...], validator: pki.validator(), now: Date())
        #expect(Array(verified.content) == content)
        #expect(verified.signers.count == 2)
        #expect(Set(verified.signers.map(\.certificate)) == [ec.certificate, rsa.certificate])

        let smime = try ProcessRunner.openssl([
            "cms", "-sign", "-binary", "-in", contentPath, "-signer", ecFiles.cert, "-inkey", ecFiles.key,
            "-certfile", chain,
        ])
        #expect(smime.ok, "\(smime.stderr)")
        let detached = try await SMIME.verify(Array(smime.stdout)[...], validator: pki.validator(), now: Date())
        #expect(Array(detached.content) == content)
    }

    @Test("openssl signing with SHA-1 is refused as a weak algorithm")
    func sha1Refused() async throws {
        let ec = try pki.credential(.person(email: "ec@hospital-a.test"), name: "EC Signer", key: .rsa2048)
        let files = try dir.write(credential: ec, as: "sha1")
        let contentPath = try dir.write("content1.bin", Data(content))
        let der = try ProcessRunner.openssl([
            "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", contentPath, "-md", "sha1",
            "-signer", files.cert, "-inkey", files.key,
        ])
        #expect(der.ok, "\(der.stderr)")
        await #expect(throws: CMSError(.weakAlgorithm, "")) {
            try await SMIME.verify(Array(der.stdout)[...], validator: pki.validator(), now: Date())
        }
    }
}
