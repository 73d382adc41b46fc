package import CaduceusCore

/// The error type of the exchange's document operations. Messages name the rule broken, never a value.
package struct ExchangeError: CodedError {
    /// A stable code (`exchange.*`).
    package struct Code: ErrorCode {
        /// The code as text.
        package let rawValue: String
        /// The category.
        package let category: ErrorCategory
        /// Creates a code (codes received from a peer keep their text).
        package init(_ rawValue: String, _ category: ErrorCategory = .client) {
            self.rawValue = rawValue
            self.category = category
        }
        /// The envelope could not be decrypted by this node: not for us, or altered. Uniform on purpose.
        package static let decryptionFailed = Code("exchange.decryption-failed")
        /// The envelope's signature did not verify, or its signer's chain is unknown, expired or revoked.
        package static let signerRejected = Code("exchange.signer-rejected", .unauthenticated)
        /// The signer is not the kind of party this operation accepts (a person where a node must sign…).
        package static let forbidden = Code("exchange.forbidden", .forbidden)
        /// The envelope names another recipient or operation, or is stale.
        package static let misdirected = Code("exchange.misdirected")
        /// A node id the directory does not know.
        package static let unknownNode = Code("exchange.unknown-node", .notFound)
        /// A patient identity the MPI does not know.
        package static let unknownPatient = Code("exchange.unknown-patient", .notFound)
        /// A peer could not be reached or answered with something that is not an envelope.
        package static let peerUnavailable = Code("exchange.peer-unavailable", .upstream)
        /// This node does not play the role the operation needs.
        package static let wrongRole = Code("exchange.wrong-role")
        /// The request's metadata is not what the operation expects.
        package static let badRequest = Code("exchange.bad-request")
        /// The envelope uses an algorithm the exchange refuses (AES-CBC: the exchange is AES-GCM only).
        package static let weakAlgorithm = Code("exchange.weak-algorithm")
        /// A request id seen before within the freshness window (a replayed envelope).
        package static let replayed = Code("exchange.replayed", .conflict)
        /// The TLS client certificate is not the envelope's signer.
        package static let peerMismatch = Code("exchange.peer-mismatch", .unauthenticated)
        /// A card (or enrolment) cannot make that move from where it is (issue before approval, unblock a lost card…).
        package static let invalidTransition = Code("exchange.invalid-transition", .conflict)
        /// No card, enrolment or staff member with that id at this node.
        package static let notFound = Code("exchange.not-found", .notFound)
        /// A code (or a patient id's assigning authority) that the version in force of one of this node's code tables
        /// does not hold (``CodeTableRules``); the message names the field and the table, never the value.
        package static let unknownCode = Code("exchange.unknown-code")
        /// A patient registered here with an id this hospital has given another patient already.
        package static let patientExists = Code("exchange.patient-exists", .conflict)
    }
    /// What went wrong.
    package let kind: Code
    /// PHI-free message.
    package let message: String
    /// Creates an error.
    package init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// An error a peer answered with, or any coded error passed on: its code, message and category as received (a peer
/// that names no category failed as far as we can tell: upstream).
package struct RemoteError: CaduceusError {
    /// The peer's code.
    package let code: String
    /// The peer's message.
    package let message: String
    /// The peer's category.
    package let category: ErrorCategory
    /// Creates one.
    package init(code: String, message: String, category: ErrorCategory = .upstream) {
        self.code = code
        self.message = message
        self.category = category
    }
}
