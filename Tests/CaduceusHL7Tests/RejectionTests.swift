import CaduceusHL7
import CaduceusTestSupport
import Testing

@Suite("ER7 rejections")
struct RejectionTests {
    func code(_ bytes: [UInt8], _ options: HL7ParseOptions = .strict) -> String? {
        do {
            _ = try HL7Message(parsing: bytes, options: options)
            return nil
        } catch { return error.code }
    }

    @Test("each kind of bad input has its own code, and messages carry no field data")
    func badInput() throws {
        let good = Array(SampleHL7.adtA01.utf8)
        #expect(code(Array("PID|1||4711\r".utf8)) == "hl7.missing-msh")
        #expect(code([]) == "hl7.missing-msh")
        #expect(code(Array("MSH|^~\\\r".utf8)) == "hl7.bad-encoding-characters")
        #expect(code(Array("MSH|^~^&|A\r".utf8)) == "hl7.bad-encoding-characters")
        #expect(code(Array("MSH|^A\\&|A\r".utf8)) == "hl7.bad-encoding-characters")
        var nul = good
        nul.insert(0, at: 40)
        #expect(code(nul) == "hl7.nul-byte")
        let badUTF8 = Array(SampleHL7.adtA08UTF8.utf8.prefix(150)) + [0xC3, 0x28] + Array("\r".utf8)
        #expect(code(badUTF8) == "hl7.invalid-characters")
        let eightBitUnderASCII = Array("MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1\rPID|1||1||M".utf8) + [0xDC, 0x0D]
        #expect(code(eightBitUnderASCII) == "hl7.invalid-characters")
        #expect(code(Array("MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1||||||ISO IR87\r".utf8)) == "hl7.unsupported-charset")
        #expect(code(Array("MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1\rpid|1\r".utf8)) == "hl7.bad-segment-id")
        #expect(code(Array("MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1\rPID|1\rMSH|^~\\#|A\r".utf8)) == "hl7.bad-encoding-characters")
    }

    @Test("100,000 repetitions in one field are refused by the limit, not parsed")
    func hundredThousandRepetitions() throws {
        let reps = String(repeating: "X~", count: 100_000)
        let text = "MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1\rPID|1||" + reps + "\r"
        do {
            _ = try HL7Message(parsing: Array(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.code == "hl7.limit-exceeded")
            #expect(error.location == HL7Location(segment: "PID", sequence: 1, field: 3))
            #expect(error.hl7Code.code == 207)
        }
        var options = HL7ParseOptions.strict
        options.maxRepetitions = 200_000
        #expect(try HL7Message(parsing: Array(text.utf8), options: options).segments[1][3].repetitions.count == 100_001)
    }

    @Test("the encoder refuses leaves that would start a field or a segment")
    func encoderCannotBeTricked() throws {
        #expect(throws: HL7Error(.unsafeValue, "")) { try HL7Text(raw: "x\rPID|1") }
        #expect(throws: HL7Error(.unsafeValue, "")) { try HL7Text(raw: "x|y") }
        // A leaf that was safe under one set of delimiters becomes unsafe when the dialect changes: refused.
        var message = try HL7Message(parsing: SampleHL7.adtA01)
        var pid = message.segments[2]
        pid[19] = HL7Field(try HL7Text(raw: "A#B"))
        message.segments[2] = pid
        _ = try message.encoded()
        message.dialect.delimiters = try HL7Delimiters(field: UInt8(ascii: "#"), encodingCharacters: Array("^~\\&".utf8))
        #expect(throws: HL7Error(.unsafeValue, "")) { try message.encoded() }
        // Values given as values are escaped, never refused.
        pid[19] = HL7Field(HL7Text(value: "x\rMSH|^~\\&|EVIL\r"))
        #expect(!HL7Text(value: "x\rMSH|").raw.contains("\r"))
    }

    @Test("error descriptions never echo message content")
    func noPHIInErrors() throws {
        let text = "MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5.1\rPID|1||4711||SECRETNAME\\Q\\\r"
        let message = try HL7Message(parsing: text)
        do {
            _ = try message.view(PIDSegment.self)!.names
            Issue.record("bad escape accepted")
        } catch {
            #expect(error.code == "hl7.bad-escape")
            #expect(!"\(error)".contains("SECRETNAME"))
        }
    }
}

/// Found by the hl7 fuzz target (kept in Fuzz/Crashes/hl7/bare-header-segment): a later header segment with no
/// fields at all was read as an MSH without MSH-1 and MSH-2, which the encoder then wrote with them — the message did
/// not read back as itself, and its header declared no delimiters.
@Suite("ER7 header segments")
struct HeaderSegmentTests {
    @Test("a bare MSH, FHS or BHS segment is refused with hl7.bad-encoding-characters", arguments: ["MSH", "BHS", "FHS"])
    func bareHeader(id: String) {
        let text = "MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X|P|2.5.1\rPID|1\r\(id)\r"
        #expect(throws: HL7Error(.badEncodingCharacters, "")) { try HL7Message(parsing: Array(text.utf8)) }
        #expect(throws: HL7Error(.badEncodingCharacters, "")) { try HL7Batch(parsing: Array(text.utf8), options: .tolerant) }
    }
}

/// Bounds on the whole tree and on per-id segment counting (issue 11): per-level limits alone let 16 MiB of `~`
/// become 16 million repetitions, and thousands of distinct segment ids made counting quadratic.
@Suite("ER7 whole-message bounds")
struct WholeMessageBoundTests {
    static let header = "MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X|P|2.5.1\r"

