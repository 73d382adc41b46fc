package import CaduceusAudit
package import CaduceusExchange
package import CaduceusStorage
package import Logging
package import ServiceLifecycle
package import NIOSSL
import CaduceusCore
import CaduceusSyslog
import Foundation
import Synchronization

/// Ships this node's audit trail to the regional audit repository as RFC 5424 syslog over mutual TLS (RFC 5425).
///
/// Store and forward: the local hash-chained log is the queue. Each round asks the repository (`audit.position`, a
/// signed envelope) how much it holds, then sends the records after that, in order, with the signed checkpoints; the
/// next round's position is the acknowledgement. Nothing is dropped while the repository is down: the log simply
/// grows until it is back. The position also keeps the node honest: a repository holding more than the log has (the
/// log was truncated or rolled back) or a different record (rewritten) raises a critical alarm, logged and put on the
/// trail as a Security Alert.
package final class AuditShipper: Service, Sendable {
    /// What one round did.
    package enum Round: Sendable, Hashable {
        /// Nothing new since the last acknowledged position.
        case idle
        /// The repository holds everything.
        case upToDate(UInt64)
        /// Records `from...to` (and checkpoints) were sent.
        case shipped(from: UInt64, to: UInt64)
        /// The repository holds records past this log's end: it was truncated or rolled back.
        case rollback(held: UInt64, local: UInt64)
        /// The repository's record at this sequence number differs from the log's.
        case diverged(at: UInt64)
    }

    let node: ExchangeNode
    let store: any CaduceusStore
    let tls: @Sendable () throws -> NIOSSLContext
    let interval: Duration
    let logger: Logger
    let batch: Int
    /// The repository's last confirmed position (record and checkpoint), and the alarms raised.
    let state = Mutex<(acknowledged: (sequence: UInt64, checkpoint: UInt64), alarms: Set<String>)>(((0, 0), []))

    /// A shipper for `node`'s log in `store`, presenting `tls`'s client certificate.
    package init(node: ExchangeNode, store: any CaduceusStore, tls: @escaping @Sendable () throws -> NIOSSLContext, interval: Duration = .seconds(1), batch: Int = 5000, logger: Logger) {
        self.node = node
        self.store = store
        self.tls = tls
        self.interval = interval
        self.batch = batch
        self.logger = logger
    }

    /// One round. `address` overrides where the syslog frames go (the repository's own answer otherwise).
    @discardableResult
    package func shipOnce(address: (host: String, port: Int)? = nil) async throws -> Round {
        let acknowledged = state.withLock { $0.acknowledged }
        let (head, newCheckpoints) = try await store.read { r in (try r.auditHead(), try r.auditCheckpoints(after: acknowledged.checkpoint).count) }
        if head.sequence == acknowledged.sequence, acknowledged.sequence > 0, newCheckpoints == 0 { return .idle }
        let position = try await node.call(.auditPosition, to: node.configuration.regionalNode, body: ["node": node.configuration.nodeId])
            .message.decodeBody(AuditPosition.self)
        if position.sequence > head.sequence {
            try await alarm("audit.rollback-detected", at: position.sequence, "the audit repository holds records past the end of this node's log: it was truncated or rolled back")
            return .rollback(held: position.sequence, local: head.sequence)
        }
        if position.sequence > 0 {
            let local = try await store.read { try $0.auditRecords(from: position.sequence, limit: 1).first }
            guard let local, local.sequence == position.sequence, Hex.encode(local.hash) == position.hash else {
                try await alarm("audit.divergence", at: position.sequence, "the audit repository's copy differs from this node's log: the log was rewritten")
                return .diverged(at: position.sequence)
            }
        }
        let checkpoints = try await store.read { try $0.auditCheckpoints(after: position.checkpoint) }
        if position.sequence == head.sequence, checkpoints.isEmpty {
            state.withLock { $0.acknowledged = (head.sequence, position.checkpoint) }
            return .upToDate(head.sequence)
        }
        let records = try await store.read { [batch] r in try r.auditRecords(from: position.sequence + 1, limit: batch) }
        let last = records.last?.sequence ?? position.sequence
        let now = Date()
        var frames = records.map { AuditSyslog.message($0, node: node.configuration.nodeId, time: now).encoded() }
        frames += checkpoints.filter { $0.sequence <= last }.map { AuditSyslog.message($0).encoded() }
        guard !frames.isEmpty else { return .upToDate(position.sequence) }
        try await SyslogClient.send(frames, host: address?.host ?? position.syslogHost, port: address?.port ?? position.syslogPort, tls: try tls())
        return .shipped(from: position.sequence + 1, to: last)
    }

    /// Raises an alarm once per kind and position: a critical log line and a Security Alert on this node's trail.
    func alarm(_ kind: String, at sequence: UInt64, _ text: String) async throws {
        let key = "\(kind)@\(sequence)"
        guard state.withLock({ $0.alarms.insert(key).inserted }) else { return }
        logger.critical("audit trail integrity alarm", metadata: ["audit.alarm": "\(kind)", "audit.sequence": "\(sequence)"])
        let id = node.configuration.nodeId
        let message = AuditMessage(
            eventID: .securityAlert, eventTypes: [AuditCode(kind, system: "caduceus-audit", display: text)], action: .execute,
            outcome: .seriousFailure, time: Date(), sourceID: id, errorCode: kind,
            participants: [AuditParticipant(userID: id, isRequestor: true, networkAccessPoint: node.configuration.endpoint)])
        try await store.write { tx in _ = try tx.appendAudit([message]) }
    }

    package func run() async throws {
        try? await cancelWhenGracefulShutdown { [self] in
            var backoff = interval
            while !Task.isCancelled {
                do {
                    let round = try await shipOnce()
                    backoff = interval
                    // A full batch means more is waiting: go on at once (the next round's position acknowledges).
                    if case .shipped(let from, let to) = round, to >= from, Int(to - from) + 1 >= batch { continue }
                } catch {
                    logger.debug("audit shipping deferred", metadata: ["audit.reason": "\((error as? any CaduceusError)?.code ?? "unreachable")"])
                    backoff = min(backoff * 2, .seconds(30))
                }
                try await Task.sleep(for: backoff)
            }
        }
    }
}

