import CaduceusCore
import CaduceusExchange
import Synchronization

/// Request counters and latency sums per operation and outcome, exposed in the Prometheus text format
/// (`caduceus_requests_total`, `caduceus_request_seconds_sum`). Labels are operation paths and error codes only.
public final class NodeMetrics: Sendable {
    struct Key: Hashable { let path: String; let code: String }
    let counters = Mutex<[Key: (count: Int, seconds: Double)]>([:])

    /// Creates an empty registry.
    public init() {}

    /// The operation paths that get a label of their own; anything else is `other`.
    static let knownPaths = Set(ExchangeOperation.allCases.map(\.path))
    /// At most this many distinct (path, outcome) series; later new outcomes count as `other`.
    static let maxSeries = 512

    func record(path: String, code: String, elapsed: Duration) {
        let seconds = elapsed.seconds
        // Unknown paths collapse into one label and the number of series is capped, so neither a scanner nor a peer
        // answering with made-up error codes can grow the table.
        let label = Self.knownPaths.contains(path) ? path : "other"
        let outcome = code.count <= 64 && code.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) ? code : "other"
        counters.withLock { table in
            var key = Key(path: label, code: outcome)
            if table[key] == nil, table.count >= Self.maxSeries { key = Key(path: label, code: "other") }
            let old = table[key] ?? (0, 0)
            table[key] = (old.count + 1, old.seconds + seconds)
        }
    }

    /// The number of series held (bounded by ``maxSeries`` plus one `other` per path).
    var seriesCount: Int { counters.withLock { $0.count } }

    /// The text exposition.
    public func exposition() -> String {
        let rows = counters.withLock { $0 }.sorted { ($0.key.path, $0.key.code) < ($1.key.path, $1.key.code) }
        var out = "# HELP caduceus_requests_total Exchange requests by operation and outcome.\n# TYPE caduceus_requests_total counter\n"
        for (k, v) in rows { out += "caduceus_requests_total{operation=\"\(k.path)\",outcome=\"\(k.code)\"} \(v.count)\n" }
        out += "# HELP caduceus_request_seconds_sum Time spent answering exchange requests.\n# TYPE caduceus_request_seconds_sum counter\n"
        for (k, v) in rows { out += "caduceus_request_seconds_sum{operation=\"\(k.path)\",outcome=\"\(k.code)\"} \(v.seconds)\n" }
        return out
    }
}
