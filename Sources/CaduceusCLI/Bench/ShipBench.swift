import ArgumentParser
import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusPKI
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusSyslog
import CaduceusTLS
import Foundation
import Logging

/// `caduceus bench ship`: an audit trail shipped to a repository as RFC 5425 syslog over mutual TLS, end to end
/// (records read from the node's log, formatted, sent, parsed, hash-checked and committed gap-free by the listener);
/// beside Python's rfc5424-logging-handler sending the same records to the same listener.
struct ShipBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ship", abstract: "Audit shipping throughput (RFC 5425 into the repository), vs Python's rfc5424-logging-handler.")
    @Option(help: "Records to ship.") var events = 50_000
    @Option(help: "Python with the oracles.") var python = ".venv/bin/python"
    @Option(help: "Folder of the peer scripts.") var scripts = "scripts/bench"

    func run() async throws {
        try await reportingErrors {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-bench-ship-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // A throwaway PKI: a root, the repository's node certificate and two shipping nodes'.
            let now = Date()
            let root = try CAStore.createRoot(at: dir + "/ca", subject: try federationName(commonName: "Bench Root"), now: now)
            func node(_ name: String) throws -> (chain: String, key: String) {
                let key = try PrivateKeyMaterial.generate(.p256)
                let cert = try root.issue(profile: .node(dnsNames: [name + ".bench.test"]), subject: try federationName(commonName: name), publicKey: key.publicKey, now: now)
                let chain = try PEM.encode([cert] + root.authority().chain)
                try AtomicFile.write(Data(chain.utf8), to: "\(dir)/\(name).chain.pem")
                try AtomicFile.write(Data(key.pkcs8PEM.utf8), to: "\(dir)/\(name).key", permissions: 0o600)
                return (chain, try key.pkcs8PEM)
            }
            let anchorsPEM = try PEM.encode([try root.authority().certificate])
            try AtomicFile.write(Data(anchorsPEM.utf8), to: dir + "/root.pem")
            let repo = try node("node.repository"), ours = try node("node.swift")
            _ = try node("node.python")
            let validator = ChainValidator(anchors: [try root.authority().certificate])

            // The node's log: `events` records.
            let source = try SQLiteStore(path: dir + "/node.sqlite", nodeKey: NodeKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) })))
            for chunk in stride(from: 0, to: events, by: 1000) {
                let messages = (chunk..<min(events, chunk + 1000)).map { i in
                    AuditMessage(eventID: .patientRecord, action: .read, outcome: .success, time: Date(), sourceID: "node.swift", purposeOfUse: "TREAT",
                                 participants: [AuditParticipant(userID: "Dr \(i % 50)", isRequestor: true)], objects: [.patient("P\(i % 1000)^^^&2.25.1&ISO")])
                }
                _ = try await source.write { tx in try tx.appendAudit(messages) }
            }

            // The repository: the listener and its gap-free ingest, committing durably.
            let repository = try SQLiteStore(path: dir + "/repository.sqlite", nodeKey: NodeKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) })))
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            let receiver = AuditRepositoryReceiver(store: repository, nodeId: "node.repository", logger: logger)
            let serverTLS = try FederationTLS.serverContext(certificateChainPEM: repo.chain, privateKeyPEM: repo.key, anchorsPEM: anchorsPEM)
            let server = SyslogServer(host: "127.0.0.1", port: 0, tls: serverTLS, validator: { validator }, logger: logger) { node, items in
                await receiver.receive(from: node, items)
            }
            // The listener binds a port the kernel chooses and reports it.
            let (bound, reported) = AsyncStream.makeStream(of: Int.self)
            let serving = Task { try await server.run { address in reported.yield(address.port ?? 0); reported.finish() } }
            defer { serving.cancel() }
            var ports = bound.makeAsyncIterator()
            guard let port = await ports.next(), port > 0 else { throw CLIError(code: "bench.failed", message: "the syslog listener did not bind") }
            func held(_ node: String) async throws -> UInt64 { try await repository.read { try $0.repositoryHead(node: node).sequence } }
            func waitFor(_ node: String) async throws {
                let deadline = Date().addingTimeInterval(600)
                while try await held(node) < UInt64(events) {
                    guard Date() < deadline else { throw CLIError(code: "bench.failed", message: "the repository did not receive everything") }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }

            // Ours: the shipper's path (5,000 records a round, as AuditShipper sends them).
            let clientTLS = try FederationTLS.clientContext(certificateChainPEM: ours.chain, privateKeyPEM: ours.key, anchorsPEM: anchorsPEM)
            let start = ContinuousClock.now
            var next: UInt64 = 1
            while next <= UInt64(events) {
                let records = try await source.read { [next] r in try r.auditRecords(from: next, limit: 5000) }
                let frames = records.map { AuditSyslog.message($0, node: "node.swift", time: Date()).encoded() }
                try await SyslogClient.send(frames, host: "127.0.0.1", port: port, tls: clientTLS)
                next = (records.last?.sequence ?? next) + 1
            }
            try await waitFor("node.swift")
            let seconds = start.duration(to: .now).seconds
            print(String(format: "ship: %d records, log → RFC 5425 (mutual TLS) → parsed, hash-checked, committed gap-free: %.2f s, %.0f records/s", events, seconds, Double(events) / seconds))

            // Peer: Python's rfc5424-logging-handler sends the same records (as node.python) to the same listener.
            guard FileManager.default.isExecutableFile(atPath: python) else { print("peer: unavailable (run scripts/bootstrap.sh)"); return }
            let lines = try await source.read { r in try r.auditRecords(from: 1, limit: Int.max) }.map { r in
                #"{"seq":\#(r.sequence),"prev":"\#(Hex.encode(r.previousHash))","hash":"\#(Hex.encode(r.hash))","body":"\#(Data(r.body).base64EncodedString())"}"#
            }
            try AtomicFile.write(Data(lines.joined(separator: "\n").utf8), to: dir + "/records.jsonl")
            let peerStart = ContinuousClock.now
            let report = try await runPythonAsync(python, [scripts + "/syslog_ship.py", "127.0.0.1", String(port), dir + "/node.python.chain.pem", dir + "/node.python.key", dir + "/root.pem", "node.python", dir + "/records.jsonl"])
            try await waitFor("node.python")
            let peerSeconds = peerStart.duration(to: .now).seconds
            let sendSeconds = report["seconds"] as? Double ?? 0
            print(String(format: "peer (Python rfc5424-logging-handler, same listener): %.2f s, %.0f records/s (its sending alone: %.2f s)", peerSeconds, Double(events) / peerSeconds, sendSeconds))
            print(String(format: "ratio: %.1f× Python", peerSeconds / seconds))
        }
    }
}

/// Runs a Python script without blocking a cooperative thread (``runPython`` blocks one, which a peer that talks to
/// a listener in this process cannot afford on two cores); returns its JSON report.
func runPythonAsync(_ python: String, _ arguments: [String]) async throws -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    return try peerReport(status: status, output: out.fileHandleForReading.readDataToEndOfFile())
}
