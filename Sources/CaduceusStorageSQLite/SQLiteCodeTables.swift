import CaduceusStorage
import Foundation
import GRDB

// The code tables: one row per version, (name, version) unique, so two saves racing for the same number cannot
// both land.

extension SQLiteTransaction {
    func saveCodeTable(_ version: CodeTableVersion) throws(StorageError) {
        let record = try version.record(after: try codeTable(version.table)?.version)
        try sql("record a code table") {
            try db.execute(sql: "INSERT INTO code_tables (name, version, record) VALUES (?, ?, ?)", arguments: [version.table.rawValue, version.version, record])
        }
    }

    func codeTable(_ table: CodeTableName) throws(StorageError) -> CodeTableVersion? { try SQLiteReader(db: db, cipher: cipher).codeTable(table) }
}

extension SQLiteReader {
    func codeTable(_ table: CodeTableName) throws(StorageError) -> CodeTableVersion? {
        let row = try sql("read a code table") {
            // Read in every ADT's unit of work (PID-8 is checked against it): a cached statement.
            try Data.fetchOne(db.cachedStatement(sql: "SELECT record FROM code_tables WHERE name = ? ORDER BY version DESC LIMIT 1"), arguments: [table.rawValue])
        }
        guard let row else { return nil }
        return try Self.decodeCodeTable(row)
    }

    func codeTableHistory(_ table: CodeTableName) throws(StorageError) -> [CodeTableVersion] {
        let rows = try sql("read a code table's history") {
            try Data.fetchAll(db, sql: "SELECT record FROM code_tables WHERE name = ? ORDER BY version DESC", arguments: [table.rawValue])
        }
        var out: [CodeTableVersion] = []
        for row in rows { out.append(try Self.decodeCodeTable(row)) }
        return out
    }

    static func decodeCodeTable(_ data: Data) throws(StorageError) -> CodeTableVersion {
        do { return try JSONDecoder().decode(CodeTableVersion.self, from: data) } catch { throw StorageError(.database, "a stored code table could not be read") }
    }
}
