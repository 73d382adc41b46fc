public import X509
import Foundation

/// Who signs a CA's OCSP responses (RFC 6960 §4.2.2.2): the CA itself, or a responder it delegated — a certificate
/// the CA issued directly, carrying id-kp-OCSPSigning in its extended key usage (``IssuanceProfile/ocspSigning``).
/// ``CAStore/ocspSigner(now:renewBefore:)`` keeps a delegated one beside the CA.
public struct OCSPSigner: Sendable {
    /// The signing certificate (the CA's own, or the delegated responder's).
    public let certificate: Certificate
    /// Its key. `description` never shows key material.
    public let key: PrivateKeyMaterial

    /// Pairs a responder certificate with its key, checking that the key matches and that `issuer` — the CA whose
    /// status the signer will give — is the certificate itself or issued it (its signature, its name) with
    /// id-kp-OCSPSigning.
    /// - Throws: `pki.profile-violation` when any of that does not hold.
    public init(certificate: Certificate, key: PrivateKeyMaterial, issuer: Certificate) throws {
        guard certificate.publicKey == key.publicKey else {
            throw PKIError(.profileViolation, "the OCSP signing key does not match its certificate")
        }
        guard certificate == issuer || Self.isDelegated(certificate, by: issuer) else {
            throw PKIError(
                .profileViolation,
                "the OCSP signer is neither the CA nor a responder the CA issued with id-kp-OCSPSigning (RFC 6960 §4.2.2.2)")
        }
        self.certificate = certificate
        self.key = key
    }

    /// The CA signing its own responses.
    public init(authority: CertificateAuthority) {
        self.certificate = authority.certificate
        self.key = authority.key
    }

    /// Pairs a certificate and key without any check: for tests that play an attacker holding some other signer.
    init(uncheckedCertificate certificate: Certificate, key: PrivateKeyMaterial) {
        self.certificate = certificate
        self.key = key
    }

    /// Whether `ca` issued `responder` directly (name and signature) with id-kp-OCSPSigning (RFC 6960 §4.2.2.2).
    public static func isDelegated(_ responder: Certificate, by ca: Certificate) -> Bool {
        guard responder.issuer == ca.subject, ca.publicKey.isValidSignature(responder.signature, for: responder),
            let usage = try? responder.extensions.extendedKeyUsage, usage.contains(.ocspSigning)
        else { return false }
        if let keyUsage = try? responder.extensions.keyUsage, !keyUsage.digitalSignature { return false }
        return true
    }
}
