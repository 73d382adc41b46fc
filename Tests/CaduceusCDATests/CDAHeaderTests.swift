import CaduceusCDA
import CaduceusTestSupport
import Foundation
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
/// HL7's C-CDA examples and CDA schema, vendored under Tests/Fixtures/hl7 (see SOURCE.md there) so a clean clone has
/// them; `fixturesMatchShared` checks they are the files of ../shared/testdata when that exists.
let sharedTestData = repositoryRoot.appendingPathComponent("Tests/Fixtures/hl7")

func example(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: sharedTestData.appendingPathComponent("ccda/\(name)")))
}

/// Values read by hand from the HL7 C-CDA example files.
struct Expected: Sendable, CustomTestStringConvertible {
    var file: String
    var id: String
    var type: String
    var cls: String
    var title: String
    var effective: String
    var patientIds: [String]
    var given: [String]
    var family: String
    var birth: String
    var gender: String
    var author: String
    var authorId: String
    var custodian: String
    var parent: String?
    var testDescription: String { file }
}

let expectations: [Expected] = [
    Expected(file: "CCD_1.xml", id: "2.16.840.1.113883.19.5.99999.1^TT988", type: "34133-9", cls: "Summary", title: "Patient Chart Summary", effective: "201308151030-0800",
             patientIds: ["2.16.840.1.113883.4.1^444222222"], given: ["Eve"], family: "Betterhalf", birth: "19750501", gender: "F",
             author: "Patricia Patty Primary M.D.", authorId: "2.16.840.1.113883.4.6^5555555555", custodian: "Good Health HIE"),
    Expected(file: "Care_Plan.xml", id: "db734647-fc99-424c-a864-7e3cda82e703", type: "52521-2", cls: "Plan", title: "Good Health Hospital Care Plan", effective: "201308201120-0800",
             patientIds: ["2.16.840.1.113883.4.1^444222222"], given: ["Eve"], family: "Betterhalf", birth: "19750501", gender: "F",
             author: "Nurse Nightingale RN", authorId: "20cf14fb-b65c-4c8c-a54d-b0cca834c18c", custodian: "Good Health HIE", parent: "RPLC 223769be-f6ee-4b04-a0ce-b56ae998c880"),
    Expected(file: "Consultation_Note.xml", id: "2.16.840.1.113883.19.5.99999.1^TT988", type: "11488-4", cls: "Note", title: "Community Health Consult Note", effective: "201308010500-0800",
             patientIds: ["2.16.840.1.113883.4.1^444-22-2222"], given: ["Eve"], family: "Betterhalf", birth: "19750501", gender: "F",
             author: "Patricia Patty Primary M.D.", authorId: "2.16.840.1.113883.4.6^555555555", custodian: "Good Health HIE"),
    Expected(file: "Diagnostic_Imaging_Report.xml", id: "2.16.840.1.113883.19.4.27^20060828170821659", type: "18748-4", cls: "Report", title: "Chest X-Ray, PA and LAT View", effective: "20050329171504-0500",
             patientIds: ["2.16.840.1.113883.19.5^12345"], given: ["Adam"], family: "Everyman", birth: "19541125", gender: "M",
             author: "Henry Seven", authorId: "2.16.840.1.113883.4.6^KP00017", custodian: "Good Health Clinic", parent: "XFRM 1.2.840.113619.2.62.994044785528.20060823.200608232232322.9"),
    Expected(file: "Discharge_Summary.xml", id: "2.16.840.1.113883.19.5.99999.1^TT988", type: "18842-5", cls: "Summary", title: "Community Health and Hospitals: Discharge Summary", effective: "201409171904-0500",
             patientIds: ["2.16.840.1.113883.19.5.99999.2^998991", "2.16.840.1.113883.4.1^111-00-2330"], given: ["Isabella"], family: "Jones", birth: "20050501", gender: "F",
             author: "Henry Seven", authorId: "2.16.840.1.113883.4.6^99999999", custodian: "Community Health and Hospitals"),
    Expected(file: "History_and_Physical.xml", id: "2.16.840.1.113883.19.5.99999.1^TT988", type: "34117-2", cls: "Note", title: "Community Health and Hospitals: History & Physical", effective: "201209161905-0400",
             patientIds: ["2.16.840.1.113883.19.5.99999.2^998991", "2.16.840.1.113883.4.1^111-00-2330"], given: ["Isabella", "Isa"], family: "Jones", birth: "20050501", gender: "F",
             author: "Henry Seven", authorId: "2.16.840.1.113883.4.6^99999999", custodian: "Community Health and Hospitals"),
    Expected(file: "Operative_Note.xml", id: "2.16.840.1.113883.19.5.99999.1^TT988", type: "11504-8", cls: "Note", title: "Community Health and Hospitals: Operative Note", effective: "201209161910-0400",
             patientIds: ["2.16.840.1.113883.19.5.99999.2^998991", "2.16.840.1.113883.4.1^111-00-2330"], given: ["Isabella", "Isa"], family: "Jones", birth: "20050501", gender: "F",
             author: "Henry Seven", authorId: "2.16.840.1.113883.4.6^99999999", custodian: "Community Health and Hospitals"),
    Expected(file: "Procedure_Note.xml", id: "2.16.840.1.113883.19.5.99999.1^TT988", type: "28570-0", cls: "Note", title: "Community Health and Hospitals: Procedure Note", effective: "201209161911-0400",
             patientIds: ["2.16.840.1.113883.19.5.99999.2^998991", "2.16.840.1.113883.4.1^111-00-2330"], given: ["Isabella"], family: "Jones", birth: "20050501", gender: "F",
             author: "Henry Seven", authorId: "2.16.840.1.113883.4.6^99999999", custodian: "Community Health and Hospitals"),
]

