import CaduceusHL7
import CaduceusMLLP
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Crash durability", .serialized)
struct CrashDurabilityTests {
    @Test("kill -9 under load loses no acknowledged message; after a restart a repeat gets the same ACK")
    func killNine() async throws {
        let dir = try TemporaryDirectory()
        let data = dir.url.appendingPathComponent("node").path
        let server = try ServeProcess(data: data, domains: [goodHealth])
        final class Tally: Sendable {
            let acked = Mutex<[(Int, [UInt8])]>([])
            let total = Mutex(0)
        }
        let tally = Tally()
        await withTaskGroup(of: Void.self) { group in
            for c in 0..<8 {
                group.addTask {
                    _ = try? await MLLPClient.withConnection(host: "127.0.0.1", port: server.port) { connection in
                        for i in 0..<1_000 {
                            let id = c * 10_000 + i
                            let answer = try await connection.send(adt(id))
                            if try msa(answer) == "AA" { tally.acked.withLock { $0.append((id, answer)) } }
                            let n = tally.total.withLock { n -> Int in
                                n += 1
                                return n
                            }
                            if n == 300 { server.kill9() }
                        }
                    }
                }
            }
        }
        let acknowledged = tally.acked.withLock { $0 }
        #expect(acknowledged.count >= 300)
        #expect(acknowledged.count < 8_000, "the server was not killed")
        // Restart on the same data directory (SQLite recovers the WAL), then check every acknowledged message.
        let restarted = try ServeProcess(data: data, domains: [goodHealth])
        defer { restarted.kill9() }
        let store = try SQLiteStore(path: data + "/caduceus.sqlite", nodeKey: try NodeKey.loadOrCreate(at: data + "/node.key"))
        let missing = try await store.read { reader in
            // Messages are keyed by the authenticated sender (here a plain-TCP peer, by host) and MSH-3|MSH-4.
            try acknowledged.filter { !(try reader.hasMessage(sender: "plain:127.0.0.1 EPIC|GH", controlID: "M\($0.0)")) }.count
        }
        #expect(missing == 0, "\(missing) acknowledged messages were lost")
        let (id, firstAnswer) = acknowledged[acknowledged.count / 2]
        let repeated = try await MLLPClient.withConnection(host: "127.0.0.1", port: restarted.port) { try await $0.send(adt(id)) }
        #expect(repeated == firstAnswer)
    }
}
