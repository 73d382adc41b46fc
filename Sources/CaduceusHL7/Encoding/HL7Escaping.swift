/// Escape sequences of ER7 (HL7 v2.5.1 §2.7): `\F\ \S\ \T\ \R\ \E\` for the delimiters, `\Xhh…\` for bytes in the
/// message's character set, and the formatting commands of FT fields (`\.br\`, `\.sp\`, `\H\`, `\N\`, …).
public enum HL7Escaping {
    /// Escapes a plain value so it can sit in a leaf: delimiters become `\F\ \S\ \T\ \R\ \E\`, CR and LF become
    /// `\X0D\` and `\X0A\`, other C0 controls `\Xhh\`. The result never contains a delimiter or a segment terminator.
    public static func escape(_ value: String, delimiters d: HL7Delimiters) -> String {
        var needs = false
        for b in value.utf8 where b < 0x20 || b == 0x7F || d.isStructural(b) || b == d.escape || b == d.truncation {
            _ = b
            needs = true
            break
        }
        guard needs else { return value }
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 8)
        func seq(_ s: String) {
            out.append(d.escape)
            out.append(contentsOf: s.utf8)
            out.append(d.escape)
        }
        for b in value.utf8 {
            switch b {
            case d.field: seq("F")
            case d.component: seq("S")
            case d.subcomponent: seq("T")
            case d.repetition: seq("R")
            case d.escape: seq("E")
            case _ where d.truncation == b: seq("P")
            case _ where b < 0x20 || b == 0x7F: seq("X" + hexByte(b))
            default: out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a leaf's raw text to its value. Formatting commands (`\H\`, `\N\`, `\.in\`, `\.ti\`, `\.sk\`,
    /// `\.ce\`, `\.fi\`, `\.nf\`) and locally defined `\Z…\` escapes carry no characters and are dropped; `\.br\`
    /// and `\.sp\` become a line feed. Character-set switching (`\C…\`, `\M…\`) is refused.
    public static func unescape(
        _ raw: String, delimiters d: HL7Delimiters, characterSet: HL7CharacterSet
    ) throws(HL7Error) -> String {
        let bytes = raw.utf8
        guard bytes.contains(d.escape) else { return raw }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            guard b == d.escape else {
                out.append(b)
                i = bytes.index(after: i)
                continue
            }
            let start = bytes.index(after: i)
            guard let end = bytes[start...].firstIndex(of: d.escape) else {
                throw HL7Error(.badEscape, "an escape sequence is not terminated")
            }
            let body = Array(bytes[start..<end])
            try append(escape: body, to: &out, delimiters: d, characterSet: characterSet)
            i = bytes.index(after: end)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func append(
        escape body: [UInt8], to out: inout [UInt8], delimiters d: HL7Delimiters, characterSet: HL7CharacterSet
    ) throws(HL7Error) {
        guard let first = body.first else { throw HL7Error(.badEscape, "an empty escape sequence") }
        let rest = body.dropFirst()
        switch first {
        case UInt8(ascii: "F") where rest.isEmpty: out.append(d.field)
        case UInt8(ascii: "S") where rest.isEmpty: out.append(d.component)
        case UInt8(ascii: "T") where rest.isEmpty: out.append(d.subcomponent)
        case UInt8(ascii: "R") where rest.isEmpty: out.append(d.repetition)
        case UInt8(ascii: "E") where rest.isEmpty: out.append(d.escape)
        case UInt8(ascii: "P") where rest.isEmpty && d.truncation != nil: out.append(d.truncation!)
        case UInt8(ascii: "H") where rest.isEmpty, UInt8(ascii: "N") where rest.isEmpty: break
        case UInt8(ascii: "Z"): break
        case UInt8(ascii: "X"):
            guard !rest.isEmpty, rest.count % 2 == 0 else {
                throw HL7Error(.badEscape, "a \\X\\ escape must hold an even number of hex digits")
            }
            var raw: [UInt8] = []
            var j = rest.startIndex
            while j < rest.endIndex {
                guard let hi = hexValue(rest[j]), let lo = hexValue(rest[j + 1]) else {
                    throw HL7Error(.badEscape, "a \\X\\ escape holds a non-hex digit")
                }
                raw.append(hi << 4 | lo)
                j += 2
            }
            guard !raw.contains(0) else { throw HL7Error(.nulByte, "a \\X00\\ escape encodes a NUL byte") }
            out.append(contentsOf: try characterSet.toUTF8(raw))
        case UInt8(ascii: "."):
            let command = String(decoding: rest, as: UTF8.self)
            let name = command.prefix(2)
            switch name {
            case "br", "sp": out.append(0x0A)
            case "in", "ti", "sk", "ce", "fi", "nf": break
            default: throw HL7Error(.badEscape, "an unknown formatting command")
            }
        case UInt8(ascii: "C"), UInt8(ascii: "M"):
            throw HL7Error(.badEscape, "character-set switching escapes (\\C\\, \\M\\) are not supported")
        default:
            throw HL7Error(.badEscape, "an unknown escape sequence")
        }
    }

    static func hexByte(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 0xF)]], as: UTF8.self)
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
