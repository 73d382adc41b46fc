import CaduceusTestSupport
import Foundation
import Testing

@Suite("cda / ccd CLI")
struct DocumentCLITests {
    let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/testdata")

    @Test("cda inspect prints the header; a DTD is one coded line and exit 1")
    func inspect() throws {
        let ok = try CaduceusBinary.run(["cda", "inspect", shared.appendingPathComponent("ccda/Discharge_Summary.xml").path])
        #expect(ok.ok)
        let json = try #require(try JSONSerialization.jsonObject(with: ok.stdout) as? [String: Any])
        #expect(json["typeCode"] as? String == "18842-5")
        #expect(json["patientIds"] as? [String] == ["2.16.840.1.113883.19.5.99999.2^998991", "2.16.840.1.113883.4.1^111-00-2330"])
        let dir = try TemporaryDirectory()
        let bad = try dir.write("bad.xml", "<!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/hostname\">]><ClinicalDocument>&a;</ClinicalDocument>")
        let refused = try CaduceusBinary.run(["cda", "inspect", bad])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("cda.doctype-forbidden"))
        #expect(!refused.stderr.contains("Stack") && !refused.text.contains("ClinicalDocument"))
    }

    @Test("serve + hl7 send + ccd generate writes a CCD that xmllint validates against the CDA schema")
    func generate() throws {
        let dir = try TemporaryDirectory()
        let data = dir.url.appendingPathComponent("node").path
        let files = [try dir.write("adt.hl7", SampleHL7.adtA01), try dir.write("oru.hl7", SampleHL7.oruR01)]
        do {
            let server = try ServeProcess(data: data, domains: ["1.2.840.114350.1", "2.16.840.1.113883.4.1"])
            defer { server.kill9() }
            #expect(try CaduceusBinary.run(["hl7", "send", "--to", "127.0.0.1:\(server.port)"] + files).ok)
            #expect(server.terminate() == 0)
        }
        let out = dir.file("ccd.xml")
        let generated = try CaduceusBinary.run(["ccd", "generate", "--data", data, "--id", "4711", "--authority", "1.2.840.114350.1", "--out", out])
        #expect(generated.ok, "\(generated.stderr)")
        let lint = try ProcessRunner.run("/usr/bin/xmllint", ["--noout", "--nonet", "--schema", shared.appendingPathComponent("cda-schema/infrastructure/cda/CDA_SDTC.xsd").path, out])
        #expect(lint.ok, "\(lint.stderr.prefix(1000))")
        let text = String(decoding: try dir.read("ccd.xml"), as: UTF8.self)
        #expect(text.contains("Cholesterol") && text.contains("DOE"))
        let unknown = try CaduceusBinary.run(["ccd", "generate", "--data", data, "--id", "nobody", "--authority", "1.2.840.114350.1"])
        #expect(unknown.status == 1 && unknown.stderr.contains("exchange.unknown-patient"))
    }
}
