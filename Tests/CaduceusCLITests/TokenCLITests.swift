import CaduceusExchange
import CaduceusPKI
import CaduceusPKCS11
import CaduceusCore
import X509
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

/// The emergency data set on the patient's token (issue #12: "on the token where there is one").
@Suite("The emergency data set on a patient's token (SoftHSM2)", .serialized)
struct EmergencyTokenTests {
    @Test("token import-emergency verifies the set and stores it as a public data object (pkcs11-tool lists it without a PIN); card verify-emergency --token reads it back offline; a tampered set is refused and leaves the stored one; a re-issued set replaces it")
    func emergencyDataSetOnToken() async throws {
        let fixture = try SoftHSM.token("eds")
        let dir = try TemporaryDirectory()
        let root = try CAStore.createRoot(at: dir.file("root"), subject: try federationName(commonName: "EDS Test Root"), now: Date())
        let trust = try dir.write("root.pem", try PEM.encode([try root.authority().certificate]))
        let nodeKey = try PrivateKeyMaterial.generate(.p256)
        let node = try Credential(key: nodeKey, certificate: try root.issue(profile: .node(dnsNames: ["node.hospital-e.test"]), subject: try federationName(commonName: "node.hospital-e"), publicKey: nodeKey.publicKey, now: Date()))
        // The patient's card certificate is on her token (as `token import-cert` leaves it); the set is bound to it.
        func patientCard(_ mrn: String) throws -> Certificate {
            let key = try PrivateKeyMaterial.generate(.p256)
            return try root.issue(profile: .patient(email: nil), subject: try federationName(commonName: mrn, organization: "node.hospital-e", unit: "1.2.3"), publicKey: key.publicKey, now: Date())
        }
        let card = try patientCard("4711"), other = try patientCard("4712")
        do {
            let opened = try PKCS11Token(modulePath: fixture.module, label: fixture.label, pin: Sensitive(SoftHSM.userPIN))
            try opened.storeCertificates([card], id: [0x01], keyLabel: "patient-card")
        }
        func set(_ allergy: String, for holder: Certificate? = nil) throws -> [UInt8] {
            let holder = holder ?? card
            let json = """
                {"format": "caduceus-emergency-data-set/1", "patient": "\(FederationIdentity(holder)!.commonName)^^^&1.2.3&ISO", "issuer": "node.hospital-e", "cardSerial": "\(Hex.encode(holder.serialNumber.bytes))",
                 "issued": "2026-11-24T00:00:00Z", "allergies": [{"code": "Z88.0", "text": "\(allergy)", "system": "I10", "detail": "", "severity": "SV"}],
                 "medications": [], "bloodType": "A+", "contacts": [{"name": "Synthetic Contact", "relationship": "SPO", "phone": "555-0100"}]}
                """
            return try JSONDecoder.exchange.decode(EmergencyDataSet.self, from: Data(json.utf8)).signed(by: node, at: Date())
        }
        let first = try dir.write("first.p7s", Data(try set("Penicillin G")))
        let token = ["--module", fixture.module, "--label", fixture.label, "--pin-file", fixture.pinFile]
        let stored = try CaduceusBinary.run(["token", "import-emergency"] + token + ["--trust", trust, first])
        #expect(stored.ok, "\(stored.stderr)")
        // pkcs11-tool (OpenSC), without logging in, sees the public data object.
        let listed = try ProcessRunner.run(SoftHSM.pkcs11Tool, ["--module", fixture.module, "--token-label", fixture.label, "--list-objects", "--type", "data"])
        #expect(listed.ok && listed.text.contains("Data object") && listed.text.contains(EmergencyDataSet.tokenApplication), "\(listed.text) \(listed.stderr)")

        let read = try CaduceusBinary.run(["card", "verify-emergency", "--trust", trust, "--token", fixture.module, "--label", fixture.label])
        #expect(read.ok && read.text.contains("Penicillin G"), "\(read.stderr)")

        // A set with one byte changed is refused before anything is stored: the token still holds the first.
        var tamperedBytes = try set("Peanut")
        let at = try #require(tamperedBytes.firstRange(of: Array("Peanut".utf8)))
        tamperedBytes[at.lowerBound] = UInt8(ascii: "B")
        let tampered = try CaduceusBinary.run(["token", "import-emergency"] + token + ["--trust", trust, try dir.write("tampered.p7s", Data(tamperedBytes))])
        #expect(tampered.status == 1 && tampered.stderr.contains("cms."), "\(tampered.stderr)")
        #expect(try CaduceusBinary.run(["card", "verify-emergency", "--trust", trust, "--token", fixture.module, "--label", fixture.label]).text.contains("Penicillin G"))
        // Another patient's validly signed set is refused for this token (it is bound to the card the token holds),
        // on import and if planted on the token by other means.
        let swapped = try dir.write("other.p7s", Data(try set("None known", for: other)))
        let planted = try CaduceusBinary.run(["token", "import-emergency"] + token + ["--trust", trust, swapped])
        #expect(planted.status == 1 && planted.stderr.contains("exchange.bad-request"), "\(planted.stderr)")
        do {
            let opened = try PKCS11Token(modulePath: fixture.module, label: fixture.label, pin: Sensitive(SoftHSM.userPIN))
            try opened.storeData(try set("None known", for: other), application: EmergencyDataSet.tokenApplication, label: EmergencyDataSet.tokenLabel)
        }
        let readPlanted = try CaduceusBinary.run(["card", "verify-emergency", "--trust", trust, "--token", fixture.module, "--label", fixture.label])
        #expect(readPlanted.status == 1 && readPlanted.stderr.contains("exchange.bad-request") && !readPlanted.text.contains("None known"), "\(readPlanted.stderr)")
        #expect(try CaduceusBinary.run(["token", "import-emergency"] + token + ["--trust", trust, first]).ok)
        // Under a foreign root it does not verify.
        let otherRoot = try CAStore.createRoot(at: dir.file("other"), subject: try federationName(commonName: "Other Root"), now: Date())
        let otherTrust = try dir.write("other.pem", try PEM.encode([try otherRoot.authority().certificate]))
        #expect(try CaduceusBinary.run(["card", "verify-emergency", "--trust", otherTrust, "--token", fixture.module, "--label", fixture.label]).status == 1)

        // A re-issued set replaces the stored one (one object, the new content).
        #expect(try CaduceusBinary.run(["token", "import-emergency"] + token + ["--trust", trust, try dir.write("second.p7s", Data(try set("Latex")))]).ok)
        let again = try CaduceusBinary.run(["card", "verify-emergency", "--trust", trust, "--token", fixture.module, "--label", fixture.label])
        #expect(again.ok && again.text.contains("Latex") && !again.text.contains("Penicillin"))
        let objects = try ProcessRunner.run(SoftHSM.pkcs11Tool, ["--module", fixture.module, "--token-label", fixture.label, "--list-objects", "--type", "data"])
        #expect(objects.text.components(separatedBy: "Data object").count == 2, "exactly one data object: \(objects.text)")
        // A token with no set, and a token with no patient card to bind a set to: each one coded line, nothing stored.
        let empty = try SoftHSM.token("spare-1")
        let noSet = try CaduceusBinary.run(["card", "verify-emergency", "--trust", trust, "--token", empty.module, "--label", empty.label])
        #expect(noSet.status == 1 && noSet.stderr.contains("pkcs11.object-not-found"), "\(noSet.stderr)")
        let unbound = try CaduceusBinary.run(["token", "import-emergency", "--module", empty.module, "--label", empty.label, "--pin-file", empty.pinFile, "--trust", trust, first])
        #expect(unbound.status == 1 && unbound.stderr.contains("pkcs11.certificate-not-found"), "\(unbound.stderr)")
        #expect(try CaduceusBinary.run(["card", "verify-emergency", "--trust", trust, "--token", empty.module, "--label", empty.label]).stderr.contains("pkcs11.object-not-found"))
        // Neither a file and a token, nor neither, is a usage error.
        #expect(try CaduceusBinary.run(["card", "verify-emergency", "--trust", trust]).stderr.contains("cli.usage"))
        #expect(try CaduceusBinary.run(["card", "verify-emergency", "--trust", trust, first, "--token", fixture.module, "--label", fixture.label]).stderr.contains("cli.usage"))
    }
}
