import CaduceusAudit
import CaduceusCore
import CaduceusPatientIndex
import CaduceusStorage
import Foundation
import GRDB

struct SQLiteTransaction: StoreTransaction {
    let db: Database
    let cipher: PHICipher

    func identityIndex(_ i: LocalIdentity) -> Data { cipher.identityIndex(i) }

    func loggedMessage(sender: String, controlID: String) throws(StorageError) -> (raw: [UInt8], ack: [UInt8])? {
        let row = try sql("read the message log") {
            try Row.fetchOne(db, sql: "SELECT raw, ack FROM hl7_messages WHERE sender = ? AND control_id = ?", arguments: [sender, controlID])
        }
        guard let row else { return nil }
        return (Array(try cipher.open(row["raw"] as Data, context: "hl7_messages.raw")), Array(try cipher.open(row["ack"] as Data, context: "hl7_messages.ack")))
    }

    func logMessage(sender: String, controlID: String, messageType: String, outcome: String, sealed: SealedMessage, at: Date) throws(StorageError) {
        let sealedRaw = sealed.raw
        let sealedAck = sealed.ack
        try sql("log a message") {
            try db.cachedStatement(sql: "INSERT INTO hl7_messages (sender, control_id, message_type, outcome, received_at, raw, ack) VALUES (?, ?, ?, ?, ?, ?, ?)").execute(arguments: [sender, controlID, messageType, outcome, at, sealedRaw, sealedAck])
        }
    }

    func patient(_ identity: LocalIdentity) throws(StorageError) -> PatientRecord? {
        try SQLiteReader(db: db, cipher: cipher).patient(identity)
    }

    func savePatient(_ patient: SealedPatient, at: Date) throws(StorageError) {
        let sealed = patient.blob
        try sql("save a patient") {
            try db.cachedStatement(sql: """
                    INSERT INTO patients (identity_index, authority, record, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (identity_index) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at
                    """).execute(arguments: [patient.identityIndex, patient.authority, sealed, at])
        }
    }

    func mergePatient(_ prior: LocalIdentity, into survivor: LocalIdentity, at: Date) throws(StorageError) {
        try sql("merge patients") {
            try db.cachedStatement(sql: "UPDATE patients SET merged_into = ?, updated_at = ? WHERE identity_index = ?").execute(arguments: [identityIndex(survivor), at, identityIndex(prior)])
        }
    }

    func addObservations(_ observations: [Observation], for identity: LocalIdentity, controlID: String, at: Date) throws(StorageError) {
        let key = identityIndex(identity)
        for o in observations {
            let sealed = try cipher.seal(json: o, context: "observations.data")
            try sql("store an observation") {
                try db.cachedStatement(sql: "INSERT INTO observations (patient_index, control_id, data, stored_at) VALUES (?, ?, ?, ?)").execute(arguments: [key, controlID, sealed, at])
            }
        }
    }

    func saveMPIRecord(_ record: Int64, sealed: SealedMPIRecord, person: String) throws(StorageError) {
        let sealedIdentity = sealed.identity
        let sealedDemographics = sealed.demographics
        try sql("save an MPI record") {
            try db.cachedStatement(sql: """
                    INSERT INTO mpi_records (record_id, identity_index, authority, identity, demographics, person)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (record_id) DO UPDATE SET demographics = excluded.demographics, person = excluded.person
                    """).execute(arguments: [record, sealed.identityIndex, sealed.authority, sealedIdentity, sealedDemographics, person])
        }
    }

