import CaduceusExchange
import CaduceusHL7
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Foundation
import Synchronization
import Testing
import CaduceusPolicy

let goodHealth = "1.2.840.114350.1"
let stMary = "2.16.840.1.113883.3.72"
let xpid = "1.3.6.1.4.1.99999.1"

struct Node {
    let dir: TemporaryDirectory
    let store: SQLiteStore
    let mpi: MPIService
    let receiver: HL7Receiver

    static func make(_ dir: TemporaryDirectory? = nil, queryPolicy: PolicyDecisionPoint? = nil) async throws -> Node {
        let dir = try dir ?? TemporaryDirectory()
        let key = try NodeKey.loadOrCreate(at: dir.url.appendingPathComponent("node.key").path)
        let store = try SQLiteStore(path: dir.url.appendingPathComponent("node.sqlite").path, nodeKey: key)
        let mpi = try await MPIService(store: store, globalAuthority: xpid)
        var configuration = HL7ReceiverConfiguration(knownAuthorities: [goodHealth, stMary, "SSA", "2.16.840.1.113883.4.1"])
        configuration.queryPolicy = queryPolicy
        let receiver = HL7Receiver(store: store, mpi: mpi, configuration: configuration)
        return Node(dir: dir, store: store, mpi: mpi, receiver: receiver)
    }

    func send(_ text: String) async throws -> HL7Message {
        try HL7Message(parsing: await receiver.receive(Array(text.utf8)))
    }
}

func ackCode(_ m: HL7Message) throws -> String { try m.view(MSASegment.self)?.acknowledgmentCode ?? "" }
func errCode(_ m: HL7Message) throws -> String { try m.view(ERRSegment.self)?.errorCode ?? "" }

@Suite("HL7 receiver: registry, MPI, PIX/PDQ over a SQLite store", .serialized)
struct HL7ReceiverTests {
    @Test("ADT^A01 is stored encrypted, fed to the MPI, and acknowledged AA; a repeat gets the same ACK and changes nothing")
    func admitAndDuplicate() async throws {
        let node = try await Node.make()
        let ack = await node.receiver.receive(Array(SampleHL7.adtA01.utf8))
        let parsed = try HL7Message(parsing: ack)
        #expect(try ackCode(parsed) == "AA")
        #expect(try parsed.view(MSASegment.self)?.controlID == "MSG00001")
        let again = await node.receiver.receive(Array(SampleHL7.adtA01.utf8))
        #expect(again == ack)
        #expect(try await node.store.read { try $0.messageCount() } == 1)
        let patient = try await node.store.read { try $0.patient(LocalIdentity(id: "4711", authority: goodHealth)) }
        #expect(patient?.demographics.family == "DOE")
        #expect(patient?.contacts.first?.role == "C")
        #expect(patient?.insurance.first?.policyNumber == "POL-12345")
        #expect(patient?.identifiers.count == 2)
        #expect(node.mpi.read { $0.recordCount } == 1)
        // PHI is not in the database file in plaintext.
        try await node.store.read { _ in () }
        for file in try FileManager.default.contentsOfDirectory(atPath: node.dir.url.path) where file.hasPrefix("node.sqlite") {
            let bytes = try Data(contentsOf: node.dir.url.appendingPathComponent(file))
            #expect(bytes.range(of: Data("SPRINGFIELD".utf8)) == nil, "\(file)")
            #expect(bytes.range(of: Data("4711".utf8)) == nil, "\(file)")
        }
        let raw = try await node.store.read { try $0.messages(limit: 1) }
        #expect(raw.first?.raw.unsafeValue == Array(SampleHL7.adtA01.utf8))
    }

