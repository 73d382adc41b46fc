import CaduceusCMS
import CaduceusCore
import CaduceusPKCS11
import CaduceusPKI
import CaduceusTestSupport
import Crypto
import Foundation
import Testing
import X509

/// Keys generated through Caduceus on a SoftHSM2 token (a fresh token directory per test process, tokens chosen by
/// label), checked with real tools: `pkcs11-tool` lists them, `openssl` verifies what they sign and encrypts to them.
@Suite("PKCS#11 tokens (SoftHSM2)")
struct SoftHSMTokenTests {
    func open(_ label: String, pin: String = SoftHSM.userPIN) throws -> PKCS11Token {
        let token = try SoftHSM.token(label)
        return try PKCS11Token(modulePath: token.module, label: token.label, pin: Sensitive(pin))
    }

    @Test("a key generated through Caduceus is private, sensitive and never extractable, as pkcs11-tool lists it")
    func keygenIsNonExtractable() throws {
        let fixture = try SoftHSM.token("keygen")
        let key: [UInt8] = [0x4B, 0x01]
        do {
            let token = try open("keygen")
            let generated = try token.generateP256Key(id: key, keyLabel: "clinician-card")
            // Our own listing agrees with the attributes asked for.
            let summary = try #require(try token.objects().first { $0.kind == .privateKey })
            #expect(summary.id == key && summary.label == "clinician-card")
            #expect(summary.sensitive == true && summary.extractable == false && summary.neverExtractable == true)
            // The key signs on the token; the signature verifies with the public half it reported.
            let digest = SHA256.hash(data: Array("to be signed".utf8))
            let signature = try generated.signature(forDigest: digest)
            #expect(generated.publicKey.isValidSignature(signature, for: digest))
            // The same id is not generated twice.
            #expect(throws: PKCS11Error(.alreadyExists, "")) { try token.generateP256Key(id: key, keyLabel: "again") }
        }
        let listed = try ProcessRunner.run(
            SoftHSM.pkcs11Tool,
            ["--module", fixture.module, "--token-label", fixture.label, "--login", "--pin", SoftHSM.userPIN, "--list-objects"])
        #expect(listed.ok, "\(listed.stderr)")
        let text = listed.text
        let privateBlock = try #require(text.components(separatedBy: "Private Key Object").dropFirst().first)
        let access = try #require(privateBlock.split(separator: "\n").first { $0.contains("Access:") })
        #expect(privateBlock.contains("EC") && privateBlock.contains("ID:         4b01"))
        #expect(access.contains("sensitive") && access.contains("never extractable"))
        #expect(!access.replacingOccurrences(of: "never extractable", with: "").contains("extractable"))
        #expect(privateBlock.contains("sign") && privateBlock.contains("derive"))
    }

    @Test("a request signed on the token proves possession; the certificate stored beside the key makes a credential")
    func csrAndStoredCertificate() throws {
        let pki = try TestPKI()
        let token = try open("csr")
        let tokenKey = try token.generateP256Key(id: [0x02], keyLabel: "csr")
        let material = try PrivateKeyMaterial(.external(tokenKey))
        let request = try CertificationRequest.make(subject: try DistinguishedName { CommonName("token key") }, key: material)
        try CertificateAuthority.checkProofOfPossession(request)
        let certificate = try pki.hospital.issue(
            profile: .person(email: "dr@hospital.test"), subject: try federationName(commonName: "Dr Token"),
            publicKey: request.publicKey, serialNumber: SerialNumberGenerator.random(), now: pki.now)
        try token.storeCertificates([certificate, pki.hospital.certificate, pki.regional.certificate], id: [0x02], keyLabel: "csr")
        // Stored once: a second import adds nothing.
        try token.storeCertificates([certificate], id: [0x02], keyLabel: "csr")
        #expect(try token.certificates().count == 3)
        let credential = try token.credential(id: nil)
        #expect(credential.certificate == certificate)
        #expect(credential.chain == [pki.hospital.certificate, pki.regional.certificate])
        #expect(credential.key.isExternal)
        #expect(throws: PKIError(.keyNotExportable, "")) { try credential.key.pkcs8PEM }
    }

    @Test("CMS signed on the token verifies with openssl; a JWS assertion signed on the token verifies")
    func signsCMSAndJWS() async throws {
        let pki = try TestPKI()
        let dir = try TemporaryDirectory()
        let token = try open("jws")
        let key = try PrivateKeyMaterial(.external(try token.generateP256Key(id: [0x03], keyLabel: "jws")))
        let certificate = try pki.hospital.issue(
            profile: .person(email: "dr@hospital.test"), subject: try federationName(commonName: "Dr JWS"),
            publicKey: key.publicKey, serialNumber: SerialNumberGenerator.random(), now: pki.now)
        let credential = try Credential(key: key, certificate: certificate, chain: [pki.hospital.certificate, pki.regional.certificate])
        let content = Array("OBX|1|TX|||signed on a token\r".utf8)
        let signed = try SignedData.sign(content[...], signers: [credential], detached: false, signingTime: Date())
        let message = try dir.write("signed.der", Data(signed))
        let root = try dir.write("root.pem", try PEM.encode([pki.root.certificate]))
        let verify = try ProcessRunner.openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", message, "-CAfile", root])
        #expect(verify.ok, "\(verify.stderr)")
        #expect(Array(verify.stdout) == content)
        let verified = try await SignedData.verify(signed[...], validator: pki.validator(), now: Date())
        #expect(verified.signers.first?.certificate == certificate)

        let jws = try CompactJWS.sign(Data("{\"sub\":\"dr\"}".utf8), type: "test+jwt", by: credential)
        let checked = try await CompactJWS.verify(jws, domain: "test", validator: pki.validator(), now: Date())
        #expect(checked.chain.first == certificate)
    }

