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
}
