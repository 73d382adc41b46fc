import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Storage conformance: versioned code tables")
struct CodeTableConformanceTests {
    func version(_ n: Int, _ codes: [String], table: CodeTableName = .administrativeSex) -> CodeTableVersion {
        CodeTableVersion(table: table, version: n, entries: codes.map { CodeTableEntry(code: $0, display: "code \($0)") }, changedBy: "Admin (synthetic)", changedAt: t0.addingTimeInterval(Double(n)), note: "v\(n)")
    }

    @Test("versions append: the newest is in force, every version stays readable newest first, tables are apart", arguments: StoreKind.allCases)
    func versions(_ kind: StoreKind) async throws {
        let s = try kind.make()
        #expect(try await s.read { try $0.codeTable(.administrativeSex) } == nil, "never saved: nothing in force")
        #expect(try await s.read { try $0.codeTableHistory(.administrativeSex) } == [])
        try await s.write { tx in
            try tx.saveCodeTable(version(1, ["F", "M", "U"]))
            #expect(try tx.codeTable(.administrativeSex)?.version == 1, "a unit of work sees its own write")
        }
        try await s.write { tx in try tx.saveCodeTable(version(2, ["F", "M", "O", "U"])) }
        try await s.write { tx in try tx.saveCodeTable(version(1, ["34133-9"], table: .documentClass)) }
        let newest = try #require(try await s.read { try $0.codeTable(.administrativeSex) })
        #expect(newest == version(2, ["F", "M", "O", "U"]) && newest.contains("O") && !newest.contains("X"))
        #expect(try await s.read { try $0.codeTableHistory(.administrativeSex) }.map(\.version) == [2, 1])
        #expect(try await s.read { try $0.codeTable(.documentClass) }?.entries.map(\.code) == ["34133-9"])
        #expect(try await s.read { try $0.codeTable(.facility) } == nil)
    }

    @Test("a save from a stale version (or skipping one) is refused with storage.conflict and keeps nothing; a failed unit of work keeps nothing", arguments: StoreKind.allCases)
    func conflicts(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in try tx.saveCodeTable(version(1, ["F"])) }
        #expect(await code { try await s.write { tx in try tx.saveCodeTable(version(1, ["M"])) } } == "storage.conflict", "two saves from the same page")
        #expect(await code { try await s.write { tx in try tx.saveCodeTable(version(3, ["M"])) } } == "storage.conflict", "no gaps")
        await #expect(throws: BodyFailed()) {
            try await s.write { tx in try tx.saveCodeTable(version(2, ["M"])); throw BodyFailed() }
        }
        #expect(try await s.read { try $0.codeTableHistory(.administrativeSex) } == [version(1, ["F"])])
    }
}
