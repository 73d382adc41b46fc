import CaduceusCMS
import CaduceusTestSupport
import Foundation
import Testing

/// `caduceus token` and `--token` on the command line, with SoftHSM2 and openssl as the oracles: a key generated on
/// the token, certified through a request the token signed, signs S/MIME that `openssl cms -verify` accepts in its
/// default mode, and decrypts what openssl encrypted to it.
@Suite("caduceus token (SoftHSM2)", .serialized)
struct TokenCLITests {
    @Test("token keygen → pki issue --csr → token import-cert → smime sign --token, verified by openssl; decrypt --token")
    func smimeWithATokenKey() async throws {
        let dir = try TemporaryDirectory()
        func path(_ name: String) -> String { dir.file(name) }
        let fixture = try SoftHSM.token("smime-cli")
        let token = ["--module", fixture.module, "--label", fixture.label, "--pin-file", fixture.pinFile]
        try await caduceus(["pki", "init-root", "--dir", path("root"), "--name", "Token Root"])
        try await caduceus(["pki", "init-ca", "--dir", path("hosp"), "--parent", path("root"), "--name", "Token Hospital CA", "--path-length", "0", "--ns-organization", "node.hospital-t", "--ns-role", "physician"])
        try await caduceus(["token", "keygen"] + token + ["--id", "a1", "--key-label", "dr-token", "--csr-out", path("dr.csr"), "--public-key-out", path("dr.pub.pem"), "--name", "Dr Token"])
        try await caduceus(["pki", "issue", "--ca", path("hosp"), "--profile", "person", "--name", "Dr Token", "--email", "dr@hospital-t.test", "--role", "physician", "--csr", path("dr.csr"), "--out", path("dr")])
        #expect(!FileManager.default.fileExists(atPath: path("dr.key")))
        try await caduceus(["token", "import-cert"] + token + ["--id", "a1", "--cert", path("dr.chain.pem")])
        // The token holds the key (never extractable) and its certificate, as pkcs11-tool sees them.
        let listed = try ProcessRunner.run(SoftHSM.pkcs11Tool, ["--module", fixture.module, "--token-label", fixture.label, "--login", "--pin", SoftHSM.userPIN, "--list-objects"])
        #expect(listed.ok && listed.text.contains("Certificate Object") && listed.text.contains("never extractable"))

        try dir.write("note.txt", "OBX|1|TX|||signed with a key on a token\r")
        try await caduceus(["smime", "sign", "--in", path("note.txt"), "--out", path("note.p7m")] + ["--token", fixture.module, "--label", fixture.label, "--pin-file", fixture.pinFile])
        // openssl's default verification: chain to the root, S/MIME signing purpose, the signature over the content.
        // The signed part is the canonical entity (base64: HL7 ends segments with a bare CR), in either openssl mode.
        for mode in [[], ["-binary"]] {
            let verified = try ProcessRunner.openssl(["cms", "-verify", "-in", path("note.p7m"), "-CAfile", path("root/ca.pem")] + mode)
            #expect(verified.ok, "\(verified.stderr)")
            #expect(try MIMEEntity.parse(Array(verified.stdout)[...]).decodedContent() == Array(try dir.read("note.txt")))
        }

        // openssl encrypts to the token's certificate; caduceus decrypts through the token.
        let encrypted = try ProcessRunner.openssl(["cms", "-encrypt", "-binary", "-aes-256-cbc", "-in", path("note.txt"), "-out", path("secret.p7m"), "-recip", path("dr.pem"), "-keyopt", "ecdh_kdf_md:sha256"])
        #expect(encrypted.ok, "\(encrypted.stderr)")
        try await caduceus(["smime", "decrypt", "--in", path("secret.p7m"), "--out", path("opened.txt")] + ["--token", fixture.module, "--label", fixture.label, "--pin-file", fixture.pinFile, "--key-id", "a1"])
        #expect(try dir.read("opened.txt") == dir.read("note.txt"))

        // Refusals leave no output file.
        try dir.write("wrong.pin", "0000-wrong\n")
        await #expect(throws: (any Error).self) {
            try await caduceus(["smime", "sign", "--in", path("note.txt"), "--out", path("refused.p7m"), "--token", fixture.module, "--label", fixture.label, "--pin-file", path("wrong.pin")])
        }
        #expect(!FileManager.default.fileExists(atPath: path("refused.p7m")))
    }

    @Test("token list shows the module's slots and, logged in, the objects; a wrong PIN, label or module is one coded line")
    func listAndRefusals() throws {
        let fixture = try SoftHSM.token("cli-decrypt")
        let token = ["--module", fixture.module, "--label", fixture.label, "--pin-file", fixture.pinFile]
        let keygen = try CaduceusBinary.run(["token", "keygen"] + token + ["--id", "0c"])
        #expect(keygen.ok, "\(keygen.stderr)")
        #expect(keygen.text.contains("BEGIN PUBLIC KEY"))
        let list = try CaduceusBinary.run(["token", "list"] + token)
        #expect(list.ok, "\(list.stderr)")
        #expect(list.text.contains("token \"cli-decrypt\""))
        #expect(list.text.contains("private key id 0c") && list.text.contains("sensitive=true extractable=false never-extractable=true"))
        let dir = try TemporaryDirectory()
        let wrong = try dir.write("wrong.pin", "0000-wrong\n")
        let cases: [([String], String)] = [
            (["--module", fixture.module, "--label", fixture.label, "--pin-file", wrong], "pkcs11.pin-incorrect"),
            (["--module", fixture.module, "--label", "no-such-token", "--pin-file", fixture.pinFile], "pkcs11.token-not-found"),
            (["--module", dir.file("missing.so"), "--label", fixture.label, "--pin-file", fixture.pinFile], "pkcs11.module-load"),
        ]
        for (arguments, code) in cases {
            let refused = try CaduceusBinary.run(["token", "keygen"] + arguments + ["--id", "0d"])
            #expect(refused.status == 1)
            #expect(refused.stderr.hasPrefix("caduceus: error: \(code): "), "\(refused.stderr)")
            #expect(!refused.stderr.contains("0000-wrong") && !refused.stderr.contains(SoftHSM.userPIN))
        }
        // Nothing was generated by the refused calls.
        let after = try CaduceusBinary.run(["token", "list"] + token)
        #expect(!after.text.contains("id 0d"))
    }
}
