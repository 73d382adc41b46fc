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
    /// Most values in the whole message — fields, repetitions, components and subcomponents together, counted as the
    /// delimiters that separate them. Each value costs memory in the tree (16 to 24 bytes even when empty), so this
    /// bounds the tree whatever the per-level limits above allow together (10,000 segments × 1,000 fields × …): 16 MiB
    /// of `~` would otherwise be 16 million repetitions, some 400 MB. Default 1,000,000.
    public var maxValues: Int = 1_000_000

    /// The character set of a message whose MSH-18 is empty — the interface's own encoding, as an interface engine's
    /// connector sets it (many EMRs send UTF-8 or ISO 8859-1 without declaring it). Bytes are validated against it
    /// exactly as against a declared one. An MSH-18 that names a character set always wins. Default `.ascii`, what
    /// the standard says an empty MSH-18 means; a node's MLLP interface sets its own (`hl7.charset`, default UTF-8).
    public var defaultCharacterSet: HL7CharacterSet = .ascii

    /// Strict defaults.
    public static let strict = HL7ParseOptions()
    /// Defaults, but LF and CRLF also end segments.
    public static let tolerant = HL7ParseOptions(lineEndings: .tolerant)

    /// Creates options.
    public init(lineEndings: LineEndings = .strict, defaultCharacterSet: HL7CharacterSet = .ascii) {
        self.lineEndings = lineEndings
        self.defaultCharacterSet = defaultCharacterSet
    }
}
