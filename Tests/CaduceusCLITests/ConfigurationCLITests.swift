import CaduceusTestSupport
import Foundation
import Testing

@Suite("serve and audit refuse bad input with one coded line")
struct ConfigurationCLITests {
    @Test("unknown role, half a TLS configuration, a node id that is not the certificate's CN, bad JSON: config.invalid, exit 1")
    func serveConfiguration() throws {
        let dir = try TemporaryDirectory()
        let data = dir.file("node")
        // A first run makes the local PKI (node.local); later runs are refused before anything listens.
        let first = try ServeProcess(arguments: ["--data", data, "--https", "127.0.0.1:0"])
        #expect(first.terminate() == 0)
        func serve(_ config: String) throws -> ProcessRunner.Result {
            try CaduceusBinary.run(["serve", "--data", data, "--config", try dir.write("c-\(UUID().uuidString).json", config), "--https", "127.0.0.1:0"])
        }
        let badRole = try serve(#"{"node": {"roles": "hospital,pharmacy"}}"#)
        #expect(badRole.status == 1 && badRole.stderr.contains("config.invalid") && badRole.stderr.contains("node.roles"), "\(badRole.stderr)")
        let halfTLS = try serve(#"{"tls": {"certificate": "/nonexistent.pem"}}"#)
        #expect(halfTLS.status == 1 && halfTLS.stderr.contains("config.invalid"), "\(halfTLS.stderr)")
        let notJSON = try serve("{ this is not json")
        #expect(notJSON.status == 1 && notJSON.stderr.contains("config.invalid"), "\(notJSON.stderr)")
        let otherID = try serve(#"{"node": {"id": "node.other"}}"#)
        #expect(otherID.status == 1 && otherID.stderr.contains("config.invalid") && otherID.stderr.contains("node.id"), "\(otherID.stderr)")
        // Node certificate renewal and a node key on a token: values out of range, or a token half named, are refused.
        for (config, key) in [
            (#"{"node": {"certificate": {"lifetime": "0"}}}"#, "node.certificate.lifetime"),
            (#"{"node": {"certificate": {"renew": 99}}}"#, "node.certificate.renew"),
            (#"{"node": {"token": {"module": "/usr/lib/softhsm/libsofthsm2.so"}}}"#, "node.token.module"),
        ] {
            let refused = try serve(config)
            #expect(refused.status == 1 && refused.stderr.contains("config.invalid") && refused.stderr.contains(key), "\(refused.stderr)")
        }
        // MLLP: plain TCP only when asked for by name; limits that would deny service are refused.
        let mllp = ["serve", "--data", data, "--https", "127.0.0.1:0", "--mllp", "127.0.0.1:0", "--domain", "1.2.3"]
        let plain = try CaduceusBinary.run(mllp)
        #expect(plain.status == 1 && plain.stderr.contains("--insecure-plain-mllp"), "\(plain.stderr)")
        let zeroCap = try CaduceusBinary.run(mllp + ["--insecure-plain-mllp", "--max-message-bytes", "0"])
        #expect(zeroCap.status == 1 && zeroCap.stderr.contains("--max-message-bytes"), "\(zeroCap.stderr)")
        let endless = try CaduceusBinary.run(mllp + ["--insecure-plain-mllp", "--idle-timeout", "0"])
        #expect(endless.status == 1 && endless.stderr.contains("--idle-timeout"), "\(endless.stderr)")
    }

    @Test("audit: a held file that is no checkpoint, a report without a patient, a directory that is no node")
    func auditRefusals() throws {
        let dir = try TemporaryDirectory()
        let data = dir.file("node")
        let server = try ServeProcess(arguments: ["--data", data, "--https", "127.0.0.1:0"])
        #expect(server.terminate() == 0)
        let notCheckpoint = try dir.write("held.json", #"{"hello": 1}"#)
        let held = try CaduceusBinary.run(["audit", "verify", "--data", data, "--held", notCheckpoint])
        #expect(held.status == 1 && held.stderr.contains("is not a checkpoint"))
        let report = try CaduceusBinary.run(["audit", "report", "--data", data])
        #expect(report.status == 1 && report.stderr.contains("--patient is required"))
        let nowhere = try CaduceusBinary.run(["audit", "verify", "--data", dir.file("nothing-here")])
        #expect(nowhere.status == 1 && nowhere.stderr.contains("no node data directory"))
        #expect(try CaduceusBinary.run(["audit", "verify", "--data", data]).ok, "a fresh node's (empty or shutdown-checkpointed) log verifies")
    }

    @Test("policy.file: validated and loaded; a group-writable or invalid file is refused; a change is audited with both versions")
    func policyFile() throws {
        let dir = try TemporaryDirectory()
        let data = dir.file("node")
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/CaduceusPolicy/Resources/default-policy.json")
        let text = try String(contentsOf: shipped, encoding: .utf8)
        let policy = dir.file("policy.json")
        func write(_ version: String, mode: Int = 0o644) throws {
            try Data(text.replacingOccurrences(of: #""version": "[^"]*""#, with: #""version": "\#(version)""#, options: .regularExpression).utf8).write(to: URL(fileURLWithPath: policy))
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: policy)
        }
        let config = try dir.write("c.json", #"{"policy": {"file": "\#(policy)"}}"#)
        try write("site.1")
        #expect(try ServeProcess(arguments: ["--data", data, "--config", config, "--https", "127.0.0.1:0"]).terminate() == 0)
        try write("site.2")
        #expect(try ServeProcess(arguments: ["--data", data, "--config", config, "--https", "127.0.0.1:0"]).terminate() == 0)
        // The same policy, now on a fixed port (the first two starts let the kernel choose: the configured endpoint,
        // unset, did not change between them).
        let fixed = try unusedLoopbackPort()
        #expect(try ServeProcess(arguments: ["--data", data, "--config", config, "--https", "127.0.0.1:\(fixed)"]).terminate() == 0, "a restart with the same policy")

        let alerts = try CaduceusBinary.run(["audit", "query", "--data", data, "--event", "110113"])
        let changes = alerts.text.split(separator: "\n").filter { $0.contains("policy.changed") }
        #expect(changes.count == 1, "\(alerts.text)")
        #expect(changes.first.map { $0.contains("110129") && $0.contains("site.1@sha256:") && $0.contains("site.2@sha256:") } == true)
        // Only the move to a fixed port changed the node's configuration, and the alert says how.
        let configChanges = alerts.text.split(separator: "\n").filter { $0.contains("configuration.changed") }
        #expect(configChanges.count == 1 && configChanges.allSatisfy { $0.contains("endpoint=https:") && $0.contains("127.0.0.1:\(fixed);") && $0.contains("roles=global,hospital,regional") }, "\(configChanges) \(fixed)")
        let loaded = try CaduceusBinary.run(["audit", "query", "--data", data, "--event", "110100"]).text.split(separator: "\n").filter { $0.contains("policy.loaded") }
        #expect(loaded.count == 2, "first load and the change, not the plain restart")

        try write("site.3", mode: 0o664)
        let loose = try CaduceusBinary.run(["serve", "--data", data, "--config", config, "--https", "127.0.0.1:0"])
        #expect(loose.status == 1 && loose.stderr.contains("policy.unsafe-file"), "\(loose.stderr)")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: policy))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: policy)
        let invalid = try CaduceusBinary.run(["serve", "--data", data, "--config", config, "--https", "127.0.0.1:0"])
        #expect(invalid.status == 1 && invalid.stderr.contains("policy.invalid"), "\(invalid.stderr)")
        #expect(try CaduceusBinary.run(["audit", "verify", "--data", data]).ok)
    }
}
