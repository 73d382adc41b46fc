import CaduceusStorage
import Foundation

// The code tables, versioned as SQLiteCodeTables.swift keeps them.

extension InMemoryTransaction {
    func saveCodeTable(_ version: CodeTableVersion) throws(StorageError) {
        let newest = try codeTable(version.table)?.version ?? 0
        guard version.version == newest + 1 else {
            throw StorageError(.conflict, "the code table changed since that version (save again from the newest)")
        }
        let record: Data
        do { record = try JSONEncoder().encode(version) } catch { throw StorageError(.database, "the code table could not be encoded") }
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
