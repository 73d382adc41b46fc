import CaduceusCDA
import CaduceusTestSupport
import Foundation
import Testing

let schema = sharedTestData.appendingPathComponent("cda-schema/infrastructure/cda/CDA_SDTC.xsd").path

/// Validates with libxml2's `xmllint --schema` (a tool we did not write) and returns its verdict.
func xmllint(_ document: [UInt8]) throws -> ProcessRunner.Result {
    let dir = try TemporaryDirectory()
    let path = try dir.write("ccd.xml", Data(document))
    return try ProcessRunner.run("/usr/bin/xmllint", ["--noout", "--nonet", "--schema", schema, path])
}

func sampleContent() -> CCDContent {
    CCDContent(
        documentId: InstanceIdentifier(root: "2.25.1234567890", extension: "ccd-1"),
        effectiveTime: "20261123101500+0000",
        patientIds: [InstanceIdentifier(root: "2.16.840.1.113883.19.5", extension: "MRN-1001")],
        patient: CDAPatient(given: ["Alice", "Q"], family: "Synthetic", birthTime: "19800214", gender: "F"),
        author: (InstanceIdentifier(root: "2.25.99"), "Caduceus", "General Hospital A"),
        custodian: (InstanceIdentifier(root: "2.25.99"), "General Hospital A"),
        problems: [CCDContent.Problem(code: CodedValue(code: "44054006", codeSystem: "2.16.840.1.113883.6.96", displayName: "Diabetes mellitus type 2"), onset: "20150301")],
        medications: [CCDContent.Medication(code: CodedValue(code: "860975", codeSystem: "2.16.840.1.113883.6.88", displayName: "Metformin 500 MG Oral Tablet"), instructions: "1 tablet twice daily", start: "20150301")],
        allergies: [CCDContent.Allergy(substance: CodedValue(code: "7980", codeSystem: "2.16.840.1.113883.6.88", displayName: "Penicillin G"), reaction: "Hives", severity: "Moderate")],
        results: [
            CCDContent.Result(code: CodedValue(code: "4548-4", codeSystem: "2.16.840.1.113883.6.1", displayName: "Hemoglobin A1c"), value: "7.2", units: "%", numeric: true, observedAt: "20261120083000", status: "F"),
            CCDContent.Result(code: CodedValue(code: "5778-6", codeSystem: "2.16.840.1.113883.6.1", displayName: "Color of Urine"), value: "Yellow", units: "", numeric: false, observedAt: "20261120083000", status: "F"),
        ])
}

@Suite("CCD writer")
struct CCDWriterTests {
    @Test("a CCD with every section validates against the CDA schema and reads back into the same header")
    func full() throws {
        let bytes = try CCDWriter.write(sampleContent())
        let lint = try xmllint(bytes)
        #expect(lint.ok, "\(lint.stderr.prefix(2000))")
        let h = try CDAHeader.read(bytes)
        #expect(h.id.description == "2.25.1234567890^ccd-1")
        #expect(h.typeCode.code == "34133-9")
        #expect(h.patientIds.map(\.description) == ["2.16.840.1.113883.19.5^MRN-1001"])
        #expect(h.patient.unsafeValue == CDAPatient(given: ["Alice", "Q"], family: "Synthetic", birthTime: "19800214", gender: "F"))
        #expect(h.custodianName == "General Hospital A")
        #expect(h.serviceStart?.value == "20150301")
        let text = String(decoding: bytes, as: UTF8.self)
        for needle in ["Hemoglobin A1c", "Penicillin G", "Metformin", "Diabetes mellitus type 2", "value=\"7.2\" unit=\"%\""] {
            #expect(text.contains(needle), "\(needle)")
        }
    }

    @Test("a patient with no clinical data still gets a valid CCD (nullFlavor entries)")
    func empty() throws {
        var c = sampleContent()
        c.problems = []; c.medications = []; c.allergies = []; c.results = []
        c.patient.gender = ""
        c.patient.birthTime = ""
        let bytes = try CCDWriter.write(c)
        let lint = try xmllint(bytes)
        #expect(lint.ok, "\(lint.stderr.prefix(2000))")
    }

    @Test("markup, quotes and control characters in data are escaped or dropped, never break the document")
    func hostileText() throws {
        var c = sampleContent()
        c.patient.family = "O'Brien & <Sons> \"Ltd\"\u{0001}\u{FFFE}"
        c.results[1].value = "]]></value><script>&lt;"
        c.medications[0].instructions = "take\u{0000}\ttwice\r\n"
        c.results[0].units = "mg / dL"
        let bytes = try CCDWriter.write(c)
        let lint = try xmllint(bytes)
        #expect(lint.ok, "\(lint.stderr.prefix(2000))")
        let h = try CDAHeader.read(bytes)
        #expect(h.patient.unsafeValue.family == "O'Brien & <Sons> \"Ltd\"")
    }

    @Test("identifiers and codes that are not HL7 uids (namespace names, local code systems) become nullFlavors, and the CCD still validates")
    func nonUIDs() throws {
        var c = sampleContent()
        c.patientIds = [InstanceIdentifier(root: "GOOD HEALTH", extension: "4711"), InstanceIdentifier(root: "HOSPA", extension: "A-1")]
        c.problems[0].code = CodedValue(code: "X 1", codeSystem: "99LOCAL", displayName: "Local problem")
        c.results[0].code.codeSystem = "2.16.840.1.113883.06.1"
        let bytes = try CCDWriter.write(c)
        let lint = try xmllint(bytes)
        #expect(lint.ok, "\(lint.stderr.prefix(2000))")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("<id nullFlavor=\"UNK\" extension=\"4711\"/>"))
        #expect(text.contains("<id root=\"HOSPA\" extension=\"A-1\"/>"), "an RUID is a uid")
        #expect(text.contains("<originalText>Local problem</originalText>"))
    }

    @Test("content that cannot make a valid CCD is refused")
    func refused() {
        var c = sampleContent()
        c.patientIds = []
        #expect(throws: CDAError.self) { try CCDWriter.write(c) }
        c = sampleContent()
        c.effectiveTime = "now"
        #expect(throws: CDAError.self) { try CCDWriter.write(c) }
        c = sampleContent()
        c.confidentiality = "X"
        #expect(throws: CDAError.self) { try CCDWriter.write(c) }
    }

    @Test("xmllint accepts the HL7 examples and refuses a broken document (the oracle can fail)")
    func oracleSanity() throws {
        #expect(try xmllint(try example("CCD_1.xml")).ok)
        var bytes = try CCDWriter.write(sampleContent())
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "<title>Continuity of Care Document</title>", with: "<titel>x</titel>")
        bytes = Array(text.utf8)
        #expect(!(try xmllint(bytes)).ok)
    }
}
