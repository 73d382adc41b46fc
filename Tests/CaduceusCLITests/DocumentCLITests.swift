import CaduceusPKI
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

@Suite("serve + doc CLI")
struct DocCLITests {
    @Test("a first serve makes a local PKI and plays every role; doc submit, query, patients, retrieve through it with the admin card")
    func allInOne() throws {
        let dir = try TemporaryDirectory()
        let data = dir.url.appendingPathComponent("node").path
        let server = try ServeProcess(data: data, domains: ["1.2.840.114350.1", "2.16.840.1.113883.4.1"])
        defer { server.kill9() }
        #expect(try CaduceusBinary.run(["hl7", "send", "--to", "127.0.0.1:\(server.port)", try dir.write("adt.hl7", SampleHL7.adtA01), try dir.write("oru.hl7", SampleHL7.oruR01)]).ok)
        let ccdPath = dir.file("ccd.xml")
        #expect(try CaduceusBinary.run(["ccd", "generate", "--data", data, "--id", "4711", "--authority", "1.2.840.114350.1", "--out", ccdPath]).ok)
        let node = "https://127.0.0.1:\(server.httpsPort)"
        let me = ["--node", node, "--trust", data + "/root.pem", "--p12", data + "/users/admin.p12", "--password-file", data + "/users/admin.password"]
        let submitted = try CaduceusBinary.run(["doc", "submit"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1", ccdPath])
        #expect(submitted.ok, "\(submitted.stderr)")
        let entries = try #require(try JSONSerialization.jsonObject(with: submitted.stdout) as? [[String: Any]])
        let uid = try #require(entries.first?["uniqueId"] as? String)

        let query = try CaduceusBinary.run(["doc", "query"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1", "--class", "Summary"])
        #expect(query.ok, "\(query.stderr)")
        #expect(query.text.contains(uid))
        let unknown = try CaduceusBinary.run(["doc", "query"] + me + ["--patient", "555-44-3333", "--authority", "2.16.840.1.113883.4.1"])
        #expect(unknown.status == 1 && unknown.stderr.contains("exchange.unknown-patient"))
        let none = try CaduceusBinary.run(["doc", "query"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1", "--class", "Report"])
        #expect(none.ok && !none.text.contains(uid))
        let patients = try CaduceusBinary.run(["doc", "patients"] + me + ["--family", "DOE", "--birth-date", "19800214"])
        #expect(patients.ok && patients.text.contains("4711"))

        let out = dir.file("retrieved")
        let retrieved = try CaduceusBinary.run(["doc", "retrieve"] + me + ["--out", out, uid])
        #expect(retrieved.ok, "\(retrieved.stderr)")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: out).first)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/" + file)) == (try Data(contentsOf: URL(fileURLWithPath: ccdPath))))

        // Refusals are one coded line and exit 1: another patient's document, an untrusted node, the same id again.
        let wrong = try CaduceusBinary.run(["doc", "submit"] + me + ["--patient", "9999", "--authority", "1.2.840.114350.1", ccdPath])
        #expect(wrong.status == 1 && wrong.stderr.contains("documents.patient-mismatch"))
        let again = try CaduceusBinary.run(["doc", "submit"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1", ccdPath])
        #expect(again.status == 1 && again.stderr.contains("documents.duplicate-unique-id"))
        let other = try TestPKI()
        let otherRoot = try dir.write("other-root.pem", try PEM.encode([other.root.certificate]))
        let foreign = try CaduceusBinary.run(["doc", "query", "--node", node, "--trust", otherRoot, "--p12", data + "/users/admin.p12", "--password-file", data + "/users/admin.password", "--id", uid])
        #expect(foreign.status == 1 && foreign.stderr.contains("exchange.peer-unavailable"))
        #expect(server.terminate() == 0)
    }
}
