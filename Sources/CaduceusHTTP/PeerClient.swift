public import CaduceusExchange
public import CaduceusPKI
public import NIOSSL
import CaduceusCore
import CaduceusTLS
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Outbound HTTPS to other nodes and for CLI users: HTTP/1.1 over TLS 1.2+, presenting our certificate, and
/// verifying the server's with Caduceus's validator (federation chain, validity, CRLs, serverAuth), so a revoked
/// or foreign peer fails the handshake. One connection per request.
public struct PeerClient: PeerTransport {
    let context: NIOSSLContext
    let validator: @Sendable () -> ChainValidator
    /// Largest answer accepted.
    public var maxResponse = 128 << 20

    /// A client presenting `certificateChainPEM`/`privateKeyPEM`.
    public init(certificateChainPEM: String, privateKeyPEM: String, anchorsPEM: String, validator: @escaping @Sendable () -> ChainValidator) throws {
        self.context = try FederationTLS.clientContext(certificateChainPEM: certificateChainPEM, privateKeyPEM: privateKeyPEM, anchorsPEM: anchorsPEM)
        self.validator = validator
    }

    /// A client without a certificate (to show that servers refuse it).
    public init(anchorsPEM: String, validator: @escaping @Sendable () -> ChainValidator) throws {
        self.context = try FederationTLS.clientContext(certificateChainPEM: nil, privateKeyPEM: nil, anchorsPEM: anchorsPEM)
        self.validator = validator
    }

    public func post(_ endpoint: String, path: String, envelope: [UInt8]) async throws -> [UInt8] {
        let (status, body) = try await request(.POST, endpoint, path: path, body: envelope, contentType: Envelope.contentType)
        return try Self.check(status, body)
    }

    public func get(_ endpoint: String, path: String) async throws -> [UInt8] {
        let (status, body) = try await request(.GET, endpoint, path: path, body: nil, contentType: nil)
        return try Self.check(status, body)
    }

    static func check(_ status: Int, _ body: [UInt8]) throws -> [UInt8] {
        if status == 200 { return body }
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: String], let code = object["code"], let message = object["message"] {
            throw RemoteError(code: code, message: message)
        }
        throw ExchangeError(.peerUnavailable, "the peer answered HTTP \(status) without a coded error")
    }

    /// One request: returns status and body.
    func request(_ method: HTTPMethod, _ endpoint: String, path: String, body: [UInt8]?, contentType: String?) async throws -> (Int, [UInt8]) {
        guard let url = URL(string: endpoint), url.scheme == "https", let host = url.host else {
            throw ExchangeError(.badRequest, "a peer endpoint is an https URL")
        }
        let port = url.port ?? 443
        let context = self.context
        let chainValidator = validator()
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let tls = try NIOSSLClientHandler(context: context, serverHostname: nil, customVerificationCallback: FederationTLS.verifier(chainValidator, usage: .tlsServer))
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ExchangeError(.peerUnavailable, "could not connect to the peer")
        }
        let limit = maxResponse
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
                head.headers.add(name: "Host", value: host)
                head.headers.add(name: "Connection", value: "close")
                if let contentType { head.headers.add(name: "Content-Type", value: contentType) }
                head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
                try await outbound.write(.head(head))
                if let body, !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                try await outbound.write(.end(nil))
                var status = 0
                var collected = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let h): status = Int(h.status.code)
                    case .body(var b):
                        guard collected.readableBytes + b.readableBytes <= limit else {
                            throw ExchangeError(.peerUnavailable, "the peer's answer is too large")
                        }
                        collected.writeBuffer(&b)
                    case .end: return (status, Array(buffer: collected))
                    }
                }
                throw ExchangeError(.peerUnavailable, "the peer closed the connection before answering")
            }
        } catch let e as ExchangeError {
            throw e
        } catch {
            throw ExchangeError(.peerUnavailable, "the connection to the peer failed (TLS refused or closed)")
        }
    }
}
