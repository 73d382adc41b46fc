public import CaduceusCore

/// The error type of the exchange's document operations. Messages name the rule broken, never a value.
public struct ExchangeError: CodedError {
    /// A stable code (`exchange.*`).
    public struct Code: ErrorCode {
        /// The code as text.
        public let rawValue: String
        /// Creates a code (codes received from a peer keep their text).
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The envelope could not be decrypted by this node: not for us, or altered. Uniform on purpose.
        public static let decryptionFailed = Code("exchange.decryption-failed")
        /// The envelope's signature did not verify, or its signer's chain is unknown, expired or revoked.
        public static let signerRejected = Code("exchange.signer-rejected")
        /// The signer is not the kind of party this operation accepts (a person where a node must sign…).
        public static let forbidden = Code("exchange.forbidden")
        /// The envelope names another recipient or operation, or is stale.
        public static let misdirected = Code("exchange.misdirected")
        /// A node id the directory does not know.
        public static let unknownNode = Code("exchange.unknown-node")
        /// A patient identity the MPI does not know.
        public static let unknownPatient = Code("exchange.unknown-patient")
        /// A peer could not be reached or answered with something that is not an envelope.
        public static let peerUnavailable = Code("exchange.peer-unavailable")
        /// This node does not play the role the operation needs.
        public static let wrongRole = Code("exchange.wrong-role")
        /// The request's metadata is not what the operation expects.
        public static let badRequest = Code("exchange.bad-request")
        /// The envelope uses an algorithm the exchange refuses (AES-CBC: the exchange is AES-GCM only).
        public static let weakAlgorithm = Code("exchange.weak-algorithm")
        /// A request id seen before within the freshness window (a replayed envelope).
        public static let replayed = Code("exchange.replayed")
        /// The TLS client certificate is not the envelope's signer.
        public static let peerMismatch = Code("exchange.peer-mismatch")
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

/// An error a peer answered with, or any coded error passed on: its code and message as received.
public struct RemoteError: CaduceusError {
    /// The peer's code.
    public let code: String
    /// The peer's message.
    public let message: String
    /// Creates one.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}
