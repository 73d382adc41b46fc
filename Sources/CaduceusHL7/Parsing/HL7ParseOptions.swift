/// What the ER7 parser accepts. Defaults follow the standard strictly; every tolerance is a named, explicit choice.
public struct HL7ParseOptions: Sendable, Hashable {
    /// How segments end.
    public enum LineEndings: Sendable, Hashable {
        /// CR (0x0D) only, as v2.5.1 §2.5.5 requires. A bare LF inside a segment is refused.
        case strict
        /// CR, LF or CRLF each end a segment (for files edited on Unix or Windows). Empty lines are skipped.
        case tolerant
    }

    /// Segment terminators. Default `.strict`.
    public var lineEndings: LineEndings = .strict
    /// Most repetitions in one field. Default 10,000.
    public var maxRepetitions: Int = 10_000
    /// Most segments in one message. Default 10,000.
    public var maxSegments: Int = 10_000
    /// Most fields in one segment. Default 1,000.
    public var maxFields: Int = 1_000
    /// Most components or subcomponents in one repetition or component. Default 1,000.
    public var maxComponents: Int = 1_000
    /// Largest message in bytes. Default 64 MiB.
    public var maxBytes: Int = 64 << 20

    /// Strict defaults.
    public static let strict = HL7ParseOptions()
    /// Defaults, but LF and CRLF also end segments.
    public static let tolerant = HL7ParseOptions(lineEndings: .tolerant)

    /// Creates options.
    public init(lineEndings: LineEndings = .strict) { self.lineEndings = lineEndings }
}
