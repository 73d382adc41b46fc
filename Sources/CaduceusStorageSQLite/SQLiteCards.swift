import CaduceusStorage
import Foundation
import GRDB

// The personnel registry and the card registry. Both records name people (a patient card names the patient's
// identifier), so both are sealed at rest; the registries are small (one hospital's staff and cards) and are read
// whole.

extension SQLiteTransaction {
    func saveStaff(_ member: StaffMember) throws(StorageError) {
        let sealed = try cipher.seal(json: member, context: "staff.record")
        try sql("record a staff member") {
            try db.execute(sql: "INSERT INTO staff (id, record) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record", arguments: [member.id, sealed])
        }
    }

    func staffMember(id: String) throws(StorageError) -> StaffMember? { try SQLiteReader(db: db, cipher: cipher).staffMember(id: id) }

    func saveCard(_ card: CardRecord) throws(StorageError) {
        let sealed = try cipher.seal(json: card, context: "cards.record")
        let enrolled = (card.history.first?.at ?? Date()).timeIntervalSince1970
        try sql("record a card") {
            try db.execute(sql: "INSERT INTO cards (id, record, enrolled_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record", arguments: [card.id, sealed, enrolled])
        }
    }

    func card(id: String) throws(StorageError) -> CardRecord? { try SQLiteReader(db: db, cipher: cipher).card(id: id) }

    func cards() throws(StorageError) -> [CardRecord] { try SQLiteReader(db: db, cipher: cipher).cards() }
}

extension SQLiteReader {
    func staff() throws(StorageError) -> [StaffMember] {
        let rows = try sql("read the personnel registry") { try Data.fetchAll(db, sql: "SELECT record FROM staff ORDER BY id") }
        var out: [StaffMember] = []
        for sealed in rows { out.append(try cipher.open(json: sealed, as: StaffMember.self, context: "staff.record")) }
        return out
    }

    func staffMember(id: String) throws(StorageError) -> StaffMember? {
        let sealed = try sql("read a staff member") { try Data.fetchOne(db, sql: "SELECT record FROM staff WHERE id = ?", arguments: [id]) }
        guard let sealed else { return nil }
        return try cipher.open(json: sealed, as: StaffMember.self, context: "staff.record")
    }

    func cards() throws(StorageError) -> [CardRecord] {
        let rows = try sql("read the card registry") { try Data.fetchAll(db, sql: "SELECT record FROM cards ORDER BY enrolled_at, id") }
        var out: [CardRecord] = []
        for sealed in rows { out.append(try cipher.open(json: sealed, as: CardRecord.self, context: "cards.record")) }
        return out
    }

    func card(id: String) throws(StorageError) -> CardRecord? {
        let sealed = try sql("read a card") { try Data.fetchOne(db, sql: "SELECT record FROM cards WHERE id = ?", arguments: [id]) }
        guard let sealed else { return nil }
        return try cipher.open(json: sealed, as: CardRecord.self, context: "cards.record")
    }
}
