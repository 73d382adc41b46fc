/// A PS3.5 data element reader over a byte buffer: enough of the standard to find top-level attributes and skip
/// everything else safely (bounded lengths, bounded nesting).
struct DICOMReader {
    let bytes: [UInt8]
    var position = 0
    var explicitVR = true
    var littleEndian = true
    var characterSet = ""

    init(bytes: [UInt8]) { self.bytes = bytes }

    static let longLengthVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN", "SV", "UV"]
    static let maxDepth = 32

    mutating func read(into file: inout DICOMFile) throws(DICOMError) {
        guard bytes.count >= 132, bytes[128..<132].elementsEqual("DICM".utf8) else {
            throw DICOMError(.notPart10, "no DICM prefix after a 128-byte preamble")
        }
        file.preamble = DICOMPreamble.classify(bytes[0..<128])
        position = 132
        // File meta information: group 0002, always explicit VR little endian (PS3.10 §7.1).
        while position + 4 <= bytes.count, u16(at: position, little: true) == 0x0002 {
            let element = try readElement(meta: true)
            let text = string(element)
            switch element.tag {
            case 0x0002_0002: file.mediaStorageSOPClassUID = text
            case 0x0002_0003: file.mediaStorageSOPInstanceUID = text
            case 0x0002_0010: file.transferSyntaxUID = text
            default: break
            }
        }
        guard !file.transferSyntaxUID.isEmpty else { throw DICOMError(.malformed, "the file meta information has no Transfer Syntax UID") }
        switch file.transferSyntaxUID {
        case "1.2.840.10008.1.2": (explicitVR, littleEndian) = (false, true)
        case "1.2.840.10008.1.2.2": (explicitVR, littleEndian) = (true, false)
        case "1.2.840.10008.1.2.1.99": throw DICOMError(.unsupportedTransferSyntax, "deflated data sets are not read")
        case let uid where uid == "1.2.840.10008.1.2.1" || uid.hasPrefix("1.2.840.10008.1.2.4.") || uid == "1.2.840.10008.1.2.5":
            (explicitVR, littleEndian) = (true, true)
        default: throw DICOMError(.unsupportedTransferSyntax, "the transfer syntax is not one this reader decodes")
        }
        var texts: [UInt32: [UInt8]] = [:]
        while position < bytes.count {
            guard position + 4 <= bytes.count else { throw DICOMError(.truncated, "the file ends inside a data element tag") }
            let element = try readElement()
            if element.tag == 0x7FE0_0010 {
                if element.undefinedLength { file.pixels.encapsulated = true } else { file.pixels.nativePixelData = element.value }
                file.pixels.bigEndian = !littleEndian
            }
            if element.undefinedLength || element.vr == "SQ" {
                try skipSequence(element, depth: 1)
                continue
            }
            switch element.tag {
            case 0x0028_0002, 0x0028_0006, 0x0028_0010, 0x0028_0011, 0x0028_0100, 0x0028_0101, 0x0028_0103:
                // US: one unsigned 16-bit value.
                guard element.value.count >= 2 else { break }
                let v = Int(u16(at: element.value.lowerBound, little: littleEndian))
                switch element.tag {
                case 0x0028_0002: file.pixels.samplesPerPixel = v
                case 0x0028_0006: file.pixels.planarConfiguration = v
                case 0x0028_0010: file.pixels.rows = v
                case 0x0028_0011: file.pixels.columns = v
                case 0x0028_0100: file.pixels.bitsAllocated = v
                case 0x0028_0101: file.pixels.bitsStored = v
                default: file.pixels.pixelRepresentation = v
                }
            case 0x0028_0004: file.pixels.photometricInterpretation = string(element)
            case 0x0028_0008: file.pixels.numberOfFrames = Int(string(element)) ?? 1
            case 0x0028_1050: file.pixels.windowCenter = Self.firstNumber(string(element))
            case 0x0028_1051: file.pixels.windowWidth = Self.firstNumber(string(element))
            case 0x0028_1052: file.pixels.rescaleIntercept = Self.firstNumber(string(element)) ?? 0
            case 0x0028_1053: file.pixels.rescaleSlope = Self.firstNumber(string(element)) ?? 1
            case 0x0008_0005, 0x0008_0016, 0x0008_0018, 0x0008_0020, 0x0008_0050, 0x0008_0060, 0x0008_1030,
                0x0010_0010, 0x0010_0020, 0x0010_0030, 0x0010_0040, 0x0020_000D, 0x0020_000E:
                texts[element.tag] = Array(bytes[element.value])
            default: break
            }
        }
        characterSet = texts[0x0008_0005].map { trimmed($0) } ?? ""
        file.specificCharacterSet = characterSet
        func text(_ tag: UInt32, _ decode: Bool = false) throws(DICOMError) -> String {
            guard let raw = texts[tag] else { return "" }
            return decode ? try decoded(raw) : trimmed(raw)
        }
        file.sopClassUID = try text(0x0008_0016)
        file.sopInstanceUID = try text(0x0008_0018)
        file.studyDate = try text(0x0008_0020)
        file.accessionNumber = try text(0x0008_0050, true)
        file.modality = try text(0x0008_0060)
        file.studyDescription = try text(0x0008_1030, true)
        file.patientName = try text(0x0010_0010, true)
        file.patientID = try text(0x0010_0020, true)
        file.patientBirthDate = try text(0x0010_0030)
        file.patientSex = try text(0x0010_0040)
        file.studyInstanceUID = try text(0x0020_000D)
        file.seriesInstanceUID = try text(0x0020_000E)
    }

