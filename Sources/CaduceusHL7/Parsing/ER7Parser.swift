#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ER7 ("pipe and hat") parser: bytes → segments → fields → repetitions → components → subcomponents.
///
/// Delimiters come from the first header segment (MSH, FHS or BHS); MSH-18 selects the character set, and the bytes
/// are checked and converted to UTF-8 before anything is split. Leaves keep their escaped form, so encoding the tree
/// gives back the same bytes.
struct ER7Parser {
    let options: HL7ParseOptions

    struct Result {
        var dialect: HL7Dialect
        var segments: [HL7Segment]
    }

    func parse(_ input: some Collection<UInt8>) throws(HL7Error) -> Result {
        let bytes = Array(input)
        guard bytes.count <= options.maxBytes else {
            throw HL7Error(.limitExceeded, "the message exceeds the size limit")
        }
        // One vectorisable pass: any NUL, any 8-bit byte.
        let (hasNul, hasHigh) = bytes.withUnsafeBufferPointer { buffer -> (Bool, Bool) in
            var orAll: UInt8 = 0
            var minimum: UInt8 = 0xFF
            for b in buffer {
                orAll |= b
                minimum = min(minimum, b)
            }
            return (minimum == 0, orAll & 0x80 != 0)
        }
        guard !hasNul else { throw HL7Error(.nulByte, "the message contains a NUL byte") }
        let header = Array(bytes.prefix(3))
        guard header == Array("MSH".utf8) || header == Array("FHS".utf8) || header == Array("BHS".utf8) else {
            throw HL7Error(.missingHeader, "a message must start with an MSH segment", at: HL7Location(segment: "MSH"))
        }
        guard bytes.count >= 8 else {
            throw HL7Error(.badEncodingCharacters, "the header segment is too short to hold MSH-1 and MSH-2")
        }
        let fieldSeparator = bytes[3]
        var end = 4
        while end < bytes.count, bytes[end] != fieldSeparator, bytes[end] != 0x0D, bytes[end] != 0x0A { end += 1 }
        let delimiters = try HL7Delimiters(field: fieldSeparator, encodingCharacters: bytes[4..<end])
        // A message shorter than the value limit cannot break it (each value but the first needs a delimiter byte).
        if bytes.count > options.maxValues, Self.countDelimiters(bytes, delimiters) > options.maxValues {
            throw HL7Error(.limitExceeded, "the message holds more values (fields, repetitions, components, subcomponents) than the limit")
        }
        let declared = Self.msh18(bytes, delimiters)
        let characterSet = try HL7CharacterSet(msh18: declared, undeclared: options.defaultCharacterSet)
        // 7-bit input is the same in all three.
        let utf8 = hasHigh ? try characterSet.toUTF8(bytes, declared: !declared.isEmpty) : bytes
        let segments = try utf8.withUnsafeBufferPointer { buffer throws(HL7Error) in
            try splitSegments(buffer, delimiters)
        }
        return Result(dialect: HL7Dialect(delimiters: delimiters, characterSet: characterSet), segments: segments)
    }

    /// MSH-18, first repetition, first component, read from the raw header bytes (which are ASCII).
    static func msh18(_ bytes: [UInt8], _ d: HL7Delimiters) -> String {
        guard bytes.starts(with: "MSH".utf8) else { return "" }
        var field = 1
        var i = 3
        var start = -1
        while i < bytes.count, bytes[i] != 0x0D, bytes[i] != 0x0A {
            if bytes[i] == d.field {
                field += 1
                if field == 18 { start = i + 1 } else if field == 19 { break }
            }
            i += 1
        }
        guard start >= 0, start <= i else { return "" }
        var stop = start
        while stop < i, bytes[stop] != d.repetition, bytes[stop] != d.component { stop += 1 }
        return String(decoding: bytes[start..<stop], as: UTF8.self)
    }

    private func splitSegments(
        _ buffer: UnsafeBufferPointer<UInt8>, _ d: HL7Delimiters
    ) throws(HL7Error) -> [HL7Segment] {
        // Fast path (strict, no LF anywhere): jump from CR to CR with memchr.
        if options.lineEndings == .strict, Self.find(0x0A, buffer, from: 0) == buffer.count {
            var segments: [HL7Segment] = []
            segments.reserveCapacity(16)
            var counts = SegmentCounts()
            var start = 0
            while start < buffer.count {
                let end = Self.find(0x0D, buffer, from: start)
                if end > start {
                    guard segments.count < options.maxSegments else {
                        throw HL7Error(.limitExceeded, "the message has more segments than the limit")
                    }
                    segments.append(try parseSegment(UnsafeBufferPointer(rebasing: buffer[start..<end]), d, counts: &counts))
                }
                start = end + 1
            }
            return segments
        }
        var segments: [HL7Segment] = []
        segments.reserveCapacity(16)
        var counts = SegmentCounts()
        var start = 0
        let n = buffer.count
        var i = 0
        while i <= n {
            let atEnd = i == n
            let b: UInt8 = atEnd ? 0x0D : buffer[i]
            if b == 0x0A && options.lineEndings == .strict {
                let id = segments.count < 1 ? "MSH" : segments[segments.count - 1].id
                throw HL7Error(
                    .bareLineFeed, "a line feed inside a segment; segments end with CR (line-ending tolerance is off)",
                    at: HL7Location(segment: id, sequence: max(1, counts.count(of: id))))
            }
            if b == 0x0D || b == 0x0A {
                if i > start {
                    guard segments.count < options.maxSegments else {
                        throw HL7Error(.limitExceeded, "the message has more segments than the limit")
                    }
                    let slice = UnsafeBufferPointer(rebasing: buffer[start..<i])
                    let segment = try parseSegment(slice, d, counts: &counts)
                    segments.append(segment)
                }
                start = i + 1
            }
            i += 1
        }
        return segments
    }

