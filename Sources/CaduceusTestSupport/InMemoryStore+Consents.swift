import CaduceusPolicy
import CaduceusStorage
import Foundation

// The consent registry and the emergency-access review queue, sealed as SQLiteConsents.swift seals them; patients
// are found by the blind index of their global id.

extension InMemoryTransaction {
    func consent(id: String) throws(StorageError) -> ConsentRecord? { try reader.consent(id: id) }

    func emergencyAccess(id: String) throws(StorageError) -> EmergencyAccess? { try reader.emergencyAccess(id: id) }

    func saveConsent(_ record: ConsentRecord) throws(StorageError) {
        let sealed = try cipher.seal(json: record, context: "consents.record")
        guard state.consents[record.directive.id] == nil else { throw StorageError(.conflict, "a consent with this id is already recorded") }
        state.consents[record.directive.id] = .init(patient: cipher.consentPatientIndex(record.patientId), record: sealed, recordedAt: record.recordedTime.timeIntervalSince1970)
    }

    func revokeConsent(id: String, at: Date, by: String, statement: String) throws(StorageError) -> Bool {
        guard var record = try reader.consent(id: id) else { return false }
        guard record.revokedTime == nil else { return true }  // the first revocation stands
        record.revokedTime = at
        record.revokedBy = by
        record.revocationStatement = statement
        state.consents[id]?.record = try cipher.seal(json: record, context: "consents.record")
        return true
    }

    func noteEmergencyAccess(_ access: EmergencyAccess, useAt: Date?) throws(StorageError) {
        var entry = try reader.emergencyAccess(id: access.id) ?? access
        if let useAt {
            entry.uses += 1
            entry.lastUse = useAt
        }
        let sealed = try cipher.seal(json: entry, context: "emergency_access.record")
        if state.emergencies[entry.id] != nil {
            state.emergencies[entry.id]?.record = sealed  // ON CONFLICT: the record only
        } else {
            state.emergencies[entry.id] = .init(record: sealed, startedAt: entry.started.timeIntervalSince1970, reviewed: false)
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
        guard var entry = try reader.emergencyAccess(id: id) else { return false }
        change(&entry)
        let sealed = try cipher.seal(json: entry, context: "emergency_access.record")
        state.emergencies[id]?.record = sealed
        if reviewed { state.emergencies[id]?.reviewed = true }  // reviewed = MAX(reviewed, ?)
        return true
    }
}

extension InMemoryReader {
    func consents(patientId: String) throws(StorageError) -> [ConsentRecord] {
        let key = cipher.consentPatientIndex(patientId)
        // ORDER BY recorded_at, id
        let rows = state.consents.filter { $0.value.patient == key }.sorted {
            $0.value.recordedAt != $1.value.recordedAt ? $0.value.recordedAt < $1.value.recordedAt : binaryOrder($0.key, $1.key)
        }
        var out: [ConsentRecord] = []
        for (_, row) in rows { out.append(try cipher.open(json: row.record, as: ConsentRecord.self, context: "consents.record")) }
        return out
    }

    func consent(id: String) throws(StorageError) -> ConsentRecord? {
        guard let row = state.consents[id] else { return nil }
        return try cipher.open(json: row.record, as: ConsentRecord.self, context: "consents.record")
    }

    func emergencyAccess(id: String) throws(StorageError) -> EmergencyAccess? {
        guard let row = state.emergencies[id] else { return nil }
        return try cipher.open(json: row.record, as: EmergencyAccess.self, context: "emergency_access.record")
    }

    func emergencyAccesses(unreviewedOnly: Bool) throws(StorageError) -> [EmergencyAccess] {
        // ORDER BY started_at DESC, id DESC LIMIT 1000
        let rows = state.emergencies.filter { !unreviewedOnly || !$0.value.reviewed }.sorted {
            $0.value.startedAt != $1.value.startedAt ? $0.value.startedAt > $1.value.startedAt : binaryOrder($1.key, $0.key)
        }
        var out: [EmergencyAccess] = []
        for (_, row) in limited(rows, 1000) { out.append(try cipher.open(json: row.record, as: EmergencyAccess.self, context: "emergency_access.record")) }
        return out
    }
}
