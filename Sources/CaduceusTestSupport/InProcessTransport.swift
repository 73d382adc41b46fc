package import CaduceusExchange
package import X509
import CaduceusCore
import Foundation
import Synchronization

/// A federation without sockets: nodes registered under their endpoints answer each other in process. Each node
/// gets its own ``InProcessTransport`` (``transport(for:)``), which presents that node's certificate as the TLS
/// client of every call, as the HTTPS server's handshake would — so the gate's "TLS client = envelope signer" check
/// holds for honest callers and still refuses a forged one.
///
/// The wire is mirrored as NodeServer and PeerClient mirror it: a coded error a node answers with reaches the caller
/// as a ``RemoteError`` with the same code, message and category (an uncoded one as `exchange.bad-request`); an
/// endpoint with no node behind it is `exchange.peer-unavailable`. GETs answer what NodeServer serves without a
/// certificate: `/v1/node`, and on a global node the directory (`/v1/directory/nodes`, `/v1/directory/nodes/<id>`,
/// `/v1/directory/self`); any other path is `exchange.peer-unavailable` (a 404 without a coded body, over HTTP).
package final class InProcessNetwork: Sendable {
    let nodes = Mutex<[String: ExchangeNode]>([:])
    /// Every POST made, in order: endpoint and path (what a test may assert was called).
    let log = Mutex<[(endpoint: String, path: String)]>([])

    package init() {}

    /// The transport a node presenting `certificate` uses.
    package func transport(for certificate: Certificate) -> InProcessTransport { InProcessTransport(network: self, client: certificate) }

    /// Puts `node` on the network at `endpoint` (its configured endpoint by default).
    package func register(_ node: ExchangeNode, at endpoint: String? = nil) {
        nodes.withLock { $0[endpoint ?? node.configuration.endpoint] = node }
    }

    /// Takes the node at `endpoint` off the network (it becomes unreachable).
    package func unregister(_ endpoint: String) { _ = nodes.withLock { $0.removeValue(forKey: endpoint) } }

    /// The POSTs made so far (endpoint, path), oldest first.
    package var posts: [(endpoint: String, path: String)] { log.withLock { $0 } }

    func node(at endpoint: String) throws -> ExchangeNode {
        guard let node = nodes.withLock({ $0[endpoint] }) else { throw ExchangeError(.peerUnavailable, "no node answers at this endpoint") }
        return node
    }
}

/// One node's outbound side on an ``InProcessNetwork``.
package struct InProcessTransport: PeerTransport {
    package let network: InProcessNetwork
    /// The certificate this node presents as TLS client.
    package let client: Certificate

    package init(network: InProcessNetwork, client: Certificate) {
        self.network = network
        self.client = client
    }

    package func post(_ endpoint: String, path: String, envelope: [UInt8]) async throws -> [UInt8] {
        let node = try network.node(at: endpoint)
        network.log.withLock { $0.append((endpoint, path)) }
        do {
            return try await node.handle(path: path, envelope: envelope, tlsClient: client)
        } catch {
            throw Self.overTheWire(error)
        }
    }

    package func get(_ endpoint: String, path: String) async throws -> [UInt8] {
        let node = try network.node(at: endpoint)
        do {
            if path == "/v1/node" { return Array(try JSONEncoder.exchange.encode(try node.selfDescription())) }
            guard path.hasPrefix("/v1/directory/") else { throw ExchangeError(.peerUnavailable, "the peer serves nothing at this path") }
            guard node.configuration.roles.contains(.global) else { throw ExchangeError(.wrongRole, "this node is not the directory") }
            if path == "/v1/directory/nodes" {
                let nodes = try await node.store.read { r in try r.directoryNodes() }
                return Array(try JSONEncoder.exchange.encode(nodes))
            }
            if path == "/v1/directory/self" {
                let id = node.configuration.nodeId
                guard let me = try await node.store.read({ r in try r.directoryNode(id: id) }) else {
                    throw ExchangeError(.unknownNode, "the directory has not published itself yet")
                }
                return Array(try JSONEncoder.exchange.encode(me))
            }
            let prefix = "/v1/directory/nodes/"
            guard path.hasPrefix(prefix), !path.dropFirst(prefix.count).contains("/") else {
                throw ExchangeError(.peerUnavailable, "the peer serves nothing at this path")
            }
            let id = String(path.dropFirst(prefix.count))
            guard let found = try await node.store.read({ r in try r.directoryNode(id: id) }) else {
                throw ExchangeError(.unknownNode, "the directory does not know this node")
            }
            return Array(try JSONEncoder.exchange.encode(found))
        } catch let e as ExchangeError where e.kind == .peerUnavailable {
            throw e  // what PeerClient reports for an answer without a coded error
        } catch {
            throw Self.overTheWire(error)
        }
    }

    package func close() {}

    /// An error as the calling node sees it after NodeServer wrote it and PeerClient read it back.
    static func overTheWire(_ error: any Error) -> any Error {
        let coded = error as? any CaduceusError ?? ExchangeError(.badRequest, "the request could not be processed")
        return RemoteError(code: coded.code, message: coded.message, category: coded.category)
    }
}
