import CaduceusExchange
import CaduceusTestSupport
import Foundation
import Testing

@Suite("audit CLI")
struct AuditCLITests {
    @Test("after the demo every node's log verifies; the patient's report lists who did what; a changed byte is found and named")
    func demoTrail() throws {
        let dir = try TemporaryDirectory()
        let base = dir.file("demo")
        let demo = try CaduceusBinary.run(["demo", "--dir", base])
        #expect(demo.ok, "\(demo.stderr)")
        let nodeA = base + "/federation/nodes/node.hospital-a"
        let verify = try CaduceusBinary.run(["audit", "verify", "--data", nodeA])
        #expect(verify.ok && verify.text.contains("audit log intact") && verify.text.contains("checkpoints matched"), "\(verify.stderr)")
        let report = try CaduceusBinary.run(["audit", "report", "--data", nodeA, "--patient", "A-10042^^^&2.16.840.1.113883.19.5.1&ISO"])
        #expect(report.ok, "\(report.stderr)")
        #expect(report.text.contains("Dr clinician.hospital-a (synthetic)") && report.text.contains("user.submit"))
        #expect(!report.text.contains("QUILLFEATHER") && !report.text.contains("19710312"))
        let query = try CaduceusBinary.run(["audit", "query", "--data", base + "/federation/nodes/node.region-north", "--event", "110112"])
        #expect(query.ok && query.text.contains("registry.query"))

        // Walking the demo's trail: every operation of the exchange left its event at some node, as did the HL7
        // feed, the consent changes and the break-glass override; no event names the patient or her birth date.
        var types = Set<String>()
        var emergencyReads = 0
        for node in ["node.global", "node.region-north", "node.hospital-a", "node.hospital-b"] {
            let all = try CaduceusBinary.run(["audit", "query", "--data", base + "/federation/nodes/" + node, "--limit", "100000"])
            #expect(all.ok, "\(all.stderr)")
            #expect(!all.text.contains(DemoFacts.family) && !all.text.contains(DemoFacts.birthDate) && !all.text.contains(DemoFacts.mrnA))
            for line in all.text.split(separator: "\n") {
                let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let event = try #require(row["event"] as? [String: Any])
                let codes = (event["eventTypes"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
                types.formUnion(codes)
                if event["emergency"] as? Bool == true, codes.contains("user.retrieve"), event["outcome"] as? Int == 0 { emergencyReads += 1 }
            }
        }
        let missing = Set(ExchangeOperation.allCases.map(\.rawValue)).subtracting(types)
        #expect(missing.isEmpty, "operations without an audit event in the demo: \(missing.sorted())")
        #expect(types.isSuperset(of: ["ADT^A04", "ORU^R01", "110127", "110138", "110135"]))
        #expect(emergencyReads == 1, "the break-glass retrieve is marked as an emergency override")
        #expect(!demo.text.contains(DemoFacts.family) && !demo.stderr.contains(DemoFacts.birthDate))

        // The break-glass review queue at hospital B: the demo's privacy officer reviewed the entry through the API;
        // on the node, the CLI shows it with the reason, and an operator's review there is audited too.
        let nodeB = base + "/federation/nodes/node.hospital-b"
        #expect(try CaduceusBinary.run(["audit", "emergencies", "--data", nodeB]).stdout.isEmpty, "nothing awaits review")
        let all = try CaduceusBinary.run(["audit", "emergencies", "--data", nodeB, "--all"])
        #expect(all.ok && all.text.split(separator: "\n").count == 1 && all.text.contains("emergency department") && all.text.contains("Officer privacy.hospital-b (synthetic)"), "\(all.text)")
        let entry = try #require(try JSONSerialization.jsonObject(with: all.stdout) as? [String: Any])
        let jti = try #require(entry["id"] as? String)
        #expect(try CaduceusBinary.run(["audit", "review", jti, "--data", nodeB]).status != 0, "a review needs a reviewer and a finding")
        #expect(try CaduceusBinary.run(["audit", "review", "no-such-id", "--data", nodeB, "--reviewer", "privacy.officer", "--note", "x"]).stderr.contains("audit.not-found"))
        let review = try CaduceusBinary.run(["audit", "review", jti, "--data", nodeB, "--reviewer", "privacy.officer", "--note", "confirmed", "--node", "node.hospital-b"])
        #expect(review.ok, "\(review.stderr)")
        #expect(try CaduceusBinary.run(["audit", "emergencies", "--data", nodeB, "--all"]).text.contains("\"reviewer\":\"privacy.officer\""))
        #expect(try CaduceusBinary.run(["audit", "query", "--data", nodeB, "--user", "privacy.officer"]).text.contains("emergency.review"))
        #expect(try CaduceusBinary.run(["audit", "verify", "--data", nodeB]).ok)

        // A checkpoint kept off the node, then an administrator edits a row with sqlite3 (Python's, not ours).
        let held = try dir.write("held.json", try CaduceusBinary.run(["audit", "checkpoint", "--data", nodeA, "--node", "node.hospital-a"]).stdout)
        let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
        let edit = try ProcessRunner.run(python, ["-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            body = bytearray(db.execute("SELECT body FROM audit_log WHERE seq = 2").fetchone()[0])
            body[5] ^= 1
            db.execute("UPDATE audit_log SET body = ? WHERE seq = 2", (bytes(body),))
            db.commit()
            """, nodeA + "/caduceus.sqlite"])
        #expect(edit.ok, "\(edit.stderr)")
        let tampered = try CaduceusBinary.run(["audit", "verify", "--data", nodeA, "--held", held])
        #expect(tampered.status == 1 && tampered.stderr.contains("audit.hash-mismatch") && tampered.stderr.contains("record 2"))
    }
}

extension AuditCLITests {
    @Test("caduceus pki keeps a hash-chained audit log per CA: creation, issuance, revocation, CRLs; verify finds an edited record")
    func caAuditLog() throws {
        let dir = try TemporaryDirectory()
        func run(_ args: [String]) throws -> ProcessRunner.Result {
            let r = try CaduceusBinary.run(args)
            #expect(r.ok, "\(args.prefix(3)): \(r.stderr)")
            return r
        }
        let root = dir.file("root"), ca = dir.file("hospital")
        _ = try run(["pki", "init-root", "--dir", root, "--name", "Audit Test Root"])
        _ = try run(["pki", "init-ca", "--dir", ca, "--parent", root, "--name", "Audit Test Hospital CA", "--ns-organization", "node.audit-test", "--ns-authority", "1.2.3.4", "--ns-role", "nurse"])
        _ = try run(["pki", "issue", "--ca", ca, "--profile", "patient", "--name", "MRN-314159", "--authority", "1.2.3.4", "--out", dir.file("patient")])
        let issued = try run(["pki", "issue", "--ca", ca, "--profile", "person", "--name", "Dr Audit (synthetic)", "--email", "a@h.test", "--role", "nurse", "--out", dir.file("nurse")])
        let systemRole = try CaduceusBinary.run(["pki", "issue", "--ca", ca, "--profile", "person", "--name", "EMR", "--email", "e@h.test", "--role", "system:interface", "--out", dir.file("emr")])
        #expect(systemRole.status != 0 && systemRole.stderr.contains("system:"), "a system role is not a person's (and nothing is issued or logged)")
        _ = try run(["pki", "revoke", "--ca", ca, "--cert", dir.file("nurse.pem"), "--reason", "keyCompromise"])
        _ = try run(["pki", "crl", "--ca", ca, "--out", dir.file("ca.crl")])

        let verified = try run(["audit", "verify", "--file", ca + "/audit.log"])
        #expect(verified.text.contains("intact: 5 records"), "\(verified.text)")
        #expect(try run(["audit", "verify", "--file", root + "/audit.log"]).text.contains("intact: 2 records"))
        let lines = try String(contentsOfFile: ca + "/audit.log", encoding: .utf8).split(separator: "\n")
        let bodies = try lines.map { line -> String in
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return String(decoding: Data(base64Encoded: try #require(json["body"] as? String)) ?? Data(), as: UTF8.self)
        }
        #expect(bodies.map { $0.contains("pki.init-ca") || $0.contains("pki.issue") || $0.contains("pki.revoke") || $0.contains("pki.crl") } == [true, true, true, true, true])
        let serial = try #require(issued.text.split(separator: " ").first { $0.count > 16 && $0.allSatisfy(\.isHexDigit) })
        #expect(bodies[3].contains(String(serial)) && bodies[3].contains("keyCompromise"), "the revocation names the serial and the reason")
        #expect(!bodies.joined().contains("MRN-314159"), "a patient card is named by serial only")

        // Someone edits the revocation's reason in place: the chain notices.
        var edited = lines.map(String.init)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(edited[3].utf8)) as? [String: Any])
        let forged = bodies[3].replacingOccurrences(of: "keyCompromise", with: "superseded   ")
        var replaced = json
        replaced["body"] = Data(forged.utf8).base64EncodedString()
        edited[3] = String(decoding: try JSONSerialization.data(withJSONObject: replaced, options: [.sortedKeys]), as: UTF8.self)
        try Data((edited.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: ca + "/audit.log"))
        let tampered = try CaduceusBinary.run(["audit", "verify", "--file", ca + "/audit.log"])
        #expect(tampered.status == 1 && tampered.stderr.contains("audit.hash-mismatch") && tampered.stderr.contains("record 4"), "\(tampered.stderr)")

        // A log whose last line is not a record: verify names it, and the CA refuses to issue what it could not record.
        try Data((edited.joined(separator: "\n") + "\n{not a record\n").utf8).write(to: URL(fileURLWithPath: ca + "/audit.log"))
        let malformed = try CaduceusBinary.run(["audit", "verify", "--file", ca + "/audit.log"])
        #expect(malformed.status == 1 && malformed.stderr.contains("audit.malformed-record") && malformed.stderr.contains("line 6"), "\(malformed.stderr)")
        let before = try run(["pki", "list", "--ca", ca]).text
        let refused = try CaduceusBinary.run(["pki", "issue", "--ca", ca, "--profile", "node", "--name", "node.x", "--dns", "node.x.test", "--out", dir.file("x")])
        #expect(refused.status == 1 && refused.stderr.contains("audit.malformed-record"))
        #expect(try run(["pki", "list", "--ca", ca]).text == before, "nothing was issued")
    }
}

/// The demo patient's identifying facts (synthetic), which must never appear in an audit event or the demo's output.
enum DemoFacts {
    static let family = "QUILLFEATHER", birthDate = "19710312", mrnA = "A-10042"
}
