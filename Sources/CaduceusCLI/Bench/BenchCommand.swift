import ArgumentParser
import CaduceusCore
import CaduceusPKI
import Crypto
import Foundation
import X509

/// `caduceus bench …`: measured comparisons with a peer tool in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks beside a peer tool, same files, same run.",
        subcommands: [SMIMEBench.self, HL7ParseBench.self, MLLPIngestBench.self, MPIBench.self, ExchangeBench.self, AuditBench.self, ShipBench.self, PolicyBench.self, RevocationBench.self])

    struct SMIMEBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "smime",
            abstract: "Sign+encrypt and decrypt+verify (DER, P-256 signer and recipient, AES-256-GCM) vs `openssl cms`.",
            discussion: """
                Each side runs as a separate process on the same random document; wall time and peak RSS come from \
                wait4(). `caduceus smime seal|open --der` does each direction in one process; OpenSSL needs two \
                (`cms -sign` then `cms -encrypt`; `cms -decrypt` then `cms -verify`): its time is the sum, its peak the \
                larger. Best of --rounds. Build with -c release for meaningful numbers.
                """)
        @Option(help: "Document sizes, comma separated (k = 1000 bytes, m = 1000000, g = 1000000000).") var sizes = "10k,1m,50m"
        @Option(help: "Rounds per measurement (best is kept).") var rounds = 3
        @Flag(help: "Print a Markdown table.") var markdown = false

        func run() async throws {
            try await reportingErrors {
                guard let openssl = MeasuredProcess.which("openssl") else { throw CLIError.io("openssl is not on PATH") }
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-bench-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let files = try BenchPKI.make(in: dir)
                let me = MeasuredProcess.selfPath
                var rows: [[String]] = []
                for size in try sizes.split(separator: ",").map(parseSize) {
                    let doc = "\(dir)/doc-\(size).bin"
                    let digest = try writeRandomDocument(doc, size: size)
                    let oursSeal = try best(rounds) {
                        [try MeasuredProcess.run(me, ["smime", "seal", "--der", "--in", doc, "--out", "\(dir)/ours.p7m", "--cert", files.senderChain, "--key", files.senderKey, "--recipient", files.recipientCert])]
                    }
                    let oursOpen = try best(rounds) {
                        [try MeasuredProcess.run(me, ["smime", "open", "--in", "\(dir)/ours.p7m", "--out", "\(dir)/ours.out", "--cert", files.recipientCert, "--key", files.recipientKey, "--trust", files.root])]
                    }
                    let sslSeal = try best(rounds) {
                        [
                            try MeasuredProcess.run(openssl, ["cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-md", "sha256", "-in", doc, "-out", "\(dir)/signed.der", "-signer", files.senderCert, "-inkey", files.senderKey, "-certfile", files.cas]),
                            try MeasuredProcess.run(openssl, ["cms", "-encrypt", "-binary", "-outform", "DER", "-aes-256-gcm", "-in", "\(dir)/signed.der", "-out", "\(dir)/ossl.p7m", "-recip", files.recipientCert, "-keyopt", "ecdh_kdf_md:sha256"]),
                        ]
                    }
                    let sslOpen = try best(rounds) {
                        [
                            try MeasuredProcess.run(openssl, ["cms", "-decrypt", "-binary", "-inform", "DER", "-in", "\(dir)/ossl.p7m", "-out", "\(dir)/dec.der", "-recip", files.recipientCert, "-inkey", files.recipientKey]),
                            try MeasuredProcess.run(openssl, ["cms", "-verify", "-binary", "-inform", "DER", "-in", "\(dir)/dec.der", "-out", "\(dir)/ossl.out", "-CAfile", files.root]),
                        ]
                    }
                    for (name, path) in [("caduceus", "\(dir)/ours.out"), ("openssl", "\(dir)/ossl.out")] {
                        guard try fileDigest(path) == digest else { throw CLIError.io("\(name) did not round-trip the document") }
                    }
                    for file in ["ours.p7m", "ours.out", "signed.der", "ossl.p7m", "dec.der", "ossl.out", "doc-\(size).bin"] {
                        try? FileManager.default.removeItem(atPath: "\(dir)/\(file)")
                    }
                    let mb = Double(size) / 1e6
                    func mbps(_ s: Double) -> String { String(format: "%.1f MB/s", mb / s) }
                    func mem(_ b: Int) -> String { String(format: "%.1f MB (%.1f×)", Double(b) / 1e6, Double(b) / Double(size)) }
                    for (op, ours, peer) in [("sign+encrypt", oursSeal, sslSeal), ("decrypt+verify", oursOpen, sslOpen)] {
                        rows.append([
                            formatSize(size), op,
                            String(format: "%.3f s", ours.seconds), mbps(ours.seconds), mem(ours.peak),
                            String(format: "%.3f s", peer.seconds), mbps(peer.seconds), mem(peer.peak),
                            String(format: "%.2f×", peer.seconds / ours.seconds),
                        ])
                    }
                }
                let header = ["size", "operation", "caduceus", "throughput", "peak RSS", "openssl cms", "throughput", "peak RSS", "speed-up"]
                print(render(header: header, rows: rows, markdown: markdown))
                print("speed-up = openssl time / caduceus time (above 1: Caduceus is faster). Peak RSS ratio is to the document size.")
            }
        }

        struct Best { var seconds: Double; var peak: Int }

        /// Writes `size` random bytes to `path` a MiB at a time (the bench's own memory stays flat at 1 GB too);
        /// returns their SHA-256.
        func writeRandomDocument(_ path: String, size: Int) throws -> [UInt8] {
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw CLIError.io("cannot write the benchmark document")
            }
            defer { try? handle.close() }
            var rng = SystemRandomNumberGenerator()
            var hash = SHA256()
            var written = 0
            while written < size {
                let count = min(1 << 20, size - written)
                var chunk = [UInt8](repeating: 0, count: count)
                for i in stride(from: 0, to: count, by: 8) {
                    let r = rng.next()
                    for j in 0..<min(8, count - i) { chunk[i + j] = UInt8(truncatingIfNeeded: r >> (8 * j)) }
                }
                hash.update(data: chunk)
                try handle.write(contentsOf: chunk)
                written += count
            }
            return Array(hash.finalize())
        }

        /// SHA-256 of a file, read a MiB at a time.
        func fileDigest(_ path: String) throws -> [UInt8] {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIError.io("cannot read a benchmark output") }
            defer { try? handle.close() }
            var hash = SHA256()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
            return Array(hash.finalize())
        }

        func best(_ rounds: Int, _ body: () throws -> [MeasuredProcess.Measurement]) throws -> Best {
            var result = Best(seconds: .infinity, peak: 0)
            for _ in 0..<max(rounds, 1) {
                let steps = try body()
                guard steps.allSatisfy({ $0.status == 0 }) else { throw CLIError.io("a benchmarked command failed") }
                let total = steps.map(\.seconds).reduce(0, +)
                if total < result.seconds { result.seconds = total }
                result.peak = max(result.peak, steps.map(\.peakRSSBytes).max() ?? 0)
            }
            return result
        }

        func formatSize(_ size: Int) -> String {
            size >= 1_000_000_000 ? "\(size / 1_000_000_000) GB" : size >= 1_000_000 ? "\(size / 1_000_000) MB" : size >= 1000 ? "\(size / 1000) KB" : "\(size) B"
        }

        func render(header: [String], rows: [[String]], markdown: Bool) -> String {
            if markdown {
                let lines = [header, header.map { _ in "---" }] + rows
                return lines.map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
            }
            let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max()! }
            return ([header] + rows).map { row in
                row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            }.joined(separator: "\n")
        }
    }
}

