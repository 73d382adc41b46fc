package import CaduceusExchange
package import CaduceusPKI
import NIOSSL
import CaduceusCore
package import CaduceusTLS
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Outbound HTTPS to other nodes and for CLI users: HTTP/1.1 over TLS 1.2+, presenting our certificate, and
/// verifying the server's with Caduceus's validator (federation chain, validity, CRLs, serverAuth), so a revoked
/// or foreign peer fails the handshake. Connections are kept alive and reused per endpoint (a pool of idle
/// connections), so a call costs one handshake only when no idle connection is left.
package struct PeerClient: PeerTransport {
    let contextSource: @Sendable () throws -> NIOSSLContext
    /// Which credential the context presents (grows on renewal): idle connections are pooled per generation, so no
    /// request goes out on a connection authenticated with a certificate the envelope is no longer signed with.
    var generation: @Sendable () -> Int = { 0 }
    let validator: @Sendable () -> ChainValidator
    let pool = ConnectionPool()
    /// Largest answer accepted.
    package var maxResponse = 128 << 20
    /// How long one call may take, connection included, before it fails with `exchange.peer-unavailable`.
    package var deadline: Duration = .seconds(60)

    /// A client presenting `certificateChainPEM`/`privateKeyPEM`.
    package init(certificateChainPEM: String, privateKeyPEM: String, anchorsPEM: String, validator: @escaping @Sendable () -> ChainValidator) throws {
        let context = try FederationTLS.clientContext(certificateChainPEM: certificateChainPEM, privateKeyPEM: privateKeyPEM, anchorsPEM: anchorsPEM)
        self.contextSource = { context }
        self.validator = validator
    }

    /// A node's client, presenting its current credential (a renewal reaches the next new connection).
    package init(tls: RenewableTLS, validator: @escaping @Sendable () -> ChainValidator) throws {
        _ = try tls.clientContext()
        self.contextSource = { try tls.clientContext() }
        self.generation = { tls.credentials.generation }
        self.validator = validator
    }

    /// A client presenting `credential` — its key in memory or on a token (the handshake then signs on the token).
    package init(credential: Credential, anchorsPEM: String, validator: @escaping @Sendable () -> ChainValidator) throws {
        let context = try FederationTLS.clientContext(credential: credential, anchorsPEM: anchorsPEM)
        self.contextSource = { context }
        self.validator = validator
    }

    /// A client without a certificate (to show that servers refuse it).
    package init(anchorsPEM: String, validator: @escaping @Sendable () -> ChainValidator) throws {
        let context = try FederationTLS.clientContext(certificateChainPEM: nil, privateKeyPEM: nil, anchorsPEM: anchorsPEM)
        self.contextSource = { context }
        self.validator = validator
    }

    package func post(_ endpoint: String, path: String, envelope: [UInt8]) async throws -> [UInt8] {
        let (status, body) = try await request(.POST, endpoint, path: path, body: envelope, contentType: Envelope.contentType)
        return try Self.check(status, body)
    }

    package func get(_ endpoint: String, path: String) async throws -> [UInt8] {
        let (status, body) = try await request(.GET, endpoint, path: path, body: nil, contentType: nil)
        return try Self.check(status, body)
    }

    /// Closes every idle connection.
    package func close() { pool.drain() }

    static func check(_ status: Int, _ body: [UInt8]) throws -> [UInt8] {
        if status == 200 { return body }
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: String], let code = object["code"], let message = object["message"] {
            throw RemoteError(code: code, message: message, category: object["category"].flatMap(ErrorCategory.init(rawValue:)) ?? .upstream)
        }
        throw ExchangeError(.peerUnavailable, "the peer answered HTTP \(status) without a coded error")
    }

    /// One request: returns status and body. A reused connection that turns out closed is replaced once for a GET;
    /// a POST is never sent twice (the peer may have acted on it: a retried envelope would be refused as a replay),
    /// so a POST takes a pooled connection only while it is well inside the servers' idle timeout.
    func request(_ method: HTTPMethod, _ endpoint: String, path: String, body: [UInt8]?, contentType: String?) async throws -> (Int, [UInt8]) {
        guard let url = URL(string: endpoint), url.scheme == "https", let host = url.host else {
            throw ExchangeError(.badRequest, "a peer endpoint is an https URL")
        }
        let port = url.port ?? 443
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        if let contentType { head.headers.add(name: "Content-Type", value: contentType) }
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        let payload = body.map { ByteBuffer(bytes: $0) }
        let poolKey = endpoint + "#" + String(generation())
        if let reused = pool.take(poolKey) {
            if method == .GET {
                if let answer = try? await exchange(reused, head, payload, endpoint: poolKey) { return answer }
            } else {
                do { return try await exchange(reused, head, payload, endpoint: poolKey) } catch let e as ExchangeError { throw e } catch {
                    throw ExchangeError(.peerUnavailable, "the connection to the peer failed (TLS refused or closed)")
                }
            }
        }
        let fresh = try await connect(host: host, port: port)
        do {
            return try await exchange(fresh, head, payload, endpoint: poolKey)
        } catch let e as ExchangeError {
            throw e
        } catch {
            throw ExchangeError(.peerUnavailable, "the connection to the peer failed (TLS refused or closed)")
        }
    }

    func exchange(_ connection: PooledConnection, _ head: HTTPRequestHead, _ body: ByteBuffer?, endpoint: String) async throws -> (Int, [UInt8]) {
        let channel = connection.channel
        let limit = maxResponse
        let promise = channel.eventLoop.makePromise(of: CollectedResponse.self)
        // The deadline: a peer that stalls fails the call instead of holding it (and its caller) forever.
        let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(deadline.seconds * 1e9))) {
            promise.fail(ExchangeError(.peerUnavailable, "the peer did not answer within the deadline"))
        }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        channel.eventLoop.execute {
            connection.collector.value.start(promise, limit: limit)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body, body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
        }
        let response: CollectedResponse
        do {
            response = try await promise.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        if response.keepAlive { pool.give(back: connection, for: endpoint) } else { channel.close(promise: nil) }
        return (response.status, Array(buffer: response.body))
    }

    func connect(host: String, port: Int) async throws -> PooledConnection {
        let context: NIOSSLContext
        do { context = try contextSource() } catch { throw ExchangeError(.peerUnavailable, "the node's TLS credential could not be loaded") }
        let chainValidator = validator()
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let tls = try NIOSSLClientHandler(context: context, serverHostname: nil, customVerificationCallback: FederationTLS.verifier(chainValidator, usage: .tlsServer))
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        let collector = ResponseCollector()
                        try channel.pipeline.syncOperations.addHandler(collector)
                        return PooledConnection(channel: channel, collector: NIOLoopBound(collector, eventLoop: channel.eventLoop))
                    }
                }
        } catch {
            throw ExchangeError(.peerUnavailable, "could not connect to the peer")
        }
    }
}

