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