    func applyMPIChange(_ change: MPIChange, actor: String, at: Date) throws(StorageError) {
        let previous = change.previousAssignments
        try sql("apply an MPI change") {
            for (record, person) in change.assignments.sorted(by: { $0.key < $1.key }) {
                try db.cachedStatement(sql: "UPDATE mpi_records SET person = ? WHERE record_id = ?").execute(arguments: [person, record])
                let action = previous[record] == nil ? "assign" : "relink"
                try db.cachedStatement(sql: "INSERT INTO mpi_events (at, action, record_id, person_before, person_after, actor) VALUES (?, ?, ?, ?, ?, ?)").execute(arguments: [at, action, record, previous[record], person, actor])
            }
            for item in change.addedReviews {
                try db.cachedStatement(sql: "INSERT INTO mpi_reviews (id, record_id, candidate_record_id, weight, reason) VALUES (?, ?, ?, ?, ?)").execute(arguments: [item.id, item.recordID, item.candidateRecordID, item.weight, item.reason])
                try db.cachedStatement(sql: "INSERT INTO mpi_events (at, action, record_id, person_before, person_after, actor) VALUES (?, 'review-queued', ?, NULL, NULL, ?)").execute(arguments: [at, item.recordID, actor])
            }
            for id in change.closedReviews {
                try db.cachedStatement(sql: "UPDATE mpi_reviews SET status = 'closed' WHERE id = ?").execute(arguments: [id])
            }
            for pair in change.distinctPairs {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO mpi_distinct (low, high) VALUES (?, ?)").execute(arguments: [pair.low, pair.high])
                try db.cachedStatement(sql: "INSERT INTO mpi_events (at, action, record_id, person_before, person_after, actor) VALUES (?, 'marked-distinct', ?, NULL, ?, ?)").execute(arguments: [at, pair.low, String(pair.high), actor])
            }
        }
        // Identity decisions beyond a first assignment (which its registration's event records) go on the audit chain
        // too, in this unit of work: relinks (link, unlink, merge, accepted matches), queued reviews, distinct pairs.
        var events: [(String, Int64)] = change.assignments.compactMap { record, person in
            guard let before = previous[record], before != person else { return nil }
            return ("mpi.relink", record)
        }
        events += change.addedReviews.map { ("mpi.review-queued", $0.recordID) }
        events += change.distinctPairs.map { ("mpi.marked-distinct", $0.low) }
        guard !events.isEmpty else { return }
        var messages: [AuditMessage] = []
        for (kind, record) in events.sorted(by: { ($0.1, $0.0) < ($1.1, $1.0) }) {
            let sealed = try sql("read an MPI identity") { try Data.fetchOne(db, sql: "SELECT identity FROM mpi_records WHERE record_id = ?", arguments: [record]) }
            let identity = try sealed.map { sealed throws(StorageError) in try cipher.open(json: sealed, as: LocalIdentity.self, context: "mpi_records.identity") }
            messages.append(AuditMessage(
                eventID: .patientRecord, eventTypes: [AuditCode(kind, system: "caduceus-operation", display: kind)], action: .update, outcome: .success,
                time: at, sourceID: "mpi", participants: [AuditParticipant(userID: actor, isRequestor: true)],
                objects: identity.map { [AuditObject.patient("\($0.id)^^^&\($0.authority)&ISO")] } ?? []))
        }
        do { try appendAudit(messages) } catch let e as StorageError { throw e } catch { throw StorageError(.database, "the audit log refused an MPI change") }
    }

    func saveMatchModel(_ model: MatchModel) throws(StorageError) {
        let json = String(decoding: (try? JSONEncoder().encode(model)) ?? Data(), as: UTF8.self)
        try sql("save the match model") {
            try db.cachedStatement(sql: "INSERT INTO mpi_model (id, model) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET model = excluded.model").execute(arguments: [json])
        }
    }

    func audit(_ event: AuditEvent, at: Date) throws(StorageError) {
        try sql("append an audit event") {
            try db.cachedStatement(sql: "INSERT INTO audit_events (at, kind, code, detail) VALUES (?, ?, ?, ?)").execute(arguments: [at, event.kind, event.code, event.detail])
        }
    }
}

struct SQLiteReader: StoreReader {
    let db: Database
    let cipher: PHICipher

    func identityIndex(_ i: LocalIdentity) -> Data { cipher.identityIndex(i) }

    func patient(_ identity: LocalIdentity) throws(StorageError) -> PatientRecord? {
        let sealed = try sql("read a patient") {
            try Data.fetchOne(db, sql: "SELECT record FROM patients WHERE identity_index = ?", arguments: [identityIndex(identity)])
        }
        guard let sealed else { return nil }
        return try cipher.open(json: sealed, as: PatientRecord.self, context: "patients.record")
    }

