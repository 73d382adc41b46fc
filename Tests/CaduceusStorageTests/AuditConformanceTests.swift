import CaduceusAudit
import CaduceusCore
import CaduceusStorage
import CaduceusTestSupport
import Crypto
import Foundation
import Testing

@Suite("Storage conformance: the hash-chained audit log, its checkpoints, and the audit repository")
struct AuditConformanceTests {
    let key = P256.Signing.PrivateKey()

    @Test("the chain: gap-free sequence numbers, each record linked to the last, streamed in order, verified with checkpoints", arguments: StoreKind.allCases)
    func chain(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let empty = try await s.read { try $0.auditHead() }
        #expect(empty.sequence == 0 && empty.hash == AuditChain.genesis)
        let first = try await s.write { tx in try tx.appendAudit([auditMessage(), auditMessage(.export)]) }
        let second = try await s.write { tx in try tx.appendAudit([auditMessage(.import)]) }
        #expect(first.map(\.sequence) == [1, 2] && second.map(\.sequence) == [3])
        #expect(first[0].previousHash == AuditChain.genesis && first[1].previousHash == first[0].hash && second[0].previousHash == first[1].hash)
        #expect(try await s.write { tx in try tx.appendAudit([]) }.isEmpty)
        let head = try await s.read { try $0.auditHead() }
        #expect(head.sequence == 3 && head.hash == second[0].hash)
        let streamed = try await s.read { r in
            var all: [ChainedRecord] = [], firstTwo: [ChainedRecord] = []
            try r.forEachAuditRecord { all.append($0); return true }
            try r.forEachAuditRecord { firstTwo.append($0); return firstTwo.count < 2 }
            return (all, firstTwo)
        }
        #expect(streamed.0 == first + second && streamed.1 == first)
        let page = try await s.read { r in (try r.auditRecords(from: 2, limit: 1), try r.auditRecords(from: 2, limit: 10), try r.auditRecords(from: 4, limit: 10), try r.auditRecords(from: 0, limit: -1)) }
        #expect(page.0 == [first[1]] && page.1 == [first[1], second[0]] && page.2.isEmpty && page.3.count == 3)

        // Checkpoints: signed heads, kept per sequence number (a later one for the same number replaces it).
        let c2 = try AuditCheckpoint.sign(node: "node.a", sequence: 2, hash: first[1].hash, time: t0, key: key)
        let c3 = try AuditCheckpoint.sign(node: "node.a", sequence: 3, hash: second[0].hash, time: t0, key: key)
        let wrong = try AuditCheckpoint.sign(node: "node.a", sequence: 1, hash: first[1].hash, time: t0, key: key)
        try await s.write { tx in
            try tx.saveCheckpoint(c3)
            try tx.saveCheckpoint(wrong)
            try tx.saveCheckpoint(c2)
        }
        #expect(try await s.read { try $0.auditCheckpoints() }.map(\.sequence) == [1, 2, 3])
        #expect(try await s.read { try $0.auditCheckpoints(after: 1) } == [c2, c3])
        var verdict = try await s.read { [key] in try $0.verifyAuditLog(key: key.publicKey) }
        #expect(verdict.problem == .checkpointMismatch && verdict.firstBad == 1)
        let right = try AuditCheckpoint.sign(node: "node.a", sequence: 1, hash: first[0].hash, time: t0, key: key)
        try await s.write { tx in try tx.saveCheckpoint(right) }
        verdict = try await s.read { [key] in try $0.verifyAuditLog(key: key.publicKey) }
        #expect(verdict.isIntact && verdict.records == 3 && verdict.checkpointsMatched == 3)
        // A checkpoint held elsewhere beyond the local head: the log was truncated or rolled back.
        let ahead = try AuditCheckpoint.sign(node: "node.a", sequence: 4, hash: second[0].hash, time: t0, key: key)
        verdict = try await s.read { [key] in try $0.verifyAuditLog(key: key.publicKey, held: [ahead]) }
        #expect(verdict.problem == .truncated && verdict.firstBad == 4)
        let forged = try AuditCheckpoint.sign(node: "node.a", sequence: 3, hash: second[0].hash, time: t0, key: P256.Signing.PrivateKey())
        verdict = try await s.read { [key] in try $0.verifyAuditLog(key: key.publicKey, held: [forged]) }
        #expect(verdict.problem == .badCheckpoint)
        // A unit of work that fails appends nothing: the chain continues from the committed head.
        await #expect(throws: BodyFailed()) { try await s.write { tx in try tx.appendAudit([auditMessage()]); throw BodyFailed() } }
        let next = try await s.write { tx in try tx.appendAudit([auditMessage()]) }
        #expect(next.map(\.sequence) == [4] && next[0].previousHash == second[0].hash)
    }

