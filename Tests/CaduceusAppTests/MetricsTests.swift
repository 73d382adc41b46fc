import CaduceusApp
import CaduceusDocuments
import CaduceusExchange
import CaduceusTestSupport
import Foundation
import Testing

/// The node's `/metrics` (swift-metrics into a per-node swift-prometheus registry), read by the Prometheus project's
/// own Python client parser (`prometheus_client.parser`), the foreign oracle for the text format.
@Suite("Metrics", .serialized)
struct MetricsTests {
    static let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".venv/bin/python").path

    /// Parses an exposition with prometheus_client; returns `name{operation,outcome} -> value` for every sample.
    static func parse(_ exposition: String) throws -> [String: Double] {
        let script = """
            import sys, json
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    key = s.name + "{" + s.labels.get("operation", "") + "," + s.labels.get("outcome", "") + ("," + s.labels["le"] if "le" in s.labels else "") + "}"
                    out[key] = s.value
            print(json.dumps(out))
            """
        let result = try ProcessRunner.run(python, ["-c", script], input: Data(exposition.utf8))
        guard result.ok else { throw ExchangeError(.badRequest, "prometheus_client refused the exposition: \(result.stderr)") }
        return try JSONDecoder().decode([String: Double].self, from: result.stdout)
    }

    @Test("prometheus_client reads the node's metrics: counts and latency histograms per operation and outcome")
    func exposition() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            // Two refused queries and the seeding's accepted registrations, at the regional node.
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let client = try transport(fed, as: nodeB)
            for _ in 0..<2 { _ = try? await client.post(fed.endpoint(LocalFederation.regional), path: ExchangeOperation.query.path, envelope: [0x30, 0x00]) }
            let text = String(decoding: try await client.get(fed.endpoint(LocalFederation.regional), path: "/metrics"), as: UTF8.self)
            let samples = try Self.parse(text)
            let path = ExchangeOperation.registerIdentity.path
            let registered = try #require(samples["caduceus_requests_total{\(path),ok}"], "\(samples.keys.sorted())")
            #expect(registered >= 2, "both hospitals registered their patient")
            #expect(samples["caduceus_request_duration_seconds_count{\(path),ok}"] == registered, "one latency observation per request")
            #expect(samples["caduceus_request_duration_seconds_bucket{\(path),ok,+Inf}"] == registered)
            #expect((samples["caduceus_request_duration_seconds_sum{\(path),ok}"] ?? 0) > 0)
            let refused = samples.filter { $0.key.hasPrefix("caduceus_requests_total{\(ExchangeOperation.query.path),") && !$0.key.hasSuffix(",ok}") }
            #expect(refused.values.reduce(0, +) == 2, "the two malformed envelopes count under their error code: \(refused)")
            _ = patientA
        }
    }
}
