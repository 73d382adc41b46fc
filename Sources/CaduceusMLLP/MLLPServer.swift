import CaduceusTLS
package import CaduceusExchange
import CaduceusHL7
package import CaduceusPKI
import CaduceusCore
package import Logging
package import NIOCore
import NIOPosix
package import NIOSSL
import Synchronization
import X509
import Foundation

/// Configuration of an MLLP listener.
package struct MLLPServerConfiguration: Sendable {
    /// Address to bind. Default `127.0.0.1`.
    package var host: String = "127.0.0.1"
    /// Port; 0 picks a free one. Default 2575 (the registered HL7 port).
    package var port: Int = 2575
    /// Largest message accepted; larger frames are answered AR and discarded. Default 16 MiB.
    package var maxMessageBytes: Int = 16 << 20
    /// A connection idle this long is closed. Default 5 minutes.
    package var idleTimeout: TimeAmount = .minutes(5)
    /// TLS (mutual TLS when the context verifies client certificates); nil = plain TCP, which needs
    /// ``insecurePlainTCP``.
    package var tls: NIOSSLContext?
    /// Validates client certificates (mutual TLS) with the federation PKI; also names each connection's peer. Asked
    /// for each connection, so revocation lists the node takes while it runs apply to the next handshake.
    package var clientValidator: (@Sendable () -> ChainValidator)?
    /// Allows a listener without TLS (`--insecure-plain-mllp`): senders are then identified by address only. Off by
    /// default; a listener with neither TLS nor this refuses to start.
    package var insecurePlainTCP = false

    /// Defaults.
    package init() {}
}

