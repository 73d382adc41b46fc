import CaduceusAudit
import CaduceusCore
import CaduceusTestSupport
import Foundation
import Testing
import Crypto

private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let python = repo.appendingPathComponent(".venv/bin/python").path
private let syslogOracle = repo.appendingPathComponent("scripts/oracles/syslog_oracle.py").path

@Suite("RFC 5424 syslog and RFC 5425 framing")
struct SyslogTests {
    func record(_ n: UInt64 = 1) throws -> ChainedRecord {
        var chain = AuditChain()
        var r: ChainedRecord?
        for i in 1...n {
            r = try chain.append(AuditMessage(
                eventID: .query, action: .execute, outcome: .success, time: Date(timeIntervalSince1970: 1_795_000_000 + Double(i)), sourceID: "node.a",
                participants: [AuditParticipant(userID: "Dr Ünïcode \"quoted\" ]", isRequestor: true)]))
        }
        return r!
    }

    @Test("an audit record as syslog is read back by syslog-rfc5424-parser field for field, and by us to the same record")
    func pythonReadsOurs() throws {
        let r = try record(3)
        let message = AuditSyslog.message(r, node: "node.hospital-a", time: Date(timeIntervalSince1970: 1_795_000_000.25))
        let bytes = message.encoded()
        let parsed = try ProcessRunner.run(python, [syslogOracle, "parse"], input: Data(bytes))
        #expect(parsed.ok, "\(parsed.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: parsed.stdout) as? [String: Any])
        #expect(json["facility"] as? Int == 10 && json["severity"] as? Int == 5 && json["version"] as? Int == 1)
        #expect(json["hostname"] as? String == "node.hospital-a" && json["appname"] as? String == "caduceus" && json["msgid"] as? String == "CADUCEUS-AUDIT")
        #expect(json["timestamp"] as? String == "2026-11-18T11:06:40.250Z")
        let sd = try #require((json["sd"] as? [String: [String: String]])?["caduceus@32473"])
        #expect(sd == ["seq": "3", "prev": Hex.encode(r.previousHash), "hash": Hex.encode(r.hash)])
        #expect((json["msg"] as? String).map { Array($0.replacingOccurrences(of: "\u{FEFF}", with: "").utf8) } == r.body, "the body travels byte for byte")

        let back = try SyslogMessage(parsing: bytes)
        #expect(back == message)
        #expect(try AuditSyslog.decode(back) == .record(r))
    }

