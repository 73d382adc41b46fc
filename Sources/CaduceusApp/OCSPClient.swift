package import CaduceusCore
package import CaduceusExchange
package import CaduceusPKI
package import X509
import Crypto
package import Foundation
import SwiftASN1
import Synchronization

/// The OCSP client a node uses at sign-in (RFC 6960 §3.2, over HTTP per Appendix A.1: `POST` with
/// `application/ocsp-request`): a request with a fresh nonce for each question, the answer verified by
/// ``OCSPVerifier`` (signer, nonce, certificate, dates), and verified answers kept for a short time (`cacheSeconds`,
/// never past the answer's nextUpdate) keyed by the issuer's name and key and the serial. No answer, or one that does
/// not verify, is an error the node treats as "ask the CRL"; it is never cached.
package final class OCSPClient: OnlineRevocationChecker {
    /// Sends a DER request to a URL and returns the DER answer (plain HTTP by default; tests put an attacker here).
    package typealias Exchange = @Sendable (_ url: String, _ request: [UInt8]) async throws -> [UInt8]

    /// How long a verified answer is reused, seconds (0: never).
    package let cacheSeconds: TimeInterval
    let clock: any WallClock
    let exchange: Exchange
    let cache = Mutex<[String: (verdict: OCSPVerdict, until: Date)]>([:])
    /// At most this many answers are kept.
    static let maxEntries = 10_000

    /// A client keeping answers `cacheSeconds`; `timeout` bounds each exchange (connect, send, answer).
    package init(cacheSeconds: TimeInterval = 60, clock: any WallClock = SystemWallClock(), timeout: Duration = .seconds(3), exchange: Exchange? = nil) {
        self.cacheSeconds = max(0, cacheSeconds)
        self.clock = clock
        self.exchange = exchange ?? { url, body in
            try await PlainHTTP.post(url, body: body, contentType: "application/ocsp-request", limit: OCSPResponse.maxSize, timeout: timeout)
        }
    }

    /// The status of `certificate` (issued by `issuer`) from the responder at `responder` (the full URL, `…/ocsp`).
    package func status(of certificate: Certificate, issuer: Certificate, responder: String) async throws(PKIError) -> OCSPVerdict {
        let key = Self.key(certificate, issuer)
        let now = clock.now()
        if let hit = cache.withLock({ $0[key] }), hit.until > now { return hit.verdict }
        let request: OCSPRequest
        do { request = try OCSPRequest.make(for: certificate, issuer: issuer) } catch {
            throw PKIError(.ocspUnavailable, "an OCSP request could not be made for this certificate")
        }
        let answer: [UInt8]
        do { answer = try await exchange(responder, request.derEncoded) } catch {
            throw PKIError(.ocspUnavailable, "the OCSP responder could not be reached")
        }
        let verdict = try OCSPVerifier.verify(answer, request: request, certificate: certificate, issuer: issuer, now: clock.now())
        if cacheSeconds > 0 {
            let until = min(now.addingTimeInterval(cacheSeconds), verdict.nextUpdate ?? now.addingTimeInterval(cacheSeconds))
            cache.withLock { table in
                if table.count >= Self.maxEntries { table = table.filter { $0.value.until > now } }
                if table.count < Self.maxEntries { table[key] = (verdict, until) }
            }
        }
        return verdict
    }

    /// Forgets every kept answer.
    package func flush() { cache.withLock { $0.removeAll() } }

    /// Issuer (name and key) and serial.
    static func key(_ certificate: Certificate, _ issuer: Certificate) -> String {
        var serializer = DER.Serializer()
        try? serializer.serialize(issuer.subject)
        try? serializer.serialize(issuer.publicKey)
        return Hex.encode(Array(SHA256.hash(data: serializer.serializedBytes))) + ":" + Hex.encode(certificate.serialNumber.bytes)
    }
}
