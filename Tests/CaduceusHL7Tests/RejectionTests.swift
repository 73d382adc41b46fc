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