/// The regional node's side: keeps each node's shipped trail gap-free (``AuditRepository``) and raises an alarm on
/// its own trail when a node's records diverge from the copy it holds.
package struct AuditRepositoryReceiver: Sendable {
    let store: any CaduceusStore
    let nodeId: String
    let logger: Logger

    package init(store: any CaduceusStore, nodeId: String, logger: Logger) {
        self.store = store
        self.nodeId = nodeId
        self.logger = logger
    }

    /// Keeps a batch; false when the connection should close (gap or divergence: the sender re-synchronises).
    package func receive(from node: String, _ items: [AuditSyslog.Shipped]) async -> Bool {
        let now = Date()
        let outcome: AuditRepository.Outcome
        do {
            outcome = try await store.write { tx in try AuditRepository.ingest(items, from: node, in: tx, at: now) }
        } catch {
            logger.error("audit repository could not store a batch", metadata: ["audit.node": "\(node)"])
            return false
        }
        if let diverged = outcome.divergedAt {
            logger.critical("a node's shipped audit trail diverges from the repository's copy", metadata: ["audit.node": "\(node)", "audit.sequence": "\(diverged)"])
            let message = AuditMessage(
                eventID: .securityAlert, eventTypes: [AuditCode("audit.divergence", system: "caduceus-audit", display: "a node's audit trail differs from the copy held")],
                action: .execute, outcome: .seriousFailure, time: now, sourceID: nodeId, errorCode: "audit.divergence",
                participants: [AuditParticipant(userID: node, isRequestor: true)])
            _ = try? await store.write { tx in try tx.appendAudit([message]) }
            return false
        }
        return outcome.gapAt == nil
    }
}
