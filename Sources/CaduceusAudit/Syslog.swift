package import CaduceusCore
package import struct Foundation.Date
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The error type of syslog framing and parsing.
package struct SyslogError: CodedError {
    package struct Code: ErrorCode {
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        /// Not an RFC 5424 message, or not an RFC 5425 octet-counted frame.
        package static let malformed = Code("syslog.malformed")
        /// A frame larger than the receiver accepts.
        package static let tooLarge = Code("syslog.too-large")
        /// A well-formed message that is not a Caduceus audit record or checkpoint.
        package static let notAudit = Code("syslog.not-audit")
    }
    package let kind: Code
    package let message: String
    package init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// One RFC 5424 structured-data element: `[id name="value" …]`.
package struct SyslogSDElement: Sendable, Hashable {
    package var id: String
    package var params: [SyslogSDParam]
    package init(id: String, params: [SyslogSDParam]) {
        self.id = id
        self.params = params
    }
    package subscript(_ name: String) -> String? { params.first { $0.name == name }?.value }
}

package struct SyslogSDParam: Sendable, Hashable {
    package var name: String
    package var value: String
    package init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// An RFC 5424 syslog message.
package struct SyslogMessage: Sendable, Hashable {
    /// 0–23 (10 = authpriv, 13 = log audit).
    package var facility: Int
    /// 0–7 (5 = notice).
    package var severity: Int
    package var timestamp: Date?
    package var hostname: String?
    package var appName: String?
    package var procID: String?
    package var msgID: String?
    package var structuredData: [SyslogSDElement]
    /// The MSG part (UTF-8, sent after a BOM); empty when absent.
    package var message: [UInt8]

    package init(facility: Int, severity: Int, timestamp: Date?, hostname: String?, appName: String?, procID: String?, msgID: String?, structuredData: [SyslogSDElement], message: [UInt8]) {
        self.facility = facility
        self.severity = severity
        self.timestamp = timestamp
        self.hostname = hostname
        self.appName = appName
        self.procID = procID
        self.msgID = msgID
        self.structuredData = structuredData
        self.message = message
    }

    static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The message as RFC 5424 bytes. Header fields are truncated to their RFC lengths and restricted to printable
    /// US-ASCII; parameter values are escaped (`"`, `\`, `]`).
    package func encoded() -> [UInt8] {
        func field(_ s: String?, _ max: Int) -> String {
            guard let s, !s.isEmpty else { return "-" }
            let printable = String(String.UnicodeScalarView(s.unicodeScalars.filter { $0.value >= 33 && $0.value <= 126 }))
            return printable.isEmpty ? "-" : String(printable.prefix(max))
        }
        var out = "<\(facility * 8 + severity)>1 "
        out += timestamp.map { Self.formatTime($0) } ?? "-"
        out += " " + field(hostname, 255) + " " + field(appName, 48) + " " + field(procID, 128) + " " + field(msgID, 32) + " "
        if structuredData.isEmpty {
            out += "-"
        } else {
            for e in structuredData {
                out += "[" + e.id
                for p in e.params {
                    var v = ""
                    for c in p.value {
                        if c == "\"" || c == "\\" || c == "]" { v.append("\\") }
                        v.append(c)
                    }
                    out += " \(p.name)=\"\(v)\""
                }
                out += "]"
            }
        }
        var bytes = Array(out.utf8)
        if !message.isEmpty { bytes += [0x20] + Self.bom + message }
        return bytes
    }

    /// RFC 3339 in UTC with milliseconds (`2026-11-23T18:00:00.123Z`), without a formatter object (they are costly
    /// to make and not Sendable to share).
    static func formatTime(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let millis = Int((ms % 1000 + 1000) % 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let digits = String(v)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// Parses RFC 3339 (RFC 5424 TIMESTAMP): `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
    static func parseTime(_ text: Substring) -> Date? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard b.count >= 20, let year = number(0, 4), b[4] == 0x2D, let month = number(5, 2), b[7] == 0x2D, let day = number(8, 2),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"), let hour = number(11, 2), b[13] == 0x3A, let minute = number(14, 2),
              b[16] == 0x3A, let second = number(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D, let oh = number(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = number(i + 4, 2) {
            offset = (oh * 60 + om) * 60 * (b[i] == 0x2B ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month - 1)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour)
        t.tm_min = Int32(minute)
        t.tm_sec = Int32(second)
        let epoch = timegm(&t)
        return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
    }

    /// Parses RFC 5424 bytes.
    package init(parsing input: [UInt8]) throws(SyslogError) {
        func bad(_ why: String) -> SyslogError { SyslogError(.malformed, "not an RFC 5424 message: \(why)") }
        var i = 0
        func token() throws(SyslogError) -> Substring {
            let start = i
            while i < input.count, input[i] != 0x20 { i += 1 }
            guard i < input.count, i > start else { throw bad("a header field is missing") }
            let t = Substring(decoding: input[start..<i], as: UTF8.self)
            i += 1
            return t
        }
        guard input.first == UInt8(ascii: "<"), let close = input.prefix(5).firstIndex(of: UInt8(ascii: ">")),
              let pri = Int(String(decoding: input[1..<close], as: UTF8.self)), (0...191).contains(pri), close > 1
        else { throw bad("PRI") }
        i = close + 1
        guard try token() == "1" else { throw bad("only VERSION 1 is understood") }
        let time = try token()
        var timestamp: Date?
        if time != "-" {
            guard let t = Self.parseTime(time) else { throw bad("TIMESTAMP") }
            timestamp = t
        }
        func opt(_ s: Substring) -> String? { s == "-" ? nil : String(s) }
        let hostname = opt(try token()), appName = opt(try token()), procID = opt(try token()), msgID = opt(try token())
        var elements: [SyslogSDElement] = []
        guard i < input.count else { throw bad("STRUCTURED-DATA is missing") }
        if input[i] == UInt8(ascii: "-") {
            i += 1
        } else {
            while i < input.count, input[i] == UInt8(ascii: "[") {
                i += 1
                let idStart = i
                while i < input.count, input[i] != 0x20, input[i] != UInt8(ascii: "]") { i += 1 }
                guard i < input.count, i > idStart else { throw bad("SD-ID") }
                var element = SyslogSDElement(id: String(decoding: input[idStart..<i], as: UTF8.self), params: [])
                while i < input.count, input[i] == 0x20 {
                    i += 1
                    let nameStart = i
                    while i < input.count, input[i] != UInt8(ascii: "=") { i += 1 }
                    guard i + 1 < input.count, input[i + 1] == UInt8(ascii: "\""), i > nameStart else { throw bad("SD-PARAM") }
                    let name = String(decoding: input[nameStart..<i], as: UTF8.self)
                    i += 2
                    var value: [UInt8] = []
                    while i < input.count, input[i] != UInt8(ascii: "\"") {
                        if input[i] == UInt8(ascii: "\\"), i + 1 < input.count, [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]")].contains(input[i + 1]) { i += 1 }
                        value.append(input[i])
                        i += 1
                    }
                    guard i < input.count else { throw bad("an unterminated PARAM-VALUE") }
                    i += 1
                    element.params.append(SyslogSDParam(name, String(decoding: value, as: UTF8.self)))
                }
                guard i < input.count, input[i] == UInt8(ascii: "]") else { throw bad("an unterminated SD-ELEMENT") }
                i += 1
                elements.append(element)
            }
            guard !elements.isEmpty else { throw bad("STRUCTURED-DATA") }
        }
        var message: [UInt8] = []
        if i < input.count {
            guard input[i] == 0x20 else { throw bad("MSG must follow a space") }
            message = Array(input[(i + 1)...])
            if message.starts(with: Self.bom) { message.removeFirst(3) }
        }
        self.init(facility: pri / 8, severity: pri % 8, timestamp: timestamp, hostname: hostname, appName: appName, procID: procID, msgID: msgID, structuredData: elements, message: message)
    }
}

/// RFC 5425 (syslog over TLS) octet-counting framing: `MSG-LEN SP SYSLOG-MSG`.
package struct SyslogFramer: Sendable {
    package let maxFrameBytes: Int
    var buffer: [UInt8] = []

    package init(maxFrameBytes: Int = 1 << 20) { self.maxFrameBytes = maxFrameBytes }

    /// Frames one message.
    package static func frame(_ message: [UInt8]) -> [UInt8] { Array("\(message.count) ".utf8) + message }

    /// Feeds bytes; returns the complete frames. Throws on a bad length prefix or an oversized frame (the stream
    /// cannot be resynchronised after either: the connection should be closed).
    package mutating func feed(_ bytes: some Collection<UInt8>) throws(SyslogError) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        var start = 0
        while start < buffer.count {
            var i = start
            var length = 0
            while i < buffer.count, buffer[i] >= 0x30, buffer[i] <= 0x39, i - start < 10 {
                length = length * 10 + Int(buffer[i] - 0x30)
                i += 1
            }
            guard i < buffer.count else { break }
            guard i > start, buffer[start] != 0x30, buffer[i] == 0x20 else { throw SyslogError(.malformed, "not an octet-counted syslog frame") }
            guard length <= maxFrameBytes else { throw SyslogError(.tooLarge, "the frame exceeds the receiver's limit") }
            guard buffer.count - (i + 1) >= length else { break }
            frames.append(Array(buffer[(i + 1)..<(i + 1 + length)]))
            start = i + 1 + length
        }
        buffer.removeFirst(start)
        return frames
    }
}

/// Audit records and checkpoints as syslog messages (facility authpriv, severity notice, as IHE ATNA uses), so a
/// node's hash-chained trail can be shipped to an audit repository and re-verified there. The record's sequence
/// number, previous hash and hash travel as structured data; the body, exactly the bytes the chain hashed, is the MSG.
package enum AuditSyslog {
    /// The structured-data id (the enterprise number is IANA's example number, RFC 5612: replace with a real one).
    package static let sdID = "caduceus@32473"
    package static let eventMsgID = "CADUCEUS-AUDIT", checkpointMsgID = "CADUCEUS-CHECKPOINT"

    /// What a node ships.
    package enum Shipped: Sendable, Hashable {
        case record(ChainedRecord)
        case checkpoint(AuditCheckpoint)
    }

    package static func message(_ record: ChainedRecord, node: String, time: Date) -> SyslogMessage {
        SyslogMessage(
            facility: 10, severity: 5, timestamp: time, hostname: node, appName: "caduceus", procID: nil, msgID: eventMsgID,
            structuredData: [SyslogSDElement(id: sdID, params: [
                SyslogSDParam("seq", String(record.sequence)), SyslogSDParam("prev", Hex.encode(record.previousHash)), SyslogSDParam("hash", Hex.encode(record.hash)),
            ])],
            message: record.body)
    }

    package static func message(_ checkpoint: AuditCheckpoint) -> SyslogMessage {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return SyslogMessage(
            facility: 10, severity: 5, timestamp: checkpoint.time, hostname: checkpoint.node, appName: "caduceus", procID: nil, msgID: checkpointMsgID,
            structuredData: [SyslogSDElement(id: sdID, params: [SyslogSDParam("seq", String(checkpoint.sequence)), SyslogSDParam("hash", Hex.encode(checkpoint.hash))])],
            message: Array((try? e.encode(checkpoint)) ?? Data()))
    }

    /// Reads a shipped record or checkpoint (the record's hash is recomputed: a record whose hash does not match its
    /// content is refused here).
    package static func decode(_ m: SyslogMessage) throws(SyslogError) -> Shipped {
        guard let sd = m.structuredData.first(where: { $0.id == sdID }), let seqText = sd["seq"], let seq = UInt64(seqText), let hashHex = sd["hash"],
              let hash = Hex.decode(hashHex), hash.count == 32
        else { throw SyslogError(.notAudit, "the message carries no Caduceus audit structured data") }
        switch m.msgID {
        case eventMsgID?:
            guard let prevHex = sd["prev"], let prev = Hex.decode(prevHex), prev.count == 32 else { throw SyslogError(.notAudit, "an audit record needs its previous hash") }
            guard ChainedRecord.hash(sequence: seq, previous: prev, body: m.message) == hash else {
                throw SyslogError(.malformed, "an audit record's hash does not match its content")
            }
            return .record(ChainedRecord(sequence: seq, previousHash: prev, body: m.message, hash: hash))
        case checkpointMsgID?:
            guard let c = try? JSONDecoder().decode(AuditCheckpoint.self, from: Data(m.message)), c.sequence == seq, c.hash == hash else {
                throw SyslogError(.notAudit, "the checkpoint message does not hold the checkpoint it names")
            }
            return .checkpoint(c)
        default:
            throw SyslogError(.notAudit, "the MSGID is not a Caduceus audit message")
        }
    }
}