    /// One envelope segment of a batch (FHS, BHS, BTS, FTS), in the default character set, under `d`.
    func envelopeSegment(_ bytes: [UInt8], _ d: HL7Delimiters) throws(HL7Error) -> HL7Segment {
        guard !bytes.contains(0) else { throw HL7Error(.nulByte, "the message contains a NUL byte") }
        let utf8 = bytes.contains(where: { $0 >= 0x80 }) ? try options.defaultCharacterSet.toUTF8(bytes, declared: false) : bytes
        var counts = SegmentCounts()
        return try utf8.withUnsafeBufferPointer { buffer throws(HL7Error) in try parseSegment(buffer, d, counts: &counts) }
    }

    private func parseSegment(
        _ s: UnsafeBufferPointer<UInt8>, _ d: HL7Delimiters, counts: inout SegmentCounts
    ) throws(HL7Error) -> HL7Segment {
        var idEnd = 0
        while idEnd < s.count, s[idEnd] != d.field { idEnd += 1 }
        let idBytes = UnsafeBufferPointer(rebasing: s[0..<idEnd])
        guard HL7Segment.isValidID(idBytes) else {
            throw HL7Error(
                .badSegmentID, "a segment id must be three upper-case letters or digits",
                at: HL7Location(segment: "", sequence: 0))
        }
        let id = String(decoding: idBytes, as: UTF8.self)
        let sequence = counts.next(id)
        var fields: [HL7Field] = []
        fields.reserveCapacity(24)
        let isHeader = id == "MSH" || id == "FHS" || id == "BHS"
        guard idEnd < s.count else {
            // A header segment always carries MSH-1 and MSH-2 (the encoder writes them back, so a bare `MSH` would
            // not read back as itself; and a header without its delimiters declares nothing).
            guard !isHeader else {
                throw HL7Error(
                    .badEncodingCharacters, "a header segment must carry its field separator and encoding characters",
                    at: HL7Location(segment: id, sequence: sequence, field: 1))
            }
            return HL7Segment(unchecked: id, fields: fields)
        }
        var pos = idEnd + 1
        var fieldNumber = 1
        if isHeader {
            // Field 1 is the separator itself; field 2 the encoding characters, both kept as text.
            var e = pos
            while e < s.count, s[e] != d.field { e += 1 }
            let msh2 = UnsafeBufferPointer(rebasing: s[pos..<e])
            guard s[idEnd] == d.field, msh2.elementsEqual(Array(d.encodingCharacters.utf8)) else {
                throw HL7Error(
                    .badEncodingCharacters, "a header segment declares encoding characters that differ from the first",
                    at: HL7Location(segment: id, sequence: sequence, field: 2))
            }
            fields.append(HL7Field(HL7Text(unchecked: String(decoding: [d.field], as: UTF8.self))))
            fields.append(HL7Field(HL7Text(unchecked: String(decoding: msh2, as: UTF8.self))))
            fieldNumber = 3
            if e >= s.count { return HL7Segment(unchecked: id, fields: fields) }
            pos = e + 1
        }
        var fieldStart = pos
        while true {
            let i = Self.find(d.field, s, from: fieldStart)
            guard fields.count < options.maxFields else {
                throw HL7Error(
                    .limitExceeded, "a segment has more fields than the limit",
                    at: HL7Location(segment: id, sequence: sequence))
            }
            let field = try parseField(
                UnsafeBufferPointer(rebasing: s[fieldStart..<i]), d,
                HL7Location(segment: id, sequence: sequence, field: fieldNumber))
            fields.append(field)
            fieldNumber += 1
            if i == s.count { break }
            fieldStart = i + 1
        }
        return HL7Segment(unchecked: id, fields: fields)
    }