    @Test("an envelope encrypted to the token's certificate (by Caduceus and by openssl) is decrypted through the token")
    func decryptsThroughTheToken() throws {
        let pki = try TestPKI()
        let dir = try TemporaryDirectory()
        let token = try open("envelope")
        let key = try PrivateKeyMaterial(.external(try token.generateP256Key(id: [0x04], keyLabel: "envelope")))
        let certificate = try pki.hospital.issue(
            profile: .person(email: "dr@hospital.test"), subject: try federationName(commonName: "Dr Envelope"),
            publicKey: key.publicKey, serialNumber: SerialNumberGenerator.random(), now: pki.now)
        let credential = try Credential(key: key, certificate: certificate, chain: [pki.hospital.certificate])
        let content = Array("PID|1||SYN-9^^^TEST||SYNTHETIC^TOKEN\r".utf8)
        for cipher in [ContentCipher.aes256GCM, .aes128CBC] {
            let sealed = try EnvelopedData.encrypt(content[...], recipients: [certificate], cipher: cipher)
            #expect(Array(try EnvelopedData.decrypt(sealed[...], credential: credential).content) == content)
        }
        // openssl as the sender: ECDH with the SHA-256 X9.63 KDF, AES-256 key wrap.
        let plain = try dir.write("plain.txt", Data(content))
        let recipient = try dir.write("recipient.pem", try PEM.encode([certificate]))
        let encrypted = dir.file("openssl.der")
        let made = try ProcessRunner.openssl([
            "cms", "-encrypt", "-binary", "-aes-256-cbc", "-in", plain, "-outform", "DER", "-out", encrypted,
            "-recip", recipient, "-keyopt", "ecdh_kdf_md:sha256",
        ])
        #expect(made.ok, "\(made.stderr)")
        let fromOpenSSL = try Data(contentsOf: URL(fileURLWithPath: encrypted))
        #expect(Array(try EnvelopedData.decrypt(Array(fromOpenSSL)[...], credential: credential).content) == content)
        // Addressed to someone else: the one uniform failure, through the token as well.
        let other = try pki.credential(.person(email: "other@hospital.test"), name: "Other")
        let notOurs = try EnvelopedData.encrypt(content[...], recipients: [other.certificate])
        #expect(throws: CMSError.decryptionFailed) { try EnvelopedData.decrypt(notOurs[...], credential: credential) }
    }

    @Test("wrong PIN, unknown label and a bad module path fail with their codes and change nothing")
    func refusals() throws {
        let fixture = try SoftHSM.token("errors")
        do {
            let token = try open("errors")
            _ = try token.generateP256Key(id: [0x05], keyLabel: "errors")
        }
        func objectCount() throws -> Int { try open("errors").objects().count }
        let before = try objectCount()
        #expect(throws: PKCS11Error(.pinIncorrect, "")) { try open("errors", pin: "0000-wrong") }
        #expect(throws: PKCS11Error(.tokenNotFound, "")) {
            try PKCS11Token(modulePath: fixture.module, label: "no-such-token", pin: Sensitive(SoftHSM.userPIN))
        }
        #expect(throws: PKCS11Error(.moduleLoad, "")) {
            try PKCS11Token(modulePath: "/nonexistent/libpkcs11.so", label: "errors", pin: Sensitive(SoftHSM.userPIN))
        }
        // A file that is a shared library but no PKCS#11 module.
        #expect(throws: PKCS11Error(.moduleLoad, "")) {
            try PKCS11Token(modulePath: "libz.so.1", label: "errors", pin: Sensitive(SoftHSM.userPIN))
        }
        // Nothing changed: the right PIN still opens the token, the same objects are there, the key still signs.
        #expect(try objectCount() == before)
        let key = try open("errors").privateKey(id: [0x05])
        let digest = SHA256.hash(data: [1, 2, 3])
        #expect(key.publicKey.isValidSignature(try key.signature(forDigest: digest), for: digest))
        // No PIN in any message.
        do { _ = try open("errors", pin: "0000-wrong") } catch {
            #expect(!"\(error)".contains("0000-wrong") && !"\(error)".contains(SoftHSM.userPIN))
        }
    }
}

/// A second, real module: OpenSC's, which drives PIV cards through PC/SC. No card (or reader) is here, so the test
/// shows the loader works with it — loaded, initialised, its slots listed (none is fine) — not a PIV key.
@Suite("PKCS#11 modules (OpenSC)")
struct OpenSCModuleTests {
    @Test("OpenSC's PKCS#11 module loads and lists its slots")
    func openSCLoads() throws {
        let path = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
        let module = try PKCS11Module(path: path)
        let info = try module.info()
        #expect(info.manufacturer.contains("OpenSC"))
        let slots = try module.slots()
        #expect(slots.allSatisfy { $0.token == nil || !$0.token!.label.isEmpty })
        #expect(throws: PKCS11Error(.tokenNotFound, "")) { try module.slot(tokenLabel: "no PIV card here") }
    }
}
