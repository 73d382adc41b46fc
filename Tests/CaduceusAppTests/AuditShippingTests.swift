import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusStorage
import CaduceusSyslog
import CaduceusTLS
import CaduceusTestSupport
import Crypto
import Foundation
import Testing

private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let python = repo.appendingPathComponent(".venv/bin/python").path

/// Polls `condition` every 100 ms for up to `seconds`.
func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return false
}

/// A node's shipped copy at the regional repository, verified from genesis against the checkpoints it shipped.
func repositoryCopy(_ fed: LocalFederation, of node: String) async throws -> (head: UInt64, verification: AuditVerification) {
    let regional = fed.runtimes[LocalFederation.regional]!.store
    let key = try AuditSigningKey.publicKey(in: fed.base + "/nodes/" + node)
    return try await regional.read { r in
        var verifier = AuditVerifier(checkpoints: try r.repositoryCheckpoints(node: node), key: key)
        try r.forEachRepositoryRecord(node: node) { verifier.feed($0) }
        return (try r.repositoryHead(node: node).sequence, verifier.finish())
    }
}

@Suite("Audit trail shipped to the regional repository (RFC 5425)", .serialized)
struct AuditShippingTests {
    @Test("every node's trail reaches the regional repository gap-free while the federation works, and verifies there")
    func backgroundShipping() async throws {
        try await withSeededFederation { fed, ccd, _, patientA in
            let physician = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physician.signIn()
            _ = try await physician.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)
            for node in [LocalFederation.hospitalA, LocalFederation.hospitalB, LocalFederation.global] {
                let store = fed.runtimes[node]!.store
                let local = try await store.read { try $0.auditHead().sequence }
                #expect(local > 0)
                let arrived = try await eventually { try await repositoryCopy(fed, of: node).head >= local }
                #expect(arrived, "\(node)'s trail reached the repository")
                let copy = try await repositoryCopy(fed, of: node)
                #expect(copy.verification.problem == nil && copy.verification.records == copy.head, "\(node): \(copy.verification)")
            }
            let nodes = try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.repositoryNodes() }
            #expect(nodes[LocalFederation.regional] == nil, "the regional node is the repository; it does not ship to itself")
        }
    }

    @Test("store and forward: nothing is lost while the repository is unreachable; truncation, rollback and rewriting are caught")
    func storeAndForward() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let a = fed.runtimes[LocalFederation.hospitalA]!
            let shipper = try #require(try a.auditShipper())
            #expect(try fed.runtimes[LocalFederation.regional]!.auditShipper() == nil)
            // The repository is "down": its answers point to a port where nothing listens.
            let closed = try unusedLoopbackPort()
            var down: String?
            _ = try await eventually {
                down = await code { try await shipper.shipOnce(address: ("127.0.0.1", closed)) }
                return down == "syslog.unreachable"
            }
            #expect(down == "syslog.unreachable")
            // Work goes on meanwhile: the log (the queue) grows.
            let physician = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            for _ in 0..<5 { try await physician.signIn() }
            let head = try await a.store.read { try $0.auditHead().sequence }
            #expect(try await repositoryCopy(fed, of: LocalFederation.hospitalA).head == 0)
            // Back up: everything arrives, in order, and the next round finds the repository up to date.
            #expect(try await shipper.shipOnce() == .shipped(from: 1, to: head))
            var rounds: [AuditShipper.Round] = []
            #expect(try await eventually(10) {
                rounds.append(try await shipper.shipOnce())
                return rounds.last == .upToDate(head)
            }, "\(rounds.prefix(5))")
            #expect(try await shipper.shipOnce() == .idle)
            let copy = try await repositoryCopy(fed, of: LocalFederation.hospitalA)
            #expect(copy.head == head && copy.verification.problem == nil && copy.verification.records == head)

            // A signed checkpoint of the head goes to the repository too.
            let checkpoint = try #require(try await a.auditKey.checkpoint(a.store, node: LocalFederation.hospitalA))
            _ = try await shipper.shipOnce()
            let arrived = try await eventually(10) {
                try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.repositoryCheckpoints(node: LocalFederation.hospitalA) } == [checkpoint]
            }
            #expect(arrived)
            let held = [checkpoint]

            // An administrator rolls hospital A's database back: the last two events and the checkpoint vanish.
            let db = fed.base + "/nodes/" + LocalFederation.hospitalA + "/caduceus.sqlite"
            let rollback = try ProcessRunner.run(python, ["-c", """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1], timeout=30)
                top = db.execute("SELECT MAX(seq) FROM audit_log").fetchone()[0]
                db.execute("DELETE FROM audit_log WHERE seq > ?", (top - 2,))
                db.execute("DELETE FROM audit_checkpoints")
                db.commit()
                """, db])
            #expect(rollback.ok, "\(rollback.stderr)")
            let key = try AuditSigningKey.publicKey(in: fed.base + "/nodes/" + LocalFederation.hospitalA)
            #expect(try await a.store.read { try $0.verifyAuditLog(key: key) }.problem == nil, "on its own, the rolled-back log looks intact")
            #expect(try await a.store.read { try $0.verifyAuditLog(key: key, held: held) }.problem != nil, "the repository's checkpoint catches it")
            // The shipper notices at once, and says so on the trail.
            #expect(try await shipper.shipOnce() == .rollback(held: head, local: head - 2))
            let alarms = try await a.store.read { try $0.auditMessages(AuditFilter(eventID: AuditCode.securityAlert.code)) }.map(\.message)
            #expect(alarms.contains { $0.eventTypes.first?.code == "audit.rollback-detected" && $0.outcome == .seriousFailure })
            // When the log grows past the repository's copy again, the rewritten records are caught too.
            for _ in 0..<3 { try await physician.signIn() }
            #expect(try await shipper.shipOnce() == .diverged(at: head))
            #expect(try await repositoryCopy(fed, of: LocalFederation.hospitalA).head == head, "the repository kept the original")
        }
    }

    @Test("the listener keeps only what continues a node's copy from that node: forged, gapped, foreign-host and non-node input changes nothing")
    func listenerRefusals() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let regional = fed.runtimes[LocalFederation.regional]!
            let b = fed.runtimes[LocalFederation.hospitalB]!
            let address = try #require(try await eventually { regional.node.auditRepository != nil } ? regional.node.auditRepository : nil)
            let nodeDir = fed.base + "/nodes/" + LocalFederation.hospitalB
            let bTLS = try FederationTLS.clientContext(
                certificateChainPEM: String(decoding: try Data(contentsOf: URL(fileURLWithPath: nodeDir + "/node.chain.pem")), as: UTF8.self),
                privateKeyPEM: String(decoding: try Data(contentsOf: URL(fileURLWithPath: nodeDir + "/node.key.pem")), as: UTF8.self),
                anchorsPEM: fed.trust.anchorsPEM)
            let nurse = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            for _ in 0..<3 { try await nurse.signIn() }
            let records = try await b.store.read { try $0.auditRecords(from: 1, limit: 3) }
            #expect(records.count == 3)

            // A foreign sender (Python's rfc5424-logging-handler, over mutual TLS with B's node certificate) ships B's
            // first record, hash computed independently: the repository keeps it.
            let body = try TemporaryDirectory()
            let bodyFile = try body.write("body.json", Data(records[0].body))
            let shipped = try ProcessRunner.run(python, [
                repo.appendingPathComponent("scripts/oracles/syslog_oracle.py").path, "ship", address.host, String(address.port),
                nodeDir + "/node.chain.pem", nodeDir + "/node.key.pem", fed.base + "/root.pem", LocalFederation.hospitalB, "1",
                Hex.encode(records[0].previousHash), bodyFile])
            #expect(shipped.ok, "\(shipped.stderr)")
            #expect(shipped.text.trimmingCharacters(in: .whitespacesAndNewlines) == Hex.encode(records[0].hash), "Python computes the same chain hash")
            #expect(try await eventually(10) { try await repositoryCopy(fed, of: LocalFederation.hospitalB).head == 1 })

            func send(_ r: ChainedRecord, as host: String = LocalFederation.hospitalB, tls: NIOSSLContextBox? = nil) async throws {
                try await SyslogClient.send([AuditSyslog.message(r, node: host, time: Date()).encoded()], host: address.host, port: address.port, tls: tls?.context ?? bTLS)
            }
            // A gap (record 3 before 2) is not kept.
            try await send(records[2])
            // A record naming another node than its sender's certificate is dropped.
            try await send(records[1], as: LocalFederation.hospitalA)
            // A forged record 1 (different content, consistent hash) is a divergence: alarm on the regional trail.
            var chain = AuditChain()
            let forged = chain.append(body: Array(#"{"forged":true}"#.utf8))
            try await send(forged)
            #expect(try await eventually(10) {
                try await regional.store.read { try $0.auditMessages(AuditFilter(eventID: AuditCode.securityAlert.code)) }.contains { $0.message.errorCode == "audit.divergence" }
            })
            // A staff card is not a node: its connection is closed before anything is kept.
            let card = fed.users["clinician.hospital-b"]!
            let cardTLS = try FederationTLS.clientContext(certificateChainPEM: try PEM.encode([card.certificate] + card.chain), privateKeyPEM: card.key.pkcs8PEM, anchorsPEM: fed.trust.anchorsPEM)
            try? await send(records[1], tls: NIOSSLContextBox(context: cardTLS))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await repositoryCopy(fed, of: LocalFederation.hospitalB).head == 1)
            #expect(try await regional.store.read { try $0.repositoryNodes() } == [LocalFederation.hospitalB: 1])

            // Only a regional node answers audit.position.
            #expect(await code { _ = try await b.node.call(.auditPosition, to: LocalFederation.hospitalA, body: ["node": LocalFederation.hospitalB]) } == "exchange.wrong-role")

            // B's own shipper continues from the record Python delivered.
            let shipper = try #require(try b.auditShipper())
            let head = try await b.store.read { try $0.auditHead().sequence }
            #expect(try await shipper.shipOnce() == .shipped(from: 2, to: head))
            #expect(try await eventually(10) { try await repositoryCopy(fed, of: LocalFederation.hospitalB).head == head })
        }
    }
}

import NIOSSL

struct NIOSSLContextBox: Sendable {
    let context: NIOSSLContext
}
