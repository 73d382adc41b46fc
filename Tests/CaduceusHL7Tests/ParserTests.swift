import CaduceusHL7
import CaduceusTestSupport
import Foundation
import Testing

@Suite("ER7 parser")
struct ParserTests {
    @Test("reads the tree: segments, repetitions, components, subcomponents, typed views")
    func readsTree() throws {
        let message = try HL7Message(parsing: SampleHL7.adtA01)
        #expect(message.segments.map(\.id) == ["MSH", "EVN", "PID", "PD1", "NK1", "PV1", "IN1"])
        #expect(try message.msh.controlID == "MSG00001")
        #expect(try message.msh.triggerEvent == "A01")
        #expect(try message.msh.versionID == "2.5.1")
        let pid = try #require(message.view(PIDSegment.self))
        let ids = try pid.identifiers
        #expect(ids.count == 2)
        #expect(ids[0] == CX(id: "4711", assigningAuthority: HD(namespaceID: "GOODH", universalID: "1.2.840.114350.1", universalIDType: "ISO"), identifierTypeCode: "MR"))
        #expect(try pid.names.map(\.family) == ["DOE", "SMITH"])
        #expect(try pid.names[0].nameTypeCode == "L")
        #expect(try pid.birthDate == "19800214")
        #expect(try pid.addresses.first?.city == "SPRINGFIELD")
        #expect(try pid.homePhones.first?.number == "1 217 5551234")
        let nk1 = try #require(message.view(NK1Segment.self))
        #expect(try nk1.contactRole?.identifier == "C")
        #expect(try nk1.relationship?.identifier == "SPO")
        let in1 = try #require(message.view(IN1Segment.self))
        #expect(try in1.policyNumber == "POL-12345")
        #expect(try in1.companyName == "ACME HEALTH INSURANCE")
        #expect(try message.view(PV1Segment.self)?.visitNumber?.id == "V0001")
        #expect(try message.view(PD1Segment.self)?.primaryCareProvider == "WELBY")
    }

    @Test("escapes decode: \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\, formatting commands dropped")
    func escapes() throws {
        let message = try HL7Message(parsing: SampleHL7.oruR01)
        let obx = message.views(OBXSegment.self)
        #expect(try obx[1].values == ["Fasting sample OK | no ^ issues \\ noted"])
        #expect(try obx[0].values == ["182"])
        #expect(try message.views(NTESegment.self)[0].comments == ["Specimen slightly hemolysed", "Repeat not required"])
        let d = HL7Delimiters.standard
        for (raw, value) in [("a\\T\\b", "a&b"), ("a\\R\\b", "a~b"), ("\\X0D0A\\", "\r\n"), ("x\\H\\bold\\N\\", "xbold"),
                             ("\\Zlocal\\ok", "ok"), (".\\.sp\\.", ".\n."), ("\\.in+4\\t", "t"), ("a\\.br\\b", "a\nb")] {
            #expect(try HL7Escaping.unescape(raw, delimiters: d, characterSet: .ascii) == value, "\(raw)")
        }
        for bad in ["open\\F", "\\X0\\", "\\XZZ\\", "\\Cxxyy\\", "\\Q\\", "\\X00\\", "\\.zz\\"] {
            #expect(throws: HL7Error.self, "\(bad)") { try HL7Escaping.unescape(bad, delimiters: d, characterSet: .ascii) }
        }
        #expect(HL7Escaping.escape("a|b^c~d\\e&f\rg\nh", delimiters: d) == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\X0D\\g\\X0A\\h")
    }

    @Test("delimiters are read from MSH-1/MSH-2, not assumed")
    func customDelimiters() throws {
        let text = "MSH#$*!%#A#B#C#D#20260101##ADT$A01#X1#P#2.5.1\rPID#1##4711$$$AUTH%1.2%ISO$MR*22$$$B##DOE$JANE\r"
        let message = try HL7Message(parsing: text)
        #expect(message.dialect.delimiters.field == UInt8(ascii: "#"))
        let pid = try #require(message.view(PIDSegment.self))
        #expect(try pid.identifiers.map(\.id) == ["4711", "22"])
        #expect(try pid.identifiers[0].assigningAuthority.universalID == "1.2")
        #expect(try pid.names.first?.given == "JANE")
        #expect(try message.encoded() == Array(text.utf8))
    }

    @Test("MSH-18 character sets: UTF-8 and 8859/1 decode and encode back to the same bytes")
    func characterSets() throws {
        let utf8 = try HL7Message(parsing: SampleHL7.adtA08UTF8)
        #expect(utf8.dialect.characterSet == .utf8)
        #expect(try utf8.view(PIDSegment.self)?.names.first?.family == "MÜLLER")
        #expect(try utf8.view(PIDSegment.self)?.addresses.first?.street == "12 ELM & OAK RD")
        var latin1 = Array("MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X|P|2.5.1||||||8859/1\rPID|1||1^^^A||M".utf8)
        latin1 += [0xDC, 0x4C, 0x4C, 0x45, 0x52, 0x0D]  // "ÜLLER" in ISO 8859-1
        let message = try HL7Message(parsing: latin1)
        #expect(message.dialect.characterSet == .latin1)
        #expect(try message.view(PIDSegment.self)?.names.first?.family == "MÜLLER")
        #expect(try message.encoded() == latin1)
    }

    @Test("batches: FHS/BHS/BTS/FTS group messages and check their counts")
    func batches() throws {
        let body = SampleHL7.adtA01 + SampleHL7.adtA40
        let file = "FHS|^~\\&|EPIC|GOODHEALTH\rBHS|^~\\&|EPIC|GOODHEALTH\r" + body + "BTS|2\rFTS|1\r"
        let batch = try HL7Batch(parsing: Array(file.utf8))
        #expect(batch.batches.count == 1)
        #expect(batch.messages.count == 2)
        #expect(try batch.messages[1].msh.triggerEvent == "A40")
        let wrongCount = "BHS|^~\\&|EPIC\r" + body + "BTS|3\r"
        #expect(throws: HL7Error(.badBatch, "")) { try HL7Batch(parsing: Array(wrongCount.utf8)) }
    }

    @Test("line endings: CR only by default; LF and CRLF only when tolerance is asked for")
    func lineEndings() throws {
        let crlf = SampleHL7.adtA01.replacingOccurrences(of: "\r", with: "\r\n")
        #expect(throws: HL7Error(.bareLineFeed, "")) { try HL7Message(parsing: crlf) }
        let tolerant = try HL7Message(parsing: crlf, options: .tolerant)
        #expect(tolerant.segments.count == 7)
        let lf = SampleHL7.adtA01.replacingOccurrences(of: "\r", with: "\n")
        #expect(try HL7Message(parsing: lf, options: .tolerant).segments.count == 7)
    }
}
