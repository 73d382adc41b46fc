import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusCMS
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// The serial (hex, as openssl prints it) of the certificate a node presents in a new TLS handshake, read by
/// `openssl s_client` (a foreign client) with a staff card, and whether openssl verified the chain to the root.
func presentedSerial(_ fed: LocalFederation, _ nodeId: String, card: String, in dir: TemporaryDirectory) throws -> (serial: String, verified: Bool) {
    let credential = fed.users[card]!
    let cert = dir.file(card + ".pem"), key = dir.file(card + ".key")
    try AtomicFile.write(Data(try PEM.encode([credential.certificate] + credential.chain).utf8), to: cert)
    try AtomicFile.write(Data(try credential.key.pkcs8PEM.utf8), to: key, permissions: 0o600)
    let port = try #require(URL(string: fed.endpoint(nodeId))?.port)
    let session = try ProcessRunner.openssl(["s_client", "-connect", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-CAfile", fed.base + "/root.pem", "-showcerts"], input: Data())
    let serial = try ProcessRunner.openssl(["x509", "-noout", "-serial"], input: session.stdout)
    let text = serial.text.trimmingCharacters(in: .whitespacesAndNewlines)
    return (String(text.dropFirst("serial=".count)).uppercased(), session.text.contains("Verify return code: 0 (ok)"))
}

func hexSerial(_ certificate: Certificate) -> String { Hex.encode(certificate.serialNumber.bytes).uppercased() }

@Suite("Node certificates renew themselves (short-lived credentials)", .serialized)
struct NodeRenewalTests {
    @Test("a replaced credential decrypts for the retention time at most, and never past its certificate's expiry; a credential for another subject is not taken")
    func retention() throws {
        let pki = try TestPKI(now: Date().addingTimeInterval(-60))
        let first = try pki.credential(.node(dnsNames: ["n.test"]), name: "node.retained")
        let second = try pki.credential(.node(dnsNames: ["n.test"]), name: "node.retained")
        let held = RenewableCredential(first, retention: 3600)
        let now = Date()
        try held.replace(with: second, now: now)
        #expect(held.current.certificate == second.certificate && held.generation == 1)
        #expect(held.decryptors(at: now.addingTimeInterval(3599)).map(\.certificate) == [second.certificate, first.certificate])
        #expect(held.decryptors(at: now.addingTimeInterval(3601)).map(\.certificate) == [second.certificate])
        #expect(held.decryptors(at: first.certificate.notValidAfter.addingTimeInterval(1)).count == 1)
        let stranger = try pki.credential(.node(dnsNames: ["n.test"]), name: "node.other")
        #expect(throws: PKIError.self) { try held.replace(with: stranger, now: now) }
        #expect(held.generation == 1)
    }

    @Test("renewal is due only in the last third of a certificate's life (injected clock)")
    func due() async throws {
        let dir = try TemporaryDirectory()
        let fed = try await LocalFederation.create(at: dir.path + "/fed", logger: quiet)
        let certificate = fed.runtimes[LocalFederation.hospitalA]!.node.credentials.current.certificate
        let whole = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
        let early = fed.renewer(LocalFederation.hospitalA, clock: { certificate.notValidBefore.addingTimeInterval(whole * 0.5) }, logger: quiet)
        #expect(try await early.renewIfDue() == nil)
        #expect(fed.runtimes[LocalFederation.hospitalA]!.node.credentials.generation == 0)
        let late = fed.renewer(LocalFederation.hospitalA, clock: { certificate.notValidBefore.addingTimeInterval(whole * 0.7) }, logger: quiet)
        #expect(late.isDue(certificate, at: certificate.notValidBefore.addingTimeInterval(whole * 0.7)))
        #expect(!late.isDue(certificate, at: certificate.notValidBefore.addingTimeInterval(whole * 0.6)))
    }

    @Test("a running hospital node renews its certificate: new TLS handshakes (openssl s_client) present the new one, a peer holding the old directory entry still reaches it, the directory serves the new one, the files are rewritten, the trail says so")
    func renewRunning() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let dir = try TemporaryDirectory()
            let a = fed.runtimes[LocalFederation.hospitalA]!, b = fed.runtimes[LocalFederation.hospitalB]!
            let old = a.node.credentials.current.certificate
            #expect(try presentedSerial(fed, LocalFederation.hospitalA, card: "clinician.hospital-b", in: dir).serial == hexSerial(old))
            // B learns A's entry (the old certificate) before the renewal.
            let clinicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await clinicianA.signIn()
            let registered = try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)
            let clinicianB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await clinicianB.signIn()
            _ = try await clinicianB.retrieve(registered.map(\.uniqueId))

            var settings = RenewalSettings()
            settings.lifetimeDays = 2
            let renewed = try await fed.renewer(LocalFederation.hospitalA, settings: settings, logger: quiet).renew(at: Date())
            let new = renewed.certificate
            #expect(hexSerial(new) != hexSerial(old))
            #expect(new.subject == old.subject && new.issuer == old.issuer)
            #expect(new.publicKey != old.publicKey, "a key in memory is replaced with the certificate")
            #expect(abs(new.notValidAfter.timeIntervalSinceNow - 2 * 86_400) < 3600, "the configured lifetime")
            #expect(a.node.credentials.generation == 1)

            // A foreign client's new handshake gets the new certificate, and openssl verifies its chain to the root.
            let presented = try presentedSerial(fed, LocalFederation.hospitalA, card: "clinician.hospital-b", in: dir)
            #expect(presented.serial == hexSerial(new))
            #expect(presented.verified)

            // B still holds A's old entry: its envelopes are sealed to the old certificate, and A still opens them.
            let (_, parts) = try await clinicianB.retrieve(registered.map(\.uniqueId))
            #expect(parts.first?.body == ccd)
            // The directory serves the new certificate; a node looking A up afresh seals to it, and that works too.
            let entry = try JSONDecoder.exchange.decode(DirectoryNode.self, from: Data(try await transport(fed, as: nodeCredential(fed, LocalFederation.hospitalB)).get(fed.endpoint(LocalFederation.global), path: "/v1/directory/nodes/" + LocalFederation.hospitalA)))
            #expect(try PEM.certificates(fromPEM: entry.certificatePEM).first == new)
            b.node.useDirectory(at: fed.endpoint(LocalFederation.global))
            let (_, again) = try await clinicianB.retrieve(registered.map(\.uniqueId))
            #expect(again.first?.body == ccd)
            // A user client sealing to the new certificate (read from the rewritten file) is answered.
            let fresh = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await fresh.signIn()

            // The files hold the new pair, which openssl verifies under the root with the chain beside it.
            let files = try nodeCredential(fed, LocalFederation.hospitalA)
            #expect(files.certificate == new)
            #expect(files.key.publicKey == new.publicKey)
            let chainFile = dir.file("chain.pem")
            try AtomicFile.write(Data(try PEM.encode(files.chain).utf8), to: chainFile)
            let verify = try ProcessRunner.openssl(["verify", "-CAfile", fed.base + "/root.pem", "-untrusted", chainFile, fed.base + "/nodes/" + LocalFederation.hospitalA + "/node.chain.pem"])
            #expect(verify.ok, "\(verify.stderr)")

            // The trail: the renewal with both serials, and the changed configuration as a Security Alert.
            let events = try await a.store.read { r in try r.auditMessages(AuditFilter(limit: 200)) }.map(\.message)
            let renewal = try #require(events.first { $0.eventTypes.first?.code == "node.certificate-renewed" })
            #expect(Set(renewal.objects.map(\.id)) == [Hex.encode(old.serialNumber.bytes), Hex.encode(new.serialNumber.bytes)])
            #expect(events.contains { $0.eventID == .securityAlert && $0.eventTypes.contains { $0.code == "configuration.changed" } })
            // The replaced certificate would have outlived the 2-day one: it is revoked as superseded.
            let record = try #require(try fed.authorities["hospital-a"]!.record(serial: old.serialNumber))
            #expect(record.status == "revoked" && record.reason == RevocationReason.superseded.rawValue)

            // A node whose certificate was revoked is not renewed: its operator issues a new one.
            try await fed.revoke(nodeId: LocalFederation.hospitalB, ca: "hospital-b")
            let before = b.node.credentials.generation
            await #expect(throws: PKIError.self) { try await fed.renewer(LocalFederation.hospitalB, logger: quiet).renew(at: Date()) }
            #expect(b.node.credentials.generation == before)
        }
    }

    @Test("a renewal stopped between its two renames is completed at the next load; a node cannot renew a certificate whose CA it does not host")
    func halfDoneAndForeignCA() async throws {
        let dir = try TemporaryDirectory()
        let fed = try await LocalFederation.create(at: dir.path + "/fed", logger: quiet)
        let nodeDir = fed.base + "/nodes/" + LocalFederation.hospitalB
        let files = NodeCredentialFiles(certificate: nodeDir + "/node.chain.pem", key: nodeDir + "/node.key.pem")
        let before = try files.load()
        // The crash: the new key is in place, the new certificate still beside it as `.next`.
        let key = try PrivateKeyMaterial.generate(.p256)
        let ca = fed.authorities["hospital-b"]!
        let cert = try ca.issue(profile: .node(dnsNames: ["node.hospital-b.caduceus.test"]), subject: before.certificate.subject, publicKey: key.publicKey, now: Date(), validityDays: 7)
        try AtomicFile.write(Data(try PEM.encode([cert] + before.chain).utf8), to: files.certificate + ".next")
        try AtomicFile.write(Data(try key.pkcs8PEM.utf8), to: files.key!, permissions: 0o600)
        let loaded = try files.load()
        #expect(loaded.certificate == cert)
        #expect(!FileManager.default.fileExists(atPath: files.certificate + ".next"))
        // A mismatched pair with nothing to complete it is refused, not loaded.
        try AtomicFile.write(Data(try PrivateKeyMaterial.generate(.p256).pkcs8PEM.utf8), to: files.key!, permissions: 0o600)
        #expect(throws: PKIError.self) { try files.load() }
        // A planted `.next` for the key but naming another subject is not taken: the certificate file is untouched.
        let planterKey = try PrivateKeyMaterial(pemEncoded: String(contentsOfFile: files.key!, encoding: .utf8))
        let other = try fed.authorities["regional"]!.issue(profile: .node(dnsNames: ["node.region-north.caduceus.test"]), subject: try federationName(commonName: LocalFederation.regional), publicKey: planterKey.publicKey, now: Date(), validityDays: 7)
        try AtomicFile.write(Data(try PEM.encode([other]).utf8), to: files.certificate + ".next")
        #expect(throws: PKIError.self) { try files.load() }
        #expect(try PEM.certificates(fromFile: files.certificate).first == cert)

        // Hospital A's node hosts only A's CA: it finds the issuer of its own certificate, not of B's.
        let renewerA = fed.renewer(LocalFederation.hospitalA, logger: quiet)
        #expect(try renewerA.issuer(of: fed.runtimes[LocalFederation.hospitalA]!.node.credentials.current.certificate) != nil)
        #expect(try renewerA.issuer(of: before.certificate) == nil)
        #expect(try renewerA.issuer(of: cert) == nil)
    }
}
