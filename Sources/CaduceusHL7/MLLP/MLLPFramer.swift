/// MLLP framing (HL7 v2.5.1 Appendix C, "Minimal Lower Layer Protocol" release 2) as a pure state machine: a
/// frame is `0x0B` payload `0x1C 0x0D`. Feed it bytes as they arrive; it returns what happened. No I/O here.
public struct MLLPFramer: Sendable {
    /// Start block.
    public static let startBlock: UInt8 = 0x0B
    /// End block, followed by ``carriageReturn``.
    public static let endBlock: UInt8 = 0x1C
    /// The byte after the end block.
    public static let carriageReturn: UInt8 = 0x0D

    /// What the framer saw.
    public enum Event: Sendable, Hashable {
        /// A complete payload.
        case frame([UInt8])
        /// Bytes outside any frame were dropped.
        case junk(count: Int)
        /// A frame grew past the size cap; its first bytes are kept (to answer it with an AR) and the rest is
        /// dropped up to its end block. Emitted once, when the end block arrives.
        case oversized(head: [UInt8])
        /// A frame was cut short: a new start block arrived, or an end block was not followed by CR.
        case truncated(head: [UInt8])
        /// A frame that starts with FHS or BHS — a batch — begins (only when the framer streams batches). Its payload
        /// follows as ``batchBytes(_:)`` in arrival-sized pieces, not bounded by the frame cap: the batch reader
        /// bounds each message instead.
        case batchStart
        /// The next bytes of the batch's payload.
        case batchBytes([UInt8])
        /// The batch frame ended: `complete` when its end block and CR arrived, false when it was cut short (a new
        /// start block, an end block without CR, or the connection closed).
        case batchEnd(complete: Bool)
    }

    enum State: Sendable {
        case idle
        case inFrame
        case afterEndBlock
        case discarding
        case discardingAfterEndBlock
        case inBatch
        case batchAfterEndBlock
    }

    /// The largest payload accepted.
    public let maxFrameBytes: Int
    /// How many leading bytes of an oversized frame are kept.
    public let headBytes: Int
    /// Whether a frame starting with FHS or BHS is streamed as a batch instead of buffered as one message.
    public let streamsBatches: Bool
    var state: State = .idle
    var buffer: [UInt8] = []
    var junk = 0

    /// A framer with a payload cap.
    public init(maxFrameBytes: Int = 16 << 20, headBytes: Int = 4096, streamsBatches: Bool = false) {
        self.maxFrameBytes = maxFrameBytes
        self.headBytes = headBytes
        self.streamsBatches = streamsBatches
    }

    static func isBatchHead(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && (bytes[0..<3].elementsEqual("FHS".utf8) || bytes[0..<3].elementsEqual("BHS".utf8))
    }

    /// Whether a frame is partly received (closing now would truncate it).
    public var hasPartialFrame: Bool {
        switch state {
        case .idle: return false
        default: return true
        }
    }

    /// Consumes bytes; returns events in order.
    public mutating func feed(_ input: some Collection<UInt8>) -> [Event] {
        var events: [Event] = []
        let bytes = Array(input)
        var i = 0
        let n = bytes.count
        while i < n {
            switch state {
            case .idle:
                if let start = bytes[i...].firstIndex(of: Self.startBlock) {
                    junk += start - i
                    if junk > 0 {
                        events.append(.junk(count: junk))
                        junk = 0
                    }
                    state = .inFrame
                    buffer.removeAll(keepingCapacity: true)
                    i = start + 1
                } else {
                    junk += n - i
                    i = n
                }
            case .inFrame:
                let stop = bytes[i...].firstIndex { $0 == Self.endBlock || $0 == Self.startBlock } ?? n
                buffer.append(contentsOf: bytes[i..<stop])
                i = stop
                if streamsBatches, Self.isBatchHead(buffer) {
                    events.append(.batchStart)
                    events.append(.batchBytes(buffer))
                    buffer = []
                    state = .inBatch
                    continue
                }
                if buffer.count > maxFrameBytes {
                    buffer.removeSubrange(headBytes...)
                    state = .discarding
                    continue
                }
                guard i < n else { break }
                if bytes[i] == Self.startBlock {
                    events.append(.truncated(head: Array(buffer.prefix(headBytes))))
                    buffer.removeAll(keepingCapacity: true)
                    i += 1
                } else {
                    state = .afterEndBlock
                    i += 1
                }
            case .afterEndBlock:
                if bytes[i] == Self.carriageReturn {
                    events.append(.frame(buffer))
                    buffer = []
                    i += 1
                } else {
                    events.append(.truncated(head: Array(buffer.prefix(headBytes))))
                    buffer = []
                }
                state = .idle
            case .discarding:
                if let end = bytes[i...].firstIndex(of: Self.endBlock) {
                    state = .discardingAfterEndBlock
                    i = end + 1
                } else {
                    i = n
                }
            case .inBatch:
                let stop = bytes[i...].firstIndex { $0 == Self.endBlock || $0 == Self.startBlock } ?? n
                if stop > i { events.append(.batchBytes(Array(bytes[i..<stop]))) }
                i = stop
                guard i < n else { break }
                if bytes[i] == Self.startBlock {
                    events.append(.batchEnd(complete: false))
                    state = .inFrame
                    buffer.removeAll(keepingCapacity: true)
                } else {
                    state = .batchAfterEndBlock
                }
                i += 1
            case .batchAfterEndBlock:
                if bytes[i] == Self.carriageReturn {
                    events.append(.batchEnd(complete: true))
                    i += 1
                } else {
                    events.append(.batchEnd(complete: false))
                }
                state = .idle
            case .discardingAfterEndBlock:
                if bytes[i] == Self.carriageReturn {
                    events.append(.oversized(head: buffer))
                    buffer = []
                    state = .idle
                    i += 1
                } else {
                    state = .discarding
                }
            }
        }
        return events
    }

    /// The connection closed: reports a partly received frame, and any junk not yet reported.
    public mutating func finish() -> [Event] {
        var events: [Event] = []
        if junk > 0 { events.append(.junk(count: junk)) }
        junk = 0
        switch state {
        case .inBatch, .batchAfterEndBlock: events.append(.batchEnd(complete: false))
        case .idle: break
        default: events.append(.truncated(head: Array(buffer.prefix(headBytes))))
        }
        buffer = []
        state = .idle
        return events
    }

    /// Wraps a payload in a frame.
    public static func frame(_ payload: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = [startBlock]
        out.reserveCapacity(payload.count + 3)
        out.append(contentsOf: payload)
        out.append(endBlock)
        out.append(carriageReturn)
        return out
    }
}
