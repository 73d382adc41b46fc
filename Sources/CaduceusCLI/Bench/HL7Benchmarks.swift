import ArgumentParser
import CaduceusExchange
import CaduceusHL7
import CaduceusMLLP
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusStorageSQLite
import Foundation
import Logging
import Synchronization

/// Synthetic HL7 corpora for the benchmarks (made-up people from ``SyntheticPopulation``).
enum BenchCorpus {
    static func adt(_ r: SyntheticPopulation.Registration, _ n: Int) -> String {
        let d = r.demographics
        return [
            "MSH|^~\\&|EMR\(n % 4)|HOSP\(n % 4)|CADUCEUS|HIE|20260101120000||ADT^A04^ADT_A01|B\(n)|P|2.5.1",
            "EVN|A04|20260101120000",
            "PID|1||\(r.identity.id)^^^H&\(r.identity.authority)&ISO^MR||\(d.family)^\(d.given)^^^^^L||\(d.birthDate)|\(d.sex)|||\(d.street)^^\(d.city)^IL^\(d.postalCode)^USA^H||^PRN^PH^^1^217^\(d.phone.suffix(7))",
            "NK1|1|\(d.family)^PAT|SPO^Spouse^HL70063|\(d.street)^^\(d.city)^IL^\(d.postalCode)|^PRN^PH^^1^217^5550000||C^Emergency Contact^HL70131",
            "PV1|1|O|CLINIC^\(n % 40)^A||||1234^WELBY^MARCUS|||||||||||V\(n)^^^H&\(r.identity.authority)&ISO^VN",
            "IN1|1|PLAN01^Gold Plan|INS01^^^PAYERS&1.2.3.4&ISO|ACME HEALTH INSURANCE||||GRP777||||||||\(d.family)^\(d.given)||||||||||||||||||||POL-\(n)",
        ].joined(separator: "\r") + "\r"
    }

    static func adts(_ count: Int, seed: UInt64 = 11) -> [String] {
        let population = SyntheticPopulation(people: count, seed: seed)
        return population.registrations.prefix(count).enumerated().map { adt($0.element, $0.offset) }
    }

    static func bigORU(bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        var raw = Data(count: bytes)
        raw.withUnsafeMutableBytes { buffer in
            for i in stride(from: 0, to: bytes - 7, by: 8) { buffer.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self) }
        }
        return [
            "MSH|^~\\&|LAB|HOSP1|CADUCEUS|HIE|20260101120000||ORU^R01^ORU_R01|BIG\(bytes)|P|2.5.1",
            "PID|1||4711^^^H&1.2.3&ISO^MR||DOE^JANE||19800214|F",
            "OBR|1|ORD1|FIL1|11502-2^Lab report^LN",
            "OBX|1|ED|11502-2^Lab report^LN||^AP^PDF^Base64^\(raw.base64EncodedString())||||||F",
        ].joined(separator: "\r") + "\r"
    }
}

func runPython(_ python: String, _ script: String, _ arguments: [String]) throws -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return try peerReport(status: process.terminationStatus, output: data)
}

/// A peer script's JSON report (its last words on standard output), or the one error every bench gives for it.
func peerReport(status: Int32, output: Data) throws -> [String: Any] {
    guard status == 0, let json = try? JSONSerialization.jsonObject(with: output) as? [String: Any] else {
        throw CLIError.io("the python peer failed; run scripts/bootstrap.sh to create .venv")
    }
    return json
}

func format(_ x: Double, _ digits: Int = 1) -> String {
    let p = pow(10, Double(digits))
    return String((x * p).rounded() / p)
}

