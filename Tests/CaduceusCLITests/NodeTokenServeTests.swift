import CaduceusCore
import CaduceusHTTP
import CaduceusPKCS11
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// A node whose own key lives on a PKCS#11 token (an HSM in production, SoftHSM2 here), served by `caduceus serve`.
@Suite("A node's own key on a PKCS#11 token", .serialized)
struct NodeTokenServeTests {
    @Test("caduceus serve with node.token.*: the TLS handshake signs on the token (openssl s_client verifies the chain), a sign-in is decrypted and answered with the token's key, and the node certificate is renewed for the same token key without a restart")
    func nodeKeyOnToken() async throws {
        let fixture = try SoftHSM.token("node-key")
        let dir = try TemporaryDirectory()
        let root = try CAStore.createRoot(at: dir.file("root"), subject: try federationName(commonName: "HSM Test Root"), now: Date().addingTimeInterval(-86_400))
        let rootCert = try root.authority().certificate
        let rootPEM = try dir.write("root.pem", try PEM.encode([rootCert]))
        // The key is made on the token; only its public half leaves. Its first certificate is half-way through a
        // one-day life, so the node renews it at start (node.certificate.renew 60: under 60 % left).
        let publicKey: Certificate.PublicKey
        do {
            let token = try PKCS11Token(modulePath: fixture.module, label: fixture.label, pin: Sensitive(SoftHSM.userPIN))
            publicKey = try PrivateKeyMaterial(.external(try token.generateP256Key(id: [0x4E], keyLabel: "node-key"))).publicKey
        }
        let first = try root.issue(profile: .node(dnsNames: ["localhost"]), subject: try federationName(commonName: "node.hsm"), publicKey: publicKey, now: Date().addingTimeInterval(-43_200), validityDays: 1)
        let chainFile = try dir.write("node.chain.pem", try PEM.encode([first]))
        let cardKey = try PrivateKeyMaterial.generate(.p256)
        let cardCert = try root.issue(profile: .person(email: "dr@hsm.test"), subject: try federationName(commonName: "Dr HSM", organization: "node.hsm", unit: "physician"), publicKey: cardKey.publicKey, now: Date())
        let card = try Credential(key: cardKey, certificate: cardCert)
        let cardCertFile = try dir.write("card.pem", try PEM.encode([cardCert]))
        let cardKeyFile = try dir.write("card.key", try cardKey.pkcs8PEM)
        let config = try dir.write("node.json", """
            {"node": {"id": "node.hsm", "roles": "hospital,regional,global",
                      "token": {"module": "\(fixture.module)", "label": "\(fixture.label)", "pin-file": "\(fixture.pinFile)", "key-id": "4e"},
                      "certificate": {"lifetime": "2", "renew": 60, "check": 60}},
             "tls": {"certificate": "\(chainFile)", "trust": "\(rootPEM)"},
             "pki": {"hosted": "\(dir.file("root"))"},
             "revocation": {"http": "off"}}
            """)
        let server = try ServeProcess(arguments: ["--data", dir.file("data"), "--config", config, "--https", "127.0.0.1:0"])
        defer { _ = server.terminate() }

        // The renewal at start rewrites the certificate file (the key stays on the token: no key file is written).
        var renewed: Certificate?
        for _ in 0..<150 {
            if let leaf = try? PEM.certificates(fromFile: chainFile).first, leaf.serialNumber != first.serialNumber { renewed = leaf; break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let current = try #require(renewed, "the node renewed its certificate")
        #expect(current.publicKey == publicKey, "the token's key is certified again, not replaced")
        #expect(current.subject == first.subject)
        #expect(abs(current.notValidAfter.timeIntervalSinceNow - 2 * 86_400) < 3600)
        #expect(!FileManager.default.fileExists(atPath: dir.file("node.key.pem")) && !FileManager.default.fileExists(atPath: dir.file("data/node.key.pem")))

        // A foreign TLS client: the handshake's signature is made on the token, and the chain verifies.
        let session = try ProcessRunner.openssl(["s_client", "-connect", "127.0.0.1:\(server.httpsPort)", "-cert", cardCertFile, "-key", cardKeyFile, "-CAfile", rootPEM, "-showcerts"], input: Data())
        #expect(session.text.contains("Verify return code: 0 (ok)"), "\(session.stderr)")
        let serial = try ProcessRunner.openssl(["x509", "-noout", "-serial"], input: session.stdout)
        #expect(serial.text.uppercased().contains(Hex.encode(current.serialNumber.bytes).uppercased()))

        // A sign-in: the request is sealed to the renewed certificate (decrypted through the token), the reply and
        // the assertion are signed on the token.
        let validator = ChainValidator(anchors: [rootCert], crls: [try root.makeCRL(now: Date())], revocation: .leaf)
        let client = try UserClient(credential: card, nodeId: "node.hsm", endpoint: "https://127.0.0.1:\(server.httpsPort)", nodeCertificate: current, anchorsPEM: try PEM.encode([rootCert]), validator: { validator })
        let signedIn = try await client.signIn()
        #expect(!signedIn.assertion.isEmpty)
        #expect(server.terminate() == 0, "SIGTERM stops the node, its renewer included")
    }
}
