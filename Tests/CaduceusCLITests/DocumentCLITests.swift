import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing

@Suite("cda / ccd CLI")
struct DocumentCLITests {
    let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Fixtures/hl7")

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
        let files = [
            try dir.write("adt.hl7", SampleHL7.adtA01), try dir.write("oru.hl7", SampleHL7.oruR01),
            try dir.write("a08.hl7", SampleHL7.adtA08Clinical), try dir.write("rde.hl7", SampleHL7.rdeO11),
        ]
        do {
            let server = try ServeProcess(data: data, domains: ["1.2.840.114350.1", "2.16.840.1.113883.4.1"])
            defer { server.kill9() }
            let sent = try CaduceusBinary.run(["hl7", "send", "--to", "127.0.0.1:\(server.port)"] + files)
            #expect(sent.ok && sent.text.components(separatedBy: "MSA|AA|").count == 5, "\(sent.text)")
            #expect(server.terminate() == 0)
        }
        let out = dir.file("ccd.xml")
        let generated = try CaduceusBinary.run(["ccd", "generate", "--data", data, "--id", "4711", "--authority", "1.2.840.114350.1", "--out", out])
        #expect(generated.ok, "\(generated.stderr)")
        let lint = try ProcessRunner.run("/usr/bin/xmllint", ["--noout", "--nonet", "--schema", shared.appendingPathComponent("cda-schema/infrastructure/cda/CDA_SDTC.xsd").path, out])
        #expect(lint.ok, "\(lint.stderr.prefix(1000))")
        let text = String(decoding: try dir.read("ccd.xml"), as: UTF8.self)
        #expect(text.contains("Cholesterol") && text.contains("DOE"))
        // Problems and allergies from the A08, the medication from the RDE, coded with the systems' OIDs.
        for needle in ["code=\"E11.9\" codeSystem=\"2.16.840.1.113883.6.90\"", "code=\"38341003\" codeSystem=\"2.16.840.1.113883.6.96\"",
                       "code=\"7980\" codeSystem=\"2.16.840.1.113883.6.88\"", "Peanut", "Hives, Wheezing", "Severe",
                       "code=\"860975\" codeSystem=\"2.16.840.1.113883.6.88\"", "500 mg, Take with meals"] {
            #expect(text.contains(needle), "\(needle)")
        }
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

        // The patient's own card (CN = her id, OU = the assigning authority), issued by the node's CA.
        let issued = try CaduceusBinary.run(["pki", "issue", "--ca", data + "/pki/root", "--profile", "patient", "--name", "4711", "--authority", "1.2.840.114350.1", "--organization", "node.local", "--out", dir.file("patient")])
        #expect(issued.ok, "\(issued.stderr)")
        let herself = ["--node", node, "--trust", data + "/root.pem", "--cert", dir.file("patient.chain.pem"), "--key", dir.file("patient.key"), "--purpose", "PATRQT"]
        let patientArgs = ["--patient", "4711", "--authority", "1.2.840.114350.1"]
        let optOut = try CaduceusBinary.run(["doc", "consent", "deny"] + herself + patientArgs)
        #expect(optOut.ok, "\(optOut.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: optOut.stdout) as? [String: Any])
        let consentId = try #require((record["directive"] as? [String: Any])?["id"] as? String)
        // The physician's next requests follow it.
        #expect(!(try CaduceusBinary.run(["doc", "query"] + me + patientArgs)).text.contains(uid))
        let refused = try CaduceusBinary.run(["doc", "retrieve"] + me + ["--out", dir.file("r2"), uid])
        #expect(refused.status == 1 && refused.stderr.contains("consent.opt-out"), "\(refused.stderr)")
        // She revokes it; sharing returns; her list shows the revocation.
        #expect(try CaduceusBinary.run(["doc", "consent", "revoke"] + herself + patientArgs + ["--id", consentId]).ok)
        #expect(try CaduceusBinary.run(["doc", "query"] + me + patientArgs).text.contains(uid))
        let listed = try CaduceusBinary.run(["doc", "consent", "list"] + herself + patientArgs)
        #expect(listed.ok && listed.text.contains("revokedTime") && listed.text.contains(consentId))
        // Her access report: the physician's retrieve and refusal, her own consent changes; no name.
        let report = try CaduceusBinary.run(["doc", "access-report"] + herself + patientArgs)
        #expect(report.ok, "\(report.stderr)")
        #expect(report.text.contains("user.retrieve") && report.text.contains("consent.opt-out") && report.text.contains("user.consent"))
        #expect(!report.text.contains("DOE"))
        // Not for the physician, nor for another patient, nor with a staff purpose.
        #expect(try CaduceusBinary.run(["doc", "access-report"] + me + patientArgs).stderr.contains("exchange.forbidden"))
        #expect(try CaduceusBinary.run(["doc", "consent", "list"] + herself + ["--patient", "9999", "--authority", "1.2.840.114350.1"]).stderr.contains("exchange.forbidden"))
        #expect(try CaduceusBinary.run(["doc", "consent", "list"] + herself.dropLast(2) + patientArgs).stderr.contains("exchange.bad-request"))
        #expect(server.terminate() == 0)
    }
}

