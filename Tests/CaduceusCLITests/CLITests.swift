import ArgumentParser
import CaduceusCLI
import CaduceusCMS
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing

/// Runs `caduceus ARGS…` in process; returns normally on success, throws (ExitCode or a parse error) on failure.
func caduceus(_ arguments: [String]) async throws {
    var command = try CaduceusCommand.parseAsRoot(arguments)
    if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
    } else {
        try command.run()
    }
}

@Suite("caduceus CLI", .serialized)
struct CLITests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    func path(_ name: String) -> String { dir.file(name) }

    /// Root → hospital CA; a node (P-256) and a person (RSA) credential.
    func federation() async throws {
        try await caduceus(["pki", "init-root", "--dir", path("root"), "--name", "CLI Root"])
        try await caduceus(["pki", "init-ca", "--dir", path("hosp"), "--parent", path("root"), "--name", "CLI Hospital CA", "--path-length", "0", "--permit-dns", "hospital-a.test", "--ns-node", "node", "--ns-organization", "node.hospital-a", "--ns-role", "physician", "--ns-authority", "1.2.3.4.5"])
        try await caduceus(["pki", "issue", "--ca", path("hosp"), "--profile", "node", "--name", "node", "--dns", "node.hospital-a.test", "--out", path("node")])
        try await caduceus(["pki", "issue", "--ca", path("hosp"), "--profile", "person", "--name", "Dr CLI", "--email", "dr@hospital-a.test", "--key-type", "rsa2048", "--out", path("dr")])
        try dir.write("plain.txt", "PID|1||SYN-1^^^TEST||SYNTHETIC^PATIENT\r")
    }

    @Test func pkiVerbsProduceWhatOpenSSLAccepts() async throws {
        try await federation()
        let verify = try ProcessRunner.openssl(["verify", "-CAfile", path("root/ca.pem"), "-untrusted", path("hosp/ca.pem"), "-purpose", "smimesign", path("dr.pem")])
        #expect(verify.ok, "\(verify.stderr)")
        // CSR from openssl.
        #expect(try ProcessRunner.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("card.key"), "-subj", "/CN=card-77", "-out", path("card.csr")]).ok)
        try await caduceus(["pki", "issue", "--ca", path("hosp"), "--profile", "patient", "--name", "card-77", "--authority", "1.2.3.4.5", "--csr", path("card.csr"), "--out", path("card")])
        #expect(!FileManager.default.fileExists(atPath: path("card.key.pem")))
        #expect(try ProcessRunner.openssl(["verify", "-CAfile", path("root/ca.pem"), "-untrusted", path("hosp/ca.pem"), path("card.pem")]).ok)
        // Revoke + CRL; openssl agrees.
        try await caduceus(["pki", "revoke", "--ca", path("hosp"), "--cert", path("card.pem"), "--reason", "keyCompromise"])
        try await caduceus(["pki", "crl", "--ca", path("hosp"), "--out", path("hosp.crl"), "--pem"])
        let revoked = try ProcessRunner.openssl(["verify", "-crl_check", "-CRLfile", path("hosp.crl"), "-CAfile", path("root/ca.pem"), "-untrusted", path("hosp/ca.pem"), path("card.pem")])
        #expect(!revoked.ok)
        await #expect(throws: ExitCode.self) {
            try await caduceus(["pki", "verify", "--cert", path("card.chain.pem"), "--trust", path("root/ca.pem"), "--crl", path("hosp.crl")])
        }
        try await caduceus(["pki", "verify", "--cert", path("node.chain.pem"), "--trust", path("root/ca.pem"), "--crl", path("hosp.crl"), "--purpose", "sslserver"])
        // PKCS#12 export, read by openssl.
        try dir.write("pw", "s3cret-test-only\n")
        try await caduceus(["pki", "export-p12", "--cert", path("dr.chain.pem"), "--key", path("dr.key"), "--password-file", path("pw"), "--out", path("dr.p12")])
        #expect(try ProcessRunner.openssl(["pkcs12", "-info", "-noout", "-in", path("dr.p12"), "-passin", "pass:s3cret-test-only"]).ok)
        // Refusals: a second root in the same place; an unknown reason.
        await #expect(throws: ExitCode.self) { try await caduceus(["pki", "init-root", "--dir", path("root"), "--name", "Again"]) }
        await #expect(throws: ExitCode.self) { try await caduceus(["pki", "revoke", "--ca", path("hosp"), "--cert", path("node.pem"), "--reason", "bored"]) }
    }

    @Test func smimeVerbsInteroperateAndFailuresWriteNothing() async throws {
        try await federation()
        let plain = try dir.read("plain.txt")
        // sign → openssl verify
        try await caduceus(["smime", "sign", "--in", path("plain.txt"), "--out", path("signed.eml"), "--cert", path("node.chain.pem"), "--key", path("node.key")])
        // openssl in its default (canonicalising) mode and in -binary mode: the signed part is the canonical entity,
        // here base64 (the content ends segments with a bare CR), which decodes to the content exactly.
        for mode in [[], ["-binary"]] {
            let osslVerify = try ProcessRunner.openssl(["cms", "-verify"] + mode + ["-in", path("signed.eml"), "-CAfile", path("root/ca.pem")])
            #expect(osslVerify.ok, "\(osslVerify.stderr)")
            #expect(try MIMEEntity.parse(Array(osslVerify.stdout)[...]).decodedContent() == Array(plain))
        }
        // Input habits from openssl: --der / --inform on verify, decrypt and open; --outform on sign.
        try await caduceus(["smime", "sign", "--in", path("plain.txt"), "--out", path("signed.pem"), "--cert", path("node.chain.pem"), "--key", path("node.key"), "--nodetach", "--outform", "PEM"])
        try await caduceus(["smime", "verify", "--in", path("signed.pem"), "--inform", "PEM", "--trust", path("root/ca.pem"), "--out", path("verified-pem.txt")])
        #expect(try dir.read("verified-pem.txt") == plain)
        try await caduceus(["smime", "sign", "--in", path("plain.txt"), "--out", path("signed.der"), "--cert", path("node.chain.pem"), "--key", path("node.key"), "--nodetach", "--der"])
        try await caduceus(["smime", "verify", "--in", path("signed.der"), "--der", "--trust", path("root/ca.pem"), "--out", path("verified-der.txt")])
        try await caduceus(["smime", "verify", "--in", path("signed.der"), "--inform", "der", "--trust", path("root/ca.pem")])
        #expect(try dir.read("verified-der.txt") == plain)
        #expect(try ProcessRunner.openssl(["cms", "-verify", "-inform", "DER", "-in", path("signed.der"), "-CAfile", path("root/ca.pem")]).ok)
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "verify", "--in", path("signed.eml"), "--der", "--trust", path("root/ca.pem"), "--out", path("nope5.txt")])
        }
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "verify", "--in", path("signed.der"), "--inform", "SMIME", "--trust", path("root/ca.pem"), "--out", path("nope6.txt")])
        }
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "verify", "--in", path("signed.der"), "--der", "--inform", "PEM", "--trust", path("root/ca.pem"), "--out", path("nope7.txt")])
        }
        // Two signers (the node, and the doctor via --extra-cert/--extra-key): openssl verifies both.
        try await caduceus(["smime", "sign", "--in", path("plain.txt"), "--out", path("two.eml"), "--cert", path("node.chain.pem"), "--key", path("node.key"), "--extra-cert", path("dr.chain.pem"), "--extra-key", path("dr.key"), "--nodetach"])
        let twoSigners = try ProcessRunner.openssl(["cms", "-verify", "-binary", "-in", path("two.eml"), "-CAfile", path("root/ca.pem")])
        #expect(twoSigners.ok, "\(twoSigners.stderr)")
        let signerInfos = try ProcessRunner.openssl(["cms", "-cmsout", "-print", "-noout", "-in", path("two.eml")])
        #expect(signerInfos.text.components(separatedBy: "d.issuerAndSerialNumber").count - 1 == 2)
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "sign", "--in", path("plain.txt"), "--out", path("nope0.eml"), "--cert", path("node.chain.pem"), "--key", path("node.key"), "--extra-cert", path("dr.chain.pem")])
        }
        try await caduceus(["smime", "verify", "--in", path("signed.eml"), "--trust", path("root/ca.pem"), "--out", path("verified.txt")])
        #expect(try dir.read("verified.txt") == plain)
        // encrypt (p12 recipient decrypts) and seal/open
        try dir.write("pw", "another-test-password\n")
        try await caduceus(["pki", "export-p12", "--cert", path("dr.chain.pem"), "--key", path("dr.key"), "--password-file", path("pw"), "--out", path("dr.p12")])
        try await caduceus(["smime", "encrypt", "--in", path("plain.txt"), "--out", path("enc.p7m"), "--recipient", path("dr.pem"), "--recipient", path("node.pem"), "--cipher", "aes-256-cbc"])
        try await caduceus(["smime", "decrypt", "--in", path("enc.p7m"), "--out", path("dec.txt"), "--p12", path("dr.p12"), "--password-file", path("pw")])
        #expect(try dir.read("dec.txt") == plain)
        try await caduceus(["smime", "encrypt", "--in", path("plain.txt"), "--out", path("enc.der"), "--recipient", path("dr.pem"), "--outform", "DER"])
        try await caduceus(["smime", "decrypt", "--in", path("enc.der"), "--der", "--out", path("dec-der.txt"), "--p12", path("dr.p12"), "--password-file", path("pw")])
        #expect(try dir.read("dec-der.txt") == plain)
        let osslDecrypt = try ProcessRunner.openssl(["cms", "-decrypt", "-binary", "-in", path("enc.p7m"), "-recip", path("node.pem"), "-inkey", path("node.key")])
        #expect(osslDecrypt.stdout == plain)
        try await caduceus(["smime", "seal", "--in", path("plain.txt"), "--out", path("sealed.p7m"), "--cert", path("node.chain.pem"), "--key", path("node.key"), "--recipient", path("dr.pem")])
        try await caduceus(["smime", "open", "--in", path("sealed.p7m"), "--out", path("opened.txt"), "--p12", path("dr.p12"), "--password-file", path("pw"), "--trust", path("root/ca.pem")])
        #expect(try dir.read("opened.txt") == plain)

        // Failures exit non-zero and leave no output file.
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "decrypt", "--in", path("sealed.p7m"), "--out", path("nope1.txt"), "--cert", path("node.pem"), "--key", path("node.key")])
        }
        // One changed character in the signed part's base64 (its first line after the part's header block).
        var tampered = try dir.read("signed.eml")
        let index = tampered.firstRange(of: Data("base64\r\n\r\n".utf8))!.upperBound
        tampered[index] = tampered[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try dir.write("tampered.eml", tampered)
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "verify", "--in", path("tampered.eml"), "--trust", path("root/ca.pem"), "--out", path("nope2.txt")])
        }
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "open", "--in", path("sealed.p7m"), "--out", path("nope3.txt"), "--p12", path("dr.p12"), "--password-file", path("plain.txt"), "--trust", path("root/ca.pem")])
        }
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "encrypt", "--in", path("plain.txt"), "--out", path("nope4.p7m"), "--recipient", path("dr.pem"), "--cipher", "des3"])
        }
        for name in ["nope0.eml", "nope1.txt", "nope2.txt", "nope3.txt", "nope4.p7m", "nope5.txt", "nope6.txt", "nope7.txt"] {
            #expect(!FileManager.default.fileExists(atPath: path(name)), "\(name) was written")
        }
    }

    @Test("DER seal/open, sign/verify, encrypt/decrypt stream large files; openssl reads them; a tampered file leaves no output")
    func streamedDER() async throws {
        try await federation()
        var rng = SystemRandomNumberGenerator()
        let big = Data((0..<(2 * (1 << 20) + 333)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try dir.write("big.bin", big)
        try await caduceus(["smime", "seal", "--der", "--in", path("big.bin"), "--out", path("big.p7m"), "--cert", path("node.chain.pem"), "--key", path("node.key"), "--recipient", path("node.pem")])
        let inner = try ProcessRunner.openssl(["cms", "-decrypt", "-inform", "DER", "-in", path("big.p7m"), "-recip", path("node.pem"), "-inkey", path("node.key"), "-out", path("big.inner")])
        #expect(inner.ok, "\(inner.stderr)")
        let verified = try ProcessRunner.openssl(["cms", "-verify", "-inform", "DER", "-in", path("big.inner"), "-CAfile", path("root/ca.pem"), "-out", path("big.ossl")])
        #expect(verified.ok, "\(verified.stderr)")
        #expect(try dir.read("big.ossl") == big)
        try await caduceus(["smime", "open", "--in", path("big.p7m"), "--out", path("big.out"), "--cert", path("node.pem"), "--key", path("node.key"), "--trust", path("root/ca.pem")])
        #expect(try dir.read("big.out") == big)
        try await caduceus(["smime", "sign", "--nodetach", "--der", "--in", path("big.bin"), "--out", path("big.sig"), "--cert", path("node.chain.pem"), "--key", path("node.key")])
        try await caduceus(["smime", "verify", "--in", path("big.sig"), "--trust", path("root/ca.pem"), "--out", path("big.verified")])
        #expect(try dir.read("big.verified") == big)
        try await caduceus(["smime", "encrypt", "--der", "--in", path("big.bin"), "--out", path("big.enc"), "--recipient", path("node.pem")])
        try await caduceus(["smime", "decrypt", "--in", path("big.enc"), "--out", path("big.dec"), "--cert", path("node.pem"), "--key", path("node.key")])
        #expect(try dir.read("big.dec") == big)

        var tampered = try dir.read("big.p7m")
        tampered[tampered.count / 2] ^= 0x01
        try dir.write("big-tampered.p7m", tampered)
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "open", "--in", path("big-tampered.p7m"), "--out", path("nope-open.bin"), "--cert", path("node.pem"), "--key", path("node.key"), "--trust", path("root/ca.pem")])
        }
        await #expect(throws: ExitCode.self) {
            try await caduceus(["smime", "decrypt", "--in", path("big-tampered.p7m"), "--out", path("nope-decrypt.bin"), "--cert", path("node.pem"), "--key", path("node.key")])
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.contains("nope") }
        #expect(left.isEmpty, "\(left)")
    }
}