    @Test("rejections change nothing but one audit event: unknown authority AE 204, unknown type AR 200, version AR 203, garbage AR")
    func rejections() async throws {
        let node = try await Node.make()
        let unknownAuthority = SampleHL7.adtA01.replacingOccurrences(of: "GOODH&1.2.840.114350.1&ISO", with: "NOPE&9.9.9&ISO").replacingOccurrences(of: "SSA&2.16.840.1.113883.4.1&ISO", with: "X&8.8&ISO")
        let ae = try await node.send(unknownAuthority)
        #expect(try ackCode(ae) == "AE")
        #expect(try errCode(ae) == "204")
        #expect(try ae.view(ERRSegment.self)?.location == HL7Location(segment: "PID", sequence: 1, field: 3, repetition: 1, component: 4))
        let ar = try await node.send(SampleHL7.adtA01.replacingOccurrences(of: "ADT^A01^ADT_A01", with: "ZZZ^Z01"))
        #expect(try ackCode(ar) == "AR")
        #expect(try errCode(ar) == "200")
        let event = try await node.send(SampleHL7.adtA01.replacingOccurrences(of: "ADT^A01^ADT_A01", with: "ADT^A99"))
        #expect(try errCode(event) == "201")
        let version = try await node.send(SampleHL7.adtA01.replacingOccurrences(of: "|P|2.5.1", with: "|P|9.9"))
        #expect(try ackCode(version) == "AR")
        #expect(try errCode(version) == "203")
        let training = try await node.send(SampleHL7.adtA01.replacingOccurrences(of: "|P|2.5.1", with: "|D|2.5.1"))
        #expect(try ackCode(training) == "AR")
        #expect(try errCode(training) == "202")
        let garbage = try HL7Message(parsing: await node.receiver.receive(Array("hello".utf8)))
        #expect(try ackCode(garbage) == "AR")
        let noName = try await node.send(SampleHL7.adtA01.replacingOccurrences(of: "DOE^JANE^Q^^DR^^L~SMITH^JANE^^^^^M", with: ""))
        #expect(try errCode(noName) == "101")
        #expect(try await node.store.read { try $0.messageCount() } == 0)
        #expect(node.mpi.read { $0.recordCount } == 0)
        let audit = try await node.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
        #expect(audit.count == 7, "one chained audit message per refusal")
        #expect(audit.allSatisfy { $0.outcome != .success && !$0.errorCode.isEmpty && $0.objects.isEmpty })
        let bodies = try await node.store.read { r -> String in
            var all = ""
            try r.forEachAuditRecord { all += String(decoding: $0.body, as: UTF8.self); return true }
            return all
        }
        #expect(!bodies.contains("DOE") && !bodies.contains("19800214"), "no name or birth date in the audit trail")
    }

    @Test("A40 merges, ORU^R01 stores observations, an ORU for an unknown patient is AE 204")
    func mergeAndResults() async throws {
        let node = try await Node.make()
        _ = try await node.send(SampleHL7.adtA01)
        let prior = SampleHL7.adtA01.replacingOccurrences(of: "4711^^^GOODH", with: "4712^^^GOODH").replacingOccurrences(of: "MSG00001", with: "MSG00001B")
        #expect(try ackCode(try await node.send(prior)) == "AA")
        #expect(try ackCode(try await node.send(SampleHL7.adtA40)) == "AA")
        let p1 = node.mpi.read { m in m.record(of: LocalIdentity(id: "4711", authority: goodHealth)).flatMap { r in m.person(of: r) } }
        let p2 = node.mpi.read { m in m.record(of: LocalIdentity(id: "4712", authority: goodHealth)).flatMap { r in m.person(of: r) } }
        #expect(p1 != nil && p1 == p2)
        #expect(try ackCode(try await node.send(SampleHL7.oruR01)) == "AA")
        let observations = try await node.store.read { try $0.observations(for: LocalIdentity(id: "4711", authority: goodHealth)) }
        #expect(observations.map(\.code) == ["2093-3", "11502-2"])
        #expect(observations[0].values == ["182"])
        let unknown = SampleHL7.oruR01.replacingOccurrences(of: "4711^^^GOODH", with: "9999^^^GOODH").replacingOccurrences(of: "MSG00004", with: "MSG00004X")
        #expect(try errCode(try await node.send(unknown)) == "204")
    }

