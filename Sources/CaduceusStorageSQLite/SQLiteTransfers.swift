import CaduceusStorage
import Foundation
import GRDB

// The transfer inbox and outbox: one row per (direction, id), the record sealed (it names the patient); the
// acceptance is a change of the sealed record guarded by a plain `accepted` flag, so two acceptances racing cannot
// both land: the second finds the flag set.

extension SQLiteTransaction {
    func saveTransfer(_ record: TransferRecord) throws(StorageError) {
        if try SQLiteReader(db: db, cipher: cipher).transfer(id: record.id, record.direction) != nil {
            throw StorageError(.conflict, "this transfer is kept already")
        }
        let sealed = try cipher.seal(json: record, context: "transfers.record")
        try sql("keep a transfer") {
            try db.execute(
                sql: "INSERT INTO transfers (direction, id, at, accepted, record) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    record.direction.rawValue, record.id, record.at.timeIntervalSince1970,
                    record.accepted == nil ? 0 : 1, sealed,
                ])
        }
    }

    func acceptTransfer(id: String, _ acceptance: TransferAcceptance) throws(StorageError) -> TransferRecord {
        guard var record = try SQLiteReader(db: db, cipher: cipher).transfer(id: id, .received) else {
            throw StorageError(.notFound, "no such received transfer")
        }
        guard record.accepted == nil else { throw StorageError(.conflict, "this transfer was accepted already") }
        record.accepted = acceptance
        let sealed = try cipher.seal(json: record, context: "transfers.record")
        let changed = try sql("accept a transfer") { () throws -> Int in
            try db.execute(
                sql:
                    "UPDATE transfers SET accepted = 1, record = ? WHERE direction = 'received' AND id = ? AND accepted = 0",
                arguments: [sealed, id])
            return db.changesCount
        }
        guard changed == 1 else { throw StorageError(.conflict, "this transfer was accepted already") }
        return record
    }
}

extension SQLiteReader {
    func transfers(_ direction: TransferDirection, limit: Int) throws(StorageError) -> [TransferRecord] {
        let rows = try sql("read transfers") {
            try Data.fetchAll(
                db, sql: "SELECT record FROM transfers WHERE direction = ? ORDER BY at DESC, id LIMIT ?",
                arguments: [direction.rawValue, limit])
        }
        var out: [TransferRecord] = []
        for row in rows { out.append(try cipher.open(json: row, as: TransferRecord.self, context: "transfers.record")) }
        return out
    }

    func transfer(id: String, _ direction: TransferDirection) throws(StorageError) -> TransferRecord? {
        let row = try sql("read a transfer") {
            try Data.fetchOne(
                db, sql: "SELECT record FROM transfers WHERE direction = ? AND id = ?",
                arguments: [direction.rawValue, id])
        }
        guard let row else { return nil }
        return try cipher.open(json: row, as: TransferRecord.self, context: "transfers.record")
    }

    func patients(limit: Int) throws(StorageError) -> [PatientRecord] {
        let rows = try sql("list patients") {
            try Data.fetchAll(
                db, sql: "SELECT record FROM patients WHERE merged_into IS NULL ORDER BY updated_at DESC, id LIMIT ?",
                arguments: [limit])
        }
        var out: [PatientRecord] = []
        for row in rows { out.append(try cipher.open(json: row, as: PatientRecord.self, context: "patients.record")) }
        return out
    }
}
