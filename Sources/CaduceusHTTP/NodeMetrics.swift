import CaduceusCore
import Synchronization

/// Request counters and latency sums per operation and outcome, exposed in the Prometheus text format
/// (`caduceus_requests_total`, `caduceus_request_seconds_sum`). Labels are operation paths and error codes only.
public final class NodeMetrics: Sendable {
    struct Key: Hashable { let path: String; let code: String }
    let counters = Mutex<[Key: (count: Int, seconds: Double)]>([:])

    /// Creates an empty registry.
    public init() {}

    func record(path: String, code: String, elapsed: Duration) {
        let seconds = elapsed.seconds
        // Unknown paths collapse into one label, so a scanner cannot grow the table.
        let label = path.hasPrefix("/v1/") && path.count < 64 && path.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "/" || $0 == "." }) ? path : "other"
        counters.withLock { table in
            let old = table[Key(path: label, code: code)] ?? (0, 0)
            table[Key(path: label, code: code)] = (old.count + 1, old.seconds + seconds)
        }
    }

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
