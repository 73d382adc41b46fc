import CaduceusCore
import CaduceusExchange
import CoreMetrics
import Prometheus
import Synchronization

/// A node's request metrics through swift-metrics (`Counter`, `Timer`), kept in the node's own Prometheus registry
/// (swift-prometheus) and exposed in the Prometheus text format at `/metrics`: `caduceus_requests_total` and the
/// histogram `caduceus_request_duration_seconds`, by operation and outcome.
///
/// The registry is per node, not the process-wide `MetricsSystem` (one process may run a whole federation: each node
/// reports only its own requests). Labels are operation paths and error codes only, and their number is bounded: a
/// path that is not an operation is `other`, an outcome that is not a well-formed code is `other`, and after
/// ``maxSeries`` distinct series every new outcome counts as `other` — so neither a scanner nor a peer answering with
/// made-up codes can grow the registry.
package final class NodeMetrics: Sendable {
    struct Key: Hashable { let path: String; let code: String }
    /// The metric handles made so far, by series (the registry holds them too; this bounds them).
    let series = Mutex<[Key: (requests: CoreMetrics.Counter, duration: CoreMetrics.Timer)]>([:])
    /// The node's Prometheus registry.
    let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory writing into it.
    let factory: PrometheusMetricsFactory

    /// Creates an empty registry.
    package init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Exchange operations take milliseconds to seconds.
        factory.defaultDurationHistogramBuckets = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        self.factory = factory
    }

    /// The operation paths that get a label of their own; anything else is `other`.
    static let knownPaths = Set(ExchangeOperation.allCases.map(\.path))
    /// At most this many distinct (path, outcome) series; later new outcomes count as `other`.
    static let maxSeries = 512

    func record(path: String, code: String, elapsed: Duration) {
        let label = Self.knownPaths.contains(path) ? path : "other"
        let outcome = code.count <= 64 && code.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) ? code : "other"
        let handles = series.withLock { table in
            var key = Key(path: label, code: outcome)
            if table[key] == nil, table.count >= Self.maxSeries { key = Key(path: label, code: "other") }
            if let made = table[key] { return made }
            let dimensions = [("operation", key.path), ("outcome", key.code)]
            let made = (
                requests: CoreMetrics.Counter(label: "caduceus_requests_total", dimensions: dimensions, factory: factory),
                duration: CoreMetrics.Timer(label: "caduceus_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory))
            table[key] = made
            return made
        }
        handles.requests.increment()
        handles.duration.recordNanoseconds(elapsed.nanoseconds)
    }

    /// The number of series held (bounded by ``maxSeries`` plus one `other` per path).
    var seriesCount: Int { series.withLock { $0.count } }

    /// The text exposition (Prometheus 0.0.4).
    package func exposition() -> String { registry.emitToString() }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : ns.addingReportingOverflow(atto / 1_000_000_000).partialValue
    }
}
