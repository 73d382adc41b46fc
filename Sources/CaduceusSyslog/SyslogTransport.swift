package import CaduceusAudit
package import CaduceusCore
package import CaduceusPKI
import CaduceusTLS
package import Logging
package import NIOCore
import NIOPosix
import NIOTLS
package import NIOSSL
import X509
import Synchronization

/// An RFC 5425 listener: syslog over TLS with client certificates validated by the federation PKI, octet-counted
/// frames. Each connection's peer is named by its certificate (a federation node); the handler gets the Caduceus audit
/// messages of each read, with that name, and returns whether to keep the connection (false closes it: the sender
/// re-synchronises). Frames that are not audit messages are logged (without content) and dropped.
package struct SyslogServer: Sendable {
    /// What the repository does with a batch from `node`.
    package typealias Handler = @Sendable (_ node: String, _ items: [AuditSyslog.Shipped]) async -> Bool

    let host: String
    let port: Int
    let tls: NIOSSLContext
    let validator: @Sendable () -> ChainValidator
    let maxFrameBytes: Int
    let handler: Handler
    let logger: Logger

    package init(host: String, port: Int, tls: NIOSSLContext, validator: @escaping @Sendable () -> ChainValidator, maxFrameBytes: Int = 1 << 20, logger: Logger, handler: @escaping Handler) {
        self.host = host
        self.port = port
        self.tls = tls
        self.validator = validator
        self.maxFrameBytes = maxFrameBytes
        self.handler = handler
        self.logger = logger
    }

    /// Binds, reports the bound address, and serves until the task is cancelled.
    package func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        let (tls, validator) = (self.tls, self.validator)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The client certificate is noted while the handshake verifies it (data only flows if it is valid),
                    // so the peer is known even when the sender has already closed by the time its bytes are read.
                    let peer = PeerCertificate()
                    let verify = FederationTLS.verifier(validator(), usage: .tlsClient)
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls, customVerificationCallback: { certificates, promise in
                        if let der = try? certificates.first?.toDERBytes(), let leaf = try? Certificate(derEncoded: der) { peer.set(leaf) }
                        verify(certificates, promise)
                    }))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .minutes(5)))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    return (peer, try acceptedConnection(channel))
                }
            }
        if let address = server.channel.localAddress { onBound(address) }
        try await serveConnections(of: server) { peer, connection in await self.serve(connection, peer: peer) }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, peer: PeerCertificate) async {
        var logger = self.logger
        logger[metadataKey: "syslog.peer"] = "\(connection.channel.remoteAddress?.description ?? "?")"
        do {
            try await connection.executeThenClose { inbound, _ in
                var framer = SyslogFramer(maxFrameBytes: maxFrameBytes)
                var node: String?
                for try await buffer in inbound {
                    if node == nil {
                        // The handshake is complete once application data arrives: the peer is the certificate's CN.
                        guard let certificate = peer.get(), let identity = FederationIdentity(certificate), identity.kind == .node else {
                            logger.warning("syslog peer is not a federation node; connection closed")
                            return
                        }
                        node = identity.commonName
                    }
                    var items: [AuditSyslog.Shipped] = []
                    for frame in try framer.feed(buffer.readableBytesView) {
                        do {
                            let message = try SyslogMessage(parsing: frame)
                            guard message.hostname == node else {
                                logger.warning("syslog message names another host than its sender; dropped")
                                continue
                            }
                            items.append(try AuditSyslog.decode(message))
                        } catch {
                            logger.warning("syslog frame dropped", metadata: ["syslog.reason": "\((error as? SyslogError)?.code ?? "syslog.malformed")"])
                        }
                    }
                    if !items.isEmpty, let node, await !handler(node, items) { return }
                }
            }
        } catch {
            // TLS and framing errors name no data (never the frames' content).
            logger.debug("syslog connection ended with an error", metadata: ["syslog.error": "\((error as? SyslogError)?.code ?? String(describing: error))"])
        }
    }
}

/// Sends octet-counted syslog frames over (mutual) TLS.
package enum SyslogClient {
    /// The error when the repository cannot be reached.
    package struct Unreachable: CaduceusError {
        package var code: String { "syslog.unreachable" }
        package var message: String { "the audit repository could not be reached" }
        package var category: ErrorCategory { .upstream }
    }

    /// Connects, writes every message framed, and closes (TLS close_notify after the last byte).
    package static func send(_ messages: [[UInt8]], host: String, port: Int, tls: NIOSSLContext, serverHostname: String? = nil) async throws {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        let handshake: EventLoopFuture<Void>
        do {
            (handshake, channel) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let waiter = HandshakeWaiter(channel.eventLoop.makePromise())
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                        try channel.pipeline.syncOperations.addHandler(waiter)
                        return (waiter.promise.futureResult, try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel))
                    }
                }
        } catch {
            throw Unreachable()
        }
        try await channel.executeThenClose { _, outbound in
            // Bytes written before the handshake completes would be lost if the connection closed first. (Waited for
            // in here, so a failed handshake still closes the channel through its owner.)
            do { try await handshake.get() } catch { throw Unreachable() }
            var batch = ByteBuffer()
            for m in messages {
                batch.writeBytes(SyslogFramer.frame(m))
                if batch.readableBytes > 256 << 10 {
                    try await outbound.write(batch)
                    batch.clear()
                }
            }
            if batch.readableBytes > 0 { try await outbound.write(batch) }
        }
    }
}


/// The client certificate of one connection, noted during the handshake.
final class PeerCertificate: Sendable {
    let value = Mutex<Certificate?>(nil)
    func set(_ c: Certificate) { value.withLock { $0 = c } }
    func get() -> Certificate? { value.withLock { $0 } }
}

/// Completes when the TLS handshake has (or fails when the connection ends before it has). Runs on the channel's
/// event loop only.
final class HandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<Void>
    var done = false
    init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

    func complete(_ error: (any Error)?) {
        guard !done else { return }
        done = true
        if let error { promise.fail(error) } else { promise.succeed() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { complete(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(SyslogClient.Unreachable())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(error)
        context.fireErrorCaught(error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        complete(SyslogClient.Unreachable())
    }
}
