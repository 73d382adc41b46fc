public import CaduceusCore

/// The one error type of `CaduceusDocuments`. Messages name the rule broken; they never carry metadata values.
public struct DocumentsError: CodedError {
    /// A stable code (`documents.*`).
    public struct Code: ErrorCode {
        /// The code as text.
        public let rawValue: String
        /// The category.
        public let category: ErrorCategory
        init(_ rawValue: String, _ category: ErrorCategory = .client) {
            self.rawValue = rawValue
            self.category = category
        }
        /// The content's SHA-256 differs from the metadata's (tampered or corrupted document).
        public static let hashMismatch = Code("documents.hash-mismatch")
        /// The content's size differs from the metadata's.
        public static let sizeMismatch = Code("documents.size-mismatch")
        /// The patient in the metadata is not the patient the document is about.
        public static let patientMismatch = Code("documents.patient-mismatch")
        /// A unique id already registered with different content (or twice in one submission).
        public static let duplicateUniqueId = Code("documents.duplicate-unique-id", .conflict)
        /// Metadata that breaks a rule of the registry (missing field, unknown status, bad time).
        public static let invalidMetadata = Code("documents.invalid-metadata")
        /// A MIME type the repository does not store (CDA `text/xml` and DICOM `application/dicom` are accepted).
        public static let unsupportedFormat = Code("documents.unsupported-format")
        /// A payload that is not the multipart form the exchange uses.
        public static let malformedPayload = Code("documents.malformed-payload")
        /// No such document (or not one the requester may know about).
        public static let notFound = Code("documents.not-found", .notFound)
        /// A lifecycle change the current status does not allow (deprecating a deprecated entry…).
        public static let invalidTransition = Code("documents.invalid-transition", .conflict)
        /// A document, payload or submission larger than the configured limit.
        public static let tooLarge = Code("documents.too-large", .tooLarge)
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
