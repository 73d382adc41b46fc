import CaduceusTLS
import CaduceusHL7
public import CaduceusPKI
import CaduceusCore
public import Logging
public import NIOCore
import NIOPosix
public import NIOSSL

/// Configuration of an MLLP listener.
public struct MLLPServerConfiguration: Sendable {
    /// Address to bind. Default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Port; 0 picks a free one. Default 2575 (the registered HL7 port).
    public var port: Int = 2575
    /// Largest message accepted; larger frames are answered AR and discarded. Default 16 MiB.
    public var maxMessageBytes: Int = 16 << 20
    /// A connection idle this long is closed. Default 5 minutes.
    public var idleTimeout: TimeAmount = .minutes(5)
    /// TLS (mutual TLS when the context verifies client certificates); nil = plain TCP.
    public var tls: NIOSSLContext?
    /// Validates client certificates (mutual TLS) with the federation PKI; nil = NIOSSL's own verification.
    public var clientValidator: ChainValidator?

    /// Defaults.
    public init() {}
}

/// An MLLP listener (HL7 v2.5.1 Appendix C) on SwiftNIO: many concurrent connections, each a sequential
/// request/answer loop around the pure ``MLLPFramer``. Junk outside frames, truncated frames and oversized frames are
/// logged with a reason; an oversized frame is answered AR; the connection stays open for the next frame.
/// The handler returns the answer only after the message's effect is durable.
public struct MLLPServer: Sendable {
    /// What a connection does with each message: bytes in, answer bytes out (an ACK or a query response).
    public typealias Handler = @Sendable ([UInt8]) async -> [UInt8]

    let configuration: MLLPServerConfiguration
    let handler: Handler
    let oversized: Handler
    let logger: Logger

    /// A server. `oversized` answers a frame that exceeded the size cap, given its first bytes (default: an AR
    /// built from the salvaged header, with no other effect).
    public init(configuration: MLLPServerConfiguration, logger: Logger, handler: @escaping Handler, oversized: Handler? = nil) {
        self.configuration = configuration
        self.handler = handler
        self.oversized = oversized ?? { head in
            let error = HL7Error(.limitExceeded, "the message exceeds the size limit of this receiver")
            let ack = HL7Acknowledgement.ack(for: HL7AckContext(salvaging: head), outcome: .rejected([error]), controlID: "CADSIZE", timestamp: "")
            return (try? ack.encoded()) ?? []
        }
        self.logger = logger
    }

    /// Binds, reports the bound address to `onBound`, and serves until the task is cancelled.
    public func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        let configuration = self.configuration
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = configuration.tls {
                        if let validator = configuration.clientValidator {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(
                                context: tls, customVerificationCallback: FederationTLS.verifier(validator, usage: .tlsClient)))
                        } else {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                        }
                    }
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        if let address = server.channel.localAddress { onBound(address) }
        try await serveConnections(of: server) { connection in await self.serve(connection) }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        var logger = self.logger
        logger[metadataKey: "mllp.peer"] = "\(connection.channel.remoteAddress?.description ?? "?")"
        do {
            try await connection.executeThenClose { inbound, outbound in
                var framer = MLLPFramer(maxFrameBytes: configuration.maxMessageBytes)
                for try await buffer in inbound {
                    for event in framer.feed(buffer.readableBytesView) {
                        if let answer = await answer(event, logger) {
                            try await outbound.write(ByteBuffer(bytes: MLLPFramer.frame(answer)))
                        }
                    }
                }
                for event in framer.finish() { _ = await answer(event, logger) }
            }
        } catch {
            logger.debug("mllp connection ended with an error", metadata: ["mllp.error": "\(type(of: error))"])
        }
    }

    func answer(_ event: MLLPFramer.Event, _ logger: Logger) async -> [UInt8]? {
        switch event {
        case .frame(let payload):
            return await handler(payload)
        case .junk(let count):
            logger.warning("mllp bytes outside a frame dropped", metadata: ["mllp.bytes": "\(count)"])
            return nil
        case .truncated(let head):
            logger.warning("mllp truncated frame dropped", metadata: ["mllp.head-bytes": "\(head.count)"])
            return nil
        case .oversized(let head):
            logger.warning("mllp oversized frame rejected", metadata: ["mllp.limit": "\(configuration.maxMessageBytes)"])
            return await oversized(head)
        }
    }
}
