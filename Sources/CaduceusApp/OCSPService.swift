package import CaduceusCore
package import CaduceusPKI
package import Foundation
import X509
import Synchronization

/// The OCSP responders (RFC 6960) of the CAs a node hosts, served on its plain-HTTP revocation listener
/// (``RevocationListener``). Each request reads the CA's records afresh (`state.json`: a revocation — `caduceus pki
/// revoke` in another process included — is answered at once) and signs with the CA's delegated responder
/// (``CAStore/ocspSigner(now:renewBefore:)``, kept in memory until it is due for renewal; the CA key is read only to
/// renew it). The answer itself is ``OCSPResponder``'s, pure.
package final class OCSPService: Sendable {
    /// The CAs served.
    let hosted: [CAStore]
    /// How long an answer is fresh (nextUpdate − thisUpdate), seconds.
    package let validity: TimeInterval
    let clock: any WallClock
    /// Per CA directory, the delegated signer in use and the CA's chain.
    let signers = Mutex<[String: (OCSPSigner, [Certificate])]>([:])
    /// Renew a signer this long before it expires.
    static let renewBefore: TimeInterval = 3 * 86_400

    /// Responders for `hosted`, answers fresh for `validity` seconds.
    package init(hosted: [CAStore], validity: TimeInterval = 600, clock: any WallClock = SystemWallClock()) {
        self.hosted = hosted
        self.validity = validity
        self.clock = clock
    }

    /// Answers a DER OCSP request (always a DER response: `unauthorized` when this node hosts no CA,
    /// `malformedRequest` for bytes that are no request, `internalError` when no CA can sign).
    package func respond(to der: [UInt8]) -> [UInt8] {
        let now = clock.now()
        guard !hosted.isEmpty else { return OCSPResponse.unsuccessful(.unauthorized) }
        guard let request = try? OCSPRequest(derEncoded: der) else { return OCSPResponse.unsuccessful(.malformedRequest) }
        var responders: [OCSPResponder] = []
        for ca in hosted {
            guard let (signer, chain) = signer(for: ca, now: now), let records = try? ca.records() else { continue }
            let responder = OCSPResponder(authority: chain[0], parents: Array(chain.dropFirst()), signer: signer, records: records, validity: validity)
            // The CA the request names answers; the others are not even read.
            if responder.serves(request) { return responder.respond(to: request, now: now) }
            responders.append(responder)
        }
        guard let first = responders.first else { return OCSPResponse.unsuccessful(.internalError) }
        return first.respond(to: request, now: now)
    }

    /// The signer of `ca` (renewed through the CA store when due) and the CA's chain.
    func signer(for ca: CAStore, now: Date) -> (OCSPSigner, [Certificate])? {
        if let cached = signers.withLock({ $0[ca.directory] }), cached.0.certificate.notValidAfter.timeIntervalSince(now) > Self.renewBefore {
            return cached
        }
        guard let signer = try? ca.ocspSigner(now: now, renewBefore: Self.renewBefore), let chain = try? ca.chain() else { return nil }
        signers.withLock { $0[ca.directory] = (signer, chain) }
        return (signer, chain)
    }
}
