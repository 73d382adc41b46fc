import ArgumentParser
import CaduceusAudit
import CaduceusCore
import CaduceusStorage
import CaduceusStorageSQLite
import Crypto
import Foundation

/// `caduceus bench audit`: hash-chained audit append with durable commits (concurrent writers through the store's
/// group commit, and batches), and verification speed; beside the same chained append in Python (sqlite3 + hashlib).
struct AuditBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Audit append throughput (hash chain, durable commit) and verify rate, vs Python.")
    @Option(help: "Events to append.") var events = 200_000
    @Option(help: "Concurrent writers (each unit of work appends --batch events).") var writers = 16
    @Option(help: "Events per unit of work.") var batch = 10
    @Option(help: "Python with the oracles.") var python = ".venv/bin/python"
    @Option(help: "Folder of the peer scripts.") var scripts = "scripts/bench"

    func run() async throws {
        try await reportingErrors {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-bench-audit-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let store = try SQLiteStore(path: dir + "/a.sqlite", nodeKey: NodeKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) })))
            let perWriter = events / writers / batch
            let total = perWriter * writers * batch
            let batch = self.batch
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        for i in 0..<perWriter {
                            let messages = (0..<batch).map { k in
                                AuditMessage(
                                    eventID: .patientRecord, action: .read, outcome: .success, time: Date(), sourceID: "node.a", purposeOfUse: "TREAT",
                                    participants: [AuditParticipant(userID: "Dr \(w)", isRequestor: true)],
                                    objects: [.patient("P\((i * batch + k) % 1000)^^^&2.25.1&ISO")])
                            }
                            _ = try await store.write { tx in try tx.appendAudit(messages) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let appendSeconds = start.duration(to: .now).seconds
            let key = P256.Signing.PrivateKey()
            let head = try await store.read { try $0.auditHead() }
            let checkpoint = try AuditCheckpoint.sign(node: "node.a", sequence: head.sequence, hash: head.hash, time: Date(), key: key)
            let verifyStart = ContinuousClock.now
            let verdict = try await store.read { try $0.verifyAuditLog(key: key.publicKey, held: [checkpoint]) }
            let verifySeconds = verifyStart.duration(to: .now).seconds
            guard verdict.isIntact else { throw CLIError(code: "bench.failed", message: "the log did not verify") }
            let rate = Double(total) / appendSeconds
            var peer = "unavailable (run scripts/bootstrap.sh)"
            var ratio = ""
            if FileManager.default.isExecutableFile(atPath: python),
               let r = try runPython(python, scripts + "/audit_append.py", [dir + "/peer.sqlite", String(total), String(writers * batch)])["rate"] as? Double
            {
                peer = String(format: "%.0f events/s", r)
                ratio = String(format: " (%.1f× Python)", rate / r)
            }
            print(String(format: "append: %d events, %d writers × %d per unit of work: %.0f events/s%@", total, writers, batch, rate, ratio))
            print("peer (Python sqlite3 + hashlib, same chain, \(writers * batch) per commit): \(peer)")
            print(String(format: "verify: %llu records in %.2f s (%.0f records/s)", verdict.records, verifySeconds, Double(verdict.records) / verifySeconds))
        }
    }
}
