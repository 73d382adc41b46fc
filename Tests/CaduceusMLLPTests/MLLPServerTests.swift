import CaduceusAudit
import CaduceusTLS
import CaduceusExchange
import CaduceusHL7
import CaduceusMLLP
import CaduceusPKI
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization
import Testing

let goodHealth = "1.2.840.114350.1"

/// Runs an MLLP server over a real SQLite-backed receiver for the duration of `body`.
func withServer<T: Sendable>(
    _ configure: (inout MLLPServerConfiguration) throws -> Void = { _ in },
    _ body: @Sendable (_ port: Int, _ store: SQLiteStore) async throws -> T
) async throws -> T {
    let dir = try TemporaryDirectory()
    let store = try SQLiteStore(path: dir.url.appendingPathComponent("n.sqlite").path, nodeKey: NodeKey(bytes: Data(repeating: 1, count: 32)))
    let mpi = try await MPIService(store: store, globalAuthority: "1.3.6.1.4.1.99999.1")
    let receiver = HL7Receiver(store: store, mpi: mpi, configuration: HL7ReceiverConfiguration(knownAuthorities: [goodHealth]))
    var configuration = MLLPServerConfiguration()
    configuration.port = 0
    configuration.insecurePlainTCP = true  // unless `configure` sets up mutual TLS
    try configure(&configuration)
    let server = MLLPServer(configuration: configuration, logger: Logger(label: "test"), handler: { await receiver.receive($1, from: HL7Peer($0)) }, oversized: { await receiver.rejectOversized(head: $0) })
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await server.run { continuation.yield($0.port ?? 0) }
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        let result = try await body(port, store)
        group.cancelAll()
        return result
    }
}

func adt(_ id: Int) -> [UInt8] {
    Array("MSH|^~\\&|EPIC|GH|CAD|H1|20260101||ADT^A04^ADT_A01|M\(id)|P|2.5.1\rPID|1||P\(id)^^^GH&\(goodHealth)&ISO^MR||DOE^JANE\(id)||19800214|F\r".utf8)
}

func msa(_ answer: [UInt8]) throws -> String {
    try HL7Message(parsing: answer).view(MSASegment.self)?.acknowledgmentCode ?? ""
}

