package import CaduceusCore

/// The one error type of `CaduceusDICOM`. Messages name the rule broken, never a value (DICOM headers are PHI).
package struct DICOMError: CodedError {
    /// A stable code (`dicom.*`).
    package struct Code: ErrorCode {
        /// The code as text.
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        /// No `DICM` prefix after a 128-byte preamble: not a DICOM Part 10 file.
        package static let notPart10 = Code("dicom.not-part10")
        /// The file ends inside an element, or a length runs past the end.
        package static let truncated = Code("dicom.truncated")
        /// Structure that breaks PS3.5 (odd lengths, items outside sequences, nesting too deep, bad meta header).
        package static let malformed = Code("dicom.malformed")
        /// A transfer syntax this reader does not decode (deflated, or unknown).
        package static let unsupportedTransferSyntax = Code("dicom.unsupported-transfer-syntax")
        /// Text in a Specific Character Set this reader does not decode (ISO 2022 code extensions, GB18030…).
        package static let unsupportedCharacterSet = Code("dicom.unsupported-charset")
        /// No preview of the pixel data: compressed (encapsulated), absent, or a layout the previewer does not render.
        package static let noPreview = Code("dicom.no-preview")
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