    /// The first value of a DS or IS (values separated by `\\`), nil when it is not a finite number.
    static func firstNumber(_ text: String) -> Double? {
        let first = text.split(separator: "\\", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = first.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()
        guard let v = Double(String(trimmed)), v.isFinite else { return nil }
        return v
    }

    struct Element {
        var tag: UInt32
        var vr: String
        var value: Range<Int>
        var undefinedLength: Bool
    }

    func u16(at i: Int, little: Bool) -> UInt16 {
        little ? UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 : UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
    }

    func u32(at i: Int, little: Bool) -> UInt32 {
        let b = (UInt32(bytes[i]), UInt32(bytes[i + 1]), UInt32(bytes[i + 2]), UInt32(bytes[i + 3]))
        return little ? b.0 | b.1 << 8 | b.2 << 16 | b.3 << 24 : b.0 << 24 | b.1 << 16 | b.2 << 8 | b.3
    }

    /// Reads one element header and, for a defined length, moves past its value.
    mutating func readElement(meta: Bool = false) throws(DICOMError) -> Element {
        let little = meta ? true : littleEndian
        let explicit = meta ? true : explicitVR
        guard position + 8 <= bytes.count else { throw DICOMError(.truncated, "the file ends inside a data element header") }
        let tag = UInt32(u16(at: position, little: little)) << 16 | UInt32(u16(at: position + 2, little: little))
        var vr = ""
        var length: UInt32
        var header = 8
        let isItemTag = tag >> 16 == 0xFFFE
        if explicit && !isItemTag {
            vr = String(decoding: bytes[(position + 4)..<(position + 6)], as: UTF8.self)
            guard vr.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { throw DICOMError(.malformed, "a value representation is not two upper-case letters") }
            if Self.longLengthVRs.contains(vr) {
                guard position + 12 <= bytes.count else { throw DICOMError(.truncated, "the file ends inside a data element header") }
                length = u32(at: position + 8, little: little)
                header = 12
            } else {
                length = UInt32(u16(at: position + 6, little: little))
            }
        } else {
            length = u32(at: position + 4, little: little)
        }
        let start = position + header
        if length == 0xFFFF_FFFF {
            position = start
            return Element(tag: tag, vr: vr, value: start..<start, undefinedLength: true)
        }
        guard Int(length) <= bytes.count - start else { throw DICOMError(.truncated, "a value length runs past the end of the file") }
        position = start + Int(length)
        return Element(tag: tag, vr: vr, value: start..<(start + Int(length)), undefinedLength: false)
    }

    /// Skips a sequence: items (FFFE,E000) of defined or undefined length, ended by its length or by a sequence
    /// delimiter (FFFE,E0DD).
    mutating func skipSequence(_ sequence: Element, depth: Int) throws(DICOMError) {
        guard depth <= Self.maxDepth else { throw DICOMError(.malformed, "sequences are nested too deep") }
        if !sequence.undefinedLength {
            // Defined length: its value was skipped already; items inside need no walking.
            return
        }
        // An undefined-length UN value is a sequence encoded in implicit VR little endian (PS3.5 §6.2.2).
        let saved = (explicitVR, littleEndian)
        if sequence.vr == "UN" { (explicitVR, littleEndian) = (false, true) }
        defer { (explicitVR, littleEndian) = saved }
        while true {
            guard position + 8 <= bytes.count else { throw DICOMError(.truncated, "the file ends inside a sequence") }
            let item = try readElement()
            switch item.tag {
            case 0xFFFE_E0DD: return  // sequence delimitation item
            case 0xFFFE_E000:
                if item.undefinedLength { try skipItem(depth: depth + 1) }
            default:
                // Encapsulated or undefined-length non-SQ values in implicit VR are sequences of items too.
                throw DICOMError(.malformed, "a sequence holds something other than items")
            }
        }
    }

    /// Skips the elements of an undefined-length item up to its delimiter (FFFE,E00D).
    mutating func skipItem(depth: Int) throws(DICOMError) {
        guard depth <= Self.maxDepth else { throw DICOMError(.malformed, "sequences are nested too deep") }
        while true {
            guard position + 8 <= bytes.count else { throw DICOMError(.truncated, "the file ends inside a sequence item") }
            let element = try readElement()
            if element.tag == 0xFFFE_E00D { return }
            if element.undefinedLength || element.vr == "SQ" { try skipSequence(element, depth: depth + 1) }
        }
    }

    func string(_ element: Element) -> String { trimmed(Array(bytes[element.value])) }

    func trimmed(_ raw: [UInt8]) -> String {
        var end = raw.count
        while end > 0, raw[end - 1] == 0x20 || raw[end - 1] == 0 { end -= 1 }
        var start = 0
        while start < end, raw[start] == 0x20 { start += 1 }
        return String(decoding: raw[start..<end], as: UTF8.self)
    }

    /// Text in the data set's Specific Character Set: default repertoire, ISO_IR 100 (Latin-1) or ISO_IR 192 (UTF-8).
    func decoded(_ raw: [UInt8]) throws(DICOMError) -> String {
        var end = raw.count
        while end > 0, raw[end - 1] == 0x20 || raw[end - 1] == 0 { end -= 1 }
        var start = 0
        while start < end, raw[start] == 0x20 { start += 1 }
        let value = raw[start..<end]
        guard value.contains(where: { $0 >= 0x80 || $0 == 0x1B }) else { return String(decoding: value, as: UTF8.self) }
        switch characterSet {
        case "ISO_IR 192":
            guard let s = String(validating: value, as: UTF8.self) else { throw DICOMError(.malformed, "text is not valid UTF-8") }
            return s
        case "ISO_IR 100":
            var s = ""
            s.unicodeScalars.append(contentsOf: value.map { Unicode.Scalar($0) })
            return s
        default:
            throw DICOMError(.unsupportedCharacterSet, "text uses a character set this reader does not decode")
        }
    }
}
