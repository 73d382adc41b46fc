import CaduceusCore
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Foundation
import Testing

/// What "accepted means durable" rests on for the SQLite adapter: the writer connection itself (not the setting
/// asked for) runs in WAL mode with synchronous=FULL, so each commit is fsynced before it returns.
@Suite("SQLite durability")
struct SQLiteDurabilityTests {
    @Test("the live writer connection reports journal_mode=wal and synchronous=FULL (2), also after a reopen and after writes")
    func writerIsFull() async throws {
        let dir = try TemporaryDirectory()
        let key = NodeKey(bytes: Data(repeating: 9, count: 32))
        let store = try SQLiteStore(path: dir.file("n.sqlite"), nodeKey: key)
        let fresh = try store.writerDurability()
        #expect(fresh.journalMode == "wal" && fresh.synchronous == 2, "\(fresh)")
        _ = try await store.write { tx in try tx.rememberRequest("r1", expires: Date().addingTimeInterval(60), now: Date()) }
        #expect(try store.writerDurability().synchronous == 2)
        let reopened = try SQLiteStore(path: dir.file("n.sqlite"), nodeKey: key)
        let again = try reopened.writerDurability()
        #expect(again.journalMode == "wal" && again.synchronous == 2, "\(again)")
    }
}
