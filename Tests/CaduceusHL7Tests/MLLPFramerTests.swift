import CaduceusHL7
import Testing

@Suite("MLLP framer (pure state machine)")
struct MLLPFramerTests {
    let a = Array("MSH|a\r".utf8)
    let b = Array("MSH|b\r".utf8)

    @Test("frames split at every byte boundary come out whole")
    func splitAnywhere() {
        let wire = MLLPFramer.frame(a) + MLLPFramer.frame(b)
        for cut in 0...wire.count {
            var framer = MLLPFramer()
            let events = framer.feed(wire[..<cut]) + framer.feed(wire[cut...])
            #expect(events == [.frame(a), .frame(b)], "cut at \(cut)")
            #expect(!framer.hasPartialFrame)
        }
    }

    @Test("junk between frames is reported and dropped; the next frame still arrives")
    func junk() {
        var framer = MLLPFramer()
        let events = framer.feed(Array("hello".utf8) + MLLPFramer.frame(a))
        #expect(events == [.junk(count: 5), .frame(a)])
    }

    @Test("a frame past the cap is discarded up to its end block, then reported with its head")
    func oversized() {
        var framer = MLLPFramer(maxFrameBytes: 64, headBytes: 8)
        let big = Array(repeating: UInt8(ascii: "x"), count: 500)
        var events = framer.feed([0x0B] + big.prefix(100))
        #expect(events.isEmpty)
        events = framer.feed(big.suffix(400) + [0x1C, 0x0D] + MLLPFramer.frame(a))
        #expect(events == [.oversized(head: Array(big.prefix(8))), .frame(a)])
    }

    @Test("a frame without end bytes followed by a new start block is reported truncated")
    func truncated() {
        var framer = MLLPFramer()
        #expect(framer.feed([0x0B] + a + MLLPFramer.frame(b)) == [.truncated(head: a), .frame(b)])
        #expect(framer.feed([0x0B] + a + [0x1C, 0x41]) == [.truncated(head: a)])
        #expect(framer.feed([0x0B] + a) == [.junk(count: 1)])  // the byte after the bad end block
        #expect(framer.finish() == [.truncated(head: a)])
    }
}

@Suite("ACK builder")
struct AcknowledgementTests {
    @Test("original mode: AA swaps sender and receiver, echoes MSH-10 in MSA-2, parses back")
    func accept() throws {
        let original = try HL7Message(parsing: SampleHL7Text.a01)
        let ack = HL7Acknowledgement.ack(for: HL7AckContext(original), outcome: .accepted, controlID: "ACK1", timestamp: "20260101120001")
        let parsed = try HL7Message(parsing: try ack.encoded())
        #expect(try parsed.msh.sendingApplication == HD(namespaceID: "CADUCEUS"))
        #expect(try parsed.msh.receivingApplication == HD(namespaceID: "EPIC"))
        #expect(try parsed.msh.messageCode == "ACK")
        #expect(try parsed.msh.triggerEvent == "A01")
        #expect(try parsed.view(MSASegment.self)?.acknowledgmentCode == "AA")
        #expect(try parsed.view(MSASegment.self)?.controlID == "M1")
        #expect(parsed.first("ERR") == nil)
    }

    @Test("errors: AE/AR with ERR-2 location, ERR-3 table 0357 code; enhanced mode answers CE/CR/CA")
    func errors() throws {
        let original = try HL7Message(parsing: SampleHL7Text.a01)
        let error = HL7Error(.unknownKey, "the assigning authority is not known", at: HL7Location(segment: "PID", field: 3, repetition: 1, component: 4))
        let ack = HL7Acknowledgement.ack(for: HL7AckContext(original), outcome: .error([error]), controlID: "ACK2", timestamp: "20260101120001")
        let parsed = try HL7Message(parsing: try ack.encoded())
        #expect(try parsed.view(MSASegment.self)?.acknowledgmentCode == "AE")
        let err = try #require(parsed.view(ERRSegment.self))
        #expect(try err.errorCode == "204")
        #expect(try err.location == HL7Location(segment: "PID", sequence: 1, field: 3, repetition: 1, component: 4))
        #expect(try err.severity == "E")
        let rejected = HL7Acknowledgement.ack(for: HL7AckContext(original), outcome: .rejected([HL7Error(.unsupportedVersion, "v")]), controlID: "A", timestamp: "1")
        #expect(try rejected.view(MSASegment.self)?.acknowledgmentCode == "AR")
        #expect(try rejected.view(ERRSegment.self)?.errorCode == "203")

        var enhanced = HL7AckContext(original)
        enhanced.enhancedMode = true
        for (outcome, code) in [(HL7Outcome.accepted, "CA"), (.error([error]), "CE"), (.rejected([error]), "CR")] {
            let ack = HL7Acknowledgement.ack(for: enhanced, outcome: outcome, controlID: "A", timestamp: "1")
            #expect(try ack.view(MSASegment.self)?.acknowledgmentCode == code)
        }
    }

    @Test("a message that cannot be parsed still gets an AR naming its control id when the header is readable")
    func salvage() throws {
        let broken = Array("MSH|^~\\&|EPIC|GH|CAD|H1|1||ADT^A01|CTRL9|P|2.5.1\rPID|1\u{0}".utf8)
        let context = HL7AckContext(salvaging: broken)
        #expect(context.controlID == "CTRL9")
        #expect(HL7AckContext(salvaging: Array("garbage".utf8)).controlID == "")
    }
}

enum SampleHL7Text {
    static let a01 = "MSH|^~\\&|EPIC|GH|CADUCEUS|H1|20260101||ADT^A01^ADT_A01|M1|P|2.5.1\rPID|1||4711^^^GH^MR||DOE^JANE\r"
}
