import CaduceusPolicy
import CaduceusStorage
import Foundation
import GRDB

// The consent registry and the emergency-access review queue. Records are sealed at rest (they name patients and,
// for emergencies, a free-text reason); patients are found by blind index of their global id.

extension SQLiteTransaction {
    func emergencyAccess(id: String) throws(StorageError) -> EmergencyAccess? {
        try SQLiteReader(db: db, cipher: cipher).emergencyAccess(id: id)
    }

    func consent(id: String) throws(StorageError) -> ConsentRecord? {
        try SQLiteReader(db: db, cipher: cipher).consent(id: id)
    }

    func saveConsent(_ record: ConsentRecord) throws(StorageError) {
        let sealed = try cipher.seal(json: record, context: "consents.record")
        let key = cipher.consentPatientIndex(record.patientId)
        let exists = try sql("read a consent") { try Bool.fetchOne(db, sql: "SELECT 1 FROM consents WHERE id = ?", arguments: [record.directive.id]) ?? false }
        guard !exists else { throw StorageError(.conflict, "a consent with this id is already recorded") }
        try sql("record a consent") {
            try db.execute(sql: "INSERT INTO consents (id, patient, record, recorded_at) VALUES (?, ?, ?, ?)", arguments: [record.directive.id, key, sealed, record.recordedTime.timeIntervalSince1970])
        }
    }

    func revokeConsent(id: String, at: Date, by: String, statement: String) throws(StorageError) -> Bool {
        guard var record = try SQLiteReader(db: db, cipher: cipher).consent(id: id) else { return false }
        guard record.revokedTime == nil else { return true }
        record.revokedTime = at
        record.revokedBy = by
        record.revocationStatement = statement
        let sealed = try cipher.seal(json: record, context: "consents.record")
        try sql("revoke a consent") { try db.execute(sql: "UPDATE consents SET record = ? WHERE id = ?", arguments: [sealed, id]) }
        return true
    }

    func noteEmergencyAccess(_ access: EmergencyAccess, useAt: Date?) throws(StorageError) {
        var entry = try SQLiteReader(db: db, cipher: cipher).emergencyAccess(id: access.id) ?? access
        if let useAt {
            entry.uses += 1
            entry.lastUse = useAt
        }
        let sealed = try cipher.seal(json: entry, context: "emergency_access.record")
        try sql("record an emergency access") {
            try db.execute(sql: """
                INSERT INTO emergency_access (id, record, started_at) VALUES (?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET record = excluded.record
                """, arguments: [entry.id, sealed, entry.started.timeIntervalSince1970])
        }
    }

    func endEmergencyAccess(id: String, at: Date) throws(StorageError) {
        _ = try updateEmergencyAccess(id: id, reviewed: false) { entry in
            if entry.ended == nil { entry.ended = at }
        }
    }

    func reviewEmergencyAccess(id: String, reviewer: String, note: String, at: Date) throws(StorageError) -> Bool {
        try updateEmergencyAccess(id: id, reviewed: true) { entry in
            entry.reviewed = at
            entry.reviewer = reviewer
            entry.reviewNote = note
        }
    }

    /// Opens, changes and reseals one review-queue entry; false when there is none.
    func updateEmergencyAccess(id: String, reviewed: Bool, _ change: (inout EmergencyAccess) -> Void) throws(StorageError) -> Bool {
        guard var entry = try SQLiteReader(db: db, cipher: cipher).emergencyAccess(id: id) else { return false }
        change(&entry)
        let sealed = try cipher.seal(json: entry, context: "emergency_access.record")
        try sql("update an emergency access") {
            try db.execute(sql: "UPDATE emergency_access SET record = ?, reviewed = MAX(reviewed, ?) WHERE id = ?", arguments: [sealed, reviewed ? 1 : 0, id])
        }
        return true
    }
}

extension SQLiteReader {
    func consents(patientId: String) throws(StorageError) -> [ConsentRecord] {
        let key = cipher.consentPatientIndex(patientId)
        let rows = try sql("read consents") { try Data.fetchAll(db, sql: "SELECT record FROM consents WHERE patient = ? ORDER BY recorded_at, id", arguments: [key]) }
        var out: [ConsentRecord] = []
        for sealed in rows { out.append(try cipher.open(json: sealed, as: ConsentRecord.self, context: "consents.record")) }
        return out
    }

    func consent(id: String) throws(StorageError) -> ConsentRecord? {
        let sealed = try sql("read a consent") { try Data.fetchOne(db, sql: "SELECT record FROM consents WHERE id = ?", arguments: [id]) }
        guard let sealed else { return nil }
        return try cipher.open(json: sealed, as: ConsentRecord.self, context: "consents.record")
    }

    func emergencyAccess(id: String) throws(StorageError) -> EmergencyAccess? {
        let sealed = try sql("read an emergency access") { try Data.fetchOne(db, sql: "SELECT record FROM emergency_access WHERE id = ?", arguments: [id]) }
        guard let sealed else { return nil }
        return try cipher.open(json: sealed, as: EmergencyAccess.self, context: "emergency_access.record")
    }

    func emergencyAccesses(unreviewedOnly: Bool) throws(StorageError) -> [EmergencyAccess] {
        let rows = try sql("read the emergency review queue") {
            try Data.fetchAll(db, sql: "SELECT record FROM emergency_access \(unreviewedOnly ? "WHERE reviewed = 0" : "") ORDER BY started_at DESC, id DESC LIMIT 1000")
        }
        var out: [EmergencyAccess] = []
        for sealed in rows { out.append(try cipher.open(json: sealed, as: EmergencyAccess.self, context: "emergency_access.record")) }
        return out
    }
}
