package import Foundation
import CaduceusAudit
import CaduceusCore

/// A CA's revocation list as nodes pass it on: the CRL (DER) and the CA's certificate chain (PEM: the CA first, then
/// its parents below the trust anchor), so a receiver can check the CRL's signer against its own trust anchors.
package struct PublishedCRL: Codable, Sendable, Equatable {
    /// The CRL, DER.
    package var crl: Data
    /// The issuing CA's chain, PEM.
    package var chain: String
    /// Creates one.
    package init(crl: Data, chain: String) {
        self.crl = crl
        self.chain = chain
    }
}

/// The answer to `crl.publish`: how many of the lists sent were newer than the receiver's and were swapped in.
package struct PublishCRLResponse: Codable, Sendable {
    package var accepted: Int
}

/// The revocation lists a node keeps (the composition root's trust store): it takes a list only when its CA chains to
/// the node's own anchors, the CA signed it, and it is newer than the one held; it re-serves what it holds.
package protocol RevocationLists: Sendable {
    /// Checks and keeps `published` if newer; true when it replaced (or was the first of) its CA's list.
    /// - Throws: `pki.malformed` (not a CRL or chain), `pki.crl-invalid` (not signed by a CA this node trusts).
    func accept(_ published: PublishedCRL) async throws -> Bool
    /// The newest list of every CA this node knows, with its chain.
    func published() -> [PublishedCRL]
}

/// Revocation lists through the federation: a node told of newer lists swaps them in at once (`crl.publish`); a node
/// hosting a CA tells every other node the moment it revokes; every node fetches what the others hold on a schedule.
struct RevocationService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    /// At most this many lists in one `crl.publish`.
    static let maxLists = 32
    /// At most this many bytes in a node's `GET /v1/crls` answer.
    static let maxFetch = 16 << 20

    /// `crl.publish`: keeps each list that is newer than the one held (each checked by the trust store itself).
    func receive(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        guard let lists = core.revocation else { throw ExchangeError(.wrongRole, "this node keeps no revocation lists") }
        let sent = try o.message.decodeBody([PublishedCRL].self)
        guard (1...Self.maxLists).contains(sent.count) else { throw ExchangeError(.badRequest, "publish between 1 and \(Self.maxLists) CRLs at a time") }
        var accepted = 0
        for p in sent where try await lists.accept(p) { accepted += 1 }
        o.audit.add(AuditObject(typeCode: 2, role: 13, idType: AuditCode("crl", system: "caduceus-audit", display: "Revocation lists accepted"), id: String(accepted)))
        return try core.reply(o, PublishCRLResponse(accepted: accepted))
    }

    /// Tells every other node in the directory of `crls`; returns how many answered.
    func push(_ crls: [PublishedCRL]) async -> Int {
        guard !crls.isEmpty, let others = await core.otherNodes() else { return 0 }
        return await withTaskGroup(of: Bool.self) { group in
            for node in others {
                group.addTask { (try? await core.call(.publishCRL, to: node, body: Array(crls.prefix(Self.maxLists)))) != nil }
            }
            var told = 0
            for await ok in group where ok { told += 1 }
            return told
        }
    }

    /// Fetches `GET /v1/crls` from every other node in the directory and keeps what is newer; returns how many lists
    /// were taken. Unreachable nodes are skipped (the next round tries again).
    func fetch() async -> Int {
        guard let lists = core.revocation, let others = await core.otherNodes() else { return 0 }
        // Every node at once: an unreachable or slow one holds up only itself.
        let answers = await withTaskGroup(of: [PublishedCRL].self) { group in
            for node in others {
                group.addTask {
                    guard let (entry, _) = try? await core.lookUp(node),
                          let bytes = try? await core.transport.get(entry.endpoint, path: "/v1/crls"), bytes.count <= Self.maxFetch,
                          let held = try? JSONDecoder.exchange.decode([PublishedCRL].self, from: Data(bytes))
                    else { return [] }
                    return Array(held.prefix(256))
                }
            }
            var all: [PublishedCRL] = []
            for await lists in group { all += lists }
            return all
        }
        var taken = 0
        for p in answers where (try? await lists.accept(p)) == true { taken += 1 }
        return taken
    }
}
