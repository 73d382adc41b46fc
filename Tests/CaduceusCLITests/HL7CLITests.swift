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
}