@Suite("Two serve processes from configuration")
struct FederationCLITests {
    @Test("a regional+global node and a hospital node, configured by file and environment with certificates from `caduceus pki`: HL7 in, identity forwarded, documents submitted, found and retrieved")
    func twoNodes() throws {
        let dir = try TemporaryDirectory()
        func run(_ args: [String]) throws {
            let r = try CaduceusBinary.run(args)
            #expect(r.ok, "\(args.prefix(3)): \(r.stderr)")
        }
        try run(["pki", "init-root", "--dir", dir.file("ca"), "--name", "Test Federation Root"])
        try run(["pki", "issue", "--ca", dir.file("ca"), "--profile", "node", "--name", "node.region", "--dns", "node.region.test", "--out", dir.file("region")])
        try run(["pki", "issue", "--ca", dir.file("ca"), "--profile", "node", "--name", "node.hosp", "--dns", "node.hosp.test", "--out", dir.file("hosp")])
        try run(["pki", "issue", "--ca", dir.file("ca"), "--profile", "person", "--name", "Dr Test (synthetic)", "--email", "dr@hosp.test", "--role", "physician", "--organization", "node.hosp", "--out", dir.file("dr")])
        try run(["pki", "crl", "--ca", dir.file("ca"), "--out", dir.file("ca.crl")])
        let rootPEM = dir.file("ca/ca.pem")
        let regionConfig = try dir.write("region.json", """
            {"node": {"id": "node.region", "roles": "regional,global"},
             "pki": {"hosted": "\(dir.file("ca"))"},
             "tls": {"certificate": "\(dir.file("region.chain.pem"))", "key": "\(dir.file("region.key"))", "trust": "\(rootPEM)"}}
            """)
        // Revocation is required: the region hosts the CA (and publishes its lists); the hospital is given the first
        // list with the trust anchor, and keeps it current from the federation.
        let region = try ServeProcess(arguments: ["--data", dir.file("region-data"), "--config", regionConfig, "--https", "127.0.0.1:0"])
        defer { region.kill9() }
        let regionURL = "https://127.0.0.1:\(region.httpsPort)"
        // The hospital is configured through the environment only.
        let hospitalCRLs = dir.file("hosp-crl")
        try FileManager.default.createDirectory(atPath: hospitalCRLs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir.file("ca.crl"), toPath: hospitalCRLs + "/root.crl")
        let hospital = try ServeProcess(
            arguments: ["--data", dir.file("hosp-data"), "--https", "127.0.0.1:0", "--mllp", "127.0.0.1:0", "--insecure-plain-mllp"],
            environment: [
                "NODE_ID": "node.hosp", "NODE_ROLES": "hospital", "FEDERATION_REGIONAL": "node.region", "FEDERATION_DIRECTORY": regionURL,
                "TLS_CERTIFICATE": dir.file("hosp.chain.pem"), "TLS_KEY": dir.file("hosp.key"), "TLS_TRUST": rootPEM, "TLS_CRLS": hospitalCRLs,
                "HL7_DOMAINS": "1.2.840.114350.1,2.16.840.1.113883.4.1",
            ])
        defer { hospital.kill9() }
        #expect(try CaduceusBinary.run(["hl7", "send", "--to", "127.0.0.1:\(hospital.port)", try dir.write("adt.hl7", SampleHL7.adtA01), try dir.write("oru.hl7", SampleHL7.oruR01)]).ok)
        let ccd = dir.file("ccd.xml")
        // Both processes have the hospital's database open; SQLite's WAL lets this reader in.
        #expect(try CaduceusBinary.run(["ccd", "generate", "--data", dir.file("hosp-data"), "--id", "4711", "--authority", "1.2.840.114350.1", "--out", ccd]).ok)
        let me = ["--node", "https://127.0.0.1:\(hospital.httpsPort)", "--trust", rootPEM, "--cert", dir.file("dr.chain.pem"), "--key", dir.file("dr.key")]
        // The identity reaches the regional MPI after the ACK; submit retries until it has.
        var submitted = try CaduceusBinary.run(["doc", "submit"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1", ccd])
        for _ in 0..<50 where !submitted.ok {
            Thread.sleep(forTimeInterval: 0.1)
            submitted = try CaduceusBinary.run(["doc", "submit"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1", ccd])
        }
        #expect(submitted.ok, "\(submitted.stderr)")
        let query = try CaduceusBinary.run(["doc", "query"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1"])
        #expect(query.ok && query.text.contains("node.hosp"), "\(query.stderr)")
        let entries = try #require(try JSONSerialization.jsonObject(with: query.stdout) as? [[String: Any]])
        let uid = try #require(entries.first?["uniqueId"] as? String)
        let retrieved = try CaduceusBinary.run(["doc", "retrieve"] + me + ["--out", dir.file("got"), uid])
        #expect(retrieved.ok && retrieved.text.contains("served by node.hosp"), "\(retrieved.stderr)")
        // Her card is revoked at the CA by another process while both nodes run: the region, which hosts the CA,
        // publishes the new list and pushes it to the hospital, which refuses her without a restart (bound generous:
        // the region looks at the CA every second).
        try run(["pki", "revoke", "--ca", dir.file("ca"), "--cert", dir.file("dr.chain.pem"), "--reason", "keyCompromise"])
        var after = try CaduceusBinary.run(["doc", "query"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1"])
        for _ in 0..<150 where after.ok {
            Thread.sleep(forTimeInterval: 0.1)
            after = try CaduceusBinary.run(["doc", "query"] + me + ["--patient", "4711", "--authority", "1.2.840.114350.1"])
        }
        // Refused at the handshake, or — when the handshake just preceded the pushed list — at the envelope gate.
        #expect(!after.ok && (after.stderr.contains("exchange.peer-unavailable") || after.stderr.contains("exchange.signer-rejected")), "the revoked card is refused: \(after.stderr)")
        let held = try FileManager.default.contentsOfDirectory(atPath: hospitalCRLs).filter { $0.hasSuffix(".crl") && $0 != "root.crl" }
        #expect(held.count == 1, "the hospital kept the pushed list for its next start: \(held)")
        // The regional node holds the index, not the document.
        #expect(region.terminate() == 0)
        #expect(hospital.terminate() == 0)
        // (Its blob store has its 256 empty fan-out folders, made at start, and no file in any of them.)
        let root = dir.file("region-data/blobs")
        let regionalBlobs = ((try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? []).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        #expect(regionalBlobs.isEmpty, "\(regionalBlobs)")
    }
}

@Suite("serve + staff / card CLI")
struct CardCLITests {
    @Test("staff import and list (CSV), card enrol, four-eyes approve, issue to files (PKCS#12 read by openssl, 0600), block, status; the patient card's emergency data set verifies offline and fails when altered")
    func cardStation() throws {
        let dir = try TemporaryDirectory()
        let data = dir.url.appendingPathComponent("node").path
        let server = try ServeProcess(data: data, domains: ["1.2.840.114350.1"])
        defer { server.kill9() }
        #expect(try CaduceusBinary.run(["hl7", "send", "--to", "127.0.0.1:\(server.port)", try dir.write("a08.hl7", SampleHL7.adtA08Clinical)]).ok)
        // Two administrators (card officer and approver), issued by the node's local CA.
        var admins: [[String]] = []
        for name in ["officer", "approver"] {
            let issued = try CaduceusBinary.run(["pki", "issue", "--ca", data + "/pki/root", "--profile", "person", "--name", "Admin \(name) (synthetic)", "--email", "\(name)@local.test", "--role", "administrative", "--organization", "node.local", "--out", dir.file(name)])
            #expect(issued.ok, "\(issued.stderr)")
            admins.append(["--node", "https://127.0.0.1:\(server.httpsPort)", "--trust", data + "/root.pem", "--cert", dir.file("\(name).chain.pem"), "--key", dir.file("\(name).key"), "--purpose", "HOPERAT"])
        }
        let (officer, approver) = (admins[0], admins[1])
        let csv = try dir.write("hr.csv", "Employee ID,Last Name,First Name,Department,Role,Email,Status\r\nE7,=Berg,Ola,ICU,nurse,ola@local.test,Active\r\n")
        let imported = try CaduceusBinary.run(["staff", "import"] + officer + [csv])
        #expect(imported.ok && imported.text.contains("\"added\" : 1"), "\(imported.text) \(imported.stderr)")
        let listed = try CaduceusBinary.run(["staff", "list", "--csv"] + officer)
        #expect(listed.ok && listed.text.contains("E7,'=Berg,Ola,ICU,nurse,ola@local.test,Active"), "a formula-like cell comes back guarded: \(listed.text)")
        let badRole = try CaduceusBinary.run(["staff", "import"] + officer + [try dir.write("bad.csv", "id,family,given,role\nE8,X,Y,wizard\n")])
        #expect(badRole.status == 1 && badRole.stderr.contains("exchange.bad-request") && badRole.stderr.contains("row 2") && !badRole.stderr.contains("wizard"))

        func cardId(_ r: ProcessRunner.Result) throws -> String {
            let json = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
            return try #require((json["card"] as? [String: Any])?["id"] as? String ?? json["id"] as? String)
        }
        let enrolled = try CaduceusBinary.run(["card", "enroll"] + officer + ["--staff", "E7", "--role", "nurse"])
        #expect(enrolled.ok, "\(enrolled.stderr)")
        let id = try cardId(enrolled)
        #expect(try CaduceusBinary.run(["card", "approve"] + officer + [id]).stderr.contains("exchange.forbidden"), "four eyes")
        #expect(try CaduceusBinary.run(["card", "approve"] + approver + [id]).ok)
        #expect(try CaduceusBinary.run(["card", "issue"] + officer + [id]).stderr.contains("cli.usage"), "issue needs --out")
        let issued = try CaduceusBinary.run(["card", "issue"] + officer + [id, "--out", dir.file("cards")])
        #expect(issued.ok && !issued.text.contains("password"), "\(issued.stderr)")
        let p12 = dir.file("cards/\(id).p12"), password = dir.file("cards/\(id).password")
        #expect((try FileManager.default.attributesOfItem(atPath: p12)[.posixPermissions] as? Int) == 0o600)
        let opened = try ProcessRunner.openssl(["pkcs12", "-in", p12, "-passin", "file:" + password, "-nokeys", "-clcerts"])
        #expect(opened.ok && opened.text.contains("BEGIN CERTIFICATE") && opened.text.contains("Berg"), "\(opened.stderr)")
        #expect(try CaduceusBinary.run(["card", "block"] + officer + [id]).ok)
        let status = try CaduceusBinary.run(["card", "status"] + officer + ["--card", id])
        #expect(status.ok && status.text.contains("\"status\" : \"blocked\""), "\(status.text)")

        // The patient's card and its emergency data set.
        let patient = try CaduceusBinary.run(["card", "enroll"] + officer + ["--patient", "4711", "--authority", "1.2.840.114350.1"])
        let pid = try cardId(patient)
        #expect(try CaduceusBinary.run(["card", "approve"] + approver + [pid]).ok)
        #expect(try CaduceusBinary.run(["card", "issue"] + officer + [pid, "--out", dir.file("cards")]).ok)
        let eds = dir.file("cards/\(pid).emergency.p7s")
        let verified = try CaduceusBinary.run(["card", "verify-emergency", "--trust", data + "/root.pem", eds])
        #expect(verified.ok && verified.text.contains("Penicillin G") && verified.text.contains("Peanut"), "\(verified.stderr)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: eds))
        let at = try #require(bytes.firstRange(of: Data("Peanut".utf8)))
        bytes[at.lowerBound] = UInt8(ascii: "B")
        try bytes.write(to: URL(fileURLWithPath: dir.file("tampered.p7s")))
        let tampered = try CaduceusBinary.run(["card", "verify-emergency", "--trust", data + "/root.pem", dir.file("tampered.p7s")])
        #expect(tampered.status == 1 && tampered.stderr.contains("cms.") && !tampered.text.contains("Penicillin"), "\(tampered.stderr)")
        #expect(server.terminate() == 0)
    }
}
