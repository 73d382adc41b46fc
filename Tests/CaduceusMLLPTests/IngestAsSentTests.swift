import CaduceusAudit
import CaduceusExchange
import CaduceusHL7
import CaduceusMLLP
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Foundation
import Logging
import Testing

/// Issue 13, item 5: ingest as EMRs send it, end to end over real MLLP into a real SQLite store — UTF-8 (and 8859-1)
/// without MSH-18 under the interface's default character set, batches of any size streamed in one frame, and PIDs
/// with a given name and no family name.
@Suite("Ingest as EMRs send it", .serialized)
struct IngestAsSentTests {
    static let other = "2.16.840.1.113883.19.5"

    struct Node: Sendable {
        let port: Int
        let store: SQLiteStore
        let mpi: MPIService
    }

    /// An MLLP listener with batches streamed, over a receiver whose interface reads undeclared messages in `charset`.
    static func withNode<T: Sendable>(
        charset: HL7CharacterSet = .utf8, maxMessageBytes: Int = 16 << 20, _ body: @Sendable (Node) async throws -> T
    ) async throws -> T {
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(path: dir.url.appendingPathComponent("n.sqlite").path, nodeKey: NodeKey(bytes: Data(repeating: 7, count: 32)))
        let mpi = try await MPIService(store: store, globalAuthority: "1.3.6.1.4.1.99999.1")
        var hl7 = HL7ReceiverConfiguration(knownAuthorities: [goodHealth, other])
        hl7.defaultCharacterSet = charset
        let receiver = HL7Receiver(store: store, mpi: mpi, configuration: hl7)
        var configuration = MLLPServerConfiguration()
        configuration.port = 0
        configuration.insecurePlainTCP = true
        configuration.maxMessageBytes = maxMessageBytes
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let server = MLLPServer(
            configuration: configuration, logger: logger, handler: { await receiver.receive($1, from: HL7Peer($0)) },
            oversized: { await receiver.rejectOversized(head: $0) },
            batch: { HL7BatchSession(receiver: receiver, peer: HL7Peer($0), maxMessageBytes: maxMessageBytes) })
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await server.run { continuation.yield($0.port ?? 0) }
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next()!
            let result = try await body(Node(port: port, store: store, mpi: mpi))
            group.cancelAll()
            return result
        }
    }

    /// An ADT^A04 without MSH-18; `name` is PID-5 as written.
    static func adt(_ control: String, id: String, name: String, authority: String = goodHealth, birth: String = "19800214", extra: String = "") -> [UInt8] {
        Array("MSH|^~\\&|EPIC|GH|CAD|H1|20260101||ADT^A04^ADT_A01|\(control)|P|2.5.1\rPID|1||\(id)^^^X&\(authority)&ISO^MR||\(name)||\(birth)|F\(extra)\r".utf8)
    }

    static let givens = ["ANA", "LUCÍA", "SOFÍA", "MARTA", "JOSÉ", "PAULA", "ELENA", "IKER", "NOA", "HUGO", "LEO", "MATEO", "ÓSCAR"]

    /// Demographics that differ from message to message (names by letters, birth dates over 90 years), so the MPI's
    /// blocks stay small, as in a real population.
    static func person(_ i: Int) -> (name: String, birth: String) {
        var letters = ""
        var n = i
        for _ in 0..<4 {
            letters.append(Character(UnicodeScalar(UInt8(65 + n % 26))))
            n /= 26
        }
        let birth = String(1930 + i % 90) + String(format: "%02d%02d", 1 + (i / 90) % 12, 1 + (i / 1080) % 28)
        return (letters + "NÚÑEZ^" + givens[i % givens.count], birth)
    }

    static func errCode(_ answer: [UInt8]) -> String {
        guard let message = try? HL7Message(parsing: answer, options: HL7ParseOptions(defaultCharacterSet: .utf8)) else { return "?" }
        return message.first("ERR")?.text(5).raw ?? ""
    }

    static func ackCode(_ answer: [UInt8]) throws -> String {
        try HL7Message(parsing: answer, options: HL7ParseOptions(defaultCharacterSet: .utf8)).view(MSASegment.self)?.acknowledgmentCode ?? ""
    }

    static func auditCount(_ store: SQLiteStore) async throws -> Int {
        try await store.read { try $0.auditMessages(AuditFilter()) }.count
    }

    @Test("UTF-8 without MSH-18 is read under the interface's UTF-8 default, stored, and its name round-trips through PDQ")
    func utf8WithoutMSH18() async throws {
        try await Self.withNode { node in
            try await MLLPClient.withConnection(host: "127.0.0.1", port: node.port) { connection in
                let answer = try await connection.send(Self.adt("U1", id: "U-1", name: "MÜLLER-ŁUKASZEWICZ^José^Ñ"))
                #expect(try Self.ackCode(answer) == "AA")
                // The ACK does not declare a character set the message did not declare.
                #expect(!String(decoding: answer, as: UTF8.self).contains("UNICODE UTF-8"))
                let query = Array("MSH|^~\\&|PDQ|H2|CAD|HIE|20260105||QBP^Q22^QBP_Q21|Q1|P|2.5.1\rQPD|IHE PDQ Query|Q1|@PID.5.1.1^MÜLLER-ŁUKASZEWICZ\rRCP|I|10^RD\r".utf8)
                let response = try HL7Message(parsing: try await connection.send(query), options: HL7ParseOptions(defaultCharacterSet: .utf8))
                let pid = try #require(response.view(PIDSegment.self))
                #expect(try pid.names.first?.family == "MÜLLER-ŁUKASZEWICZ")
                #expect(try pid.names.first?.given == "José")
            }
            let record = try await node.store.read { try $0.patient(LocalIdentity(id: "U-1", authority: goodHealth)) }
            #expect(record?.demographics.given == "José")
        }
    }

    @Test("bad bytes for the interface's character set: AR hl7.invalid-characters, nothing stored, one audit record")
    func wrongCharsetBytes() async throws {
        // ISO 8859-1 "MÜLLER" (0xDC) sent undeclared to a UTF-8 interface; invalid UTF-8 (a lone continuation byte).
        var latin1Bytes = Self.adt("L1", id: "L-1", name: "MxLLER^ANNA")
        latin1Bytes[latin1Bytes.firstIndex(of: UInt8(ascii: "x"))!] = 0xDC
        var brokenBytes = Self.adt("B1", id: "B-1", name: "DOE^xNA")
        brokenBytes[brokenBytes.firstIndex(of: UInt8(ascii: "x"))!] = 0x80
        let (latin1, broken) = (latin1Bytes, brokenBytes)
        try await Self.withNode { node in
            try await MLLPClient.withConnection(host: "127.0.0.1", port: node.port) { connection in
                for message in [latin1, broken] {
                    let answer = try await connection.send(message)
                    #expect(try Self.ackCode(answer) == "AR")
                    #expect(Self.errCode(answer) == "hl7.invalid-characters")
                    #expect(!String(decoding: answer, as: UTF8.self).contains("ANNA"))
                }
            }
            #expect(try await node.store.read { try $0.messageCount() } == 0)
            #expect(node.mpi.read { $0.recordCount } == 0)
            #expect(try await Self.auditCount(node.store) == 2)
        }
        // The same 8859-1 bytes on an interface configured for ISO 8859-1 are read as the sender meant them.
        try await Self.withNode(charset: .latin1) { node in
            let answer = try await MLLPClient.withConnection(host: "127.0.0.1", port: node.port) { try await $0.send(latin1) }
            #expect(try Self.ackCode(answer) == "AA")
            let record = try await node.store.read { try $0.patient(LocalIdentity(id: "L-1", authority: goodHealth)) }
            #expect(record?.demographics.family == "MÜLLER")
        }
        // And an ASCII interface (the standard's reading of an empty MSH-18) refuses the 8-bit byte.
        try await Self.withNode(charset: .ascii) { node in
            let answer = try await MLLPClient.withConnection(host: "127.0.0.1", port: node.port) { try await $0.send(latin1) }
            #expect(Self.errCode(answer) == "hl7.invalid-characters")
        }
    }

    @Test("a PID with a given name and no family name is registered and matched on what exists")
    func givenNameOnly() async throws {
        try await Self.withNode { node in
            let phone = "|||1 MAIN ST^^SPRINGFIELD^IL^62701||^PRN^PH^^1^217^5551234"
            try await MLLPClient.withConnection(host: "127.0.0.1", port: node.port) { connection in
                #expect(try Self.ackCode(try await connection.send(Self.adt("G1", id: "G-1", name: "^Maria", extra: phone))) == "AA")
                // The same baby at another hospital, also given-name only: linked on given name, birth date, sex,
                // address and phone.
                #expect(try Self.ackCode(try await connection.send(Self.adt("G2", id: "G-2", name: "^Maria", authority: Self.other, extra: phone))) == "AA")
                // A name with neither part is still refused (AE 101).
                let none = try await connection.send(Self.adt("G3", id: "G-3", name: "^"))
                #expect(try Self.ackCode(none) == "AE")
                #expect(Self.errCode(none) == "hl7.required-field-missing")
            }
            let (records, samePerson) = node.mpi.read { mpi -> (Int, Bool) in
                let a = mpi.record(of: LocalIdentity(id: "G-1", authority: goodHealth)).flatMap { mpi.person(of: $0) }
                let b = mpi.record(of: LocalIdentity(id: "G-2", authority: Self.other)).flatMap { mpi.person(of: $0) }
                return (mpi.recordCount, a != nil && a == b)
            }
            #expect(records == 2)
            #expect(samePerson)
            let record = try await node.store.read { try $0.patient(LocalIdentity(id: "G-1", authority: goodHealth)) }
            #expect(record?.demographics.family == "" && record?.demographics.given == "Maria")
        }
    }

    /// A batch file: FHS, BHS, `count` ADT^A04 messages (UTF-8 names, no MSH-18), BTS, FTS.
    static func batchFile(count: Int, prefix: String = "N", btsCount: Int? = nil, extra: [UInt8] = []) -> [UInt8] {
        var out = Array("FHS|^~\\&|EPIC|GH|CAD|H1|20260101||||F-\(prefix)\rBHS|^~\\&|EPIC|GH|CAD|H1|20260101||||B-\(prefix)\r".utf8)
        out.reserveCapacity(count * 140)
        for i in 0..<count {
            let p = person(i)
            out += adt("\(prefix)\(i)", id: "\(prefix)-\(i)", name: p.name, birth: p.birth)
        }
        out += extra
        out += Array("BTS|\(btsCount ?? count + (extra.isEmpty ? 0 : 1))\rFTS|1\r".utf8)
        return out
    }

    /// Sends `payload` as one MLLP frame in 64 KiB writes and reads the answer.
    static func sendFrame(_ payload: [UInt8], port: Int) async throws -> [UInt8] {
        try await MLLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
            try await connection.writeRaw([MLLPFramer.startBlock])
            var offset = 0
            while offset < payload.count {
                let end = min(payload.count, offset + (64 << 10))
                try await connection.writeRaw(Array(payload[offset..<end]))
                offset = end
            }
            try await connection.writeRaw([MLLPFramer.endBlock, MLLPFramer.carriageReturn])
            return try await connection.receive()
        }
    }

    /// 12,000 messages in the default suite (24,000 segments: over the old 10,000-segment refusal, and over the
    /// per-message cap); the long battery (`scripts/long.sh`) sets `CADUCEUS_BATCH_MESSAGES=50000`.
    static let batchMessages = ProcessInfo.processInfo.environment["CADUCEUS_BATCH_MESSAGES"].flatMap { Int($0) } ?? 12_000

    @Test("a batch file of many thousand messages (50,000 in the long battery) in one MLLP frame is streamed, every message committed, one batch acknowledgement")
    func fiftyThousandMessageBatch() async throws {
        let count = Self.batchMessages
        let file = Self.batchFile(count: count)
        // Over the per-message cap the listener keeps (1 MiB here): a batch is not one message.
        #expect(file.count > 1 << 20)
        try await Self.withNode(maxMessageBytes: 1 << 20) { node in
            let clock = ContinuousClock()
            let start = clock.now
            let answer = try await Self.sendFrame(file, port: node.port)
            let elapsed = clock.now - start
            print("ingest: \(count) messages (\(file.count / 1024) KiB) in one batch frame in \(elapsed)")
            let ack = try HL7Batch(parsing: answer, options: HL7ParseOptions(defaultCharacterSet: .utf8))
            #expect(ack.fileHeader?.text(12).raw == "F-N")
            #expect(ack.batches.count == 1)
            #expect(ack.batches[0].header?.text(12).raw == "B-N")
            #expect(ack.messages.isEmpty)  // exception basis: every message accepted
            let bts = try #require(ack.batches[0].trailer)
            #expect(bts.text(1).raw == "0")
            #expect(bts[3].repetitions.map { $0.components[0].subcomponents[0].raw } == ["\(count)", "\(count)", "0"])
            #expect(try await node.store.read { try $0.messageCount() } == count)
            #expect(node.mpi.read { $0.recordCount } == count)
            let last = try await node.store.read { try $0.patient(LocalIdentity(id: "N-\(count - 1)", authority: goodHealth)) }
            #expect(last?.demographics.family == String(Self.person(count - 1).name.split(separator: "^")[0]))
        }
    }

    @Test("each message of a batch has its own outcome: the acknowledgement lists the refused ones and counts the rest")
    func batchWithBadMessages() async throws {
        var bad = Self.adt("X1", id: "X-1", name: "DOE^xNA")
        bad[bad.firstIndex(of: UInt8(ascii: "x"))!] = 0xFF
        let oversized = Self.adt("X2", id: "X-2", name: "DOE^" + String(repeating: "A", count: 5_000))
        let payload = Self.batchFile(count: 5, prefix: "P", extra: bad + oversized)
        try await Self.withNode(maxMessageBytes: 4_096) { node in
            var answer = try await Self.sendFrame(payload, port: node.port)
            var ack = try HL7Batch(parsing: answer, options: HL7ParseOptions(defaultCharacterSet: .utf8))
            // BTS-1 of the input counted 6 messages and there were 7: the envelope is refused in the answer too.
            #expect(ack.messages.count == 3)
            #expect(try ack.messages.map { try $0.view(MSASegment.self)?.acknowledgmentCode ?? "" } == ["AR", "AR", "AR"])
            #expect(try ack.messages.map { try $0.view(MSASegment.self)?.controlID ?? "" } == ["X1", "X2", "B-P"])
            #expect(ack.messages.map { $0.first("ERR")?.text(5).raw ?? "" } == ["hl7.invalid-characters", "hl7.limit-exceeded", "hl7.bad-batch"])
            #expect(ack.batches[0].trailer?[3].repetitions.count == 3)
            #expect(try await node.store.read { try $0.messageCount() } == 5)
            // Every refusal is one audit record: two messages and the envelope; the five accepted ones have theirs.
            #expect(try await Self.auditCount(node.store) == 8)
            // Resent (as after a cut connection), nothing changes: the repeats get their stored answers.
            answer = try await Self.sendFrame(Self.batchFile(count: 5, prefix: "P"), port: node.port)
            ack = try HL7Batch(parsing: answer, options: HL7ParseOptions(defaultCharacterSet: .utf8))
            #expect(ack.messages.isEmpty)
            #expect(try await node.store.read { try $0.messageCount() } == 5)
        }
    }

    @Test("a batch frame cut short commits what it completed and answers nothing; the connection's next frame is served")
    func batchCutShort() async throws {
        let file = Self.batchFile(count: 20, prefix: "C")
        try await Self.withNode { node in
            try await MLLPClient.withConnection(host: "127.0.0.1", port: node.port) { connection in
                try await connection.writeRaw([MLLPFramer.startBlock] + file.prefix(file.count / 2))
                // A new start block cuts the batch; the single message after it is answered.
                let answer = try await connection.send(Self.adt("S1", id: "S-1", name: "DOE^SOLO"))
                #expect(try Self.ackCode(answer) == "AA")
            }
            let stored = try await node.store.read { try $0.messageCount() }
            #expect(stored > 1 && stored < 21)
        }
    }
}
