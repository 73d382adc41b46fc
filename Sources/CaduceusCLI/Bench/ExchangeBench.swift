import ArgumentParser
import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusStorage
import Crypto
import Foundation
import Logging

/// `caduceus bench exchange`: provide-and-register and retrieve between two hospital nodes on loopback (through the
/// regional registry), beside the raw HTTPS POST of the same bytes with the same client stack; and FindDocuments
/// latency on a registry of --entries entries, in process and through the API.
struct ExchangeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange",
        abstract: "Provide-and-register and retrieve rates (100 KB, 10 MB) vs raw HTTPS; registry query latency at scale.")

    @Option(help: "Document sizes, comma separated (k = 1000 bytes, m = 1000000).") var sizes = "100k,10m"
    @Option(help: "Operations per size.") var count = 10
    @Option(help: "Registry entries to load before measuring FindDocuments.") var entries = 100_000
    @Option(help: "FindDocuments queries to time.") var queries = 2_000
    @Option(help: "FindDocuments queries to time through the API (clinician → node → regional).") var apiQueries = 200
    @Flag(help: "Give hospital B an RSA-3072 node key (as the demo does) instead of P-256.") var rsa = false

    func run() async throws {
        try await reportingErrors {
            var logger = Logger(label: "caduceus.bench")
            logger.logLevel = .critical
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-bench-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let fed = try await LocalFederation.create(at: dir, hospitalBKey: rsa ? .rsa3072 : .p256, benchmarkSink: true, logger: logger)
            let sizeList = try sizes.split(separator: ",").map { try parseSize($0) }
            let count = self.count, entries = self.entries, queries = self.queries
            try await fed.run(logger: logger) { fed in
                let a = fed.runtimes[LocalFederation.hospitalA]!
                for m in [DemoData.adtA04(), DemoData.oruR01()] { _ = await a.hl7!.receive(m) }
                let idA = LocalIdentity(id: DemoData.mrnA, authority: LocalFederation.domainA)
                let global = try await a.node.registerWithRegion(idA)
                let clinicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
                let clinicianB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
                try await clinicianA.signIn(purpose: "TREAT")
                try await clinicianB.signIn(purpose: "TREAT")
                let nodeB = fed.runtimes[LocalFederation.hospitalB]!
                let raw = try PeerClient(
                    certificateChainPEM: try String(contentsOfFile: fed.base + "/nodes/node.hospital-b/node.chain.pem", encoding: .utf8),
                    privateKeyPEM: try String(contentsOfFile: fed.base + "/nodes/node.hospital-b/node.key.pem", encoding: .utf8),
                    anchorsPEM: fed.trust.anchorsPEM, validator: { [trust = nodeB.trust] in trust.validator() })
                print("operation                    size      ops/s   MB/s   raw HTTPS POST ops/s   ratio (raw/op)   floor ms   op ms   op/floor")
                for size in sizeList {
                    var docs: [[UInt8]] = []
                    for _ in 0..<count {
                        let ccd = try await CCDComposer.compose(for: idA, store: a.store, nodeId: LocalFederation.hospitalA, organization: "Hospital A", now: Date())
                        docs.append(pad(ccd, to: size))
                    }
                    var ids: [String] = []
                    let submit = try await timed {
                        for d in docs {
                            ids += try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "d", body: d)], patient: PatientIdentifier(id: DemoData.mrnA, authority: LocalFederation.domainA)).map(\.uniqueId)
                        }
                    }
                    let retrieve = try await timed {
                        for id in ids { _ = try await clinicianB.retrieve([id]) }
                    }
                    let rawTime = try await timed {
                        for d in docs { _ = try await raw.post(fed.endpoint(LocalFederation.hospitalA), path: "/bench/sink", envelope: d) }
                    }
                    let label = size >= 1_000_000 ? "\(size / 1_000_000) MB" : "\(size / 1000) KB"
                    let floor = try await Self.floor(docs: docs, rawPost: rawTime / Double(count), signer: fed.runtimes[LocalFederation.hospitalA]!.node.credentials.current, in: dir)
                    for (name, t) in [("provide-and-register", submit), ("retrieve (B from A)", retrieve)] {
                        let rate = Double(count) / t, rawRate = Double(count) / rawTime
                        let op = t / Double(count)
                        print(String(format: "%-28@ %-8@ %7.1f %6.1f   %20.1f   %6.1f×           %7.2f  %6.2f   %5.2f×", name as NSString, label as NSString, rate, rate * Double(size) / 1e6, rawRate, rawRate / rate, floor.total * 1e3, op * 1e3, op / floor.total))
                    }
                    print(String(format: "  floor at %@: 2 × raw POST %.2f ms + 2 × durable write %.2f ms + 2 × sign %.3f ms + 2 × verify %.3f ms = %.2f ms", label as NSString, floor.post * 1e3, floor.write * 1e3, floor.sign * 1e3, floor.verify * 1e3, floor.total * 1e3))
                }

                // Registry scale: load entries straight into the regional store, then time FindDocuments.
                let regional = fed.runtimes[LocalFederation.regional]!
                let loadStart = ContinuousClock.now
                let patients = max(1, entries / 10)
                let batch = 5_000
                var made = 0
                while made < entries {
                    let n = min(batch, entries - made)
                    let base = made
                    try await regional.store.write { tx in
                        for i in stride(from: 0, to: n, by: 10) {
                            let p = PatientIdentifier(id: "P\((base + i) / 10 % patients)", authority: "2.25.777")
                            let group = (0..<min(10, n - i)).map { k in syntheticEntry(base + i + k, patient: p) }
                            try tx.registerSubmission(SubmissionSet(uniqueId: "2.25.9\(base + i)", sourceId: LocalFederation.hospitalA, submissionTime: Date(), patientId: p, entries: group), at: Date())
                        }
                    }
                    made += n
                }
                let loaded = try await regional.store.read { try $0.registryCount() }
                print("\nregistry: \(loaded) entries loaded in \(loadStart.duration(to: .now).seconds) s")
                var inProcess: [Double] = []
                for q in 0..<queries {
                    let p = PatientIdentifier(id: "P\((q * 7919) % patients)", authority: "2.25.777")
                    let t0 = ContinuousClock.now
                    let found = try await regional.store.read { try $0.findDocuments(.init(patientId: p, classCodes: ["Summary"]), limit: 1000) }
                    inProcess.append(t0.duration(to: .now).seconds)
                    if found.isEmpty { throw CLIError(code: "bench.failed", message: "a query found nothing") }
                }
                var api: [Double] = []
                for _ in 0..<apiQueries {
                    let t0 = ContinuousClock.now
                    _ = try await clinicianB.query(.findDocuments(.init(patientId: global)))
                    api.append(t0.duration(to: .now).seconds)
                }
                print(String(format: "FindDocuments in process:  p50 %.3f ms  p99 %.3f ms  (%d queries, ~10 entries each)", pct(inProcess, 0.5) * 1e3, pct(inProcess, 0.99) * 1e3, inProcess.count))
                print(String(format: "FindDocuments through API: p50 %.2f ms  p99 %.2f ms  (%d queries: clinician → node B → regional, two mTLS connections, four envelopes)", pct(api, 0.5) * 1e3, pct(api, 0.99) * 1e3, api.count))
            }
        }
    }

    /// The physical floor of one cross-node operation on `docs`, measured now on this machine: two round trips (the
    /// raw HTTPS POST of the same bytes, measured beside), two durable writes (the document's bytes written to a new
    /// file, the file and its directory fsynced), and four signature operations (two ECDSA signatures and two
    /// verifications over the document's SHA-256, hashing included). Means over the documents.
    static func floor(docs: [[UInt8]], rawPost: Double, signer: Credential, in dir: String) async throws -> (post: Double, write: Double, sign: Double, verify: Double, total: Double) {
        let files = dir + "/floor"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        var write = 0.0, sign = 0.0, verify = 0.0
        for (i, d) in docs.enumerated() {
            let t0 = ContinuousClock.now
            try AtomicFile.create(Data(d), at: files + "/\(d.count)-\(i)")
            write += t0.duration(to: .now).seconds
            let t1 = ContinuousClock.now
            let signature = try signer.key.cmsSignature(for: d)
            sign += t1.duration(to: .now).seconds
            let t2 = ContinuousClock.now
            guard let key = P256.Signing.PublicKey(signer.certificate.publicKey), let s = try? P256.Signing.ECDSASignature(derRepresentation: signature), key.isValidSignature(s, for: d) else {
                throw CLIError(code: "bench.failed", message: "a floor signature did not verify")
            }
            verify += t2.duration(to: .now).seconds
        }
        let n = Double(docs.count)
        let (w, s, v) = (write / n, sign / n, verify / n)
        return (rawPost, w, s, v, 2 * rawPost + 2 * w + 2 * s + 2 * v)
    }

    func timed(_ body: () async throws -> Void) async throws -> Double {
        let t0 = ContinuousClock.now
        try await body()
        return t0.duration(to: .now).seconds
    }
}


