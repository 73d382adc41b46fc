package import CaduceusPKI
package import X509
import CaduceusAudit
import Foundation

/// Asks a CA's OCSP responder (RFC 6960) about a certificate — the composition root's client (plain HTTP, a nonce,
/// a short cache); unit tests give the node none, or a fake.
package protocol OnlineRevocationChecker: Sendable {
    /// The verified status of `certificate`, issued by the CA `issuer`, from the responder served at `responder` (a
    /// node's plain-HTTP revocation listener, `http://host:port`).
    /// - Throws: `pki.ocsp-unavailable` (no answer: unreachable, or an unsuccessful status), `pki.ocsp-invalid` (an
    ///   answer that must not be considered: forged, replayed, stale, for another certificate).
    func status(of certificate: Certificate, issuer: Certificate, responder: String) async throws(PKIError) -> OCSPVerdict
}

/// The OCSP check at sign-in: after the handshake and the envelope have validated the card with the CRLs this node
/// holds (fail closed), the node asks the card's CA's responder — served by the node that hosts the CA, found
/// through the directory entry of the card's home organisation (its O, which the card's CA vouches for), on that
/// node's plain-HTTP revocation listener — so that a revocation the CRL held here does not show yet is refused now.
///
/// `revoked` and `unknown` refuse the sign-in (`exchange.signer-rejected`); `good` lets it go on. No answer, or an
/// answer that does not verify (which RFC 6960 §3.2 says must not be considered), leaves the decision to the CRL
/// check already passed. What the check found goes on the operation's audit event (object type `ocsp`: `good`,
/// `revoked`, `unknown`, or `crl:<code>` for the fallback).
struct OnlineStatusCheck: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    /// Checks the signer of `o` (a card whose validated chain names its issuer) when the node has a checker.
    func require(_ o: ExchangeRequest) async throws(ExchangeError) {
        guard let checker = core.onlineStatus, o.envelope.chain.count >= 2 else { return }
        let issuer = o.envelope.chain[1]
        guard let responder = await responder(for: o.identity) else {
            note(o, "crl:no-responder")
            return
        }
        let verdict: OCSPVerdict
        do { verdict = try await checker.status(of: o.envelope.signer, issuer: issuer, responder: responder) } catch {
            note(o, "crl:" + error.code)
            return
        }
        switch verdict.status {
        case .good:
            note(o, "good")
        case .revoked:
            note(o, "revoked")
            throw ExchangeError(.signerRejected, "the card is revoked: its CA's OCSP responder says so (RFC 6960 §2.2)")
        case .unknown:
            note(o, "unknown")
            throw ExchangeError(.signerRejected, "the card's CA's OCSP responder does not know the card (RFC 6960 §2.2, unknown)")
        }
    }

    /// The OCSP responder of the node the card's organisation names: its directory entry's plain-HTTP listener, on
    /// that node's own HTTPS host (a directory entry cannot send sign-ins asking another machine).
    func responder(for identity: FederationIdentity) async -> String? {
        guard let organization = identity.organization, !organization.isEmpty,
            let (entry, _) = try? await core.lookUp(organization),
            let url = entry.revocationEndpoint, url.hasPrefix("http://"),
            let host = URL(string: url)?.host, host == URL(string: entry.endpoint)?.host
        else { return nil }
        return url + "/ocsp"
    }

    func note(_ o: ExchangeRequest, _ finding: String) {
        o.audit.add(AuditObject(typeCode: 2, role: 13, idType: AuditCode("ocsp", system: "caduceus-audit", display: "OCSP status at sign-in"), id: finding))
    }
}
