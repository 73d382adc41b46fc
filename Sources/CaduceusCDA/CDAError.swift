package import CaduceusCore

/// The one error type of `CaduceusCDA`. Messages name the rule broken, never a value: CDA documents are PHI.
package struct CDAError: CodedError {
    /// A stable code (`cda.*`).
    package struct Code: ErrorCode {
        /// The code as text.
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        /// Not well-formed XML 1.0 (unclosed or mismatched tags, bad attribute syntax, invalid UTF-8, unbound prefix).
        package static let malformed = Code("cda.malformed-xml")
        /// A document type declaration: DTDs (and with them entity definitions, billion laughs and external
        /// entities) are never processed.
        package static let doctypeForbidden = Code("cda.doctype-forbidden")
        /// A reference to an entity other than the five XML predefines (there is no DTD to define one).
        package static let entityForbidden = Code("cda.entity-forbidden")
        /// Larger or deeper than the configured limits.
        package static let tooLarge = Code("cda.too-large")
        /// An encoding other than UTF-8 (or its ASCII subset).
        package static let unsupportedEncoding = Code("cda.unsupported-encoding")
        /// Well-formed XML but not a CDA R2 `ClinicalDocument` in the `urn:hl7-org:v3` namespace.
        package static let notCDA = Code("cda.not-cda")
        /// A header element the registry needs is missing or empty (id, code, effectiveTime, confidentialityCode,
        /// recordTarget/patientRole/id).
        package static let missingHeader = Code("cda.missing-header")
        /// Input to the CCD writer that cannot be written as valid CDA.
        package static let invalidContent = Code("cda.invalid-content")
    }
    /// What went wrong.
    package let kind: Code
    /// PHI-free message.
    package let message: String
    init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