    /// `fields` PID fields of `repetitions` empty repetitions each: within every per-level limit.
    static func emptyRepetitions(fields: Int, repetitions: Int) -> [UInt8] {
        let field = String(repeating: "~", count: repetitions - 1)
        return Array((header + "PID|" + Array(repeating: field, count: fields).joined(separator: "|") + "\r").utf8)
    }

    @Test("more values than maxValues is hl7.limit-exceeded before any tree is built; raising the limit reads it")
    func valueLimit() throws {
        let hostile = Self.emptyRepetitions(fields: 150, repetitions: 9_999)  // 1.5 million values, 1.5 MB
        do {
            _ = try HL7Message(parsing: hostile)
            Issue.record("accepted")
        } catch {
            #expect(error.code == "hl7.limit-exceeded")
            #expect(error.message.contains("values"))
            #expect(error.hl7Code.code == 207)
        }
        #expect(throws: HL7Error(.limitExceeded, "")) { try HL7Batch(parsing: hostile) }
        var options = HL7ParseOptions.strict
        options.maxValues = 2_000_000
        let message = try HL7Message(parsing: hostile, options: options)
        #expect(message.segments[1][150].repetitions.count == 9_999)
        // Under the limit, nothing changes: a message of 900,000 values is read with the defaults.
        #expect(try HL7Message(parsing: Self.emptyRepetitions(fields: 90, repetitions: 9_999)).segments[1].fields.count == 90)
    }

    @Test("segment sequence numbers stay right past the point where counting switches from a list to a table")
    func manyDistinctIDs() throws {
        let letters: [Character] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let headers: Set<String> = ["BHS", "BTS", "FHS", "FTS", "MSH"]
        var ids: [String] = []
        for n in 0..<3_000 {
            let id = String([letters[n / 676], letters[(n / 26) % 26], letters[n % 26]])
            if !headers.contains(id) { ids.append(id) }
        }
        let segments: String = ids.map { "\($0)|1\r" }.joined()
        let text: String = Self.header + segments + "AAB|2\r\nZZZ|1\r"
        do {
            _ = try HL7Message(parsing: Array(text.utf8))
            Issue.record("accepted")
        } catch {
            // The bare LF follows the second AAB segment: the location names it with its sequence number.
            #expect(error.code == "hl7.bare-line-feed")
            #expect(error.location == HL7Location(segment: "AAB", sequence: 2))
        }
        let message = try HL7Message(parsing: Array((Self.header + segments).utf8))
        #expect(message.segments.count == ids.count + 1)
    }
}