/// An open connection and its response collector.
struct PooledConnection: Sendable {
    let channel: any Channel
    let collector: NIOLoopBound<ResponseCollector>
    /// When it was last handed back to the pool.
    var idleSince = ContinuousClock.now
}

/// Idle connections per endpoint.
final class ConnectionPool: Sendable {
    let idle = Mutex<[String: [PooledConnection]]>([:])
    static let maxIdlePerEndpoint = 8
    /// A connection idle longer than this is closed rather than reused: well inside the node servers' 60 s idle
    /// timeout, so a reused connection is not one the server is closing.
    static let maxIdle: Duration = .seconds(20)

    func take(_ endpoint: String) -> PooledConnection? {
        while let c = idle.withLock({ $0[endpoint]?.popLast() }) {
            if c.channel.isActive, c.idleSince.duration(to: .now) < Self.maxIdle { return c }
            c.channel.close(promise: nil)
        }
        return nil
    }

    func give(back connection: PooledConnection, for endpoint: String) {
        var connection = connection
        connection.idleSince = .now
        let kept = idle.withLock { table -> Bool in
            guard (table[endpoint]?.count ?? 0) < Self.maxIdlePerEndpoint else { return false }
            table[endpoint, default: []].append(connection)
            return true
        }
        if !kept { connection.channel.close(promise: nil) }
    }

    func drain() {
        let all = idle.withLock { table -> [PooledConnection] in
            defer { table = [:] }
            return table.values.flatMap { $0 }
        }
        for c in all { c.channel.close(promise: nil) }
    }

    deinit { drain() }
}

struct CollectedResponse: Sendable {
    var status: Int
    var body: ByteBuffer
    var keepAlive: Bool
}

/// Gathers one response at a time (HTTP/1.1, no pipelining) and completes the waiting request's promise.
final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    var promise: EventLoopPromise<CollectedResponse>?
    var response = CollectedResponse(status: 0, body: ByteBuffer(), keepAlive: true)
    var limit = 0

    func start(_ promise: EventLoopPromise<CollectedResponse>, limit: Int) {
        self.promise = promise
        self.limit = limit
        response = CollectedResponse(status: 0, body: ByteBuffer(), keepAlive: true)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response.status = Int(head.status.code)
            response.keepAlive = head.isKeepAlive
        case .body(var part):
            guard response.body.readableBytes + part.readableBytes <= limit else {
                promise?.fail(ExchangeError(.peerUnavailable, "the peer's answer is too large"))
                promise = nil
                context.close(promise: nil)
                return
            }
            response.body.writeBuffer(&part)
        case .end:
            promise?.succeed(response)
            promise = nil
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(ExchangeError(.peerUnavailable, "the connection to the peer failed (TLS refused or closed)"))
        promise = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(ExchangeError(.peerUnavailable, "the peer closed the connection before answering"))
        promise = nil
        context.fireChannelInactive()
    }
}
