import ArgumentParser
import CaduceusApp
import CaduceusCMS
import CaduceusCore
import CaduceusPKI
import Foundation
import Synchronization
import X509

/// `caduceus demo`: what exists today, end to end — the federation PKI and secure envelopes between hospitals.
/// — and HL7 v2 feeds over mutual-TLS MLLP into the regional registry and MPI. (The HTTPS node servers and document
/// exchange join this demo as their issues land.)
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a federation PKI and exchange a signed, encrypted record between two hospitals.",
        discussion: """
            Creates, under --dir (default: a new temporary directory, kept for you to explore with \
            `caduceus pki` and `caduceus smime`): a global root CA, a regional CA, two hospital CAs with name \
            constraints, node certificates and a clinician's card (PKCS#12). Hospital A seals a synthetic document \
            for hospital B; the regional node cannot read it; hospital B opens and verifies it; hospital A's node \
            certificate is revoked and B refuses its next message. Then both hospitals' EMRs send ADT messages over MLLP \
            with mutual TLS to the regional node, whose MPI links the two records of one patient; a PIX query returns \
            them; the revoked certificate is refused at the handshake. Finally four HTTPS nodes (global, regional, \
            hospitals A and B) start on loopback: A's EMR feeds HL7, A publishes a generated CCD and a DICOM image, \
            a clinician at B finds the patient, queries the registry and retrieves the documents (re-encrypted to B), \
            and A pushes a transfer to B for a signed receipt. Then the patient, with her own card, opts out of \
            sharing (a signed consent recorded by the regional node) and B's next retrieve is refused; the nurse \
            declares break-glass and is let in, audited as an emergency override and queued for review; the patient \
            revokes her opt-out at the regional node and reads who touched her record across the federation; every \
            node's audit trail reaches the regional repository over RFC 5425. With --keep the nodes stay up. All \
            data is synthetic.
            """)

    @Option(help: "Directory for the demo federation (must not exist yet).") var dir: String?

    @Flag(help: "Leave the four nodes running after the demo, until Ctrl-C.") var keep = false

    func run() async throws {
        try await reportingErrors {
            let base = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-demo-\(UUID().uuidString.prefix(8))").path
            guard !FileManager.default.fileExists(atPath: base) else { throw CLIError.usage("--dir exists already") }
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            let report = Report()
            let now = Date()

            report.step("Federation PKI")
            let root = try report.timed("global root CA (P-256, path length 2)") {
                try CAStore.createRoot(at: "\(base)/pki/global", subject: try federationName(commonName: "Caduceus Global Root CA"), now: now)
            }
            let regional = try report.timed("regional CA (path length 1)") {
                try root.createSubordinate(at: "\(base)/pki/regional", subject: try federationName(commonName: "Region North CA"), pathLength: 1, namespace: LocalFederation.namespace(of: "regional"), now: now)
            }
            let hospitalA = try report.timed("hospital A CA (name constraint hospital-a.caduceus.test)") {
                try regional.createSubordinate(
                    at: "\(base)/pki/hospital-a", subject: try federationName(commonName: "Hospital A CA"), pathLength: 0,
                    permittedDNSDomains: ["hospital-a.caduceus.test"], namespace: LocalFederation.namespace(of: "hospital-a"), now: now)
            }
            let hospitalB = try report.timed("hospital B CA (name constraint hospital-b.caduceus.test)") {
                try regional.createSubordinate(
                    at: "\(base)/pki/hospital-b", subject: try federationName(commonName: "Hospital B CA"), pathLength: 0,
                    permittedDNSDomains: ["hospital-b.caduceus.test"], namespace: LocalFederation.namespace(of: "hospital-b"), now: now)
            }
            func credential(_ store: CAStore, _ profile: IssuanceProfile, _ name: String, _ algorithm: KeyAlgorithm = .p256, organization: String = "Caduceus Federation", role: String? = nil) throws -> Credential {
                let key = try PrivateKeyMaterial.generate(algorithm)
                let cert = try store.issue(profile: profile, subject: try federationName(commonName: name, organization: organization, unit: role), publicKey: key.publicKey, now: now)
                return try Credential(key: key, certificate: cert, chain: try store.authority().chain.dropLast().map { $0 })
            }
            let nodeA = try report.timed("node certificate node.hospital-a.caduceus.test") {
                try credential(hospitalA, .node(dnsNames: ["node.hospital-a.caduceus.test"]), "node.hospital-a")
            }
            let nodeB = try report.timed("node certificate node.hospital-b.caduceus.test (RSA-3072, for an RSA-OAEP recipient)") {
                try credential(hospitalB, .node(dnsNames: ["node.hospital-b.caduceus.test"]), "node.hospital-b", .rsa3072)
            }
            let regionalNode = try report.timed("node certificate node.region-north (the intermediary)") {
                let key = try PrivateKeyMaterial.generate(.p256)
                let cert = try regional.issue(profile: .node(dnsNames: ["node.region-north.caduceus.test"]), subject: try federationName(commonName: "node.region-north"), publicKey: key.publicKey, now: now)
                return try Credential(key: key, certificate: cert, chain: [try regional.authority().certificate])
            }
            let clinician = try report.timed("staff card for a clinician at hospital B, exported as PKCS#12") {
                let card = try credential(hospitalB, .person(email: "dr.demo@hospital-b.caduceus.test"), "Dr Demo (synthetic)", organization: LocalFederation.hospitalB, role: "physician")
                let password = Sensitive("demo-" + Hex.encode(randomBytes(6)))
                try AtomicFile.write(Data(try PKCS12.export(card, password: password)), to: "\(base)/clinician.p12", permissions: 0o600)
                try AtomicFile.write(Data((password.unsafeValue + "\n").utf8), to: "\(base)/clinician.password", permissions: 0o600)
                return card
            }
            for (name, c) in [("node-a", nodeA), ("node-b", nodeB), ("node-regional", regionalNode), ("clinician", clinician)] {
                try AtomicFile.write(Data(try PEM.encode([c.certificate] + c.chain).utf8), to: "\(base)/\(name).chain.pem")
                try AtomicFile.write(Data(try PEM.encode([c.certificate]).utf8), to: "\(base)/\(name).pem")
                try AtomicFile.write(Data(c.key.pkcs8PEM.utf8), to: "\(base)/\(name).key", permissions: 0o600)
            }
            let rootCertificate = try root.authority().certificate
            try AtomicFile.write(Data(try PEM.encode([rootCertificate]).utf8), to: "\(base)/root.pem")
            let validator = ChainValidator(anchors: [rootCertificate])

            report.step("Hospital A sends a record to hospital B")
            let document = Array("""
                <?xml version="1.0"?>
                <!-- synthetic test record: no real patient -->
                <ClinicalDocument><title>Referral summary</title><patient>SYNTHETIC-0001</patient></ClinicalDocument>

                """.utf8)
            let sealed = try report.timed("signed by node.hospital-a (ECDSA P-256/SHA-256), encrypted to node.hospital-b (RSA-OAEP-SHA256, AES-256-GCM)") {
                try SMIME.seal(document[...], signers: [nodeA], recipients: [nodeB.certificate], signingTime: Date())
            }
            try AtomicFile.write(Data(sealed), to: "\(base)/referral.p7m")
            report.note("S/MIME authEnveloped-data entity, \(sealed.count) bytes -> \(base)/referral.p7m")

            report.step("The regional node relays it but cannot read it")
            do {
                _ = try SMIME.decrypt(sealed[...], credential: regionalNode)
                throw CLIError(code: "demo.failed", message: "the regional node could read the record")
            } catch let error as CMSError where error.kind == .decryptionFailed {
                report.note("node.region-north: \(error.code) (\(error.message)) — as intended")
            }

            report.step("Hospital B opens it")
            let opened = try await report.timedAsync("decrypted with node.hospital-b's key, signature and chain verified to the global root") {
                try await SMIME.open(sealed[...], credential: nodeB, validator: validator, now: Date())
            }
            guard Array(opened.content) == document else { throw CLIError(code: "demo.failed", message: "content differs") }
            for signer in opened.signers {
                report.note("signer: \(signer.certificate.subject); chain of \(signer.chain.count) to the root; content identical (\(opened.content.count) bytes)")
            }

            report.step("Hospital A's node key is compromised")
            try report.timed("hospital A CA revokes node.hospital-a (keyCompromise) and publishes CRL") {
                try hospitalA.revoke(serial: nodeA.certificate.serialNumber, reason: .keyCompromise, now: Date())
                let crl = try hospitalA.makeCRL(now: Date())
                try AtomicFile.write(Data(crl.derEncoded), to: "\(base)/hospital-a.crl")
            }
            let crl = try CertificateRevocationList(derEncoded: Array(try Data(contentsOf: URL(fileURLWithPath: "\(base)/hospital-a.crl"))))
            let strict = ChainValidator(anchors: [rootCertificate], crls: [crl], revocation: .leaf)
            let next = try SMIME.seal(document[...], signers: [nodeA], recipients: [nodeB.certificate], signingTime: Date())
            do {
                _ = try await SMIME.open(next[...], credential: nodeB, validator: strict, now: Date())
                throw CLIError(code: "demo.failed", message: "a revoked signer was accepted")
            } catch let error as CMSError {
                report.note("hospital B refuses A's next message: \(error.code)")
            }

            // The EMRs hold interface certificates: the sending application (CN) and facility (OU) they write as, for
            // their hospital (O); their CA's namespace decides which assigning authorities they may write.
            let emrA = try credential(hospitalA, .interface, "EMR-A", organization: LocalFederation.hospitalA, role: "EMR-A")
            let emrB = try credential(hospitalB, .interface, "EMR-B", organization: LocalFederation.hospitalB, role: "EMR-B")
            try await DemoHL7.run(
                report: report, base: base, regionalNode: regionalNode, emrA: emrA, emrB: emrB, revoked: nodeA,
                anchors: [rootCertificate], crls: [crl])

            try await DemoExchange.run(report: report, base: base + "/federation", keep: keep)

            report.step("Done")
            report.note("files: \(base)")
            report.note("try: caduceus smime open --in \(base)/referral.p7m --out - --cert \(base)/node-b.pem --key \(base)/node-b.key --trust \(base)/root.pem")
            report.note("     caduceus pki list --ca \(base)/pki/hospital-a")
            report.note("     openssl pkcs12 -info -noout -in \(base)/clinician.p12 -passin file:\(base)/clinician.password")
        }
    }
}

final class Report: Sendable {
    private let number = Mutex(0)

    func step(_ title: String) {
        let n = number.withLock { n in
            n += 1
            return n
        }
        print("\n\(n). \(title)")
    }

    func note(_ text: String) { print("   \(text)") }

    func timed<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now()
        let value = try body()
        print(String(format: "   ✓ %@ (%.1f ms)", what, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6))
        return value
    }

    func timedAsync<T>(_ what: String, _ body: () async throws -> T) async rethrows -> T {
        let start = DispatchTime.now()
        let value = try await body()
        print(String(format: "   ✓ %@ (%.1f ms)", what, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6))
        return value
    }
}
