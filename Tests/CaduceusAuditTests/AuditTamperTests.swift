import CaduceusAudit
import CaduceusCore
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Crypto
import Foundation
import GRDB
import Testing

/// Verifies the log in `store` against its own checkpoints plus `held` (the regional repository's copy).
func verifyStore(_ store: SQLiteStore, key: P256.Signing.PublicKey, held: [AuditCheckpoint]) async throws -> (AuditVerification, Duration) {
    let start = ContinuousClock.now
    let result = try await store.read { try $0.verifyAuditLog(key: key, held: held) }
    return (result, start.duration(to: .now))
}

/// Writes `total` chained events straight into the audit table (as the node would append them), a signed checkpoint
/// every `every` events, and a copy of the database after 800,000; returns the latest checkpoint (the regional copy).
func buildLog(path: String, backup: String, total: Int, every: Int, signing: P256.Signing.PrivateKey) throws -> [AuditCheckpoint] {
    let queue = try DatabaseQueue(path: path)
    defer { try? queue.close() }
    var chain = AuditChain()
    let template = try AuditChain.encoder.encode(message(0))
    let prefix = Array(String(decoding: template, as: UTF8.self).replacingOccurrences(of: "Dr 0", with: "Dr #").utf8)
    var held: [AuditCheckpoint] = []
    for block in 0..<(total / every) {
        try queue.inDatabase { db in
            try db.inTransaction {
                let insert = try db.makeStatement(sql: "INSERT INTO audit_log (seq, prev, body, hash, at, event_id, patient, user, outcome) VALUES (?, ?, ?, ?, ?, '110110', NULL, NULL, 0)")
                for i in 0..<every {
                    let n = block * every + i
                    let r = chain.append(body: prefix + Array(" \(n)".utf8))
                    try insert.execute(arguments: [Int64(r.sequence), Data(r.previousHash), Data(r.body), Data(r.hash), Double(n)])
                }
                return .commit
            }
            let checkpoint = try AuditCheckpoint.sign(node: "node.a", sequence: chain.sequence, hash: chain.head, time: Date(), key: signing)
            try db.execute(sql: "INSERT INTO audit_checkpoints (seq, checkpoint) VALUES (?, ?)", arguments: [Int64(checkpoint.sequence), String(decoding: try JSONEncoder().encode(checkpoint), as: UTF8.self)])
            held = [checkpoint]
        }
        if block == 7 {
            try queue.inDatabase { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try FileManager.default.copyItem(atPath: path, toPath: backup)
        }
    }
    return held
}

@Suite("Audit log tamper detection at one million events", .serialized)
struct AuditTamperTests {
    @Test("change a byte, delete, swap, truncate, forge with recomputed hashes, roll the database back: each is found")
    func millionEvents() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("audit.sqlite")
        let nodeKey = NodeKey(bytes: Data(repeating: 5, count: 32))
        let signing = P256.Signing.PrivateKey()
        let total = 1_000_000, every = 100_000
        var held: [AuditCheckpoint] = []
        _ = held
        do {
            let store = try SQLiteStore(path: path, nodeKey: nodeKey)  // creates the schema
            _ = store
        }
        let backup = dir.file("backup.sqlite")
        held = try buildLog(path: path, backup: backup, total: total, every: every, signing: signing)
        let store = try SQLiteStore(path: path, nodeKey: nodeKey)
        let (intact, elapsed) = try await verifyStore(store, key: signing.publicKey, held: held)
        #expect(intact.isIntact && intact.records == UInt64(total) && intact.checkpointsMatched == 11)
        _ = elapsed  // timed by `caduceus bench audit`, not asserted here

        func tamper(_ sql: String, _ arguments: StatementArguments = [], undo: String, _ undoArguments: StatementArguments = []) async throws -> AuditVerification {
            let q = try DatabaseQueue(path: path)
            try await q.write { db in try db.execute(sql: sql, arguments: arguments) }
            let (v, _) = try await verifyStore(store, key: signing.publicKey, held: held)
            try await q.write { db in try db.execute(sql: undo, arguments: undoArguments) }
            try q.close()
            return v
        }
        let original = try await store.read { r -> (Data, Data, Data) in
            var out: (Data, Data, Data) = (Data(), Data(), Data())
            try r.forEachAuditRecord { rec in
                if rec.sequence == 500_000 { out.0 = Data(rec.body) }
                if rec.sequence == 700_000 { out.1 = Data(rec.body) }
                if rec.sequence == 700_001 { out.2 = Data(rec.body); return false }
                return true
            }
            return out
        }
        var flipped = original.0
        flipped[10] ^= 0x01
        let changed = try await tamper("UPDATE audit_log SET body = ? WHERE seq = 500000", [flipped], undo: "UPDATE audit_log SET body = ? WHERE seq = 500000", [original.0])
        #expect(changed.problem == .hashMismatch && changed.firstBad == 500_000)

        let deleted = try await tamper(
            "CREATE TABLE saved AS SELECT * FROM audit_log WHERE seq = 600000; DELETE FROM audit_log WHERE seq = 600000",
            undo: "INSERT INTO audit_log SELECT * FROM saved; DROP TABLE saved")
        #expect(deleted.problem == .sequenceGap && deleted.firstBad == 600_000)

        let swapped = try await tamper(
            "UPDATE audit_log SET body = CASE seq WHEN 700000 THEN ? ELSE ? END WHERE seq IN (700000, 700001)", [original.2, original.1],
            undo: "UPDATE audit_log SET body = CASE seq WHEN 700000 THEN ? ELSE ? END WHERE seq IN (700000, 700001)", [original.1, original.2])
        #expect(swapped.problem == .hashMismatch && swapped.firstBad == 700_000)

        let truncated = try await tamper(
            "CREATE TABLE saved AS SELECT * FROM audit_log WHERE seq > 950000; DELETE FROM audit_log WHERE seq > 950000; DELETE FROM audit_checkpoints WHERE seq > 950000",
            undo: "INSERT INTO audit_log SELECT * FROM saved; DROP TABLE saved")
        #expect(truncated.problem == .truncated && truncated.firstBad == 950_001, "the regional copy of the last checkpoint catches it")

        // Forge record 300,000 and recompute every hash after it, as an administrator with the database could.
        let forgeQueue = try DatabaseQueue(path: path)
        try await forgeQueue.write { db in
            let prev = try Data.fetchOne(db, sql: "SELECT hash FROM audit_log WHERE seq = 299999")!
            var c = AuditChain(sequence: 299_999, head: Array(prev))
            let rows = try Row.fetchAll(db, sql: "SELECT seq, body FROM audit_log WHERE seq >= 300000 ORDER BY seq")
            for row in rows {
                var body = Array(row["body"] as Data)
                if (row["seq"] as Int64) == 300_000 { body = Array("{\"forged\":true}".utf8) }
                let r = c.append(body: body)
                try db.execute(sql: "UPDATE audit_log SET prev = ?, body = ?, hash = ? WHERE seq = ?", arguments: [Data(r.previousHash), Data(r.body), Data(r.hash), row["seq"] as Int64])
            }
        }
        try forgeQueue.close()
        let (forged, _) = try await verifyStore(store, key: signing.publicKey, held: held)
        #expect(forged.problem == .checkpointMismatch && forged.firstBad == 200_001)

        // Roll the whole database back to the copy taken at 800,000 events: its own checkpoints agree with it, the
        // regional repository's latest does not.
        let rolledBack = try SQLiteStore(path: backup, nodeKey: nodeKey)
        let (rollback, _) = try await verifyStore(rolledBack, key: signing.publicKey, held: held)
        #expect(rollback.problem == .truncated && rollback.firstBad == 800_001)
        let (alone, _) = try await verifyStore(rolledBack, key: signing.publicKey, held: [])
        #expect(alone.isIntact, "without the held checkpoint a rollback looks like a shorter log")
    }
}