@Suite("CDA header → registry metadata")
struct CDAHeaderTests {
    @Test("the vendored fixtures are byte for byte the shared test data (when ../shared is present)")
    func fixturesMatchShared() throws {
        let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata")
        let ours = try FileManager.default.contentsOfDirectory(atPath: sharedTestData.appendingPathComponent("ccda").path).sorted()
        #expect(ours.count == 8)
        guard FileManager.default.fileExists(atPath: shared.path) else { return }
        let theirs = try FileManager.default.contentsOfDirectory(atPath: shared.appendingPathComponent("ccda").path).sorted()
        #expect(ours == theirs)
        for name in theirs {
            #expect(try Data(contentsOf: shared.appendingPathComponent("ccda/" + name)) == (try Data(contentsOf: sharedTestData.appendingPathComponent("ccda/" + name))))
        }
        let xsd = "cda-schema/infrastructure/cda/CDA_SDTC.xsd"
        #expect(try Data(contentsOf: shared.appendingPathComponent(xsd)) == (try Data(contentsOf: sharedTestData.appendingPathComponent(xsd))))
    }

    @Test("every HL7 C-CDA example is read into the metadata written in it", arguments: expectations)
    func examples(e: Expected) throws {
        let h = try CDAHeader.read(try example(e.file))
        #expect(h.id.description == e.id)
        #expect(h.typeCode.code == e.type && h.typeCode.codeSystem == "2.16.840.1.113883.6.1")
        #expect(h.classCode.code == e.cls)
        #expect(h.title == e.title)
        #expect(h.effectiveTime.value == e.effective)
        #expect(h.confidentiality.code == "N" && h.confidentiality.codeSystem == "2.16.840.1.113883.5.25")
        #expect(h.languageCode == "en-US")
        #expect(h.patientIds.map(\.description) == e.patientIds)
        #expect(h.patient.unsafeValue == CDAPatient(given: e.given, family: e.family, birthTime: e.birth, gender: e.gender))
        #expect(h.authors.first?.person == e.author)
        #expect(h.authors.first?.ids.first?.description == e.authorId)
        #expect(h.custodianName == e.custodian)
        #expect(h.parent.map { "\($0.relation) \($0.id)" } == e.parent)
        #expect(!h.templateIds.isEmpty)
    }

    @Test("effective times are instants: offsets applied, partial precision allowed")
    func timestamps() throws {
        let t = try #require(HL7Timestamp("201308151030-0800"))
        #expect(t.date == Date(timeIntervalSince1970: 1_376_591_400))  // 2013-08-15T18:30:00Z
        #expect(HL7Timestamp("20130815")?.date == Date(timeIntervalSince1970: 1_376_524_800))
        #expect(HL7Timestamp("2013")?.date == Date(timeIntervalSince1970: 1_356_998_400))
        #expect(HL7Timestamp("20131315") == nil)
        #expect(HL7Timestamp("2013081") == nil)
        #expect(HL7Timestamp("201308151030+08") == nil)
        #expect(HL7Timestamp("20130815103000.1234+0130")?.date == Date(timeIntervalSince1970: 1_376_557_200))
    }

    @Test("documents of many megabytes are read (the header and the whole tree)")
    func largeDocument() throws {
        var text = String(decoding: try example("CCD_1.xml"), as: UTF8.self)
        let filler = "<paragraph>" + String(repeating: "Synthetic narrative line for size. ", count: 30) + "</paragraph>\n"
        let big = String(repeating: filler, count: 25_000)  // about 27 MB
        let marker = "<text>"
        let at = try #require(text.range(of: marker))
        text.insert(contentsOf: big, at: at.upperBound)
        let bytes = Array(text.utf8)
        #expect(bytes.count > 20_000_000)
        let h = try CDAHeader.read(bytes)
        #expect(h.id.description == "2.16.840.1.113883.19.5.99999.1^TT988")
        #expect(throws: CDAError.self) { try CDAHeader.read(bytes, limits: XML.Limits(maxBytes: 10 << 20)) }
    }

