public import CaduceusCore

/// The error type of the exchange's document operations. Messages name the rule broken, never a value.
public struct ExchangeError: CodedError {
    /// A stable code (`exchange.*`).
    public struct Code: ErrorCode {
        /// The code as text.
        public let rawValue: String
        /// The category.
        public let category: ErrorCategory
        /// Creates a code (codes received from a peer keep their text).
        public init(_ rawValue: String, _ category: ErrorCategory = .client) {
            self.rawValue = rawValue
            self.category = category
        }
        /// The envelope could not be decrypted by this node: not for us, or altered. Uniform on purpose.
        public static let decryptionFailed = Code("exchange.decryption-failed")
        /// The envelope's signature did not verify, or its signer's chain is unknown, expired or revoked.
        public static let signerRejected = Code("exchange.signer-rejected", .unauthenticated)
        /// The signer is not the kind of party this operation accepts (a person where a node must sign…).
        public static let forbidden = Code("exchange.forbidden", .forbidden)
        /// The envelope names another recipient or operation, or is stale.
        public static let misdirected = Code("exchange.misdirected")
        /// A node id the directory does not know.
        public static let unknownNode = Code("exchange.unknown-node", .notFound)
        /// A patient identity the MPI does not know.
        public static let unknownPatient = Code("exchange.unknown-patient", .notFound)
        /// A peer could not be reached or answered with something that is not an envelope.
        public static let peerUnavailable = Code("exchange.peer-unavailable", .upstream)
        /// This node does not play the role the operation needs.
        public static let wrongRole = Code("exchange.wrong-role")
        /// The request's metadata is not what the operation expects.
        public static let badRequest = Code("exchange.bad-request")
        /// The envelope uses an algorithm the exchange refuses (AES-CBC: the exchange is AES-GCM only).
        public static let weakAlgorithm = Code("exchange.weak-algorithm")
        /// A request id seen before within the freshness window (a replayed envelope).
        public static let replayed = Code("exchange.replayed", .conflict)
        /// The TLS client certificate is not the envelope's signer.
        public static let peerMismatch = Code("exchange.peer-mismatch", .unauthenticated)
    }
    /// What went wrong.
    public let kind: Code
    /// PHI-free message.
    public let message: String
    /// Creates an error.
    public init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// An error a peer answered with, or any coded error passed on: its code, message and category as received (a peer
/// that names no category failed as far as we can tell: upstream).
public struct RemoteError: CaduceusError {
    /// The peer's code.
    public let code: String
    /// The peer's message.
    public let message: String
    /// The peer's category.
    public let category: ErrorCategory
    /// Creates one.
    public init(code: String, message: String, category: ErrorCategory = .upstream) {
        self.code = code
        self.message = message
        self.category = category
    }
}
