/// An HL7 v2 message in ER7: its dialect (delimiters from MSH-1/MSH-2, character set from MSH-18) and its segments.
///
/// The tree is lossless: `try HL7Message(parsing: bytes).encoded() == bytes` for any message that ends each segment
/// with CR, because leaves keep their escaped text.
public struct HL7Message: Sendable, Hashable {
    /// Delimiters and character set.
    public var dialect: HL7Dialect
    /// All segments, MSH first.
    public var segments: [HL7Segment]

    /// Parses one message. The first segment must be MSH.
    public init(parsing bytes: some Collection<UInt8>, options: HL7ParseOptions = .strict) throws(HL7Error) {
        let result = try ER7Parser(options: options).parse(bytes)
        guard result.segments.first?.id == "MSH" else {
            throw HL7Error(.missingHeader, "a message must start with an MSH segment", at: HL7Location(segment: "MSH"))
        }
        self.dialect = result.dialect
        self.segments = result.segments
    }

    /// Parses one message from text.
    public init(parsing text: String, options: HL7ParseOptions = .strict) throws(HL7Error) {
        try self.init(parsing: Array(text.utf8), options: options)
    }

    /// Builds a message from segments; the first must be MSH. MSH-1/MSH-2 are written from `dialect`.
    public init(dialect: HL7Dialect = .standard, segments: [HL7Segment]) throws(HL7Error) {
        guard segments.first?.id == "MSH" else {
            throw HL7Error(.missingHeader, "a message must start with an MSH segment", at: HL7Location(segment: "MSH"))
        }
        self.dialect = dialect
        self.segments = segments
    }

    /// The message as ER7 bytes in its character set, each segment ended by CR.
    public func encoded() throws(HL7Error) -> [UInt8] {
        try ER7Encoder(dialect: dialect).encode(segments)
    }

    /// The MSH segment.
    public var msh: MSHSegment { MSHSegment(segments[0], dialect) }

    /// All segments with `id`, in order.
    public func segments(_ id: String) -> [HL7Segment] { segments.filter { $0.id == id } }

    /// The first segment with `id`.
    public func first(_ id: String) -> HL7Segment? { segments.first { $0.id == id } }

    /// Decodes a leaf of this message.
    public func value(_ text: HL7Text) throws(HL7Error) -> String { try text.value(dialect) }
}

/// A batch file: `FHS`, then batches (`BHS`, messages, `BTS`), then `FTS` (v2.5.1 §2.10.3). Either envelope may be
/// absent; a bare run of messages is a batch too.
public struct HL7Batch: Sendable, Hashable {
    /// One batch inside the file.
    public struct Batch: Sendable, Hashable {
        /// BHS, when present.
        public var header: HL7Segment?
        /// The messages.
        public var messages: [HL7Message]
        /// BTS, when present.
        public var trailer: HL7Segment?
    }

    /// FHS, when present.
    public var fileHeader: HL7Segment?
    /// The batches.
    public var batches: [Batch]
    /// FTS, when present.
    public var fileTrailer: HL7Segment?
    /// Delimiters and character set (from the first header).
    public var dialect: HL7Dialect

    /// All messages of all batches.
    public var messages: [HL7Message] { batches.flatMap(\.messages) }

    /// Parses a batch file, of any number of messages: the file is read as a stream (``HL7BatchReader``) and each
    /// message is parsed on its own, so the message limits of `options` apply to each message, not to the file. BTS-1
    /// (batch message count) and FTS-1 (file batch count), when given, must match. The first problem found is thrown.
    public init(parsing bytes: some Collection<UInt8>, options: HL7ParseOptions = .strict) throws(HL7Error) {
        var reader = HL7BatchReader(options: options)
        let events = reader.feed(bytes) + reader.finish()
        batches = []
        var current: Batch?
        var firstDialect: HL7Dialect?
        for event in events {
            switch event {
            case .fileHeader(let segment):
                fileHeader = segment
            case .batchHeader(let segment):
                if let c = current { batches.append(c) }
                current = Batch(header: segment, messages: [], trailer: nil)
            case .message(let bytes):
                let message = try HL7Message(parsing: bytes, options: options)
                if firstDialect == nil { firstDialect = message.dialect }
                if current == nil { current = Batch(header: nil, messages: [], trailer: nil) }
                current!.messages.append(message)
            case .refusedMessage(_, let error), .envelopeError(let error):
                throw error
            case .batchTrailer(let segment):
                var c = current ?? Batch(header: nil, messages: [], trailer: nil)
                c.trailer = segment
                batches.append(c)
                current = nil
            case .fileTrailer(let segment):
                if let c = current { batches.append(c) }
                current = nil
                fileTrailer = segment
            }
        }
        if let c = current { batches.append(c) }
        // The reader fails on input without valid delimiters, so they are known here.
        dialect = firstDialect ?? HL7Dialect(delimiters: reader.delimiters ?? .standard, characterSet: options.defaultCharacterSet)
    }
}
