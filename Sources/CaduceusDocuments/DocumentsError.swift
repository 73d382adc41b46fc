package import CaduceusCore

/// The one error type of `CaduceusDocuments`. Messages name the rule broken; they never carry metadata values.
package struct DocumentsError: CodedError {
    /// A stable code (`documents.*`).
    package struct Code: ErrorCode {
        /// The code as text.
        package let rawValue: String
        /// The category.
        package let category: ErrorCategory
        init(_ rawValue: String, _ category: ErrorCategory = .client) {
            self.rawValue = rawValue
            self.category = category
        }
        /// The content's SHA-256 differs from the metadata's (tampered or corrupted document).
        package static let hashMismatch = Code("documents.hash-mismatch")
        /// The content's size differs from the metadata's.
        package static let sizeMismatch = Code("documents.size-mismatch")
        /// The patient in the metadata is not the patient the document is about.
        package static let patientMismatch = Code("documents.patient-mismatch")
        /// A unique id already registered with different content (or twice in one submission).
        package static let duplicateUniqueId = Code("documents.duplicate-unique-id", .conflict)
        /// Metadata that breaks a rule of the registry (missing field, unknown status, bad time).
        package static let invalidMetadata = Code("documents.invalid-metadata")
        /// A MIME type the repository does not store (CDA `text/xml` and DICOM `application/dicom` are accepted).
        package static let unsupportedFormat = Code("documents.unsupported-format")
        /// A payload that is not the multipart form the exchange uses.
        package static let malformedPayload = Code("documents.malformed-payload")
        /// No such document (or not one the requester may know about).
        package static let notFound = Code("documents.not-found", .notFound)
        /// A lifecycle change the current status does not allow (deprecating a deprecated entry…).
        package static let invalidTransition = Code("documents.invalid-transition", .conflict)
        /// A document, payload or submission larger than the configured limit.
        package static let tooLarge = Code("documents.too-large", .tooLarge)
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
