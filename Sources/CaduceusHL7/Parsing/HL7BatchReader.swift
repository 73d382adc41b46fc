/// Reads a batch file (v2.5.1 §2.10.3: `[FHS] {[BHS] {MSH…} [BTS]} [FTS]`, either envelope optional, or a bare run of
/// messages) as a stream: bytes go in, in chunks of any size; header and trailer segments and each message's bytes
/// come out, in order. A pure state machine like ``MLLPFramer``: no I/O.
///
/// Memory is bounded by one message (``HL7ParseOptions/maxBytes``) whatever the size of the batch: a batch is not one
/// message, so the message limits (size, segments, fields, values) apply to each message — when it is parsed, on its
/// own, with ``HL7Message/init(parsing:options:)`` — and never to the batch. Each message keeps its own MSH-18 (or
/// the default character set); the envelope segments are read in the default character set.
///
/// What is wrong with one message is that message's own outcome (``Event/refusedMessage(head:_:)`` for one too large
/// to take from the stream; everything else when it is parsed). What is wrong with the envelope — a BTS-1 or FTS-1
/// count that does not match, an FHS that is not first, a segment outside any message, a message whose MSH-1/MSH-2
/// differ from the batch's — is an ``Event/envelopeError(_:)``, and reading goes on. Input that does not start with
/// FHS, BHS or MSH, or whose first header declares no valid delimiters, is one envelope error and nothing else.
public struct HL7BatchReader: Sendable {
    /// What the reader found, in stream order.
    public enum Event: Sendable, Equatable {
        /// FHS (file header).
        case fileHeader(HL7Segment)
        /// BHS (batch header).
        case batchHeader(HL7Segment)
        /// One message's bytes, from its MSH to the end of its last segment, each segment ended by CR (LF and CRLF
        /// ends become CR under tolerant line endings), in its own character set.
        case message([UInt8])
        /// A message that could not be taken from the stream (over the size limit): its first bytes, enough to
        /// answer it, and why.
        case refusedMessage(head: [UInt8], HL7Error)
        /// BTS (batch trailer).
        case batchTrailer(HL7Segment)
        /// FTS (file trailer).
        case fileTrailer(HL7Segment)
        /// The envelope is not what the standard says (see the type's documentation).
        case envelopeError(HL7Error)
    }

    /// The options each message is read with; ``HL7ParseOptions/maxBytes`` also bounds a segment here.
    public let options: HL7ParseOptions
    /// How many bytes of a refused message are kept to answer it.
    public static let headBytes = 4096

    /// The delimiters, from the first header segment.
    public private(set) var delimiters: HL7Delimiters?
    /// Messages handed out so far (refused ones included).
    public private(set) var messageCount = 0

    var segment: [UInt8] = []
    var segmentOverflow = false
    var lastWasCR = false
    var message: [UInt8] = []
    var inMessage = false
    var messageOverflow = false
    var failed = false
    var sawAnything = false
    var fileHeaderSeen = false
    var fileTrailerSeen = false
    var batchOpen = false
    var messagesInBatch = 0
    var batchesInFile = 0
    var reportedStray = false
    /// MSH-1 and MSH-2 as the first header wrote them ("|^~\&"), which every later header must repeat.
    var declaration: [UInt8] = []

    /// A reader; `options` are the ones messages will be parsed with.
    public init(options: HL7ParseOptions = .strict) {
        self.options = options
    }

    /// Consumes bytes; returns what they completed.
    public mutating func feed(_ input: some Collection<UInt8>) -> [Event] {
        var events: [Event] = []
        guard !failed else { return events }
        let tolerant = options.lineEndings == .tolerant
        for byte in input {
            if byte == 0x0D || (tolerant && byte == 0x0A) {
                // CRLF is one terminator; a lone LF after CR ends nothing more.
                if byte == 0x0A, lastWasCR {
                    lastWasCR = false
                    continue
                }
                lastWasCR = byte == 0x0D
                endSegment(&events)
                if failed { return events }
                continue
            }
            lastWasCR = false
            guard !segmentOverflow else { continue }
            if segment.count >= options.maxBytes {
                segmentOverflow = true
                continue
            }
            segment.append(byte)
        }
        return events
    }

    /// The input ended: the last segment (a final terminator is optional) and the open message are handed out.
    public mutating func finish() -> [Event] {
        var events: [Event] = []
        guard !failed else { return events }
        if !segment.isEmpty || segmentOverflow { endSegment(&events) }
        endMessage(&events)
        if !sawAnything, !failed { events.append(.envelopeError(HL7Error(.missingHeader, "the batch is empty"))) }
        return events
    }

    // MARK: - segments

