import CaduceusCore
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

@Suite("PKCS#12 credentials against openssl pkcs12")
struct PKCS12Tests {
    let pki: TestPKI
    let dir: TemporaryDirectory
    let password = Sensitive("correct horse battery staple")

    init() throws {
        pki = try TestPKI()
        dir = try TemporaryDirectory()
    }

    @Test("openssl pkcs12 reads ours (PBES2, AES-256-CBC, SHA-256 MAC) and extracts the same key", arguments: [KeyAlgorithm.p256, .rsa2048])
    func opensslReadsOurs(key: KeyAlgorithm) throws {
        let credential = try pki.credential(.person(email: "card@hospital-a.test"), name: "Card Holder", key: key)
        let p12 = try PKCS12.export(credential, password: password)
        let path = try dir.write("card-\(key).p12", Data(p12))
        let info = try ProcessRunner.openssl(["pkcs12", "-info", "-in", path, "-passin", "pass:\(password.unsafeValue)", "-noout"])
        #expect(info.ok, "\(info.stderr)")
        #expect(info.stderr.contains("PBES2, PBKDF2, AES-256-CBC"))
        #expect(info.stderr.contains("MAC: sha256"))
        let dump = try ProcessRunner.openssl(["pkcs12", "-in", path, "-passin", "pass:\(password.unsafeValue)", "-nodes"])
        #expect(dump.ok, "\(dump.stderr)")
        let pemKey = try PrivateKeyMaterial(pemEncoded: dump.text)
        #expect(pemKey.publicKey == credential.certificate.publicKey)
        #expect(try PEM.certificates(fromPEM: dump.text).count == 3)
        let wrong = try ProcessRunner.openssl(["pkcs12", "-info", "-in", path, "-passin", "pass:wrong", "-noout"])
        #expect(!wrong.ok)
    }

    @Test("we read openssl's PKCS#12, and our export round-trips")
    func weReadOpenSSL() throws {
        let credential = try pki.credential(.patient(email: nil), name: "Patient Card 7", key: .rsa2048)
        let files = try dir.write(credential: credential, as: "patient")
        let cas = try dir.write("cas.pem", try PEM.encode(credential.chain))
        let out = dir.file("openssl.p12")
        let export = try ProcessRunner.openssl([
            "pkcs12", "-export", "-inkey", files.key, "-in", files.cert, "-certfile", cas, "-name", "Patient Card 7",
            "-passout", "pass:\(password.unsafeValue)", "-out", out,
        ])
        #expect(export.ok, "\(export.stderr)")
        let imported = try PKCS12.importCredential(Array(try dir.read("openssl.p12")), password: password)
        #expect(imported.certificate == credential.certificate)
        #expect(imported.key.publicKey == credential.key.publicKey)
        #expect(Set(imported.chain) == Set(credential.chain))
        #expect(imported.friendlyName == "Patient Card 7")

        let again = try PKCS12.importCredential(try PKCS12.export(imported, password: password), password: password)
        #expect(again.certificate == credential.certificate)
    }

    @Test("a wrong password and an altered file give the same integrity error")
    func integrity() throws {
        let credential = try pki.credential(.person(email: "card@hospital-a.test"), name: "Card")
        var p12 = try PKCS12.export(credential, password: password)
        #expect(throws: PKIError(.pkcs12Integrity, "")) { try PKCS12.importCredential(p12, password: Sensitive("wrong")) }
        p12[p12.count / 2] ^= 0x01
        #expect(throws: PKIError(.pkcs12Integrity, "")) { try PKCS12.importCredential(p12, password: password) }
        #expect(throws: PKIError(.malformed, "")) { try PKCS12.importCredential(Array(p12.prefix(40)), password: password) }
    }

    /// Found while fuzzing PKCS#12 (kept in Fuzz/Crashes/pkcs12): a PFX whose SEQUENCEs are shorter than the format
    /// required trapped on an array subscript instead of being refused.
    @Test("structures shorter than the format are refused as malformed, never trap")
    func truncatedStructures() {
        let authSafe: [UInt8] = [0x30, 0x11, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01, 0xA0, 0x04, 0x04, 0x02, 0x30, 0x00]
        let cases: [[UInt8]] = [
            [0x30, 0x05, 0x02, 0x01, 0x03, 0x30, 0x00],  // empty authSafe ContentInfo
            [0x30, 0x10, 0x02, 0x01, 0x03, 0x30, 0x0B] + authSafe[2..<13],  // ContentInfo without content
            [0x30, 0x18, 0x02, 0x01, 0x03] + authSafe + [0x30, 0x00],  // empty MacData
            [0x30, 0x1A, 0x02, 0x01, 0x03] + authSafe + [0x30, 0x02, 0x30, 0x00],  // MacData with an empty DigestInfo
        ]
        for bytes in cases {
            #expect(throws: PKIError(.malformed, "")) { try PKCS12.importCredential(bytes, password: password) }
        }
    }

    @Test("legacy PKCS#12 (SHA-1 MAC) from openssl is refused as weak")
    func legacyRefused() throws {
        let credential = try pki.credential(.person(email: "card@hospital-a.test"), name: "Card")
        let files = try dir.write(credential: credential, as: "legacy")
        let out = dir.file("legacy.p12")
        let export = try ProcessRunner.openssl([
            "pkcs12", "-export", "-inkey", files.key, "-in", files.cert, "-macalg", "sha1",
            "-passout", "pass:\(password.unsafeValue)", "-out", out,
        ])
        #expect(export.ok, "\(export.stderr)")
        #expect(throws: PKIError(.weakAlgorithm, "")) { try PKCS12.importCredential(Array(try dir.read("legacy.p12")), password: password) }
    }

    @Test("the credential description never shows key material")
    func redaction() throws {
        let credential = try pki.credential(.person(email: "card@hospital-a.test"), name: "Card")
        #expect(String(describing: credential.key) == "PrivateKeyMaterial(P-256, <redacted>)")
        #expect(String(describing: password) == "<redacted>")
    }

    @Test("random bytes: the length asked for (one read of the kernel's generator, any size), never the same twice")
    func randomness() {
        #expect(randomBytes(0).isEmpty)
        for n in [1, 7, 8, 9, 16, 32, 4096, 1 << 20] { #expect(randomBytes(n).count == n) }
        let draws = (0..<64).map { _ in randomBytes(32) }
        #expect(Set(draws).count == 64)
        // A megabyte of it uses every byte value (a stuck or zeroed source would not).
        #expect(Set(randomBytes(1 << 20)).count == 256)
    }

}