struct HL7ParseBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hl7", abstract: "HL7 v2 parse rate vs python-hl7 on the same ADT messages, and two large ORUs (linearity).")
    @Option(help: "Number of ADT messages.") var messages = 5_000
    @Option(help: "Rounds (best kept).") var rounds = 3
    @Option(help: "Python with the oracles.") var python = ".venv/bin/python"
    @Option(help: "Folder of the peer scripts.") var scripts = "scripts/bench"

    func run() async throws {
        try await reportingErrors {
            let corpus = BenchCorpus.adts(messages)
            let big = [BenchCorpus.bigORU(bytes: 1 << 20), BenchCorpus.bigORU(bytes: 4 << 20)]
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-bench-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try Data(corpus.joined(separator: "\u{1C}").utf8).write(to: URL(fileURLWithPath: dir + "/corpus.hl7"))
            for (i, b) in big.enumerated() { try Data(b.utf8).write(to: URL(fileURLWithPath: dir + "/big\(i + 1).hl7")) }
            let bytes = corpus.map { Array($0.utf8) }
            var best = Double.infinity
            var segments = 0
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                segments = 0
                for m in bytes { segments += try HL7Message(parsing: m).segments.count }
                best = min(best, (ContinuousClock.now - start).seconds)
            }
            var bigTimes: [Double] = []
            for b in big {
                let data = Array(b.utf8)
                var t = Double.infinity
                for _ in 0..<rounds {
                    let start = ContinuousClock.now
                    _ = try HL7Message(parsing: data)
                    t = min(t, (ContinuousClock.now - start).seconds)
                }
                bigTimes.append(t)
            }
            let peer = try runPython(python, scripts + "/hl7_parse.py", [dir + "/corpus.hl7", dir + "/big1.hl7", dir + "/big2.hl7", String(rounds)])
            let ours = Double(bytes.count) / best
            let theirs = peer["rate"] as? Double ?? 0
            print("| measure | caduceus | python-hl7 0.4.5 | ratio |")
            print("|---|---|---|---|")
            print("| ADT parse rate (\(bytes.count) msgs, \(segments / bytes.count) segments each) | \(Int(ours)) msg/s | \(Int(theirs)) msg/s | **\(format(ours / theirs))×** |")
            for (i, label) in ["ORU, 1 MiB base64 OBX-5", "ORU, 4 MiB base64 OBX-5"].enumerated() {
                let p = peer["big\(i + 1)"] as? Double ?? 0
                print("| \(label) | \(format(bigTimes[i] * 1000, 2)) ms | \(format(p * 1000, 2)) ms | **\(format(p / bigTimes[i]))×** |")
            }
            print("| 4 MiB / 1 MiB time (4.0 = linear) | \(format(bigTimes[1] / bigTimes[0], 2)) | \(format((peer["big2"] as? Double ?? 0) / (peer["big1"] as? Double ?? 1), 2)) | |")
        }
    }
}