func pct(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * p))]
}

/// Pads a CDA document to about `size` bytes with narrative inside its first section text.
func pad(_ ccd: [UInt8], to size: Int) -> [UInt8] {
    guard ccd.count < size, let at = ccd.firstRange(of: Array("<text>".utf8)) else { return ccd }
    let line = Array("<paragraph>Synthetic narrative padding for the benchmark, no patient data.</paragraph>\n".utf8)
    var filler: [UInt8] = []
    filler.reserveCapacity(size - ccd.count + line.count)
    while filler.count + ccd.count < size { filler += line }
    return Array(ccd[..<at.upperBound]) + filler + Array(ccd[at.upperBound...])
}

func syntheticEntry(_ i: Int, patient: PatientIdentifier) -> DocumentEntry {
    DocumentEntry(
        entryUUID: "urn:uuid:bench-\(i)", uniqueId: "2.25.8\(i)", patientId: patient, sourcePatientId: patient,
        classCode: Code(i % 3 == 0 ? "Summary" : "Note", scheme: "urn:caduceus:document-class"), typeCode: Code("34133-9", scheme: "2.16.840.1.113883.6.1"),
        confidentialityCode: Code("N", scheme: "2.16.840.1.113883.5.25"), formatCode: Code("urn:hl7-org:sdwg:ccda-structuredBody:2.1", scheme: "1.3.6.1.4.1.19376.1.2.3"),
        mimeType: "text/xml", hash: String(repeating: "0", count: 63) + String(i % 10), size: 1000, creationTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(i)),
        title: "Synthetic", repositoryId: LocalFederation.hospitalA)
}
