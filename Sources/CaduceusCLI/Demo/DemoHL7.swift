import CaduceusTLS
import CaduceusApp
import CaduceusCore
import CaduceusExchange
import CaduceusHL7
import CaduceusMLLP
import CaduceusPKI
import Foundation
import Logging
import NIOSSL
import X509

/// The demo's HL7 part: two hospitals' EMRs feed the regional node's registry and MPI over MLLP with mutual TLS.
enum DemoHL7 {
    static let authorityA = LocalFederation.domainA
    static let authorityB = LocalFederation.domainB

    static func adt(_ event: String, _ control: String, _ pid3: String, _ name: String, app: String) -> [UInt8] {
        Array([
            "MSH|^~\\&|\(app)|\(app)|CADUCEUS|REGION-NORTH|20260101120000||ADT^\(event)^ADT_A01|\(control)|P|2.5.1",
            "EVN|\(event)|20260101120000",
            "PID|1||\(pid3)^MR||\(name)||19800214|F|||1 MAIN ST^^SPRINGFIELD^IL^62701||^PRN^PH^^1^217^5551234",
        ].joined(separator: "\r").utf8) + [0x0D]
    }

    static func run(
        report: Report, base: String, regionalNode: Credential, emrA: Credential, emrB: Credential, revoked: Credential,
        anchors: [Certificate], crls: [CertificateRevocationList]
    ) async throws {
        report.step("Hospital EMRs feed the regional MPI over MLLP (mutual TLS)")
        let node = NodeOptions.at(base + "/regional-node")
        let opened = try await node.open()
        let receiver = HL7Receiver(store: opened.store, mpi: opened.mpi, configuration: HL7ReceiverConfiguration(knownAuthorities: [authorityA, authorityB]))
        let anchorsPEM = try PEM.encode(anchors)
        var configuration = MLLPServerConfiguration()
        configuration.port = 0
        configuration.tls = try FederationTLS.serverContext(
            certificateChainPEM: try PEM.encode([regionalNode.certificate] + regionalNode.chain), privateKeyPEM: regionalNode.key.pkcs8PEM,
            anchorsPEM: anchorsPEM)
        configuration.clientValidator = { [validator = ChainValidator(anchors: anchors, crls: crls)] in validator }
        var logger = Logger(label: "caduceus.demo.mllp")
        logger.logLevel = .critical
        let server = MLLPServer(configuration: configuration, logger: logger, handler: { await receiver.receive($1, from: HL7Peer($0)) }, oversized: { await receiver.rejectOversized(head: $0) })
        func tls(_ c: Credential) throws -> NIOSSLContext {
            try FederationTLS.clientContext(certificateChainPEM: try PEM.encode([c.certificate] + c.chain), privateKeyPEM: c.key.pkcs8PEM, anchorsPEM: anchorsPEM)
        }
        let tlsA = try tls(emrA), tlsB = try tls(emrB), tlsRevoked = try tls(revoked)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run { continuation.yield($0.port ?? 0) } }
            var it = ports.makeAsyncIterator()
            let port = await it.next()!
            report.note("regional node listening for MLLP on 127.0.0.1:\(port), client certificates checked against the federation root and CRLs")
            func send(_ context: NIOSSLContext, _ message: [UInt8]) async throws -> HL7Message {
                try await MLLPClient.withConnection(host: "127.0.0.1", port: port, tls: context, serverHostname: "node.region-north.caduceus.test") { connection in
                    try HL7Message(parsing: try await connection.send(message))
                }
            }
            func summary(_ m: HL7Message) -> String {
                let msa = (try? m.view(MSASegment.self)?.acknowledgmentCode) ?? "?"
                let err = (try? m.view(ERRSegment.self)?.errorCode).flatMap { $0 }.map { ", ERR-3 \($0)" } ?? ""
                return "MSA-1 \(msa)\(err)"
            }
            let a = try await report.timedAsync("hospital A's EMR sends ADT^A01 for patient 4711 (DOE^JANE)") {
                try await send(tlsA, adt("A01", "A-0001", "4711^^^HOSPA&\(authorityA)&ISO", "DOE^JANE", app: "EMR-A"))
            }
            report.note("answer: \(summary(a)) — sent after the patient, the MPI link and the encrypted message were committed")
            let b = try await report.timedAsync("hospital B's EMR sends ADT^A04 for patient A-93 (DOE^JANEE, a typo)") {
                try await send(tlsB, adt("A04", "B-0001", "A-93^^^HOSPB&\(authorityB)&ISO", "DOE^JANEE", app: "EMR-B"))
            }
            report.note("answer: \(summary(b))")
            let pix = try await report.timedAsync("hospital B asks PIX (QBP^Q23): who is A-93 elsewhere?") {
                try await send(tlsB, Array([
                    "MSH|^~\\&|EMR-B|EMR-B|CADUCEUS|REGION-NORTH|20260101120100||QBP^Q23^QBP_Q21|B-0002|P|2.5.1",
                    "QPD|IHE PIX Query|Q1|A-93^^^HOSPB&\(authorityB)&ISO", "RCP|I",
                ].joined(separator: "\r").utf8) + [0x0D])
            }
            let ids = (try? pix.view(PIDSegment.self)?.identifiers) ?? []
            for cx in ids { report.note("  PID-3: \(cx.id) in \(cx.assigningAuthority.universalID)") }
            let unknown = try await send(tlsB, adt("A04", "B-0003", "77^^^ELSEWHERE&9.9.9&ISO", "ROE^RICHARD", app: "EMR-B"))
            report.note("an ADT naming an assigning authority outside the EMR's certificate: \(summary(unknown)); nothing stored, one audit row")
            let forged = try await send(tlsB, adt("A08", "B-0004", "4711^^^HOSPA&\(authorityA)&ISO", "DOE^JANE", app: "EMR-B"))
            report.note("hospital B's EMR writing a hospital A identity: \(summary(forged)) — its certificate covers only B's authority")
            do {
                _ = try await send(tlsRevoked, adt("A08", "A-0002", "4711^^^HOSPA&\(authorityA)&ISO", "DOE^JANE", app: "EMR-A"))
                throw CLIError(code: "demo.failed", message: "a revoked client certificate was accepted")
            } catch let error as CLIError {
                throw error
            } catch {
                report.note("hospital A's revoked node certificate is refused in the TLS handshake, before any HL7 byte")
            }
            group.cancelAll()
        }
        report.note("try: caduceus mpi show --data \(base)/regional-node --id 4711 --authority \(authorityA)")
    }
}

extension NodeOptions {
    static func at(_ data: String) -> NodeOptions {
        var options = try! NodeOptions.parse([])
        options.data = data
        return options
    }
}