    func observations(for identity: LocalIdentity) throws(StorageError) -> [Observation] {
        let rows = try sql("read observations") {
            try Data.fetchAll(db, sql: "SELECT data FROM observations WHERE patient_index = ? ORDER BY id", arguments: [identityIndex(identity)])
        }
        var out: [Observation] = []
        for r in rows { out.append(try cipher.open(json: r, as: Observation.self, context: "observations.data")) }
        return out
    }

    func messages(limit: Int) throws(StorageError) -> [LoggedMessage] {
        let rows = try sql("read the message log") {
            try Row.fetchAll(db, sql: "SELECT * FROM hl7_messages ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
        var out: [LoggedMessage] = []
        for row in rows {
            let raw = try cipher.open(row["raw"] as Data, context: "hl7_messages.raw")
            let ack = try cipher.open(row["ack"] as Data, context: "hl7_messages.ack")
            out.append(LoggedMessage(
                id: row["id"], sender: row["sender"], controlID: row["control_id"], messageType: row["message_type"],
                receivedAt: row["received_at"], outcome: row["outcome"], raw: Sensitive(Array(raw)), ack: Sensitive(Array(ack))))
        }
        return out
    }

    func hasMessage(sender: String, controlID: String) throws(StorageError) -> Bool {
        try sql("read the message log") {
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM hl7_messages WHERE sender = ? AND control_id = ?)", arguments: [sender, controlID]) ?? false
        }
    }

    func messageCount() throws(StorageError) -> Int {
        try sql("count messages") { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hl7_messages") ?? 0 }
    }

    func mpiSnapshot() throws(StorageError) -> MPISnapshot {
        let rows = try sql("read the MPI") { try Row.fetchAll(db, sql: "SELECT record_id, identity, demographics, person FROM mpi_records ORDER BY record_id") }
        var records: [(record: Int64, identity: LocalIdentity, demographics: Demographics, person: String)] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            records.append((
                row["record_id"],
                try cipher.open(json: row["identity"] as Data, as: LocalIdentity.self, context: "mpi_records.identity"),
                try cipher.open(json: row["demographics"] as Data, as: Demographics.self, context: "mpi_records.demographics"),
                row["person"]))
        }
        let reviews = try sql("read the review queue") {
            try Row.fetchAll(db, sql: "SELECT * FROM mpi_reviews WHERE status = 'open' ORDER BY id").map {
                ReviewItem(id: $0["id"], recordID: $0["record_id"], candidateRecordID: $0["candidate_record_id"], weight: $0["weight"], reason: $0["reason"])
            }
        }
        let distinct = try sql("read distinct pairs") {
            try Row.fetchAll(db, sql: "SELECT low, high FROM mpi_distinct").map { RecordPair($0["low"] as Int64, $0["high"] as Int64) }
        }
        let modelJSON = try sql("read the match model") { try String.fetchOne(db, sql: "SELECT model FROM mpi_model WHERE id = 1") }
        let model = modelJSON.flatMap { try? JSONDecoder().decode(MatchModel.self, from: Data($0.utf8)) }
        return MPISnapshot(records: records, reviews: reviews, distinct: distinct, model: model)
    }

    func mpiEvents(record: Int64) throws(StorageError) -> [MPIEvent] {
        try sql("read MPI events") {
            try Row.fetchAll(db, sql: "SELECT * FROM mpi_events WHERE record_id = ? ORDER BY id", arguments: [record]).map {
                MPIEvent(action: $0["action"], recordID: $0["record_id"], personBefore: $0["person_before"], personAfter: $0["person_after"], actor: $0["actor"])
            }
        }
    }

    func auditEvents(limit: Int) throws(StorageError) -> [AuditEvent] {
        try sql("read audit events") {
            try Row.fetchAll(db, sql: "SELECT * FROM audit_events ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                AuditEvent(kind: $0["kind"], code: $0["code"], detail: $0["detail"])
            }
        }
    }
}