    @Test("PIX Q23 returns the other domains' ids and the X-PID; unknown id or domain is AE 204")
    func pix() async throws {
        let node = try await Node.make()
        _ = try await node.send(SampleHL7.adtA01)
        let secondHospital = SampleHL7.adtA01
            .replacingOccurrences(of: "4711^^^GOODH&1.2.840.114350.1&ISO^MR~555-44-3333^^^SSA&2.16.840.1.113883.4.1&ISO^SS", with: "A-93^^^STMARY&2.16.840.1.113883.3.72&ISO^MR")
            .replacingOccurrences(of: "MSG00001", with: "SM0001").replacingOccurrences(of: "EPIC|GOODHEALTH", with: "CERNER|STMARY")
        #expect(try ackCode(try await node.send(secondHospital)) == "AA")
        let response = try await node.send(SampleHL7.qbpQ23)
        #expect(try response.msh.messageCode == "RSP")
        #expect(try response.msh.triggerEvent == "K23")
        #expect(try ackCode(response) == "AA")
        #expect(try response.first("QAK")?.text(2).raw == "OK")
        let ids = try #require(response.view(PIDSegment.self)).identifiers
        #expect(ids.map(\.id).contains("A-93"))
        #expect(ids.contains { $0.assigningAuthority.universalID == xpid })
        #expect(!ids.map(\.id).contains("4711"))
        let onlyStMary = SampleHL7.qbpQ23.replacingOccurrences(of: "^MR\r", with: "^MR|^^^&2.16.840.1.113883.3.72&ISO\r")
        let filtered = try await node.send(onlyStMary)
        #expect(try filtered.view(PIDSegment.self)?.identifiers.map(\.id) == ["A-93"])
        let unknownID = try await node.send(SampleHL7.qbpQ23.replacingOccurrences(of: "QPD|IHE PIX Query|Q0001|4711", with: "QPD|IHE PIX Query|Q0001|0000"))
        #expect(try ackCode(unknownID) == "AE")
        #expect(try errCode(unknownID) == "204")
        #expect(try unknownID.first("QAK")?.text(2).raw == "AE")
        let unknownDomain = try await node.send(SampleHL7.qbpQ23.replacingOccurrences(of: "^MR\r", with: "^MR|^^^&7.7.7&ISO\r"))
        #expect(try errCode(unknownDomain) == "204")
        #expect(try unknownDomain.view(ERRSegment.self)?.location?.field == 4)
    }

    @Test("PIX and PDQ over MLLP pass the decision point as the interface role: permitted by the shipped policy, AE 207 hl7.not-authorized when a policy leaves it out, audited")
    func queriesPassThePolicy() async throws {
        let shipped = try await Node.make(queryPolicy: PolicyDecisionPoint(policy: try PolicySet.shippedDefault()))
        _ = try await shipped.send(SampleHL7.adtA01)
        #expect(try ackCode(try await shipped.send(SampleHL7.qbpQ23)) == "AA")
        var closed = try PolicySet.shippedDefault()
        closed.roles["system:interface"] = nil
        let node = try await Node.make(queryPolicy: PolicyDecisionPoint(policy: closed))
        _ = try await node.send(SampleHL7.adtA01)
        for query in [SampleHL7.qbpQ23, SampleHL7.qbpQ22] {
            let refused = try await node.send(query)
            #expect(try ackCode(refused) == "AE")
            #expect(try errCode(refused) == "207")
            #expect(String(decoding: try refused.encoded(), as: UTF8.self).contains("not permit"))
        }
        let trail = try await node.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
        #expect(trail.filter { $0.errorCode == "hl7.not-authorized" }.count == 2, "each refusal is audited")
    }

    @Test("PDQ Q22 finds by demographics with a quantity limit and continuation")
    func pdq() async throws {
        let node = try await Node.make()
        for i in 0..<5 {
            let text = SampleHL7.adtA01.replacingOccurrences(of: "4711^^^GOODH", with: "50\(i)^^^GOODH").replacingOccurrences(of: "MSG00001", with: "P\(i)")
                .replacingOccurrences(of: "DOE^JANE^Q", with: "DOE^\(["ANN", "BETH", "CARA", "DINA", "EVA"][i])")
                .replacingOccurrences(of: "~555-44-3333^^^SSA&2.16.840.1.113883.4.1&ISO^SS", with: "")
            #expect(try ackCode(try await node.send(text)) == "AA")
        }
        let query = SampleHL7.qbpQ22.replacingOccurrences(of: "RCP|I|10^RD", with: "RCP|I|2^RD")
        let page1 = try await node.send(query)
        #expect(try ackCode(page1) == "AA")
        #expect(page1.segments("PID").count == 2)
        #expect(try page1.first("QAK")?.text(4).raw == "5")
        let pointer = try #require(page1.first("DSC")).text(1).raw
        let page2 = try await node.send(query + "DSC|\(pointer)|I\r")
        #expect(page2.segments("PID").count == 2)
        let page3 = try await node.send(query + "DSC|4|I\r")
        #expect(page3.segments("PID").count == 1)
        #expect(page3.first("DSC") == nil)
        let none = try await node.send(SampleHL7.qbpQ22.replacingOccurrences(of: "@PID.5.1.1^DOE", with: "@PID.5.1.1^ZZYZX"))
        #expect(try none.first("QAK")?.text(2).raw == "NF")
        let bad = try await node.send(SampleHL7.qbpQ22.replacingOccurrences(of: "@PID.7.1", with: "@PID.99"))
        #expect(try ackCode(bad) == "AE")
    }