    mutating func endSegment(_ events: inout [Event]) {
        defer {
            segment.removeAll(keepingCapacity: true)
            segmentOverflow = false
        }
        if segmentOverflow {
            // A segment longer than a whole message may be: its message cannot be taken.
            if inMessage {
                messageOverflow = true
            } else {
                events.append(.envelopeError(HL7Error(.limitExceeded, "a segment of the batch exceeds the message size limit")))
            }
            return
        }
        guard !segment.isEmpty else { return }  // empty lines (tolerant) and stray terminators
        sawAnything = true
        let id = segment.count >= 3 ? Array(segment[0..<3]) : segment
        let isHeader = id == Self.msh || id == Self.fhs || id == Self.bhs
        if delimiters == nil {
            guard isHeader else {
                fail(&events, HL7Error(.missingHeader, "a batch must start with an FHS, BHS or MSH segment", at: HL7Location(segment: "MSH")))
                return
            }
            guard segment.count >= 8 else {
                fail(&events, HL7Error(.badEncodingCharacters, "the header segment is too short to hold MSH-1 and MSH-2"))
                return
            }
            let field = segment[3]
            var end = 4
            while end < segment.count, segment[end] != field { end += 1 }
            do {
                delimiters = try HL7Delimiters(field: field, encodingCharacters: segment[4..<end])
            } catch {
                fail(&events, error)
                return
            }
            declaration = Array(segment[3..<end])
        }
        let named = segment.count == 3 || (segment.count > 3 && segment[3] == delimiters!.field)
        switch named ? id : [] {
        case Self.msh:
            endMessage(&events)
            if fileTrailerSeen { envelope(&events, HL7Error(.badBatch, "a message after FTS")) }
            inMessage = true
            if declares(segment) {
                append(segment)
            } else {
                // Its head is kept so the answer can name the message; it is refused when it ends.
                mismatchedDelimiters = true
                message = Array(segment.prefix(Self.headBytes))
            }
        case Self.fhs:
            endMessage(&events)
            guard let header = header(&events) else { return }
            if fileHeaderSeen || batchOpen || batchesInFile > 0 || messageCount > 0 {
                envelope(&events, HL7Error(.badBatch, "FHS must open the file and appear once"))
            }
            fileHeaderSeen = true
            events.append(.fileHeader(header))
        case Self.bhs:
            endMessage(&events)
            guard let header = header(&events) else { return }
            if batchOpen { batchesInFile += 1 }  // the batch before ends without its BTS
            if fileTrailerSeen { envelope(&events, HL7Error(.badBatch, "a batch after FTS")) }
            batchOpen = true
            messagesInBatch = 0
            events.append(.batchHeader(header))
        case Self.bts:
            endMessage(&events)
            guard let trailer = header(&events) else { return }
            if !batchOpen, messagesInBatch == 0 {
                envelope(&events, HL7Error(.badBatch, "BTS without a batch"))
            }
            if let count = Self.count(trailer), count != messagesInBatch {
                envelope(&events, HL7Error(.badBatch, "BTS-1 does not match the number of messages in the batch"))
            }
            batchesInFile += 1
            batchOpen = false
            messagesInBatch = 0
            events.append(.batchTrailer(trailer))
        case Self.fts:
            endMessage(&events)
            guard let trailer = header(&events) else { return }
            if batchOpen || messagesInBatch > 0 {
                batchesInFile += 1
                batchOpen = false
                messagesInBatch = 0
            }
            if let count = Self.count(trailer), count != batchesInFile {
                envelope(&events, HL7Error(.badBatch, "FTS-1 does not match the number of batches in the file"))
            }
            fileTrailerSeen = true
            events.append(.fileTrailer(trailer))
        default:
            guard inMessage else {
                if !reportedStray {
                    reportedStray = true
                    envelope(&events, HL7Error(.badBatch, "a segment outside any message"))
                }
                return
            }
            append(segment)
        }
    }

    var mismatchedDelimiters = false

    /// Adds a segment (and its CR) to the open message, within the size limit.
    mutating func append(_ bytes: [UInt8]) {
        guard !messageOverflow, !mismatchedDelimiters else { return }
        guard message.count + bytes.count + 1 <= options.maxBytes else {
            messageOverflow = true
            if message.count > Self.headBytes { message.removeSubrange(Self.headBytes...) }
            return
        }
        message.append(contentsOf: bytes)
        message.append(0x0D)
    }

    /// Hands out the open message, if any.
    mutating func endMessage(_ events: inout [Event]) {
        guard inMessage else { return }
        inMessage = false
        messageCount += 1
        messagesInBatch += 1
        if mismatchedDelimiters {
            events.append(.refusedMessage(head: message, HL7Error(.badEncodingCharacters, "a message of the batch declares other delimiters than its batch", at: HL7Location(segment: "MSH", field: 2))))
        } else if messageOverflow {
            events.append(.refusedMessage(head: Array(message.prefix(Self.headBytes)), HL7Error(.limitExceeded, "a message of the batch exceeds the size limit")))
        } else {
            events.append(.message(message))
        }
        message = []
        messageOverflow = false
        mismatchedDelimiters = false
    }

    /// Whether a header segment repeats the batch's MSH-1 and MSH-2.
    func declares(_ header: [UInt8]) -> Bool {
        guard header.count >= 3 + declaration.count, header[3..<(3 + declaration.count)].elementsEqual(declaration) else { return false }
        return header.count == 3 + declaration.count || header[3 + declaration.count] == declaration[0]
    }

    /// The current FHS/BHS/BTS/FTS segment, parsed in the default character set; nil (and an envelope error) when it
    /// cannot be read.
    mutating func header(_ events: inout [Event]) -> HL7Segment? {
        if (segment.starts(with: Self.fhs) || segment.starts(with: Self.bhs)), !declares(segment) {
            envelope(&events, HL7Error(.badEncodingCharacters, "a header segment declares encoding characters that differ from the first"))
            return nil
        }
        do {
            return try ER7Parser(options: options).envelopeSegment(segment, delimiters!)
        } catch {
            envelope(&events, error)
            return nil
        }
    }

    mutating func envelope(_ events: inout [Event], _ error: HL7Error) {
        events.append(.envelopeError(error))
    }

    mutating func fail(_ events: inout [Event], _ error: HL7Error) {
        events.append(.envelopeError(error))
        failed = true
        segment = []
        message = []
    }

    /// BTS-1 / FTS-1 as a count, when valued.
    static func count(_ trailer: HL7Segment) -> Int? { Int(trailer.text(1).raw) }

    static let msh = Array("MSH".utf8)
    static let fhs = Array("FHS".utf8)
    static let bhs = Array("BHS".utf8)
    static let bts = Array("BTS".utf8)
    static let fts = Array("FTS".utf8)
}