/// A small federation PKI written to files for benchmarks and the demo.
enum BenchPKI {
    struct Files { let root, cas, senderCert, senderChain, senderKey, recipientCert, recipientKey: String }

    static func make(in dir: String) throws -> Files {
        let now = Date()
        let root = try CertificateAuthority.makeRoot(subject: try federationName(commonName: "Bench Root"), key: try .generate(.p256), now: now)
        let caKey = try PrivateKeyMaterial.generate(.p256)
        let caCert = try root.issue(
            profile: .issuingCA(pathLength: 0, namespace: .unrestricted), subject: try federationName(commonName: "Bench Hospital CA"),
            publicKey: caKey.publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
        let ca = try CertificateAuthority(certificate: caCert, key: caKey, parents: [root.certificate])
        func node(_ name: String) throws -> (Certificate, PrivateKeyMaterial) {
            let key = try PrivateKeyMaterial.generate(.p256)
            let cert = try ca.issue(
                profile: .node(dnsNames: ["\(name).bench.test"]), subject: try federationName(commonName: name),
                publicKey: key.publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
            return (cert, key)
        }
        let (sender, senderKey) = try node("sender")
        let (recipient, recipientKey) = try node("recipient")
        func write(_ name: String, _ text: String) throws -> String {
            let path = "\(dir)/\(name)"
            try Files.writeText(text, path)
            return path
        }
        return Files(
            root: try write("root.pem", try PEM.encode([root.certificate])),
            cas: try write("cas.pem", try PEM.encode([caCert])),
            senderCert: try write("sender.pem", try PEM.encode([sender])),
            senderChain: try write("sender.chain.pem", try PEM.encode([sender, caCert])),
            senderKey: try write("sender.key", senderKey.pkcs8PEM),
            recipientCert: try write("recipient.pem", try PEM.encode([recipient])),
            recipientKey: try write("recipient.key", recipientKey.pkcs8PEM))
    }
}

extension BenchPKI.Files {
    static func writeText(_ text: String, _ path: String) throws {
        try AtomicFile.write(Data(text.utf8), to: path, permissions: 0o600)
    }
}

/// A size argument: `10k` (1,000 bytes), `1m` (1,000,000), `1g` (1,000,000,000), or plain bytes.
func parseSize(_ text: Substring) throws -> Int {
    let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
    let multiplier = lower.hasSuffix("g") ? 1_000_000_000 : lower.hasSuffix("m") ? 1_000_000 : lower.hasSuffix("k") ? 1000 : 1
    guard let value = Int(lower.dropLast(multiplier == 1 ? 0 : 1)), value > 0 else {
        throw CLIError.usage("bad size \(text)")
    }
    return value * multiplier
}
