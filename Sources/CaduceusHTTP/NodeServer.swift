package import CaduceusExchange
package import CaduceusPKI
package import Hummingbird
package import Logging
package import CaduceusCore
import CaduceusDocuments
package import CaduceusPortal
import CaduceusStorage
package import CaduceusTLS
import Foundation
import HummingbirdTLS
import NIOCore
import NIOSSL
import X509

/// The node's HTTPS server: Hummingbird 2 over TLS 1.2+ with mutual TLS. Every client presents a federation
/// certificate (node or staff card) that Caduceus's own validator accepts — chain to the federation root, validity,
/// CRL revocation, clientAuth — or the handshake fails before any application byte. Exchange operations are POSTs
/// whose bodies are envelopes (see `docs/api.md`); errors are JSON `{code, message}` with no request data.
package enum NodeServer {
    /// Largest request body accepted (an envelope with its documents).
    package static let maxBody = 64 << 20

    /// What the server needs.
    package struct Settings: Sendable {
        /// Address to bind.
        package var host: String
        /// Port (0 picks a free one; `onRunning` reports it).
        package var port: Int
        /// The node's certificate chain (leaf first) and key, PEM.
        package var certificateChainPEM: String
        /// See ``certificateChainPEM``.
        package var privateKeyPEM: String
        /// Federation trust anchors, PEM.
        package var anchorsPEM: String
        /// The node's renewable credential: when set, every handshake presents its current certificate (the PEMs above
        /// are then only its first).
        package var tls: RenewableTLS?
        /// The web portal served beside the API (nil: none).
        package var portal: Portal?
        /// Serve `POST /bench/sink` (reads a body, answers its size): the raw-HTTPS peer of `caduceus bench exchange`.
        package var benchmarkSink = false
        /// Creates settings.
        package init(host: String, port: Int, certificateChainPEM: String, privateKeyPEM: String, anchorsPEM: String) {
            self.host = host
            self.port = port
            self.certificateChainPEM = certificateChainPEM
            self.privateKeyPEM = privateKeyPEM
            self.anchorsPEM = anchorsPEM
        }
    }

    /// The application serving `node`.
    package static func application(node: ExchangeNode, settings: Settings, validator: @escaping @Sendable () -> ChainValidator, metrics: NodeMetrics, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let router = Router(context: NodeRequestContext.self)
        routes(router, node: node, metrics: metrics)
        // The web portal (the stations), behind the same gate as the envelopes.
        settings.portal?.routes(router)
        if settings.benchmarkSink {
            router.post("/bench/sink") { request, _ -> Response in
                let body = try await request.body.collect(upTo: maxBody)
                return json(.ok, Array("{\"bytes\":\(body.readableBytes)}".utf8))
            }
        }
        var tls: TLSConfiguration
        if let renewable = settings.tls {
            // The node's current certificate in every handshake: a renewal reaches new connections at once.
            tls = try renewable.serverConfiguration()
        } else {
            tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(settings.certificateChainPEM.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(settings.privateKeyPEM.utf8), format: .pem)))
            tls.minimumTLSVersion = .tlsv12
            tls.certificateVerification = .noHostnameVerification  // a client certificate is required
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(settings.anchorsPEM.utf8)))
        }
        let channel = TLSChannelConfiguration(tlsConfiguration: tls) { certificates, promise in
            // Re-read the validator per handshake so a CRL published meanwhile takes effect.
            // A browser may present its card alone: the CA certificates this node holds with their lists complete it.
            FederationTLS.verifier(validator(), usage: .tlsClient, intermediates: { node.heldAuthorities() })(certificates, promise)
        }
        return Application(
            router: router,
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(60))), configuration: channel),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "caduceus"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? settings.port) },
            logger: logger)
    }

    static func routes(_ router: Router<NodeRequestContext>, node: ExchangeNode, metrics: NodeMetrics) {
        router.get("/health") { _, _ -> Response in
            let roles = node.configuration.roles.map(\.rawValue).sorted()
            let body = try JSONSerialization.data(withJSONObject: ["status": "ok", "node": node.configuration.nodeId, "roles": roles], options: [.sortedKeys])
            return json(.ok, Array(body))
        }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        // The revocation lists this node holds, each with its CA's chain (signed objects: any node re-serves them).
        router.get("/v1/crls") { _, _ -> Response in
            guard let lists = node.revocationLists else { return error(ExchangeError(.wrongRole, "this node keeps no revocation lists")) }
            return json(.ok, Array(try JSONEncoder.exchange.encode(lists.published())))
        }
        router.get("/v1/node") { _, _ -> Response in
            json(.ok, Array(try JSONEncoder.exchange.encode(try node.selfDescription())))
        }
        router.get("/v1/directory/nodes") { _, _ -> Response in
            guard node.configuration.roles.contains(.global) else { return error(ExchangeError(.wrongRole, "this node is not the directory")) }
            let nodes = try await node.store.read { r in try r.directoryNodes() }
            return json(.ok, Array(try JSONEncoder.exchange.encode(nodes)))
        }
        router.get("/v1/directory/self") { _, _ -> Response in
            guard node.configuration.roles.contains(.global) else { return error(ExchangeError(.wrongRole, "this node is not the directory")) }
            let me = try await node.store.read { r in try r.directoryNode(id: node.configuration.nodeId) }
            guard let me else { return error(ExchangeError(.unknownNode, "the directory has not published itself yet")) }
            return json(.ok, Array(try JSONEncoder.exchange.encode(me)))
        }
        router.get("/v1/directory/nodes/:id") { _, context -> Response in
            guard node.configuration.roles.contains(.global) else { return error(ExchangeError(.wrongRole, "this node is not the directory")) }
            let id = context.parameters.get("id") ?? ""
            let found = try await node.store.read { r in try r.directoryNode(id: id) }
            guard let found else { return error(ExchangeError(.unknownNode, "the directory does not know this node")) }
            return json(.ok, Array(try JSONEncoder.exchange.encode(found)))
        }
        router.post("/v1/**") { request, context -> Response in
            let started = ContinuousClock.now
            let path = request.uri.path
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maxBody)
            } catch {
                metrics.record(path: path, code: "exchange.too-large", elapsed: started.duration(to: .now))
                return NodeServer.error(DocumentsError(.tooLarge, "the request body exceeds \(maxBody) bytes"))
            }
            do {
                // The client certificate of this connection (validated in the handshake) must be the envelope's signer.
                guard let client = await context.clientCertificate() else {
                    throw ExchangeError(.peerMismatch, "the connection presented no client certificate")
                }
                let reply = try await node.handle(path: path, envelope: Array(buffer: body), tlsClient: client)
                metrics.record(path: path, code: "ok", elapsed: started.duration(to: .now))
                return Response(status: .ok, headers: [.contentType: Envelope.contentType], body: .init(byteBuffer: ByteBuffer(bytes: reply)))
            } catch {
                let coded = error as? any CaduceusError ?? ExchangeError(.badRequest, "the request could not be processed")
                metrics.record(path: path, code: coded.code, elapsed: started.duration(to: .now))
                return NodeServer.error(coded)
            }
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The HTTP status for an error's category (the mapping lives here, STYLE §3), exhaustive: a client's mistake is
    /// never a 502, and a peer's failure passed on keeps the category the peer gave it.
    package static func status(for category: ErrorCategory) -> HTTPResponse.Status { Portal.status(for: category) }

    static func error(_ e: any CaduceusError) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: ["code": e.code, "message": e.message, "category": e.category.rawValue], options: [.sortedKeys])) ?? Data()
        return json(status(for: e.category), Array(body))
    }
}

/// A request context that can name the TLS client certificate of its connection (validated in the handshake by the
/// federation's verifier), so a request is bound to the party that opened the connection.
struct NodeRequestContext: PortalRequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The client's card: the leaf certificate of this connection's handshake (NIOSSL keeps no other certificate of
    /// the peer's; the portal door completes the chain from the CA certificates the node holds).
    func clientCertificates() async -> [Certificate] {
        await clientCertificate().map { [$0] } ?? []
    }

    /// The certificate the client presented in this connection's TLS handshake.
    func clientCertificate() async -> Certificate? {
        let channel = self.channel
        let der = try? await channel.eventLoop.submit { () -> [UInt8]? in
            try channel.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate?.toDERBytes()
        }.get()
        guard let der else { return nil }
        return try? Certificate(derEncoded: der)
    }
}