    @Test("state survives a restart; concurrent messages are all committed (group commit)")
    func restartAndConcurrency() async throws {
        let dir = try TemporaryDirectory()
        do {
            let node = try await Node.make(dir)
            try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        let text = SampleHL7.adtA01.replacingOccurrences(of: "4711^^^GOODH", with: "C\(i)^^^GOODH").replacingOccurrences(of: "MSG00001", with: "C\(i)")
                        return try ackCode(try await node.send(text))
                    }
                }
                for try await code in group { #expect(code == "AA") }
            }
            #expect(try await node.store.read { try $0.messageCount() } == 200)
        }
        let reopened = try await Node.make(dir)
        #expect(reopened.mpi.read { $0.recordCount } == 200)
        #expect(try await reopened.store.read { try $0.messageCount() } == 200)
        // Same demographics at one hospital: the MPI queued reviews instead of merging.
        #expect(reopened.mpi.read { $0.personCount } == 200)
        #expect(reopened.mpi.read { $0.reviewQueue.count } > 0)
    }

    @Test("a failed commit is AE 207 (hl7.application-error), keeps nothing, and rolls the MPI back; a retry succeeds")
    func storageFailure() async throws {
        let dir = try TemporaryDirectory()
        let sqlite = try SQLiteStore(path: dir.url.appendingPathComponent("n.sqlite").path, nodeKey: NodeKey(bytes: Data(repeating: 3, count: 32)))
        let store = FailingWrites(sqlite)
        let mpi = try await MPIService(store: store, globalAuthority: xpid)
        let receiver = HL7Receiver(store: store, mpi: mpi, configuration: HL7ReceiverConfiguration(knownAuthorities: [goodHealth]))
        store.failing.withLock { $0 = true }
        let failed = try HL7Message(parsing: await receiver.receive(Array(SampleHL7.adtA01.utf8)))
        #expect(try ackCode(failed) == "AE")
        #expect(try errCode(failed) == "207")
        #expect(failed.first("ERR")?.text(5).raw == "hl7.application-error")
        #expect(try await sqlite.read { try $0.messageCount() } == 0)
        #expect(mpi.read { $0.recordCount } == 0, "the MPI change made inside the failed unit of work is undone")
        store.failing.withLock { $0 = false }
        let retried = try HL7Message(parsing: await receiver.receive(Array(SampleHL7.adtA01.utf8)))
        #expect(try ackCode(retried) == "AA")
        #expect(mpi.read { $0.recordCount } == 1)
    }

    @Test("a wrong node key cannot open the store")
    func wrongKey() async throws {
        let dir = try TemporaryDirectory()
        _ = try await Node.make(dir)
        let other = NodeKey(bytes: Data(repeating: 7, count: 32))
        #expect(throws: StorageError(.decryptionFailed, "")) {
            try SQLiteStore(path: dir.url.appendingPathComponent("node.sqlite").path, nodeKey: other)
        }
    }
}

/// A store whose writes run the unit of work and then fail, while `failing` is set (a disk that refuses the commit).
final class FailingWrites: CaduceusStore {
    let inner: SQLiteStore
    let failing = Mutex(false)
    init(_ inner: SQLiteStore) { self.inner = inner }
    var cipher: PHICipher { inner.cipher }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let fail = failing.withLock { $0 }
        return try await inner.write { tx in
            let result = try body(tx)
            if fail { throw StorageError(.database, "injected failure") }
            return result
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await inner.read(body)
    }
}