/// An MLLP listener (HL7 v2.5.1 Appendix C) on SwiftNIO: many concurrent connections, each a sequential
/// request/answer loop around the pure ``MLLPFramer``. Junk outside frames, truncated frames and oversized frames are
/// logged with a reason; an oversized frame is answered AR; the connection stays open for the next frame.
/// The handler returns the answer only after the message's effect is durable.
package struct MLLPServer: Sendable {
    /// What a connection does with each message: the connection's peer and the bytes in, answer bytes out (an ACK or
    /// a query response).
    package typealias Handler = @Sendable (MLLPPeer, [UInt8]) async -> [UInt8]

    let configuration: MLLPServerConfiguration
    /// Chains validated in full handshakes, by leaf: a resumed TLS session (no verification callback) is still
    /// identified.
    let validatedChains = ValidatedChains()
    let handler: Handler
    let oversized: @Sendable ([UInt8]) async -> [UInt8]
    /// Starts a batch (a frame that begins with FHS or BHS) from a connection's peer; nil: such a frame is one
    /// message, under the frame cap.
    let batch: (@Sendable (MLLPPeer) -> HL7BatchSession)?
    let logger: Logger

    /// A server. `oversized` answers a frame that exceeded the size cap, given its first bytes (default: an AR
    /// built from the salvaged header, with no other effect).
    /// `batch`, when given, receives batches as streams: a frame that starts with FHS or BHS is read piece by piece
    /// (no frame cap; each of its messages is capped at ``MLLPServerConfiguration/maxMessageBytes``) and answered
    /// with the batch's acknowledgement once its end block has arrived.
    package init(
        configuration: MLLPServerConfiguration, logger: Logger, handler: @escaping Handler,
        oversized: (@Sendable ([UInt8]) async -> [UInt8])? = nil, batch: (@Sendable (MLLPPeer) -> HL7BatchSession)? = nil
    ) {
        self.configuration = configuration
        self.handler = handler
        self.batch = batch
        self.oversized = oversized ?? { head in
            let error = HL7Error(.limitExceeded, "the message exceeds the size limit of this receiver")
            let ack = HL7Acknowledgement.ack(for: HL7AckContext(salvaging: head), outcome: .rejected([error]), controlID: "CADSIZE", timestamp: "")
            return (try? ack.encoded()) ?? []
        }
        self.logger = logger
    }

    /// Binds, reports the bound address to `onBound`, and serves until the task is cancelled.
    package func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        let configuration = self.configuration
        let validatedChains = self.validatedChains
        guard configuration.tls != nil || configuration.insecurePlainTCP else {
            throw MLLPError(kind: .insecure, message: "an MLLP listener without TLS needs the explicit insecure plain-TCP setting")
        }
        guard configuration.tls == nil || configuration.clientValidator != nil else {
            throw MLLPError(kind: .insecure, message: "an MLLP listener over TLS needs the federation validator to identify its peers")
        }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The chain the client presented, noted in the handshake, names the connection's peer.
                    let presented = PresentedChain()
                    if let tls = configuration.tls, let validator = configuration.clientValidator {
                        let verify = FederationTLS.verifier(validator(), usage: .tlsClient)
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls, customVerificationCallback: { certificates, promise in
                            let chain = certificates.compactMap { try? $0.toDERBytes() }.compactMap { try? Certificate(derEncoded: $0) }
                            presented.set(chain)
                            promise.futureResult.whenSuccess { if $0 == .certificateVerified { validatedChains.remember(chain) } }
                            verify(certificates, promise)
                        }))
                    }
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    return (presented, try acceptedConnection(channel))
                }
            }
        if let address = server.channel.localAddress { onBound(address) }
        try await serveConnections(of: server) { presented, connection in await self.serve(connection, presented: presented) }
    }

    /// The peer of a connection: the validated client certificate (validated again here to learn its issuer's
    /// namespace from the path actually built), or the address of a plain-TCP client.
    func peer(_ presented: PresentedChain, _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async -> MLLPPeer {
        guard configuration.tls != nil, let validator = configuration.clientValidator else {
            // The host only: a sender reconnects from another port, and a repeat must still be recognised.
            return .plain(address: connection.channel.remoteAddress?.ipAddress ?? "?")
        }
        var chain = presented.get()
        if chain.isEmpty {
            // A resumed session: the leaf from the TLS handler, its chain from the full handshake that made the session.
            let channel = connection.channel
            let der = try? await channel.eventLoop.submit { () -> [UInt8]? in
                try channel.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate?.toDERBytes()
            }.get()
            if let der, let leaf = try? Certificate(derEncoded: der) { chain = validatedChains.chain(for: leaf) ?? [] }
        }
        guard let leaf = chain.first else { return .unidentified }
        let now = Date()
        guard case .trusted(let path) = await validator().validate(leaf, intermediates: Array(chain.dropFirst()), usage: .tlsClient, validityTime: now, now: now),
              let identity = FederationIdentity(leaf)
        else { return .unidentified }
        return .certified(identity, issuerNamespace: path.count > 1 ? IssuerNamespace(of: path[1]) : nil)
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, presented: PresentedChain) async {
        var logger = self.logger
        logger[metadataKey: "mllp.peer"] = "\(connection.channel.remoteAddress?.description ?? "?")"
        do {
            try await connection.executeThenClose { inbound, outbound in
                var framer = MLLPFramer(maxFrameBytes: configuration.maxMessageBytes, streamsBatches: batch != nil)
                var peer: MLLPPeer?
                var session: HL7BatchSession?
                for try await buffer in inbound {
                    // The handshake is complete once application data arrives.
                    if peer == nil { peer = await self.peer(presented, connection) }
                    for event in framer.feed(buffer.readableBytesView) {
                        switch event {
                        case .batchStart:
                            session = batch?(peer ?? .unidentified)
                        case .batchBytes(let bytes):
                            // Returns once the messages these bytes completed are committed: the socket is not read
                            // meanwhile, so a fast sender is held back by TCP, not buffered here.
                            await session?.feed(bytes)
                        case .batchEnd(let complete):
                            if complete, var ended = session {
                                let ack = await ended.finish()
                                logger.info("mllp batch answered", metadata: ["mllp.batch-messages": "\(ended.received)", "mllp.batch-accepted": "\(ended.accepted)"])
                                try await outbound.write(ByteBuffer(bytes: MLLPFramer.frame(ack)))
                            } else if var cut = session {
                                await cut.abandon()
                                logger.warning("mllp batch cut short; the messages it completed are committed", metadata: ["mllp.batch-messages": "\(cut.received)"])
                            }
                            session = nil
                        default:
                            if let answer = await answer(event, peer ?? .unidentified, logger) {
                                try await outbound.write(ByteBuffer(bytes: MLLPFramer.frame(answer)))
                            }
                        }
                    }
                }
                for event in framer.finish() {
                    if case .batchEnd = event {
                        if var cut = session {
                            await cut.abandon()
                            logger.warning("mllp batch cut short; the messages it completed are committed", metadata: ["mllp.batch-messages": "\(cut.received)"])
                        }
                        session = nil
                    } else {
                        _ = await answer(event, peer ?? .unidentified, logger)
                    }
                }
            }
        } catch {
            logger.debug("mllp connection ended with an error", metadata: ["mllp.error": "\(type(of: error))"])
        }
    }

    func answer(_ event: MLLPFramer.Event, _ peer: MLLPPeer, _ logger: Logger) async -> [UInt8]? {
        switch event {
        case .frame(let payload):
            return await handler(peer, payload)
        case .junk(let count):
            logger.warning("mllp bytes outside a frame dropped", metadata: ["mllp.bytes": "\(count)"])
            return nil
        case .truncated(let head):
            logger.warning("mllp truncated frame dropped", metadata: ["mllp.head-bytes": "\(head.count)"])
            return nil
        case .oversized(let head):
            logger.warning("mllp oversized frame rejected", metadata: ["mllp.limit": "\(configuration.maxMessageBytes)"])
            return await oversized(head)
        case .batchStart, .batchBytes, .batchEnd:
            return nil  // handled by the connection loop
        }
    }
}