struct MLLPIngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mllp",
        abstract: "Durable MLLP ingest of ADT messages (ACK after commit) vs python-hl7's asyncio MLLP with SQLite.",
        discussion: """
            Caduceus: `HL7Receiver` over SQLite (WAL, synchronous=FULL, group commit) behind the NIO MLLP listener, \
            registry and MPI included; clients are in the same process. Peer: python-hl7's asyncio MLLP server that \
            stores each message in SQLite (WAL, synchronous=FULL, one commit per message) before its ACK, with the \
            same number of python-hl7 client connections in its process.
            """)
    @Option(help: "Messages.") var messages = 10_000
    @Option(help: "Concurrent client connections.") var connections = 32
    @Option(help: "Python with the oracles.") var python = ".venv/bin/python"
    @Option(help: "Folder of the peer scripts.") var scripts = "scripts/bench"
    @Option(help: "Folder for the databases (on the disk you want measured).") var dir: String?

    func run() async throws {
        try await reportingErrors {
            let base = dir ?? FileManager.default.temporaryDirectory.path
            let work = base + "/caduceus-bench-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            let corpus = BenchCorpus.adts(messages, seed: 99)
            try Data(corpus.joined(separator: "\u{1C}").utf8).write(to: URL(fileURLWithPath: work + "/corpus.hl7"))
            let store = try SQLiteStore(path: work + "/caduceus.sqlite", nodeKey: NodeKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) })))
            let mpi = try await MPIService(store: store, globalAuthority: "2.25.1")
            let receiver = HL7Receiver(
                store: store, mpi: mpi,
                configuration: HL7ReceiverConfiguration(knownAuthorities: Set((1...4).map { "2.16.840.1.113883.3.9999.\($0)" })))
            var configuration = MLLPServerConfiguration()
            configuration.port = 0
            configuration.insecurePlainTCP = true  // loopback throughput, as the peer runs it
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            let server = MLLPServer(configuration: configuration, logger: logger, handler: { await receiver.receive($1, from: HL7Peer($0)) })
            let shares = (0..<connections).map { c in stride(from: c, to: corpus.count, by: connections).map { Array(corpus[$0].utf8) } }
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let (acked, seconds) = try await withThrowingTaskGroup(of: (Int, Double)?.self) { group in
                group.addTask {
                    try await server.run { continuation.yield($0.port ?? 0) }
                    return nil
                }
                var it = ports.makeAsyncIterator()
                let port = await it.next()!
                let start = ContinuousClock.now
                let counts = try await withThrowingTaskGroup(of: Int.self) { clients in
                    for share in shares {
                        clients.addTask {
                            try await MLLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
                                var ok = 0
                                for m in share {
                                    let answer = try await connection.send(m)
                                    if answer.count > 20, String(decoding: answer, as: UTF8.self).contains("MSA|AA|") { ok += 1 }
                                }
                                return ok
                            }
                        }
                    }
                    return try await clients.reduce(0, +)
                }
                let elapsed = (ContinuousClock.now - start).seconds
                group.cancelAll()
                return (counts, elapsed)
            }
            let stored = try await store.read { try $0.messageCount() }
            let peer = try runPython(python, scripts + "/mllp_peer.py", [work + "/corpus.hl7", String(connections), work + "/peer.sqlite"])
            let ours = Double(acked) / seconds
            let theirs = peer["rate"] as? Double ?? 0
            print("| measure | caduceus | python-hl7 asyncio MLLP + sqlite3 | ratio |")
            print("|---|---|---|---|")
            print("| durable ADT ingest, ACK after commit (\(acked) acked, \(stored) stored, \(connections) connections) | \(Int(ours)) msg/s | \(Int(theirs)) msg/s | **\(format(ours / theirs))×** |")
        }
    }
}

