import CaduceusCMS
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

@Suite("EnvelopedData / AuthEnvelopedData against openssl cms")
struct EnvelopedDataInteropTests {
    let pki: TestPKI
    let dir: TemporaryDirectory
    let rsa: Credential
    let ec: Credential
    let ec2: Credential
    let content: [UInt8]

    init() throws {
        pki = try TestPKI()
        dir = try TemporaryDirectory()
        rsa = try pki.credential(.node(dnsNames: ["rsa.hospital-b.test"]), name: "RSA Node", key: .rsa2048)
        ec = try pki.credential(.node(dnsNames: ["ec.hospital-b.test"]), name: "EC Node")
        ec2 = try pki.credential(.person(email: "nurse@hospital-b.test"), name: "EC Person")
        var rng = SystemRandomNumberGenerator()
        content = (0..<70_001).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static let ciphers: [ContentCipher] = [.aes256GCM, .aes128GCM, .aes256CBC, .aes128CBC]

    @Test("openssl decrypts what we encrypt, for RSA-OAEP and ECDH recipients, one and several", arguments: ciphers)
    func opensslDecryptsOurs(cipher: ContentCipher) throws {
        let cms = try EnvelopedData.encrypt(content[...], recipients: [rsa.certificate, ec.certificate, ec2.certificate], cipher: cipher)
        let input = try dir.write("enc-\(cipher.rawValue).der", Data(cms))
        for (credential, name) in [(rsa, "rsa"), (ec, "ec"), (ec2, "ec2")] {
            let files = try dir.write(credential: credential, as: "\(name)-\(cipher.rawValue)")
            let out = try ProcessRunner.openssl([
                "cms", "-decrypt", "-inform", "DER", "-in", input, "-recip", files.cert, "-inkey", files.key, "-binary",
            ])
            #expect(out.ok, "\(name) \(cipher): \(out.stderr)")
            #expect(Array(out.stdout) == content)
        }
        // Single recipient, S/MIME form.
        let single = try SMIME.encrypt(content[...], recipients: [ec.certificate], cipher: cipher)
        let singlePath = try dir.write("single-\(cipher.rawValue).eml", Data(single))
        let files = try dir.write(credential: ec, as: "ec-single-\(cipher.rawValue)")
        let out = try ProcessRunner.openssl(["cms", "-decrypt", "-in", singlePath, "-recip", files.cert, "-inkey", files.key, "-binary"])
        #expect(out.ok, "\(out.stderr)")
        #expect(Array(out.stdout) == content)
    }

    @Test("we decrypt what openssl encrypts (RSA-OAEP-SHA256 + ECDH-SHA256KDF recipients)", arguments: ["-aes-256-gcm", "-aes-128-gcm", "-aes-256-cbc", "-aes-128-cbc"])
    func weDecryptOpenSSL(cipherFlag: String) throws {
        let rsaFiles = try dir.write(credential: rsa, as: "o-rsa\(cipherFlag)")
        let ecFiles = try dir.write(credential: ec, as: "o-ec\(cipherFlag)")
        let contentPath = try dir.write("plain\(cipherFlag).bin", Data(content))
        let result = try ProcessRunner.openssl([
            "cms", "-encrypt", "-binary", "-outform", "DER", "-in", contentPath, cipherFlag,
            "-recip", rsaFiles.cert, "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256",
            "-keyopt", "rsa_mgf1_md:sha256",
            "-recip", ecFiles.cert, "-keyopt", "ecdh_kdf_md:sha256",
        ])
        #expect(result.ok, "\(result.stderr)")
        let cms = Array(result.stdout)
        #expect(try EnvelopedData.decrypt(cms[...], credential: rsa).content == content)
        #expect(try EnvelopedData.decrypt(cms[...], credential: ec).content == content)
        #expect(throws: CMSError.decryptionFailed) { try EnvelopedData.decrypt(cms[...], credential: ec2) }

        // S/MIME form, single EC recipient.
        let smime = try ProcessRunner.openssl([
            "cms", "-encrypt", "-binary", "-in", contentPath, cipherFlag, "-recip", ecFiles.cert, "-keyopt", "ecdh_kdf_md:sha256",
        ])
        #expect(smime.ok, "\(smime.stderr)")
        #expect(try SMIME.decrypt(Array(smime.stdout)[...], credential: ec) == content)
    }

    @Test("legacy algorithms from openssl are refused by name: PKCS#1 v1.5 key transport, 3DES, DES, RC2")
    func legacyRefused() throws {
        let rsaFiles = try dir.write(credential: rsa, as: "legacy-rsa")
        let contentPath = try dir.write("legacy.bin", Data(content))
        let v15 = try ProcessRunner.openssl([
            "cms", "-encrypt", "-binary", "-outform", "DER", "-in", contentPath, "-aes-256-cbc", "-recip", rsaFiles.cert,
        ])
        #expect(v15.ok, "\(v15.stderr)")
        #expect(throws: CMSError(.weakAlgorithm, "")) { try EnvelopedData.decrypt(Array(v15.stdout)[...], credential: rsa) }
        let des3 = try ProcessRunner.openssl([
            "cms", "-encrypt", "-binary", "-outform", "DER", "-in", contentPath, "-des3", "-recip", rsaFiles.cert,
            "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256",
        ])
        #expect(des3.ok, "\(des3.stderr)")
        #expect(throws: CMSError(.weakAlgorithm, "")) { try EnvelopedData.decrypt(Array(des3.stdout)[...], credential: rsa) }
        // OpenSSL's default ECDH KDF is dhSinglePass-stdDH-sha1kdf-scheme: refused, SHA-256 KDF required.
        let ecFiles = try dir.write(credential: ec, as: "legacy-ec")
        let sha1kdf = try ProcessRunner.openssl([
            "cms", "-encrypt", "-binary", "-outform", "DER", "-in", contentPath, "-aes-256-gcm", "-recip", ecFiles.cert,
        ])
        #expect(sha1kdf.ok, "\(sha1kdf.stderr)")
        #expect(throws: CMSError(.weakAlgorithm, "")) { try EnvelopedData.decrypt(Array(sha1kdf.stdout)[...], credential: ec) }
    }

    @Test("sign-then-encrypt in one call opens with openssl decrypt + verify, and ours opens openssl's")
    func sealAndOpen() async throws {
        let sender = try pki.credential(.node(dnsNames: ["node.hospital-a.test"]), name: "Hospital A Node")
        let sealed = try SMIME.seal(content[...], signers: [sender], recipients: [ec.certificate], signingTime: Date())
        let sealedPath = try dir.write("sealed.eml", Data(sealed))
        let ecFiles = try dir.write(credential: ec, as: "seal-ec")
        let rootPath = try dir.write("root.pem", try PEM.encode([pki.root.certificate]))
        let inner = try ProcessRunner.openssl(["cms", "-decrypt", "-in", sealedPath, "-recip", ecFiles.cert, "-inkey", ecFiles.key])
        #expect(inner.ok, "\(inner.stderr)")
        let innerPath = try dir.write("inner.eml", inner.stdout)
        let verified = try ProcessRunner.openssl(["cms", "-verify", "-in", innerPath, "-CAfile", rootPath, "-binary"])
        #expect(verified.ok, "\(verified.stderr)")
        #expect(Array(verified.stdout) == content)

        let opened = try await SMIME.open(sealed[...], credential: ec, validator: pki.validator(), now: Date())
        #expect(Array(opened.content) == content)
        #expect(opened.signers.map(\.certificate) == [sender.certificate])

        // DER form: openssl sign | openssl encrypt, opened by us in one call.
        let senderFiles = try dir.write(credential: sender, as: "seal-sender")
        let contentPath = try dir.write("seal.bin", Data(content))
        let signed = try ProcessRunner.openssl([
            "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", contentPath, "-signer", senderFiles.cert,
            "-inkey", senderFiles.key, "-certfile", try dir.write("seal-cas.pem", try PEM.encode(sender.chain)),
        ])
        #expect(signed.ok, "\(signed.stderr)")
        let signedPath = try dir.write("seal-signed.der", signed.stdout)
        let encrypted = try ProcessRunner.openssl([
            "cms", "-encrypt", "-binary", "-outform", "DER", "-in", signedPath, "-aes-256-gcm", "-recip", ecFiles.cert,
            "-keyopt", "ecdh_kdf_md:sha256",
        ])
        #expect(encrypted.ok, "\(encrypted.stderr)")
        let openedDER = try await SMIME.open(Array(encrypted.stdout)[...], credential: ec, validator: pki.validator(), now: Date())
        #expect(Array(openedDER.content) == content)
    }
}
