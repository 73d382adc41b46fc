import CaduceusExchange
package import CaduceusPKI
package import Foundation
package import X509

/// The card CA of a hospital node: a CA the node hosts (``CAStore``, its files where they are) whose namespace
/// admits the node's organisation. Revocations and holds are published through the node's revocation publisher
/// before the card operation answers.
package struct HostedCardAuthority: CardAuthority {
    package let store: CAStore
    let publishNow: @Sendable () async -> Void

    /// Wraps `store`; `publish` makes and pushes the new revocation list.
    package init(store: CAStore, publish: @escaping @Sendable () async -> Void) {
        self.store = store
        self.publishNow = publish
    }

    /// The hosted CA that issues `organization`'s cards: one whose namespace names the organisation, else one that
    /// admits any (a first `serve`'s local root).
    package static func choose(for organization: String, among hosted: [CAStore]) -> CAStore? {
        let named = hosted.compactMap { store -> (CAStore, IssuerNamespace)? in
            guard let ca = try? store.chain().first, let namespace = IssuerNamespace(of: ca) else { return nil }
            return (store, namespace)
        }
        return (named.first { $0.1.organizations.contains(organization) } ?? named.first { IssuerNamespace.admits($0.1.organizations, organization) })?.0
    }

    package func namespace() throws -> IssuerNamespace {
        // The certificates only: the CA key stays on disk until something is signed.
        guard let ca = try store.chain().first, let namespace = IssuerNamespace(of: ca) else { throw PKIError(.outsideNamespace, "the card CA carries no namespace") }
        return namespace
    }

    package func issue(profile: IssuanceProfile, subject: DistinguishedName, publicKey: Certificate.PublicKey, now: Date) throws -> (certificate: Certificate, chain: [Certificate]) {
        let certificate = try store.issue(profile: profile, subject: subject, publicKey: publicKey, now: now)
        // The chain below the anchor: the CA and its parents, without the root (read without the key, which `issue`
        // has just read to sign).
        return (certificate, Array(try store.chain().dropLast()))
    }

    package func revoke(serial: Certificate.SerialNumber, reason: RevocationReason, now: Date) throws {
        try store.revoke(serial: serial, reason: reason, now: now)
    }

    package func releaseHold(serial: Certificate.SerialNumber) throws { try store.releaseHold(serial: serial) }

    package func publish() async { await publishNow() }
}
