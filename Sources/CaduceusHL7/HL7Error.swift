public import CaduceusCore

/// The one error type of `CaduceusHL7`. Equality is by code. Messages name the rule that was broken and never echo
/// message content (HL7 fields are PHI).
public struct HL7Error: CodedError {
    /// A stable error code (`hl7.*`).
    public struct Code: ErrorCode {
        /// The code as text.
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// The message does not start with an MSH segment (or a batch with FHS/BHS).
        public static let missingHeader = Code("hl7.missing-msh")
        /// MSH-1/MSH-2 do not define five distinct, non-alphanumeric delimiters.
        public static let badEncodingCharacters = Code("hl7.bad-encoding-characters")
        /// A segment id is not three upper-case letters or digits.
        public static let badSegmentID = Code("hl7.bad-segment-id")
        /// MSH-18 names a character set Caduceus does not read (ASCII, 8859/1 and UNICODE UTF-8 are supported).
        public static let unsupportedCharacterSet = Code("hl7.unsupported-charset")
        /// Bytes that are not valid in the declared character set (e.g. invalid UTF-8, 8-bit bytes under ASCII).
        public static let invalidCharacters = Code("hl7.invalid-characters")
        /// A NUL byte in the message.
        public static let nulByte = Code("hl7.nul-byte")
        /// A bare line feed inside a segment while line-ending tolerance is off.
        public static let bareLineFeed = Code("hl7.bare-line-feed")
        /// A parser limit was exceeded (repetitions, segments, fields, size).
        public static let limitExceeded = Code("hl7.limit-exceeded")
        /// An escape sequence is malformed or not supported (`\C..\`, `\M..\` character-set switching).
        public static let badEscape = Code("hl7.bad-escape")
        /// A value cannot be written: it contains a delimiter or a segment terminator in raw form, or a character
        /// the message's character set cannot carry.
        public static let unsafeValue = Code("hl7.unsafe-value")
        /// The batch envelope (FHS/BHS/BTS/FTS) is inconsistent.
        public static let badBatch = Code("hl7.bad-batch")
        /// A required field is empty.
        public static let requiredFieldMissing = Code("hl7.required-field-missing")
        /// A field does not hold a value of its data type (a date, a number, a code).
        public static let badDataType = Code("hl7.bad-data-type")
        /// MSH-9 names a message type or trigger event this receiver does not process.
        public static let unsupportedMessageType = Code("hl7.unsupported-message-type")
        /// MSH-12 names a version this receiver does not process.
        public static let unsupportedVersion = Code("hl7.unsupported-version")
        /// MSH-11 names a processing id this receiver does not accept.
        public static let unsupportedProcessingID = Code("hl7.unsupported-processing-id")
        /// An identifier or its assigning authority is not known to this receiver.
        public static let unknownKey = Code("hl7.unknown-key")
        /// The receiver could not process a valid message (its store failed): retry later. Answered with ERR-3 207.
        public static let applicationError = Code("hl7.application-error")
        /// The access policy does not let this interface run the query. Answered AE with ERR-3 207 (table 0357 has
        /// no authorization code).
        public static let notAuthorized = Code("hl7.not-authorized")
        /// The connection's certificate may not send this message: not an interface or node certificate, or a sending
        /// application, facility or assigning authority outside what it names (MLLP peer authorisation).
        public static let peerNotAuthorized = Code("hl7.peer-not-authorized")
        /// MSH-10 was used before by the same sender for a different message (a replayed or colliding control id).
        public static let duplicateControlID = Code("hl7.duplicate-control-id")
        /// A message that must create a record names one that exists (a registration whose PID-3 the receiver holds).
        public static let duplicateKey = Code("hl7.duplicate-key")
    }

    /// What went wrong.
    public let kind: Code
    /// One line naming the rule that was broken; no message content.
    public let message: String
    /// Where, when known: segment id, its 1-based sequence in the message, field, repetition, component.
    public let location: HL7Location?
    /// The HL7 table 0357 error code the ACK's ERR-3 carries.
    public let hl7Code: HL7ErrorCondition