    @Test("patients are pseudonymised before they are chained, and found by identifier or pseudonym; filters, newest first, limits", arguments: StoreKind.allCases)
    func queries(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let alice = "A-1^^^&\(authority)&ISO", bob = "B-2^^^&\(authority)&ISO"
        let messages = [
            auditMessage(.query, user: "dr.x", patients: [alice], at: t0),
            auditMessage(.export, user: "dr.y", patients: [alice, bob], documents: ["2.25.7"], at: t0.addingTimeInterval(10)),
            auditMessage(.query, user: nil, patients: [bob], at: t0.addingTimeInterval(20)),
            auditMessage(.query, user: "dr.x", at: t0.addingTimeInterval(30)),
            auditMessage(.userAuthentication, user: "dr.x", patients: [alice], at: t0.addingTimeInterval(40)),
        ]
        let records = try await s.write { tx in try tx.appendAudit(messages) }
        for r in records {
            let body = String(decoding: r.body, as: UTF8.self)
            #expect(!body.contains("A-1") && !body.contains("B-2"), "no identifier in clear")
        }
        func sequences(_ f: AuditFilter) async throws -> [UInt64] { try await s.read { try $0.auditMessages(f) }.map(\.sequence) }
        #expect(try await sequences(AuditFilter()) == [5, 4, 3, 2, 1])
        #expect(try await sequences(AuditFilter(patient: alice)) == [5, 2, 1])
        #expect(try await sequences(AuditFilter(patient: bob)) == [3, 2], "an event about two patients is found under each")
        let pseudonym = s.cipher.auditPseudonym(bob)
        #expect(try await sequences(AuditFilter(patient: pseudonym)) == [3, 2])
        #expect(try await sequences(AuditFilter(patient: "C-3^^^&\(authority)&ISO")).isEmpty)
        #expect(try await sequences(AuditFilter(user: "dr.x")) == [5, 4, 1], "the requestor only")
        #expect(try await sequences(AuditFilter(user: "node.a")).isEmpty, "not a requestor")
        #expect(try await sequences(AuditFilter(eventID: AuditCode.query.code)) == [4, 3, 1])
        #expect(try await sequences(AuditFilter(from: t0.addingTimeInterval(10), to: t0.addingTimeInterval(30))) == [3, 2], "from inclusive, to exclusive")
        #expect(try await sequences(AuditFilter(patient: alice, user: "dr.x", eventID: AuditCode.query.code)) == [1])
        #expect(try await sequences(AuditFilter(limit: 2)) == [5, 4])
        #expect(try await sequences(AuditFilter(patient: alice, limit: 0)).isEmpty)
        let found = try await s.read { try $0.auditMessages(AuditFilter(patient: bob, eventID: AuditCode.export.code)) }
        #expect(found.count == 1)
        let export = try #require(found.first?.message)
        #expect(export.objects.map(\.id) == [s.cipher.auditPseudonym(alice), pseudonym, "2.25.7"], "documents stay as they are")
        #expect(export.time == t0.addingTimeInterval(10) && export.participants.last?.userID == "dr.y")
    }