@Suite("MLLP listener", .serialized)
struct MLLPServerTests {
    @Test("many concurrent connections are all served and every message is acknowledged after commit")
    func concurrentClients() async throws {
        try await withServer { port, store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for c in 0..<8 {
                    group.addTask {
                        try await MLLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
                            for i in 0..<25 { do { let answer = try await connection.send(adt(c * 100 + i)); #expect(try msa(answer) == "AA") } }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let _v84 = try await store.read { try $0.messageCount() }
            #expect(_v84 == 200)
        }
    }

    @Test("bad input on a connection is answered or dropped, the connection stays usable, and nothing is stored")
    func badInputKeepsServing() async throws {
        try await withServer({ $0.maxMessageBytes = 4096 }) { port, store in
            try await MLLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
                // Junk before a frame: dropped; the frame after it is processed.
                try await connection.writeRaw(Array("GET / HTTP/1.1\r\n".utf8))
                do { let answer = try await connection.send(adt(1)); #expect(try msa(answer) == "AA") }
                // NUL bytes, invalid UTF-8 under UNICODE UTF-8, missing MSH, wrong encoding characters: AR.
                var nul = adt(2)
                nul.insert(0, at: 30)
                do { let answer = try await connection.send(nul); #expect(try msa(answer) == "AR") }
                let utf8 = Array("MSH|^~\\&|EPIC|GH|CAD|H1|20260101||ADT^A04|M3|P|2.5.1||||||UNICODE UTF-8\rPID|1||P3^^^GH&\(goodHealth)&ISO||".utf8) + [0xC3, 0x28, 0x0D]
                do { let answer = try await connection.send(utf8); #expect(try msa(answer) == "AR") }
                do { let answer = try await connection.send(Array("PID|1||X\r".utf8)); #expect(try msa(answer) == "AR") }
                do { let answer = try await connection.send(Array("MSH|^~^&|A|B\r".utf8)); #expect(try msa(answer) == "AR") }
                let repetitions = Array(("MSH|^~\\&|EPIC|GH|CAD|H1|1||ADT^A04|M4|P|2.5.1\rPID|1||" + String(repeating: "X~", count: 100_000)).utf8)
                // 200 KB is over this server's 4 KB cap: answered AR from the salvaged header, rest discarded.
                let oversized = try await connection.send(repetitions)
                #expect(try msa(oversized) == "AR")
                #expect(try HL7Message(parsing: oversized).view(MSASegment.self)?.controlID == "M4")
                // A frame cut short by a new start block is dropped; the next frame is answered.
                try await connection.writeRaw([0x0B] + adt(5).prefix(20))
                do { let answer = try await connection.send(adt(6)); #expect(try msa(answer) == "AA") }
            }
            let _v6260 = try await store.read { try $0.messageCount() }
            #expect(_v6260 == 2)
            // A frame without end bytes on a closed connection changes nothing either.
            try await MLLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
                try await connection.writeRaw([0x0B] + adt(7))
            }
            try await MLLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
                do { let answer = try await connection.send(adt(8)); #expect(try msa(answer) == "AA") }
            }
            let _v2499 = try await store.read { try $0.messageCount() }
            #expect(_v2499 == 3)
            let audit = try await store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
            #expect(audit.filter { $0.outcome != .success }.count >= 2, "the refused frames are audited")
            // (The MPI's identity decisions — here, similar synthetic patients queued for review — are on the chain too.)
            var stored = 0
            for m in audit {
                let kind = m.eventTypes.first?.code ?? ""
                if m.eventID.code == "110110", m.outcome.rawValue == 0, !kind.hasPrefix("mpi.") { stored += 1 }
            }
            #expect(stored == 3, "each stored message is audited with its effect")
        }
    }

    @Test("an idle connection is closed by the server")
    func idleTimeout() async throws {
        try await withServer({ $0.idleTimeout = .milliseconds(200) }) { port, _ in
            await #expect(throws: MLLPError.self) {
                try await MLLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
                    try await Task.sleep(for: .milliseconds(600))
                    _ = try await connection.receive()
                }
            }
        }
    }

    @Test("mutual TLS: a federation client certificate is served; none, a foreign one or a revoked one is refused")
    func mutualTLS() async throws {
        let pki = try TestPKI()
        let foreign = try TestPKI()
        let dir = try TemporaryDirectory()
        let server = try pki.credential(.node(dnsNames: ["mllp.hospital.test"]), name: "mllp.hospital.test")
        let client = try pki.credential(.node(dnsNames: ["emr.hospital.test"]), name: "emr.hospital.test")
        let revoked = try pki.credential(.node(dnsNames: ["old.hospital.test"]), name: "old.hospital.test")
        let stranger = try foreign.credential(.node(dnsNames: ["x.test"]), name: "x.test")
        let crl = try CertificateRevocationList.make(
            authority: pki.hospital, entries: [.init(serialNumber: revoked.certificate.serialNumber, revocationDate: Date().addingTimeInterval(-60), reason: .keyCompromise)],
            crlNumber: 1, thisUpdate: Date().addingTimeInterval(-60), nextUpdate: Date().addingTimeInterval(3600))
        let serverFiles = try dir.write(credential: server, as: "server")
        let anchors = try PEM.encode([pki.root.certificate])
        func clientContext(_ credential: Credential?) throws -> NIOSSLContext {
            let files = try credential.map { try dir.write(credential: $0, as: "c\(UInt32.random(in: 0...UInt32.max))") }
            return try FederationTLS.clientContext(
                certificateChainPEM: try files.map { try String(contentsOfFile: $0.chain, encoding: .utf8) },
                privateKeyPEM: try files.map { try String(contentsOfFile: $0.key, encoding: .utf8) }, anchorsPEM: anchors)
        }
        let good = try clientContext(client)
        let contexts = [try clientContext(nil), try clientContext(stranger), try clientContext(revoked)]
        try await withServer({ configuration in
            configuration.tls = try FederationTLS.serverContext(
                certificateChainPEM: try String(contentsOfFile: serverFiles.chain, encoding: .utf8),
                privateKeyPEM: try String(contentsOfFile: serverFiles.key, encoding: .utf8), anchorsPEM: anchors)
            configuration.clientValidator = { [validator = pki.validator(crls: [crl])] in validator }
        }) { port, store in
            try await MLLPClient.withConnection(host: "127.0.0.1", port: port, tls: good, serverHostname: "mllp.hospital.test") { connection in
                do { let answer = try await connection.send(adt(1)); #expect(try msa(answer) == "AA") }
            }
            for context in contexts {
                await #expect(throws: (any Error).self) {
                    try await MLLPClient.withConnection(host: "127.0.0.1", port: port, tls: context, serverHostname: "mllp.hospital.test") { connection in
                        _ = try await connection.send(adt(2))
                    }
                }
            }
            let _v7780 = try await store.read { try $0.messageCount() }
            #expect(_v7780 == 1)
        }
    }
}