    /// Creates an error.
    public init(_ kind: Code, _ message: String, at location: HL7Location? = nil, hl7Code: HL7ErrorCondition? = nil) {
        self.kind = kind
        self.message = message
        self.location = location
        self.hl7Code = hl7Code ?? HL7ErrorCondition.defaultCondition(for: kind)
    }
}

/// A position in a message, as ERR-2 (ERL data type) reports it: segment id, segment sequence, field, repetition,
/// component, subcomponent (all 1-based; 0 = not applicable).
public struct HL7Location: Sendable, Hashable {
    /// Segment id, e.g. `PID`.
    public var segment: String
    /// 1-based position of this segment among segments with the same id.
    public var sequence: Int
    /// Field number (1-based), 0 for the whole segment.
    public var field: Int
    /// Repetition (1-based), 0 when not applicable.
    public var repetition: Int
    /// Component (1-based), 0 when not applicable.
    public var component: Int

    /// Creates a location.
    public init(segment: String, sequence: Int = 1, field: Int = 0, repetition: Int = 0, component: Int = 0) {
        self.segment = segment
        self.sequence = sequence
        self.field = field
        self.repetition = repetition
        self.component = component
    }
}

/// HL7 table 0357, "Message error condition codes" (v2.5.1 §2.15.5.3).
public struct HL7ErrorCondition: Sendable, Hashable {
    /// The numeric code.
    public let code: Int
    /// The table's text for it.
    public let text: String

    /// 0 — Message accepted.
    public static let accepted = HL7ErrorCondition(code: 0, text: "Message accepted")
    /// 100 — Segment sequence error.
    public static let segmentSequence = HL7ErrorCondition(code: 100, text: "Segment sequence error")
    /// 101 — Required field missing.
    public static let requiredFieldMissing = HL7ErrorCondition(code: 101, text: "Required field missing")
    /// 102 — Data type error.
    public static let dataType = HL7ErrorCondition(code: 102, text: "Data type error")
    /// 103 — Table value not found.
    public static let tableValueNotFound = HL7ErrorCondition(code: 103, text: "Table value not found")
    /// 200 — Unsupported message type.
    public static let unsupportedMessageType = HL7ErrorCondition(code: 200, text: "Unsupported message type")
    /// 201 — Unsupported event code.
    public static let unsupportedEvent = HL7ErrorCondition(code: 201, text: "Unsupported event code")
    /// 202 — Unsupported processing id.
    public static let unsupportedProcessingID = HL7ErrorCondition(code: 202, text: "Unsupported processing id")
    /// 203 — Unsupported version id.
    public static let unsupportedVersion = HL7ErrorCondition(code: 203, text: "Unsupported version id")
    /// 204 — Unknown key identifier.
    public static let unknownKey = HL7ErrorCondition(code: 204, text: "Unknown key identifier")
    /// 205 — Duplicate key identifier.
    public static let duplicateKey = HL7ErrorCondition(code: 205, text: "Duplicate key identifier")
    /// 207 — Application internal error.
    public static let internalError = HL7ErrorCondition(code: 207, text: "Application internal error")

    static func defaultCondition(for kind: HL7Error.Code) -> HL7ErrorCondition {
        switch kind {
        case .requiredFieldMissing, .missingHeader: return .requiredFieldMissing
        case .badSegmentID: return .segmentSequence
        case .unsupportedMessageType: return .unsupportedMessageType
        case .unsupportedVersion: return .unsupportedVersion
        case .unsupportedProcessingID: return .unsupportedProcessingID
        case .unknownKey: return .unknownKey
        case .duplicateControlID, .duplicateKey: return .duplicateKey
        case .limitExceeded, .applicationError, .notAuthorized, .peerNotAuthorized: return .internalError
        default: return .dataType
        }
    }
}