struct MPIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi",
        abstract: "MPI match quality on a labelled synthetic population vs Python recordlinkage, and match latency at scale.")
    @Option(help: "People in the quality benchmark (each registered 1–3 times).") var people = 20_000
    @Option(help: "Records in the latency benchmark.") var records = 1_000_000
    @Option(help: "Probes for the latency benchmark.") var probes = 2_000
    @Option(help: "Python with the oracles.") var python = ".venv/bin/python"
    @Option(help: "Folder of the peer scripts.") var scripts = "scripts/bench"

    func run() async throws {
        try await reportingErrors {
            // Quality: register every record in feed order, then compare the persons formed with the truth.
            let population = SyntheticPopulation(people: people, seed: 2026)
            let truth = population.registrations.map(\.truePerson)
            func pass(_ model: MatchModel, _ thresholds: MatchThresholds) -> (MasterPatientIndex, LinkageQuality, reviews: Int, seconds: Double) {
                var mpi = MasterPatientIndex(globalAuthority: "2.25.1", model: model, policy: MatchPolicy(thresholds: thresholds))
                var ids: [Int64] = []
                var reviews = 0
                let start = ContinuousClock.now
                for r in population.registrations {
                    let (id, change) = mpi.register(r.identity, r.demographics)
                    ids.append(id)
                    if case .review = change.decision { reviews += 1 }
                }
                let seconds = (ContinuousClock.now - start).seconds
                return (mpi, LinkageQuality(predicted: ids.map { mpi.person(of: $0)! }, truth: truth), reviews, seconds)
            }
            let (mpi, quality, reviews, elapsed) = pass(.prior, MatchThresholds())
            let decisions = (review: reviews, ())
            // Trained model, same data, second and third pass.
            let trained = mpi.matchIndex.trainModel()
            let (_, quality2, reviews2, _) = pass(trained, MatchThresholds())
            let calibrated = MatchThresholds.calibrated(for: trained)
            let (_, quality3, reviews3, _) = pass(trained, calibrated)
            // Reviews resolved correctly would add these pairs: how many true pairs wait in the queue.
            var reviewTrue = 0
            for item in mpi.reviewQueue where truth[Int(item.recordID - 1)] == truth[Int(item.candidateRecordID - 1)] { reviewTrue += 1 }

            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-bench-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var csv = "truth,family,given,birth,sex,street,postal,phone\n"
            func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "") + "\"" }
            for r in population.registrations {
                let d = r.demographics
                csv += [String(r.truePerson), q(d.family), q(d.given), q(d.birthDate), q(d.sex), q(d.street), q(d.postalCode), q(d.phone)].joined(separator: ",") + "\n"
            }
            try Data(csv.utf8).write(to: URL(fileURLWithPath: dir + "/records.csv"))
            let peer = try runPython(python, scripts + "/mpi_recordlinkage.py", [dir + "/records.csv"])
            func pct(_ x: Double) -> String { format(x * 100, 2) + " %" }
            print("Match quality: \(population.registrations.count) records of \(Set(truth).count) people (pairwise, against the truth)")
            print("")
            print("| matcher | precision | recall | F1 | pairs to review | time |")
            print("|---|---|---|---|---|---|")
            print("| caduceus, prior weights (auto-links only) | \(pct(quality.precision)) | \(pct(quality.recall)) | \(pct(quality.f1)) | \(decisions.review) (\(reviewTrue) true) | \(format(elapsed, 2)) s |")
            print("| caduceus, EM-trained weights (auto-links only) | \(pct(quality2.precision)) | \(pct(quality2.recall)) | \(pct(quality2.f1)) | \(reviews2) | |")
            print("| caduceus, EM-trained weights, thresholds from the posterior (\(format(calibrated.autoLink)) / \(format(calibrated.review))) | \(pct(quality3.precision)) | \(pct(quality3.recall)) | \(pct(quality3.f1)) | \(reviews3) | |")
            print("| recordlinkage 0.16 ECM (same blocking keys) | \(pct(peer["precision"] as? Double ?? 0)) | \(pct(peer["recall"] as? Double ?? 0)) | \(pct(peer["f1"] as? Double ?? 0)) | – | \(format(peer["seconds"] as? Double ?? 0, 2)) s |")
            print("")
            print("Weights log2(m/u) by level (different … exact), prior → EM-trained; match proportion assumed for the posterior \(format(trained.matchProportion * 100, 2)) %:")
            for f in MatchField.allCases {
                let prior = (0..<f.levels).map { format(MatchModel.prior.weight(f, level: $0)) }.joined(separator: " ")
                let learned = (0..<f.levels).map { format(trained.weight(f, level: $0)) }.joined(separator: " ")
                print("- \(f): \(prior) → \(learned)")
            }
            print("")

            // Latency at scale: restore `records` records (no matching), then register held-out probes.
            let big = SyntheticPopulation(people: records * 10 / 17 + probes, seed: 77)
            precondition(big.registrations.count > records + probes, "population too small")
            var index = MasterPatientIndex(globalAuthority: "2.25.1", model: trained)
            let loadStart = ContinuousClock.now
            for (i, r) in big.registrations.prefix(records).enumerated() {
                index.restore(record: Int64(i + 1), identity: r.identity, demographics: r.demographics, person: String(r.truePerson + 1))
            }
            let loadTime = (ContinuousClock.now - loadStart).seconds
            var latencies: [Double] = []
            for r in big.registrations.dropFirst(records).prefix(probes) {
                var probe = r.identity
                probe.id += "-probe"
                let t = ContinuousClock.now
                _ = index.register(probe, r.demographics)
                latencies.append((ContinuousClock.now - t).seconds * 1000)
            }
            latencies.sort()
            func p(_ q: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] }
            print("Match latency: \(records) records indexed in \(format(loadTime, 1)) s; \(probes) registrations (match + decide + index)")
            print("")
            print("| p50 | p90 | p99 | max |")
            print("|---|---|---|---|")
            print("| \(format(p(0.5), 3)) ms | \(format(p(0.9), 3)) ms | \(format(p(0.99), 3)) ms | \(format(latencies.last ?? 0, 3)) ms |")
        }
    }
}
