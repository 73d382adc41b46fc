import CaduceusApp
import CaduceusCore
import CaduceusExchange
import CaduceusHL7
import CaduceusMLLP
import CaduceusPKI
import CaduceusStorage
import CaduceusTLS
import CaduceusTestSupport
import Foundation
import Logging
import NIOSSL
import Testing

/// Attacks on the MLLP door: cards posing as EMRs, EMRs writing outside their authority, pre-empted control ids.
@Suite("Attacks: EMRs are authorised, not just authenticated", .serialized)
struct MLLPAttackTests {
    /// Runs hospital A's HL7 receiver behind an MLLP listener with mutual TLS (A's node certificate, the federation's
    /// validator), and `body` with its port.
    func withListener(_ fed: LocalFederation, _ body: @Sendable (Int) async throws -> Void) async throws {
        let a = fed.runtimes[LocalFederation.hospitalA]!
        let receiver = a.hl7!
        let nodeA = try nodeCredential(fed, LocalFederation.hospitalA)
        var configuration = MLLPServerConfiguration()
        configuration.port = 0
        configuration.tls = try FederationTLS.serverContext(
            certificateChainPEM: try PEM.encode([nodeA.certificate] + nodeA.chain), privateKeyPEM: nodeA.key.pkcs8PEM, anchorsPEM: fed.trust.anchorsPEM)
        configuration.clientValidator = { [trust = fed.trust] in trust.validator() }
        let server = MLLPServer(configuration: configuration, logger: quiet, handler: { await receiver.receive($1, from: HL7Peer($0)) })
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run { continuation.yield($0.port ?? 0) } }
            var it = ports.makeAsyncIterator()
            let port = await it.next()!
            try await body(port)
            group.cancelAll()
        }
    }

    func send(_ fed: LocalFederation, port: Int, as credential: Credential, _ message: [UInt8]) async throws -> HL7Message {
        let tls = try FederationTLS.clientContext(certificateChainPEM: try PEM.encode([credential.certificate] + credential.chain), privateKeyPEM: credential.key.pkcs8PEM, anchorsPEM: fed.trust.anchorsPEM)
        let answer = try await MLLPClient.withConnection(host: "127.0.0.1", port: port, tls: tls, serverHostname: "node.hospital-a.caduceus.test") { try await $0.send(message) }
        return try HL7Message(parsing: answer)
    }

    /// MSA-1 and ERR-3's HL7 code of an answer.
    func outcome(_ m: HL7Message) -> String { (try? m.view(MSASegment.self)?.acknowledgmentCode) ?? "?" }

    /// An interface certificate issued by `ca` for `application`/`facility` of `organization`.
    func interface(_ fed: LocalFederation, ca: String, application: String, facility: String, organization: String) throws -> Credential {
        let store = fed.authorities[ca]!
        let key = try PrivateKeyMaterial.generate(.p256)
        let cert = try store.issue(profile: .interface, subject: try federationName(commonName: application, organization: organization, unit: facility), publicKey: key.publicKey, now: Date())
        return try Credential(key: key, certificate: cert, chain: try store.authority().chain.dropLast().map { $0 })
    }

    func patients(_ fed: LocalFederation) async throws -> Int {
        try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.mpiSnapshot().records.count }
    }

    @Test("a staff card and a patient card on MLLP are refused AR hl7.peer-not-authorized; nothing stored; one audit record each")
    func cardsOnMLLP() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            try await withListener(fed) { port in
                for card in ["clinician.hospital-a", LocalFederation.patientCard] {
                    let before = try await patients(fed), head = try await auditHead(fed, LocalFederation.hospitalA)
                    let answer = try await send(fed, port: port, as: fed.users[card]!, DemoData.adtA04(mrn: "A-55555", control: "X-\(card)"))
                    #expect(outcome(answer) == "AR", "\(card)")
                    #expect(try await patients(fed) == before)
                    let records = try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.auditMessages(AuditFilter(limit: 5)) }.filter { $0.sequence > head }
                    #expect(records.count == 1 && records[0].message.errorCode == "hl7.peer-not-authorized")
                }
                // A PDQ query from a card pages through nobody.
                let pdq = Array(("MSH|^~\\&|EMR|HOSPA|CADUCEUS|HOSPA|20261120090000||QBP^Q22^QBP_Q21|Q-1|P|2.5.1\rQPD|IHE PDQ Query|Q1|@PID.5.1.1^SYNTHETIC\rRCP|I|10^RD\r").utf8)
                #expect(outcome(try await send(fed, port: port, as: fed.users["clinician.hospital-a"]!, pdq)) == "AR")
            }
        }
    }

    @Test("an EMR interface writes only as its application and facility, and only in its CA's assigning authorities")
    func interfaceOutsideItsNames() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let emrA = try interface(fed, ca: "hospital-a", application: "EMR", facility: "HOSPA", organization: LocalFederation.hospitalA)
            let emrB = try interface(fed, ca: "hospital-b", application: "EMR", facility: "HOSPA", organization: LocalFederation.hospitalB)
            try await withListener(fed) { port in
                #expect(outcome(try await send(fed, port: port, as: emrA, DemoData.adtA04(mrn: "A-55556", control: "EMR-1"))) == "AA", "its own names and authority")
                let before = try await patients(fed)
                // B's EMR (same MSH-3/4 text) writing hospital A's assigning authority.
                #expect(outcome(try await send(fed, port: port, as: emrB, DemoData.adtA04(mrn: "A-55557", control: "EMR-2"))) == "AR")
                // A's EMR claiming to be the lab.
                let lab = DemoData.oruR01()
                #expect(outcome(try await send(fed, port: port, as: emrA, lab)) == "AR", "MSH-3 LAB is not the certificate's application")
                #expect(try await patients(fed) == before)
            }
        }
    }

    @Test("pre-sending an EMR's next control id no longer drops its real message; a repeated control id with other content is refused")
    func controlIdPreemption() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let emrA = try interface(fed, ca: "hospital-a", application: "EMR", facility: "HOSPA", organization: LocalFederation.hospitalA)
            let rogue = try nodeCredential(fed, LocalFederation.hospitalA)  // any other certificate A accepts
            try await withListener(fed) { port in
                // The attacker pre-sends control id NEXT-1 (its message naming a made-up patient).
                _ = try await send(fed, port: port, as: rogue, DemoData.adtA04(mrn: "A-70000", control: "NEXT-1"))
                // The EMR's real message with that control id is processed, not acknowledged and dropped.
                let before = try await patients(fed)
                #expect(outcome(try await send(fed, port: port, as: emrA, DemoData.adtA04(mrn: "A-70001", control: "NEXT-1"))) == "AA")
                #expect(try await patients(fed) == before + 1)
                // The same sender repeating the control id: the same bytes get the stored ACK, other bytes AR.
                #expect(outcome(try await send(fed, port: port, as: emrA, DemoData.adtA04(mrn: "A-70001", control: "NEXT-1"))) == "AA")
                let head = try await auditHead(fed, LocalFederation.hospitalA)
                let collision = try await send(fed, port: port, as: emrA, DemoData.adtA04(mrn: "A-70002", control: "NEXT-1"))
                #expect(outcome(collision) == "AR")
                #expect(try await patients(fed) == before + 1)
                let records = try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.auditMessages(AuditFilter(limit: 5)) }.filter { $0.sequence > head }
                #expect(records.count == 1 && records[0].message.errorCode == "hl7.duplicate-control-id")
            }
        }
    }
}
