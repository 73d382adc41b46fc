/// A pull reader of DER/BER over a ``ByteSource``: headers and small elements are read whole (bounded by
/// ``StreamChunk/elementLimit``), OCTET STRING contents — primitive, or constructed with definite or indefinite length
/// as `openssl cms -stream` writes them — are handed out a chunk at a time. Never asks its source for more than
/// ``StreamChunk/size`` bytes. Every structural fault (truncation, a length past its parent, a wrong tag) is
/// ``CMSError/Code/malformed``.
package struct BERStreamReader<Source: ByteSource> {
    /// A TLV header. `length` is nil for the indefinite form.
    package struct Header {
        let tag: UInt8
        let length: Int?
        let encoded: [UInt8]
        var isConstructed: Bool { tag & 0x20 != 0 }
    }

    /// An open constructed element: where it ends (definite) or that it ends with end-of-contents.
    package struct Frame {
        let end: Int?
    }

    package var source: Source
    var buffer: ArraySlice<UInt8> = []
    /// Bytes consumed so far.
    package private(set) var position = 0
    /// Open OCTET STRING pieces: remaining bytes of a primitive piece, or a constructed frame.
    private var octetStack: [OctetFrame] = []

    private enum OctetFrame {
        case primitive(remaining: Int)
        case constructed(Frame)
    }

    package init(_ source: Source) { self.source = source }

    static func malformed(_ what: String = "the message is not valid CMS (malformed or truncated)") -> CMSError {
        CMSError(.malformed, what)
    }

    // MARK: Bytes

    /// Makes at least `count` bytes available in the buffer (count ≤ a few chunks).
    private mutating func fill(_ count: Int) throws {
        while buffer.count < count {
            let more = try source.read(upTo: StreamChunk.size)
            guard !more.isEmpty else { throw Self.malformed() }
            buffer = buffer.isEmpty ? more : ArraySlice(Array(buffer) + more)
        }
    }

    /// The next byte, or nil at the end of the source.
    package mutating func peek() throws -> UInt8? {
        if buffer.isEmpty {
            buffer = try source.read(upTo: StreamChunk.size)
        }
        return buffer.first
    }

    /// Up to `maxCount` bytes (at least one), from the buffer or straight from the source.
    mutating func readSome(_ maxCount: Int) throws -> ArraySlice<UInt8> {
        if buffer.isEmpty {
            buffer = try source.read(upTo: StreamChunk.size)
            guard !buffer.isEmpty else { throw Self.malformed() }
        }
        let taken = buffer.prefix(maxCount)
        buffer = buffer.dropFirst(taken.count)
        position += taken.count
        return taken
    }

    /// Up to `maxCount` bytes, empty at the end of the source.
    package mutating func readAvailable(upTo maxCount: Int) throws -> ArraySlice<UInt8> {
        guard try peek() != nil else { return [] }
        return try readSome(maxCount)
    }

    /// Exactly `count` bytes.
    mutating func read(_ count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count { out.append(contentsOf: try readSome(count - out.count)) }
        return out
    }

    // MARK: TLV

    /// Reads a header (low tag numbers only, as every CMS structure uses).
    package mutating func readHeader() throws -> Header {
        try fill(2)
        let tag = buffer[buffer.startIndex]
        guard tag & 0x1F != 0x1F else { throw Self.malformed() }
        let first = buffer[buffer.startIndex + 1]
        if first < 0x80 {
            return Header(tag: tag, length: Int(first), encoded: try read(2))
        }
        if first == 0x80 {
            guard tag & 0x20 != 0 else { throw Self.malformed() }  // indefinite length only for constructed
            return Header(tag: tag, length: nil, encoded: try read(2))
        }
        let octets = Int(first & 0x7F)
        guard octets <= 7 else { throw Self.malformed() }
        let encoded = try read(2 + octets)
        var length = 0
        for byte in encoded[2...] { length = length << 8 | Int(byte) }
        return Header(tag: tag, length: length, encoded: encoded)
    }

    /// Reads a header that must carry `tag`.
    package mutating func expectHeader(_ tag: UInt8) throws -> Header {
        let header = try readHeader()
        guard header.tag == tag else { throw Self.malformed() }
        return header
    }

    /// Opens a constructed element whose header was read.
    package func open(_ header: Header) throws -> Frame {
        guard header.isConstructed else { throw Self.malformed() }
        return Frame(end: header.length.map { position + $0 })
    }

    /// Reads the header of a constructed element with `tag` and opens it.
    package mutating func enter(_ tag: UInt8) throws -> Frame {
        let header = try expectHeader(tag)  // before `open` reads `position` (a base is evaluated before arguments)
        return try open(header)
    }

    /// Whether the element `frame` stands for has no more children.
    package mutating func atEnd(_ frame: Frame) throws -> Bool {
        if let end = frame.end {
            guard position <= end else { throw Self.malformed() }
            return position == end
        }
        try fill(2)
        return buffer.prefix(2).elementsEqual([0, 0])
    }

    /// Closes `frame`: consumes the end-of-contents of an indefinite element, checks the end of a definite one.
    package mutating func close(_ frame: Frame) throws {
        guard try atEnd(frame) else { throw Self.malformed() }
        if frame.end == nil { _ = try read(2) }
    }

    /// The tag of the next element (without consuming it), nil at a frame's end.
    package mutating func nextTag(in frame: Frame) throws -> UInt8? {
        if try atEnd(frame) { return nil }
        try fill(1)
        return buffer.first
    }

    /// One whole element (header and contents, BER indefinite lengths included, re-read as they stand), at most
    /// `limit` bytes.
    package mutating func readElement(limit: Int = StreamChunk.elementLimit) throws -> [UInt8] {
        var out: [UInt8] = []
        try readElement(into: &out, limit: limit, depth: 0)
        return out
    }

    private mutating func readElement(into out: inout [UInt8], limit: Int, depth: Int) throws {
        guard depth < 64 else { throw Self.malformed() }
        let header = try readHeader()
        out.append(contentsOf: header.encoded)
        if let length = header.length {
            guard out.count + length <= limit else { throw Self.malformed("an element of the message is too large") }
            out.append(contentsOf: try read(length))
            return
        }
        while true {
            try fill(2)
            if buffer.prefix(2).elementsEqual([0, 0]) {
                out.append(contentsOf: try read(2))
                return
            }
            try readElement(into: &out, limit: limit, depth: depth + 1)
            guard out.count <= limit else { throw Self.malformed("an element of the message is too large") }
        }
    }

    // MARK: OCTET STRING contents

    /// Starts handing out the contents of the OCTET STRING (under any tag) whose header was read.
    package mutating func beginOctets(_ header: Header) throws {
        precondition(octetStack.isEmpty)
        if header.isConstructed {
            octetStack = [.constructed(try open(header))]
        } else {
            guard let length = header.length else { throw Self.malformed() }
            octetStack = [.primitive(remaining: length)]
        }
    }

    /// The next piece of the OCTET STRING's contents, at most `maxCount` bytes; nil once it is over (its end read).
    package mutating func nextOctets(upTo maxCount: Int) throws -> ArraySlice<UInt8>? {
        while let top = octetStack.last {
            switch top {
            case .primitive(let remaining):
                if remaining == 0 {
                    octetStack.removeLast()
                    continue
                }
                let piece = try readSome(min(remaining, maxCount))
                octetStack[octetStack.count - 1] = .primitive(remaining: remaining - piece.count)
                return piece
            case .constructed(let frame):
                if try atEnd(frame) {
                    try close(frame)
                    octetStack.removeLast()
                    continue
                }
                guard octetStack.count < 8 else { throw Self.malformed() }
                let header = try readHeader()
                switch header.tag {
                case 0x04:
                    guard let length = header.length else { throw Self.malformed() }
                    if let end = frame.end, position + length > end { throw Self.malformed() }
                    octetStack.append(.primitive(remaining: length))
                case 0x24:
                    octetStack.append(.constructed(try open(header)))
                default:
                    throw Self.malformed()
                }
            }
        }
        return nil
    }
}