/// Who is at the other end of an MLLP connection.
package enum MLLPPeer: Sendable {
    /// A mutual-TLS client whose certificate the federation validator accepted: its identity, and its issuing CA's
    /// namespace (from the validated path).
    case certified(FederationIdentity, issuerNamespace: IssuerNamespace?)
    /// A plain-TCP client (only when the operator allowed plain TCP), by address.
    case plain(address: String)
    /// A TLS client whose certificate could not be validated again: to be refused.
    case unidentified
}

/// Client chains that passed the federation verifier, by leaf (at most 1,000; the oldest go first).
final class ValidatedChains: Sendable {
    let state = Mutex<(chains: [Certificate: [Certificate]], order: [Certificate])>(([:], []))
    func remember(_ chain: [Certificate]) {
        guard let leaf = chain.first else { return }
        state.withLock { s in
            if s.chains.updateValue(chain, forKey: leaf) == nil { s.order.append(leaf) }
            while s.order.count > 1_000 { s.chains[s.order.removeFirst()] = nil }
        }
    }
    func chain(for leaf: Certificate) -> [Certificate]? { state.withLock { $0.chains[leaf] } }
}

/// The certificates a client presented in its handshake (set on the event loop, read by the connection's task).
final class PresentedChain: Sendable {
    let chain = Mutex<[Certificate]>([])
    func set(_ certificates: [Certificate]) { chain.withLock { $0 = certificates } }
    func get() -> [Certificate] { chain.withLock { $0 } }
}

extension HL7Peer {
    /// The HL7 sender an MLLP connection's peer is: an interface or node certificate with its CA's namespace, a
    /// plain-TCP address, or (a certificate that could not be validated again) a refused party.
    package init(_ peer: MLLPPeer) {
        switch peer {
        case .certified(let identity, let namespace): self.init(identity: identity, issuerNamespace: namespace)
        case .plain(let address): self = .insecure(address: address)
        case .unidentified: self = .unidentified
        }
    }
}
