import CaduceusTestSupport
import Foundation
import Testing

/// The HL7 and MPI commands, run as the operator runs them: the built `caduceus` binary.
@Suite("CLI: hl7 and mpi", .serialized)
struct HL7CLITests {
    @Test("hl7 parse prints the decoded tree; LF endings need --tolerant; errors are one coded line")
    func parse() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("a01.hl7", SampleHL7.adtA01)
        let result = try CaduceusBinary.run(["hl7", "parse", file])
        #expect(result.ok)
        let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let segments = json?["segments"] as? [[String: Any]] ?? []
        #expect(segments.map { $0["id"] as? String } == ["MSH", "EVN", "PID", "PD1", "NK1", "PV1", "IN1"])
        let pid5 = (segments[2]["fields"] as? [String: Any])?["5"] as? [[[String]]]
        #expect(pid5?[0][0] == ["DOE"])
        #expect(pid5?[1][0] == ["SMITH"])
        let lf = try dir.write("lf.hl7", SampleHL7.adtA01.split(separator: "\r").joined(separator: "\n") + "\n")
        let strict = try CaduceusBinary.run(["hl7", "parse", lf])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("hl7.bare-line-feed"))
        #expect(!strict.stderr.contains("DOE"))
        #expect(try CaduceusBinary.run(["hl7", "parse", "--tolerant", lf]).ok)
    }

    @Test("serve + hl7 send + mpi review/accept/show/unlink + hl7 log, on one data directory")
    func operatorFlow() throws {
        let dir = try TemporaryDirectory()
        let data = dir.url.appendingPathComponent("node").path
        let authority = "1.2.840.114350.1"
        let jane = SampleHL7.adtA01
        let twin = jane.split(separator: "\r", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("PID|") ? "PID|1||4800^^^GOODH&1.2.840.114350.1&ISO^MR||DOE^MARY||19800214|F|||1 MAIN ST^APT 2^SPRINGFIELD^IL^62701^USA^H||^PRN^PH^^1^217^5551234"
                : line.hasPrefix("MSH|") ? line.replacingOccurrences(of: "MSG00001", with: "MSG00009") : String(line)
        }.joined(separator: "\r")
        let files = [try dir.write("jane.hl7", jane), try dir.write("twin.hl7", twin)]
        do {
            let server = try ServeProcess(data: data, domains: [authority, "2.16.840.1.113883.4.1"])
            defer { server.kill9() }
            let sent = try CaduceusBinary.run(["hl7", "send", "--to", "127.0.0.1:\(server.port)"] + files)
            #expect(sent.ok)
            #expect(sent.text.components(separatedBy: "MSA|AA|").count == 3)
            #expect(server.terminate() == 0, "SIGTERM stops the node cleanly")
        }
        let review = try CaduceusBinary.run(["mpi", "review", "--data", data])
        #expect(review.text.contains("review 1"))
        #expect(review.text.contains("mpi.review.same-domain") || review.text.contains("mpi.review.given-name"))
        #expect(try CaduceusBinary.run(["mpi", "accept", "--data", data, "1", "--actor", "registrar"]).ok)
        let show = try CaduceusBinary.run(["mpi", "show", "--data", data, "--id", "4711", "--authority", authority])
        #expect(show.text.contains("4800^^^&\(authority)"))
        #expect(show.text.contains("by registrar") == false)  // 4711's own record did not move
        let showTwin = try CaduceusBinary.run(["mpi", "show", "--data", data, "--id", "4800", "--authority", authority])
        #expect(showTwin.text.contains("by registrar"))
        let unlink = try CaduceusBinary.run(["mpi", "unlink", "--data", data, "--record", "2"])
        #expect(unlink.ok)
        #expect(!(try CaduceusBinary.run(["mpi", "show", "--data", data, "--id", "4711", "--authority", authority])).text.contains("4800"))
        let unknown = try CaduceusBinary.run(["mpi", "accept", "--data", data, "99"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("mpi.unknown"))
        let log = try CaduceusBinary.run(["hl7", "log", "--data", data, "--raw"])
        #expect(log.text.contains("in| PID|1||4800"))
        #expect(log.text.contains("ack| MSA|AA|MSG00009"))
        let search = try CaduceusBinary.run(["mpi", "search", "--data", data, "--family", "DOE", "--birth-date", "19800214"])
        #expect(search.text.split(separator: "\n").filter { $0.hasPrefix("X-PID") }.count == 2)
        // The identity decisions are on the audit chain, under the patient's pseudonym: the queued review, the
        // registrar's accept (a relink) and the unlink.
        let twinTrail = try CaduceusBinary.run(["audit", "query", "--data", data, "--patient", "4800^^^&\(authority)&ISO"])
        #expect(twinTrail.text.contains("mpi.review-queued") && twinTrail.text.split(separator: "\n").filter { $0.contains("mpi.relink") }.count == 2, "\(twinTrail.text)")
        #expect(twinTrail.text.contains("\"userID\":\"registrar\"") && !twinTrail.text.contains("4800") && !twinTrail.text.contains("MARY"))
        #expect(try CaduceusBinary.run(["audit", "verify", "--data", data]).ok)
    }

    /// The python oracles (`.venv`, made by scripts/bootstrap.sh).
    static func oracle(_ arguments: [String]) throws -> [String: Any] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let result = try ProcessRunner.run(root.appendingPathComponent(".venv/bin/python").path, [root.appendingPathComponent("scripts/oracles/hl7_batch_oracle.py").path] + arguments)
        #expect(result.ok, "\(result.stderr)")
        return try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] ?? [:]
    }

    static func batchMessage(_ i: Int, authority: String) -> [UInt8] {
        let letters: [UInt8] = [UInt8(65 + i % 26), UInt8(65 + (i / 26) % 26), UInt8(65 + (i / 676) % 26)]
        let family: String = String(decoding: letters, as: UTF8.self) + "ÖZ"
        let birth: String = String(1930 + i % 90) + "0" + String(1 + i % 9) + "1" + String(i % 10)
        let text: String = "MSH|^~\\&|EMR|GH|CAD|H1|20260101||ADT^A04^ADT_A01|B\(i)|P|2.5.1\rPID|1||B-\(i)^^^X&\(authority)&ISO^MR||\(family)^ANA||\(birth)|F\r"
        return Array(text.utf8)
    }

    @Test("ingest as EMRs send it, through the CLI: hl7apy's undeclared UTF-8, a batch file over 10,000 segments streamed by hl7 parse and hl7 send, python-hl7 reading our batch ACK")
    func ingestAsSent() throws {
        let dir = try TemporaryDirectory()
        let data = dir.url.appendingPathComponent("node").path
        let authority = "1.2.840.114350.1"
        // hl7apy writes two ADT^A04 in UTF-8 without MSH-18, one with a given name only.
        let written = dir.url.appendingPathComponent("hl7apy.hl7").path
        let names = try Self.oracle(["write", written])["names"] as? [[String]] ?? []
        #expect(names.count == 2)
        let parsed = try CaduceusBinary.run(["hl7", "parse", written])
        #expect(parsed.ok, "\(parsed.stderr)")
        let tree = try JSONSerialization.jsonObject(with: parsed.stdout) as? [[String: Any]] ?? []
        let pid5 = tree.map { (($0["segments"] as? [[String: Any]])?[1]["fields"] as? [String: Any])?["5"] as? [[[String]]] }
        #expect(pid5.map { $0?[0][0][0] } == names.map { $0[0] })
        #expect(pid5.map { $0?[0][1][0] } == names.map { $0[1] })
        #expect(try CaduceusBinary.run(["hl7", "parse", "--charset", "ascii", written]).stderr.contains("hl7.invalid-characters"))

        // A batch file of 6,000 messages (12,000 segments: over the per-message limit of 10,000 that once refused
        // it), one of them with a byte that is not UTF-8.
        var batch = Array("FHS|^~\\&|EMR|GH|CAD|H1|20260101||||F1\rBHS|^~\\&|EMR|GH|CAD|H1|20260101||||B1\r".utf8)
        for i in 0..<6_000 {
            batch += Self.batchMessage(i, authority: authority)
        }
        var bad = Array("MSH|^~\\&|EMR|GH|CAD|H1|20260101||ADT^A04^ADT_A01|BAD1|P|2.5.1\rPID|1||B-X^^^X&\(authority)&ISO^MR||DOE^ANA||19800214|F\r".utf8)
        bad[bad.firstIndex(of: UInt8(ascii: "O"))!] = 0xD6  // ISO 8859-1 Ö, undeclared, to a UTF-8 interface
        batch += bad + Array("BTS|6001\rFTS|1\r".utf8)
        let file = try dir.write("batch.hl7", Data(batch))
        let all = try CaduceusBinary.run(["hl7", "parse", file])
        #expect(all.status == 1 && all.stderr.contains("hl7.invalid-characters"), "the file holds one bad message")
        do {
            let server = try ServeProcess(data: data, domains: [authority])
            defer { server.kill9() }
            let sent = try CaduceusBinary.run(["hl7", "send", "--to", "127.0.0.1:\(server.port)", written, file])
            #expect(sent.ok, "\(sent.stderr)")
            #expect(sent.text.components(separatedBy: "MSA|AA|").count == 3, "hl7apy's two messages")
            let ackText = sent.text.components(separatedBy: "\n\n").first { $0.hasPrefix("FHS|") } ?? ""
            #expect(ackText.contains("BTS|1|received 6001, accepted 6000, refused 1|6001~6000~1"), "\(ackText)")
            let ackFile = try dir.write("ack.hl7", ackText.replacingOccurrences(of: "\n", with: "\r") + "\r")
            // python-hl7 reads our acknowledgement batch: one batch answering B1, one AR naming the bad message.
            let read = try Self.oracle(["read", ackFile])
            let batches = read["batches"] as? [[String: Any]] ?? []
            #expect(batches.count == 1)
            #expect((batches.first?["header"] as? String)?.hasSuffix("|B1") == true)
            #expect((batches.first?["messages"] as? [[String]])?.map { Array($0.dropFirst()) } == [["AR", "BAD1", "hl7.invalid-characters"]])
            #expect(server.terminate() == 0)
        }
        let log = try CaduceusBinary.run(["hl7", "log", "--data", data, "--limit", "100000"])
        #expect(log.text.split(separator: "\n").count == 6_002)
        let maria = try CaduceusBinary.run(["mpi", "search", "--data", data, "--given", names[1][1], "--birth-date", "19800214"])
        #expect(maria.text.split(separator: "\n").contains { $0.hasPrefix("X-PID") }, "\(maria.text)")
    }
}