    @Test("what rfc5424-logging-handler sends over TCP with octet counting is framed and parsed, escapes and all")
    func weReadPython() throws {
        let captured = try ProcessRunner.run(python, [syslogOracle, "capture"])
        #expect(captured.ok, "\(captured.stderr)")
        var framer = SyslogFramer()
        // Fed one byte at a time: frames must not depend on how TCP splits them.
        var frames: [[UInt8]] = []
        for b in captured.stdout { frames += try framer.feed([b]) }
        #expect(frames.count == 1)
        let m = try SyslogMessage(parsing: try #require(frames.first))
        #expect(m.hostname == "node.python" && m.appName == "oracle" && m.procID == "42" && m.msgID == "ORACLE")
        #expect(m.structuredData.first?["note"] == #"quote " backslash \ bracket ]"#)
        #expect(String(decoding: m.message, as: UTF8.self) == "audit test message")
        #expect(m.timestamp.map { abs($0.timeIntervalSinceNow) < 300 } == true)
        #expect(throws: SyslogError.self) { try AuditSyslog.decode(m) }
    }

    @Test("parameter values are escaped; header fields are cut to printable ASCII; checkpoints round-trip")
    func encoding() throws {
        let m = SyslogMessage(
            facility: 13, severity: 4, timestamp: nil, hostname: "host with space", appName: nil, procID: nil, msgID: nil,
            structuredData: [SyslogSDElement(id: "x@32473", params: [SyslogSDParam("v", #"a"b\c]d"#)])], message: [])
        let text = String(decoding: m.encoded(), as: UTF8.self)
        #expect(text == #"<108>1 - hostwithspace - - - [x@32473 v="a\"b\\c\]d"]"#)
        #expect(try SyslogMessage(parsing: m.encoded()).structuredData[0]["v"] == #"a"b\c]d"#)
        let c = try AuditCheckpoint.sign(node: "node.a", sequence: 7, hash: Array(repeating: 9, count: 32), time: Date(timeIntervalSince1970: 1_795_000_000), key: .init())
        #expect(try AuditSyslog.decode(SyslogMessage(parsing: AuditSyslog.message(c).encoded())) == .checkpoint(c))
    }

    @Test("RFC 3339 timestamps: fractions of any length, Z or an offset; impossible dates refused")
    func timestamps() throws {
        func time(_ t: String) throws -> Date? { try SyslogMessage(parsing: Array("<13>1 \(t) - - - - -".utf8)).timestamp }
        #expect(try time("2026-11-18T11:06:40Z") == Date(timeIntervalSince1970: 1_795_000_000))
        #expect(try time("2026-11-18T11:06:40.250Z") == Date(timeIntervalSince1970: 1_795_000_000.25))
        #expect(try time("2026-11-18T12:06:40.250000+01:00") == Date(timeIntervalSince1970: 1_795_000_000.25))
        #expect(try time("2026-11-18T05:36:40-05:30") == Date(timeIntervalSince1970: 1_795_000_000))
        for bad in ["2026-13-18T11:06:40Z", "2026-11-18 11:06:40Z", "2026-11-18T11:06:40", "2026-11-18T11:06:40.Z", "2026-11-18T25:06:40Z", "2026-11-18T11:06:40+0100"] {
            #expect(throws: SyslogError.self, "\(bad)") { try time(bad) }
        }
        #expect(SyslogMessage(facility: 1, severity: 1, timestamp: Date(timeIntervalSince1970: -0.5), hostname: nil, appName: nil, procID: nil, msgID: nil, structuredData: [], message: []).encoded()
            == Array("<9>1 1969-12-31T23:59:59.500Z - - - - -".utf8))
    }

    @Test("malformed messages, bad frames, oversized frames and records whose hash does not match are refused with a code")
    func refusals() throws {
        for bad in ["", "<>1 - - - - - -", "<192>1 - - - - - -", "<13>2 - - - - - -", "<13>1 yesterday - - - - -", "<13>1 - - - - -", "<13>1 - - - - - [x", "<13>1 - - - - - [x a=\"b]", "<13>1 - - - - - -x"] {
            #expect(throws: SyslogError.self, "\(bad)") { try SyslogMessage(parsing: Array(bad.utf8)) }
        }
        var framer = SyslogFramer(maxFrameBytes: 100)
        #expect(throws: SyslogError.self) { _ = try framer.feed(Array("abc".utf8)) }
        var framer2 = SyslogFramer(maxFrameBytes: 100)
        #expect(throws: SyslogError.self) { _ = try framer2.feed(Array("101 ".utf8)) }
        var framer3 = SyslogFramer(maxFrameBytes: 100)
        #expect(throws: SyslogError.self) { _ = try framer3.feed(Array("05 hello".utf8)) }
        var framer4 = SyslogFramer()
        #expect(try framer4.feed(Array("5 hel".utf8)).isEmpty)
        #expect(try framer4.feed(Array("lo3 abc".utf8)) == [Array("hello".utf8), Array("abc".utf8)])

        var m = AuditSyslog.message(try record(), node: "node.a", time: Date())
        m.message[m.message.count - 2] ^= 1
        #expect { try AuditSyslog.decode(m) } throws: { ($0 as? SyslogError)?.code == "syslog.malformed" }
        var noSD = m
        noSD.structuredData = []
        #expect { try AuditSyslog.decode(noSD) } throws: { ($0 as? SyslogError)?.code == "syslog.not-audit" }
    }
}