    private func parseField(
        _ f: UnsafeBufferPointer<UInt8>, _ d: HL7Delimiters, _ location: HL7Location
    ) throws(HL7Error) -> HL7Field {
        guard Self.has(d.repetition, f) || Self.has(d.component, f) || Self.has(d.subcomponent, f) else {
            return HL7Field(HL7Text(unchecked: String(decoding: f, as: UTF8.self)))
        }
        let reps = try split(f, on: d.repetition, limit: options.maxRepetitions, "a field has more repetitions than the limit", location) {
            r throws(HL7Error) in try parseRepetition(r, d, location)
        }
        return HL7Field(repetitions: reps)
    }

    private func parseRepetition(
        _ r: UnsafeBufferPointer<UInt8>, _ d: HL7Delimiters, _ location: HL7Location
    ) throws(HL7Error) -> HL7Repetition {
        guard Self.has(d.component, r) || Self.has(d.subcomponent, r) else {
            return HL7Repetition(HL7Text(unchecked: String(decoding: r, as: UTF8.self)))
        }
        let components = try split(r, on: d.component, limit: options.maxComponents, "a field has more components than the limit", location) {
            c throws(HL7Error) in try parseComponent(c, d, location)
        }
        return HL7Repetition(components: components)
    }

    private func parseComponent(
        _ c: UnsafeBufferPointer<UInt8>, _ d: HL7Delimiters, _ location: HL7Location
    ) throws(HL7Error) -> HL7Component {
        guard Self.has(d.subcomponent, c) else {
            return HL7Component(HL7Text(unchecked: String(decoding: c, as: UTF8.self)))
        }
        let subs = try split(c, on: d.subcomponent, limit: options.maxComponents, "a component has more subcomponents than the limit", location) {
            t throws(HL7Error) in HL7Text(unchecked: String(decoding: t, as: UTF8.self))
        }
        return HL7Component(subcomponents: subs)
    }

    /// Splits `buffer` at `separator` into at most `limit` parts, each read by `element`.
    @inline(__always)
    private func split<T>(
        _ buffer: UnsafeBufferPointer<UInt8>, on separator: UInt8, limit: Int, _ limitMessage: String, _ location: HL7Location,
        _ element: (UnsafeBufferPointer<UInt8>) throws(HL7Error) -> T
    ) throws(HL7Error) -> [T] {
        var parts: [T] = []
        parts.reserveCapacity(Self.count(separator, in: buffer) + 1)
        var start = 0
        while true {
            let i = Self.find(separator, buffer, from: start)
            guard parts.count < limit else { throw HL7Error(.limitExceeded, limitMessage, at: location) }
            parts.append(try element(UnsafeBufferPointer(rebasing: buffer[start..<i])))
            if i == buffer.count { return parts }
            start = i + 1
        }
    }
}

extension ER7Parser {
    /// The index of the first `byte` at or after `from`, or `buffer.count` (memchr).
    @inline(__always) static func find(_ byte: UInt8, _ buffer: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
        guard from < buffer.count, let base = buffer.baseAddress else { return buffer.count }
        guard let hit = memchr(base + from, Int32(byte), buffer.count - from) else { return buffer.count }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    @inline(__always) static func has(_ byte: UInt8, _ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        find(byte, buffer, from: 0) < buffer.count
    }

    /// How many field, repetition, component and subcomponent separators `bytes` holds.
    static func countDelimiters(_ bytes: [UInt8], _ d: HL7Delimiters) -> Int {
        var isDelimiter = [Bool](repeating: false, count: 256)
        for b in [d.field, d.repetition, d.component, d.subcomponent] { isDelimiter[Int(b)] = true }
        return isDelimiter.withUnsafeBufferPointer { table in
            var n = 0
            for b in bytes where table[Int(b)] { n += 1 }
            return n
        }
    }

    @inline(__always) static func count(_ byte: UInt8, in buffer: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0
        for b in buffer where b == byte { n += 1 }
        return n
    }
}

/// How many segments of each id were seen: a short list while there are few distinct ids (messages have few; it is
/// cheaper than hashing), a dictionary past ``listLimit`` (a hostile message can hold thousands of distinct ids, and
/// searching the list for each segment made that quadratic).
struct SegmentCounts {
    static let listLimit = 32
    var ids: [String] = []
    var counts: [Int] = []
    var table: [String: Int]?

    mutating func next(_ id: String) -> Int {
        if table != nil {
            let n = table![id, default: 0] + 1
            table![id] = n
            return n
        }
        if let i = ids.firstIndex(of: id) {
            counts[i] += 1
            return counts[i]
        }
        if ids.count >= Self.listLimit {
            var t = Dictionary(uniqueKeysWithValues: zip(ids, counts))
            t[id] = 1
            table = t
            ids = []
            counts = []
            return 1
        }
        ids.append(id)
        counts.append(1)
        return 1
    }

    func count(of id: String) -> Int {
        if let table { return table[id] ?? 0 }
        return ids.firstIndex(of: id).map { counts[$0] } ?? 0
    }
}
