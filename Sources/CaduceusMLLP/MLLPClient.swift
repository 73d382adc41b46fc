package import CaduceusCore
import CaduceusHL7
import NIOCore
import NIOPosix
package import NIOSSL

/// The error type of `CaduceusMLLP`.
package struct MLLPError: CodedError {
    /// Stable codes (`mllp.*`).
    package struct Code: ErrorCode {
        /// The code as text.
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        /// The connection closed before an answer arrived.
        package static let closed = Code("mllp.closed")
        /// The peer sent something that is not an MLLP frame.
        package static let badFrame = Code("mllp.bad-frame")
        /// Could not connect or the TLS handshake failed.
        package static let connect = Code("mllp.connect")
        /// A listener configured without TLS and without the explicit insecure plain-TCP setting.
        package static let insecure = Code("mllp.insecure")
    }
    /// What went wrong.
    package let kind: Code
    /// PHI-free message.
    package let message: String
}

/// An MLLP client: connects, sends messages one at a time, and reads each answer.
package enum MLLPClient {
    /// One open connection, valid inside ``withConnection(host:port:tls:serverHostname:_:)``.
    package struct Connection: ~Copyable {
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        var framer = MLLPFramer()
        var pending: [[UInt8]] = []

        /// Sends one message and waits for its answer.
        package mutating func send(_ message: [UInt8]) async throws -> [UInt8] {
            try await outbound.write(ByteBuffer(bytes: MLLPFramer.frame(message)))
            while true {
                if !pending.isEmpty { return pending.removeFirst() }
                guard let buffer = try await inbound.next() else {
                    throw MLLPError(kind: .closed, message: "the connection closed before an answer arrived")
                }
                for event in framer.feed(buffer.readableBytesView) {
                    switch event {
                    case .frame(let payload): pending.append(payload)
                    default: throw MLLPError(kind: .badFrame, message: "the peer answered with a malformed frame")
                    }
                }
            }
        }

        /// Writes raw bytes (for tests of malformed input).
        package func writeRaw(_ bytes: [UInt8]) async throws {
            try await outbound.write(ByteBuffer(bytes: bytes))
        }

        /// Reads the next answer without sending.
        package mutating func receive() async throws -> [UInt8] {
            while true {
                if !pending.isEmpty { return pending.removeFirst() }
                guard let buffer = try await inbound.next() else {
                    throw MLLPError(kind: .closed, message: "the connection closed before an answer arrived")
                }
                for event in framer.feed(buffer.readableBytesView) {
                    if case .frame(let payload) = event { pending.append(payload) }
                }
            }
        }
    }

    /// Connects to `host:port` (TLS when `tls` is given), runs `body`, and closes.
    package static func withConnection<T: Sendable>(
        host: String, port: Int, tls: NIOSSLContext? = nil, serverHostname: String? = nil,
        _ body: (inout Connection) async throws -> T
    ) async throws -> T {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MLLPError(kind: .connect, message: "could not connect to the MLLP peer")
        }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = Connection(outbound: outbound, inbound: inbound.makeAsyncIterator())
            return try await body(&connection)
        }
    }
}
