package import CaduceusExchange
package import ServiceLifecycle
import CaduceusCore
package import CaduceusPatientIndex
package import Logging

/// Forwards identities a hospital node's HL7 feed stored to the regional MPI (`mpi.register`), off the ACK path: the
/// EMR's ACK means "stored here", and registration follows. Failed registrations are retried with back-off while the
/// node runs (a refusal on the merits is logged and not retried); identities pending at shutdown are registered again by the next ADT for them (not persisted yet).
package final class RegistrationForwarder: Service, Sendable {
    let node: ExchangeNode
    let logger: Logger
    let stream: AsyncStream<LocalIdentity>
    let continuation: AsyncStream<LocalIdentity>.Continuation

    /// A forwarder for `node`.
    package init(node: ExchangeNode, logger: Logger) {
        self.node = node
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: LocalIdentity.self, bufferingPolicy: .bufferingNewest(100_000))
    }

    /// Queues an identity (the HL7 receiver's `onPatientStored`).
    package func enqueue(_ identity: LocalIdentity) { continuation.yield(identity) }

    package func run() async throws {
        await withGracefulShutdownHandler {
            for await identity in stream {
                var delay: Duration = .milliseconds(200)
                // At shutdown the identity in hand is given up (the next ADT for her registers her again): the
                // regional node may be stopping too, and retrying it would hold the shutdown forever.
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    do {
                        _ = try await node.registerWithRegion(identity)
                        break
                    } catch {
                        let code = (error as? any CaduceusError)?.code ?? "exchange.internal"
                        // A refusal on the merits (the region's code tables, its namespace rules) does not change by
                        // retrying, and would hold up every identity queued behind it: logged, and dropped.
                        if let category = (error as? any CaduceusError)?.category, [.client, .forbidden, .notFound, .conflict].contains(category) {
                            logger.error("the regional MPI refused a registration", metadata: ["error.code": .string(code)])
                            break
                        }
                        logger.warning("registration with the regional MPI failed; retrying", metadata: ["error.code": .string(code)])
                        let pause = delay
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
                        delay = min(delay * 2, .seconds(30))
                    }
                }
            }
        } onGracefulShutdown: { [continuation] in
            continuation.finish()
        }
    }
}
