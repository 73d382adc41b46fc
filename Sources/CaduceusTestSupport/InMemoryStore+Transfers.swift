import CaduceusStorage
import Foundation

// The transfer inbox and outbox as SQLiteTransfers.swift keeps them: sealed records keyed by direction and id.

extension InMemoryTransaction {
    func saveTransfer(_ record: TransferRecord) throws(StorageError) {
        let key = record.direction.rawValue + " " + record.id
        guard state.transfers[key] == nil else { throw StorageError(.conflict, "this transfer is kept already") }
        state.transfers[key] = .init(
            record: try cipher.seal(json: record, context: "transfers.record"), at: record.at.timeIntervalSince1970,
            accepted: record.accepted != nil)
    }

    func acceptTransfer(id: String, _ acceptance: TransferAcceptance) throws(StorageError) -> TransferRecord {
        let key = TransferDirection.received.rawValue + " " + id
        guard var record = try reader.transfer(id: id, .received) else {
            throw StorageError(.notFound, "no such received transfer")
        }
        guard record.accepted == nil, state.transfers[key]?.accepted == false else {
            throw StorageError(.conflict, "this transfer was accepted already")
        }
        record.accepted = acceptance
        state.transfers[key] = .init(
            record: try cipher.seal(json: record, context: "transfers.record"), at: record.at.timeIntervalSince1970,
            accepted: true)
        return record
    }
}

extension InMemoryReader {
    func transfers(_ direction: TransferDirection, limit: Int) throws(StorageError) -> [TransferRecord] {
        let rows = state.transfers.filter { $0.key.hasPrefix(direction.rawValue + " ") }
            .sorted { $0.value.at != $1.value.at ? $0.value.at > $1.value.at : binaryOrder($0.key, $1.key) }
        var out: [TransferRecord] = []
        for (_, row) in limited(rows, limit) {
            out.append(try cipher.open(json: row.record, as: TransferRecord.self, context: "transfers.record"))
        }
        return out
    }

    func transfer(id: String, _ direction: TransferDirection) throws(StorageError) -> TransferRecord? {
        guard let row = state.transfers[direction.rawValue + " " + id] else { return nil }
        return try cipher.open(json: row.record, as: TransferRecord.self, context: "transfers.record")
    }

    func patients(limit: Int) throws(StorageError) -> [PatientRecord] {
        let rows = state.patients.values.filter { $0.mergedInto == nil }.sorted { $0.updatedAt > $1.updatedAt }
        var out: [PatientRecord] = []
        for row in limited(rows, limit) {
            out.append(try cipher.open(json: row.record, as: PatientRecord.self, context: "patients.record"))
        }
        return out
    }
}
