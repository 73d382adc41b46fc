public import CaduceusCore

/// The one error type of `CaduceusPKI`. Equality is by code; messages never carry key material or PHI.
public struct PKIError: CodedError {
    /// An extensible, stable error code (`pki.*`).
    public struct Code: ErrorCode {
        /// The code as text, e.g. `pki.revoked`.
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// DER, PEM or a structure inside them could not be parsed.
        public static let malformed = Code("pki.malformed")
        /// A key type or size the federation does not use.
        public static let unsupportedKey = Code("pki.unsupported-key")
        /// An algorithm the policy refuses (SHA-1, MD5, 3DES, RC2, RSA under 2048 bits…).
        public static let weakAlgorithm = Code("pki.weak-algorithm")
        /// The CSR's self-signature does not verify: the requester did not prove possession of the key.
        public static let proofOfPossessionFailed = Code("pki.csr-proof-of-possession")
        /// The request does not fit the issuance profile (missing SAN, CA asked for a leaf profile…).
        public static let profileViolation = Code("pki.profile-violation")
        /// The named certificate, serial or CA is not known.
        public static let notFound = Code("pki.not-found")
        /// The certificate was revoked before.
        public static let alreadyRevoked = Code("pki.already-revoked")
        /// The CA directory or its state file is missing, unreadable or inconsistent.
        public static let storeCorrupt = Code("pki.store-corrupt")
        /// The CA directory exists already.
        public static let alreadyExists = Code("pki.already-exists")
        /// A PKCS#12 file's integrity check failed: wrong password, or the file was altered.
        public static let pkcs12Integrity = Code("pki.pkcs12-integrity")
        /// The certificate's validity period ended before the validation time.
        public static let expired = Code("pki.expired")
        /// The certificate's validity period starts after the validation time.
        public static let notYetValid = Code("pki.not-yet-valid")
        /// The certificate is on its issuer's CRL.
        public static let revoked = Code("pki.revoked")
        /// No chain leads from the certificate to a trust anchor.
        public static let untrusted = Code("pki.untrusted")
        /// The certificate's key usage or extended key usage does not allow the operation.
        public static let keyUsage = Code("pki.key-usage")
        /// A chain was built but breaks RFC 5280 rules (basic constraints, path length, name constraints).
        public static let chainInvalid = Code("pki.chain-invalid")
        /// Revocation checking was required and no valid CRL from the issuer was supplied.
        public static let crlMissing = Code("pki.crl-missing")
        /// A CRL's signature does not verify, or its nextUpdate has passed.
        public static let crlInvalid = Code("pki.crl-invalid")
        /// Revocation is required and the issuer's revocation status is unknown: no CRL from it, or only one that is
        /// unparsable, badly signed or stale beyond the grace period. The certificate is refused (fail closed).
        public static let revocationUnknown = Code("pki.revocation-unknown")
        /// A name lies outside what the issuing CA may vouch for (its ``IssuerNamespace``), or the CA carries none.
        public static let outsideNamespace = Code("pki.outside-namespace")
        /// An OCSP response must not be considered (RFC 6960 §3.2): not valid DER, not signed by the certificate's CA
        /// or a responder that CA delegated (§4.2.2.2), a nonce that is not the request's (RFC 8954), an answer for
        /// another certificate, or dates that make it stale or from the future.
        public static let ocspInvalid = Code("pki.ocsp-invalid")
        /// The OCSP responder gave no status: it could not be reached, or answered with an unsuccessful (unsigned)
        /// response status (RFC 6960 §4.2.1: malformedRequest, internalError, tryLater, sigRequired, unauthorized).
        public static let ocspUnavailable = Code("pki.ocsp-unavailable")
        /// The key lives on a token (PKCS#11): it cannot be exported, written to a file or PKCS#12, or sign through
        /// swift-certificates (certificates, CRLs).
        public static let keyNotExportable = Code("pki.key-not-exportable")
        /// An I/O operation failed.
        public static let io = Code("pki.io")
    }

    /// The kind of failure.
    public let kind: Code
    /// PHI-free text naming the rule broken.
    public let message: String

    /// Creates an error.
    public init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
