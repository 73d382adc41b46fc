public import X509
public import struct Foundation.Date
public import struct Foundation.TimeInterval
import Foundation
import Crypto

/// What a verified OCSP response says about one certificate, and until when it may be relied on.
public struct OCSPVerdict: Sendable, Equatable {
    /// The certificate's status.
    public let status: OCSPCertificateStatus
    /// When the responder knew the status to be correct.
    public let thisUpdate: Date
    /// When newer status will be available (absent: the responder gave none; ``OCSPVerifier`` then bounds the
    /// answer's age by ``OCSPVerifier/maxAgeWithoutNextUpdate``).
    public let nextUpdate: Date?
    /// Whether a delegated responder (not the CA itself) signed.
    public let delegated: Bool
}

/// The client side of OCSP (RFC 6960 §3.2): checks a response to a request this side made before considering it,
/// in a fixed order, each failure a coded refusal:
///
/// 1. it is a DER OCSPResponse (`pki.ocsp-invalid`) whose status is `successful` (`pki.ocsp-unavailable`
///    otherwise: unsuccessful responses are unsigned, so they only say "no answer");
/// 2. its signature algorithm is one the federation accepts, and the signature over ResponseData verifies with the
///    certificate's CA — the issuer given — or with a responder certificate the response carries that the CA issued
///    directly with id-kp-OCSPSigning, valid now (§4.2.2.2), and that the responderID names (§4.2.2.3);
/// 3. it echoes the request's nonce byte for byte (RFC 8954; a response without it, or with another, is a replay);
/// 4. it answers for the certificate asked about (the CertID: hash algorithm, issuer hashes, serial);
/// 5. its thisUpdate (and producedAt) is not ahead of `now` beyond the skew, and its nextUpdate (plus the skew) is not
///    past; with no nextUpdate, thisUpdate is at most ``maxAgeWithoutNextUpdate`` old.
///
/// Every refusal but the unsuccessful status is `pki.ocsp-invalid`: the response must not be considered (§3.2), and
/// the caller falls back to what it knows otherwise (the CRL).
public enum OCSPVerifier {
    /// How far the responder's clock may be ahead of ours, and how long past nextUpdate an answer still counts.
    public static let maxSkew: TimeInterval = 300
    /// The age an answer without nextUpdate may reach (OpenSSL's responder writes none unless told `-nmin`/`-ndays`).
    public static let maxAgeWithoutNextUpdate: TimeInterval = 300

    /// Verifies `response` (DER) as the answer to `request` about `certificate`, issued by the CA `issuer`, at `now`.
    /// - Throws: `pki.ocsp-invalid` or `pki.ocsp-unavailable`, as above.
    public static func verify(
        _ response: [UInt8], request: OCSPRequest, certificate: Certificate, issuer: Certificate, now: Date, skew: TimeInterval = maxSkew
    ) throws(PKIError) -> OCSPVerdict {
        let parsed = try OCSPResponse(derEncoded: response)
        guard parsed.status == .successful, let basic = parsed.basic else {
            throw PKIError(.ocspUnavailable, "the OCSP responder gave no status (response status \(parsed.status))")
        }
        // 2. The signer: the CA itself, or a responder it delegated.
        let algorithm: Certificate.SignatureAlgorithm
        do { algorithm = try SignatureAlgorithms.accepted(basic.signatureAlgorithm) } catch {
            throw PKIError(.ocspInvalid, "the OCSP response is signed with an algorithm the policy refuses")
        }
        var delegated = false
        if names(basic.responderID, issuer), issuer.publicKey.isValidSignature(basic.signature, for: basic.tbsBytes, signatureAlgorithm: algorithm) {
            delegated = false
        } else if let responder = basic.certificates.first(where: { names(basic.responderID, $0) }),
            OCSPSigner.isDelegated(responder, by: issuer),
            responder.notValidBefore <= now.addingTimeInterval(skew), responder.notValidAfter >= now,
            responder.publicKey.isValidSignature(basic.signature, for: basic.tbsBytes, signatureAlgorithm: algorithm)
        {
            delegated = true
        } else {
            throw PKIError(.ocspInvalid, "the OCSP response is not signed by the certificate's CA or a responder that CA delegated (RFC 6960 §4.2.2.2)")
        }
        // 3. The nonce.
        if let sent = request.nonce, basic.nonce != sent {
            throw PKIError(.ocspInvalid, "the OCSP response does not echo the request's nonce (RFC 8954): a replayed or foreign answer")
        }
        // 4. The certificate asked about.
        let asked = try? OCSPCertificateID(serialNumber: certificate.serialNumber, issuer: issuer, hash: request.certificateIDs.first?.hashAlgorithm ?? .sha256)
        guard let asked, request.certificateIDs.contains(where: { $0.sameCertificate(as: asked) }),
            let single = basic.responses.first(where: { $0.certificateID.sameCertificate(as: asked) })
        else {
            throw PKIError(.ocspInvalid, "the OCSP response does not answer for the certificate asked about (RFC 6960 §4.2.2.1)")
        }
        // 5. Dates.
        guard single.thisUpdate <= now.addingTimeInterval(skew), basic.producedAt <= now.addingTimeInterval(skew) else {
            throw PKIError(.ocspInvalid, "the OCSP response is dated in the future (thisUpdate or producedAt ahead of this clock)")
        }
        if let next = single.nextUpdate {
            guard next.addingTimeInterval(skew) >= now, next >= single.thisUpdate else {
                throw PKIError(.ocspInvalid, "the OCSP response is stale: its nextUpdate has passed (RFC 6960 §4.2.2.1)")
            }
        } else if now.timeIntervalSince(single.thisUpdate) > maxAgeWithoutNextUpdate {
            throw PKIError(.ocspInvalid, "the OCSP response is stale: no nextUpdate, and its thisUpdate is too old")
        }
        return OCSPVerdict(status: single.status, thisUpdate: single.thisUpdate, nextUpdate: single.nextUpdate, delegated: delegated)
    }

    /// Whether `responderID` names `certificate` (its subject, or the SHA-1 of its public key's bits, §4.2.2.3).
    static func names(_ responderID: OCSPResponse.ResponderID, _ certificate: Certificate) -> Bool {
        switch responderID {
        case .byName(let name): return name == certificate.subject
        case .byKey(let hash):
            guard let bits = try? OCSPCertificateID.publicKeyBits(certificate.publicKey) else { return false }
            return Array(Insecure.SHA1.hash(data: bits)) == hash
        }
    }
}
