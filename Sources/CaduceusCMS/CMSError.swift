public import CaduceusCore
public import CaduceusPKI

/// The one error type of `CaduceusCMS`. Equality is by code. Every decryption failure, whatever its cause (no
/// matching recipient, wrong key, bad padding, failed tag), is ``Code/decryptionFailed`` with the same message.
public struct CMSError: CodedError {
    /// A stable error code (`cms.*`).
    public struct Code: ErrorCode {
        /// The code as text.
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// The input is not valid DER/BER CMS, or it is truncated.
        public static let malformed = Code("cms.malformed")
        /// The MIME entity is not a well-formed S/MIME message.
        public static let mimeMalformed = Code("cms.mime-malformed")
        /// The MIME header block breaks a limit (field count, field size, block size); refused before any decoding.
        public static let mimeHeadersTooLarge = Code("cms.mime-headers-too-large")
        /// A content type or structure Caduceus does not handle.
        public static let unsupported = Code("cms.unsupported")
        /// An algorithm the policy refuses: DES, 3DES, RC2, MD5, SHA-1 signatures, RSA under 2048 bits, RSA PKCS#1
        /// v1.5 key transport.
        public static let weakAlgorithm = Code("cms.weak-algorithm")
        /// The message could not be decrypted. Deliberately uninformative.
        public static let decryptionFailed = Code("cms.decryption-failed")
        /// The SignedData has no signer.
        public static let noSigner = Code("cms.no-signer")
        /// The content's digest differs from the signed messageDigest: the content was altered.
        public static let digestMismatch = Code("cms.digest-mismatch")
        /// The signature value does not verify with the signer's key.
        public static let badSignature = Code("cms.bad-signature")
        /// The signer's certificate is not in the message nor supplied.
        public static let signerNotFound = Code("cms.signer-not-found")
        /// The signing-time attribute lies in the future, or the content-type attribute does not match.
        public static let badSignedAttributes = Code("cms.bad-signed-attributes")
        /// Detached signature without content, or attached content where none was expected.
        public static let contentMissing = Code("cms.content-missing")
        /// A recipient certificate cannot receive encrypted content (key type, key usage).
        public static let recipientRejected = Code("cms.recipient-rejected")
        /// The signer's certificate failed path validation; `pkiCode` says why.
        public static func signerRejected(_ pkiCode: PKIError.Code) -> Code {
            Code("cms.signer-" + pkiCode.rawValue.dropFirst("pki.".count))
        }
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

    /// The single, uniform decryption failure.
    public static let decryptionFailed = CMSError(.decryptionFailed, "the message could not be decrypted")
}
