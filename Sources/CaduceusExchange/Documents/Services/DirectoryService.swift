import CaduceusPKI
import CaduceusStorage
import CaduceusDocuments
import CaduceusCore
import X509
import CaduceusCMS
import CaduceusAudit
import CaduceusPolicy
import CaduceusPatientIndex
import Foundation
import Synchronization

/// The node directory (global): an entry only from the node it names; this node's own entry.
struct DirectoryService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    func publish(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let node = try o.message.decodeBody(DirectoryNode.self)
        guard node.id == o.identity.commonName else { throw ExchangeError(.forbidden, "a node publishes only its own entry") }
        guard let leaf = try? PEM.certificates(fromPEM: node.certificatePEM).first, leaf == o.signer else {
            throw ExchangeError(.forbidden, "the published certificate is not the signer's")
        }
        let now = core.clock.now()
        try await core.store.write { tx in try tx.saveDirectoryNode(node, at: now) }
        return try core.reply(o, node)
    }

    /// This node as the directory describes it (public: id, roles, endpoint, certificate chain).
    func selfDescription() throws -> DirectoryNode {
        let pem = try PEM.encode([core.credential.certificate] + core.credential.chain)
        return DirectoryNode(id: core.id, roles: core.configuration.roles.map(\.rawValue).sorted(), endpoint: core.configuration.endpoint, certificatePEM: pem, region: core.configuration.roles.contains(.hospital) ? core.configuration.regionalNode : "",
            revocationEndpoint: core.configuration.revocationEndpoint.isEmpty ? nil : core.configuration.revocationEndpoint)
    }

    /// Publishes this node in the global directory.
    func publishSelf() async throws {
        let me = try selfDescription()
        if core.configuration.roles.contains(.global) {
            let now = core.clock.now()
            try await core.store.write { tx in try tx.saveDirectoryNode(me, at: now) }
            return
        }
        // The directory's own certificate comes from its entry, which a global node serves for itself.
        let globalBytes = try await core.transport.get(core.configuration.directoryEndpoint, path: "/v1/directory/self")
        guard let global = try? JSONDecoder.exchange.decode(DirectoryNode.self, from: Data(globalBytes)) else {
            throw ExchangeError(.peerUnavailable, "the directory did not describe itself")
        }
        let (_, cert) = try await core.lookUp(global.id)
        _ = try await core.call(.publishNode, to: global.id, endpoint: core.configuration.directoryEndpoint, certificate: cert, body: me)
    }
}
