import CaduceusStorage
import Foundation

// The code tables, versioned as SQLiteCodeTables.swift keeps them.

extension InMemoryTransaction {
    func saveCodeTable(_ version: CodeTableVersion) throws(StorageError) {
        let record = try version.record(after: try codeTable(version.table)?.version)
        state.codeTables[version.table.rawValue, default: []].append(record)
    }

    func codeTable(_ table: CodeTableName) throws(StorageError) -> CodeTableVersion? { try reader.codeTable(table) }
}

extension InMemoryReader {
    func codeTable(_ table: CodeTableName) throws(StorageError) -> CodeTableVersion? { try codeTableHistory(table).first }

    func codeTableHistory(_ table: CodeTableName) throws(StorageError) -> [CodeTableVersion] {
        var out: [CodeTableVersion] = []
        for row in (state.codeTables[table.rawValue] ?? []).reversed() {
            do { out.append(try JSONDecoder().decode(CodeTableVersion.self, from: row)) } catch { throw StorageError(.database, "a stored code table could not be read") }
        }
        return out
    }
}
