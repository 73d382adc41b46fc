/// The encoding characters of a message, read from MSH-1 and MSH-2 (or FHS/BHS), never assumed (v2.5.1 §2.5.4).
public struct HL7Delimiters: Sendable, Hashable {
    /// MSH-1, usually `|`.
    public let field: UInt8
    /// MSH-2 first character, usually `^`.
    public let component: UInt8
    /// MSH-2 second character, usually `~`.
    public let repetition: UInt8
    /// MSH-2 third character, usually `\`.
    public let escape: UInt8
    /// MSH-2 fourth character, usually `&`.
    public let subcomponent: UInt8
    /// MSH-2 fifth character (v2.7 truncation, `#`), when present. Kept so MSH-2 round-trips; not interpreted.
    public let truncation: UInt8?

    /// `|^~\&`, the encoding characters every example in the standard uses.
    public static let standard = HL7Delimiters(unchecked: UInt8(ascii: "|"), Array("^~\\&".utf8), truncation: nil)

    init(unchecked field: UInt8, _ msh2: [UInt8], truncation: UInt8?) {
        self.field = field
        self.component = msh2[0]
        self.repetition = msh2[1]
        self.escape = msh2[2]
        self.subcomponent = msh2[3]
        self.truncation = truncation
    }

    /// Reads and checks delimiters: MSH-2 holds four (or five) characters; all are distinct from each other and from
    /// MSH-1, printable ASCII, and neither letters, digits nor spaces.
    public init(field: UInt8, encodingCharacters msh2: some Collection<UInt8>) throws(HL7Error) {
        let chars = Array(msh2)
        guard chars.count == 4 || chars.count == 5 else {
            throw HL7Error(.badEncodingCharacters, "MSH-2 must hold four (or five) encoding characters")
        }
        let all = [field] + chars
        for c in all {
            let printable = c > 0x20 && c < 0x7F
            let alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            guard printable, !alnum else {
                throw HL7Error(.badEncodingCharacters, "encoding characters must be printable, non-alphanumeric ASCII")
            }
        }
        guard Set(all).count == all.count else {
            throw HL7Error(.badEncodingCharacters, "encoding characters must be distinct")
        }
        self.init(unchecked: field, chars, truncation: chars.count == 5 ? chars[4] : nil)
    }

    /// MSH-2 as written.
    public var encodingCharacters: String {
        var bytes = [component, repetition, escape, subcomponent]
        if let truncation { bytes.append(truncation) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `byte` is one of the five structural characters.
    @inline(__always) func isStructural(_ byte: UInt8) -> Bool {
        byte == field || byte == component || byte == repetition || byte == subcomponent
    }
}

/// MSH-18 character sets Caduceus reads and writes (HL7 table 0211).
public enum HL7CharacterSet: String, Sendable, Hashable, CaseIterable {
    /// Empty MSH-18 or `ASCII`: 7-bit ASCII.
    case ascii = "ASCII"
    /// `8859/1`: ISO 8859-1 (Latin-1).
    case latin1 = "8859/1"
    /// `UNICODE UTF-8`.
    case utf8 = "UNICODE UTF-8"

    /// Maps an MSH-18 value (first repetition). Empty means `undeclared` (ASCII unless the interface says otherwise).
    public init(msh18 value: String, undeclared: HL7CharacterSet = .ascii) throws(HL7Error) {
        switch value {
        case "": self = undeclared
        case "ASCII": self = .ascii
        case "8859/1": self = .latin1
        case "UNICODE UTF-8": self = .utf8
        default:
            throw HL7Error(.unsupportedCharacterSet, "MSH-18 names a character set other than ASCII, 8859/1, UNICODE UTF-8")
        }
    }

    /// A character set by the names operators and interface engines use: `UTF-8` (`utf8`, `UNICODE UTF-8`),
    /// `ISO-8859-1` (`latin1`, `8859/1`), `ASCII` (`US-ASCII`), in any case. Nil for anything else.
    public init?(name: String) {
        switch String(name.uppercased().map { $0 == "_" ? "-" : $0 }) {
        case "UTF-8", "UTF8", "UNICODE UTF-8": self = .utf8
        case "ISO-8859-1", "ISO8859-1", "8859/1", "LATIN1", "LATIN-1", "ISO-LATIN-1": self = .latin1
        case "ASCII", "US-ASCII": self = .ascii
        default: return nil
        }
    }

    /// Bytes in this character set → UTF-8 bytes. Rejects NUL, invalid UTF-8 and 8-bit bytes under ASCII.
    /// `declared`: whether MSH-18 named the character set (or the interface's default applies), for the message.
    func toUTF8(_ bytes: some Collection<UInt8>, declared: Bool = true) throws(HL7Error) -> [UInt8] {
        let source = declared ? "whose MSH-18 declares" : "without MSH-18, read in the interface's default"
        switch self {
        case .ascii:
            for b in bytes where b >= 0x80 {
                _ = b
                throw HL7Error(.invalidCharacters, "8-bit byte in a message \(source) ASCII")
            }
            return Array(bytes)
        case .utf8:
            let array = Array(bytes)
            guard String(validating: array, as: UTF8.self) != nil else {
                throw HL7Error(.invalidCharacters, "invalid UTF-8 in a message \(source) UNICODE UTF-8")
            }
            return array
        case .latin1:
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            for b in bytes {
                if b < 0x80 {
                    out.append(b)
                } else {
                    out.append(0xC0 | (b >> 6))
                    out.append(0x80 | (b & 0x3F))
                }
            }
            return out
        }
    }

    /// UTF-8 bytes → bytes in this character set. Throws when a character cannot be carried.
    func fromUTF8(_ bytes: [UInt8]) throws(HL7Error) -> [UInt8] {
        switch self {
        case .utf8:
            return bytes
        case .ascii:
            for b in bytes where b >= 0x80 {
                _ = b
                throw HL7Error(.unsafeValue, "a non-ASCII character in a message whose MSH-18 declares ASCII")
            }
            return bytes
        case .latin1:
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
                guard scalar.value <= 0xFF else {
                    throw HL7Error(.unsafeValue, "a character outside ISO 8859-1 in a message whose MSH-18 declares 8859/1")
                }
                out.append(UInt8(scalar.value))
            }
            return out
        }
    }
}