    @Test("the header alone (up to the body) reads the same metadata as the whole document, for every HL7 example", arguments: expectations)
    func headerOnly(e: Expected) throws {
        let bytes = try example(e.file)
        let whole = try CDAHeader.read(bytes), header = try CDAHeader.readHeader(bytes)
        #expect(header.id == whole.id && header.typeCode == whole.typeCode && header.classCode == whole.classCode)
        #expect(header.title == whole.title && header.effectiveTime.value == whole.effectiveTime.value)
        #expect(header.patientIds == whole.patientIds && header.templateIds == whole.templateIds)
        #expect(header.authors.map(\.person) == whole.authors.map(\.person) && header.custodianName == whole.custodianName)
        #expect(header.confidentiality == whole.confidentiality && header.parent.map { "\($0.relation) \($0.id)" } == whole.parent.map { "\($0.relation) \($0.id)" })
    }

    @Test("the header alone stops at the body: what the body holds is not read, what the header holds is checked as before")
    func headerOnlyStops() throws {
        let ccd = String(decoding: try example("CCD_1.xml"), as: UTF8.self)
        let body = try #require(ccd.range(of: "<component>"))
        // A body that is not well-formed XML is not read (the whole-document reader refuses it).
        var broken = ccd
        broken.insert(contentsOf: "<broken attr=\"1\" attr=\"2\"><<", at: ccd.index(body.upperBound, offsetBy: 0))
        #expect(throws: CDAError.self) { try CDAHeader.read(Array(broken.utf8)) }
        #expect(try CDAHeader.readHeader(Array(broken.utf8)).id.description == "2.16.840.1.113883.19.5.99999.1^TT988")
        // The header is still held to every rule: a malformed header or a missing id is refused.
        #expect(throws: CDAError.self) { try CDAHeader.readHeader(Array(ccd.replacingOccurrences(of: "<title>", with: "<title a=\"1\" a=\"2\">").utf8)) }
        let noId = ccd.replacingOccurrences(of: "<id extension=\"TT988\" root=\"2.16.840.1.113883.19.5.99999.1\" />", with: "")
        #expect(throws: CDAError.self) { try CDAHeader.readHeader(Array(noId.utf8)) }
        // A `component` in another namespace is not the body; nor is one deeper than the root's children.
        let other = ccd.replacingOccurrences(of: "<title>", with: "<x:component xmlns:x=\"urn:other\"/><title>")
        #expect(try CDAHeader.readHeader(Array(other.utf8)).title == "Patient Chart Summary")
        // A document with no body at all reads whole.
        let root = XML.Name(hl7v3Namespace, "component")
        let tree = try XML.parsePrefix(Array("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"1\"/></ClinicalDocument>".utf8), stoppingAt: root)
        #expect(tree.children.count == 1)
        // Declarations made on the body element do not leak onto the root's attributes.
        let scoped = try XML.parsePrefix(Array("<r xmlns=\"urn:hl7-org:v3\" xmlns:p=\"urn:one\" p:a=\"1\"><component xmlns:p=\"urn:two\"/></r>".utf8), stoppingAt: root)
        #expect(scoped.attribute("a", namespace: "urn:one") == "1")
    }

    @Test("not CDA, or a header without what the registry needs")
    func refusals() throws {
        func code(_ s: String) -> String? {
            do { _ = try CDAHeader.read(Array(s.utf8)); return nil } catch { return error.code }
        }
        #expect(code("<ClinicalDocument/>") == "cda.not-cda")
        #expect(code("<x xmlns=\"urn:hl7-org:v3\"/>") == "cda.not-cda")
        let ccd = String(decoding: try example("CCD_1.xml"), as: UTF8.self)
        #expect(code(ccd.replacingOccurrences(of: "<id extension=\"TT988\" root=\"2.16.840.1.113883.19.5.99999.1\" />", with: "")) == "cda.missing-header")
        #expect(code(ccd.replacingOccurrences(of: "<effectiveTime value=\"201308151030-0800\" />", with: "<effectiveTime value=\"yesterday\" />")) == "cda.missing-header")
        #expect(code(ccd.replacingOccurrences(of: "<id extension=\"444222222\" root=\"2.16.840.1.113883.4.1\" />", with: "")) == "cda.missing-header")
    }
}