    @Test("audit repository: each node's shipped trail kept gap-free, checkpoints (the first stands), heads per node; ingest stops at a gap or divergence", arguments: StoreKind.allCases)
    func repository(_ kind: StoreKind) async throws {
        let s = try kind.make()
        var chainA = AuditChain(), chainB = AuditChain()
        let a = (0..<4).map { _ in try! chainA.append(auditMessage()) }
        let b = (0..<2).map { _ in try! chainB.append(auditMessage(.export)) }
        let empty = try await s.read { try $0.repositoryHead(node: "node.a") }
        #expect(empty.sequence == 0 && empty.hash == AuditChain.genesis)
        #expect(try await s.read { try $0.repositoryNodes() }.isEmpty)
        let shippedA = a.prefix(2).map { AuditSyslog.Shipped.record($0) }
        let checkpoint = try AuditCheckpoint.sign(node: "node.a", sequence: 2, hash: a[1].hash, time: t0, key: key)
        let outcome = try await s.write { tx in try AuditRepository.ingest(shippedA + [.checkpoint(checkpoint)], from: "node.a", in: tx, at: t0) }
        #expect(outcome.accepted == 2 && outcome.checkpoints == 1 && outcome.gapAt == nil && outcome.divergedAt == nil)
        try await s.write { tx in for r in b { try tx.appendRepositoryRecord(node: "node.b", r, at: t0) } }
        // Again, with one more: duplicates are recognised; then a gap.
        let again = try await s.write { tx in try AuditRepository.ingest(a.prefix(3).map { .record($0) } + [.record(a[3])], from: "node.a", in: tx, at: t0) }
        #expect(again.duplicates == 2 && again.accepted == 2)
        var chainC = AuditChain()
        let c = (0..<3).map { _ in try! chainC.append(auditMessage(.import)) }
        let gap = try await s.write { tx in try AuditRepository.ingest([.record(c[0]), .record(c[2])], from: "node.c", in: tx, at: t0) }
        #expect(gap.accepted == 1 && gap.gapAt == 2)
        // A record rewritten after it was shipped.
        var rewritten = AuditChain()
        let other = try rewritten.append(auditMessage(.securityAlert))
        let diverged = try await s.write { tx in try AuditRepository.ingest([.record(other)], from: "node.a", in: tx, at: t0) }
        #expect(diverged.divergedAt == 1)

        let (headA, hash3, missing, nodes) = try await s.read { r in
            (try r.repositoryHead(node: "node.a"), try r.repositoryHash(node: "node.a", sequence: 3), try r.repositoryHash(node: "node.a", sequence: 9), try r.repositoryNodes())
        }
        #expect(headA.sequence == 4 && headA.hash == a[3].hash && hash3 == a[2].hash && missing == nil)
        #expect(nodes == ["node.a": 4, "node.b": 2, "node.c": 1])
        let trail = try await s.read { r in
            var all: [ChainedRecord] = [], one: [ChainedRecord] = []
            try r.forEachRepositoryRecord(node: "node.a") { all.append($0); return true }
            try r.forEachRepositoryRecord(node: "node.a") { one.append($0); return false }
            return (all, one)
        }
        #expect(trail.0 == a && trail.1 == [a[0]])
        #expect(AuditVerifier.verify(trail.0, checkpoints: try await s.read { try $0.repositoryCheckpoints(node: "node.a") }, key: key.publicKey).isIntact)
        // The same (node, sequence) twice is refused; a checkpoint shipped twice keeps the first.
        #expect(await code { try await s.write { tx in try tx.appendRepositoryRecord(node: "node.b", b[1], at: t0) } } == "storage.database")
        let later = try AuditCheckpoint.sign(node: "node.a", sequence: 2, hash: a[1].hash, time: t0.addingTimeInterval(60), key: key)
        let first4 = try AuditCheckpoint.sign(node: "node.a", sequence: 4, hash: a[3].hash, time: t0, key: key)
        try await s.write { tx in
            try tx.saveRepositoryCheckpoint(first4)
            try tx.saveRepositoryCheckpoint(later)
        }
        #expect(try await s.read { try $0.repositoryCheckpoints(node: "node.a") } == [checkpoint, first4])
        #expect(try await s.read { try $0.repositoryCheckpoints(node: "node.b") }.isEmpty)
        // Within a unit of work, the head and hashes include what it appended.
        let b3 = try chainB.append(auditMessage())
        let inside = try await s.write { tx in
            try tx.appendRepositoryRecord(node: "node.b", b3, at: t0)
            return (try tx.repositoryHead(node: "node.b").sequence, try tx.repositoryHash(node: "node.b", sequence: 3) != nil)
        }
        #expect(inside.0 == 3 && inside.1)
    }
}
