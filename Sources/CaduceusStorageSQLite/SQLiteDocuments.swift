import CaduceusCore
import CaduceusDocuments
import CaduceusStorage
import Foundation
import GRDB

extension SQLiteTransaction {
    func saveRepositoryDocument(_ document: RepositoryDocument, at: Date) throws {
        let exists = try sql("read the repository") {
            try String.fetchOne(db, sql: "SELECT hash FROM repository_documents WHERE unique_id = ?", arguments: [document.entry.uniqueId])
        }
        if exists != nil {
            throw DocumentsError(.duplicateUniqueId, "the repository already holds a document with this uniqueId")
        }
        let sealed = try cipher.seal(json: document.entry, context: "repository_documents.entry")
        try sql("file a document") {
            try db.cachedStatement(sql: "INSERT INTO repository_documents (unique_id, hash, size, blob, wrapped_key, entry, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .execute(arguments: [document.entry.uniqueId, document.entry.hash, document.entry.size, document.blob, document.wrappedKey, sealed, at])
        }
    }

    func deleteRepositoryDocument(uniqueId: String) throws(StorageError) {
        try sql("remove a document") {
            try db.execute(sql: "DELETE FROM repository_documents WHERE unique_id = ?", arguments: [uniqueId])
        }
    }

    func registerSubmission(_ set: SubmissionSet, at: Date) throws {
        try set.validate()
        var fresh: [DocumentEntry] = []
        for e in set.entries {
            let existing = try sql("read the registry") {
                try Row.fetchOne(db.cachedStatement(sql: "SELECT hash, repository_id, patient_index FROM registry_entries WHERE unique_id = ?"), arguments: [e.uniqueId])
            }
            if let existing {
                // A retry is the same document from the same repository for the same patient; anything else under a
                // registered uniqueId (another hash, or a copy another node holds) is refused.
                let (hash, repository, patient): (String, String, Data) = (existing["hash"], existing["repository_id"], existing["patient_index"])
                guard hash == e.hash, repository == e.repositoryId, patient == cipher.registryPatientIndex(e.patientId) else {
                    throw DocumentsError(.duplicateUniqueId, "a document with this uniqueId is registered with a different hash, repository or patient")
                }
                continue  // the same document again: a retried submission
            }
            fresh.append(e)
        }
        for e in fresh {
            if let replaced = e.replaces {
                let status = try sql("read the registry") {
                    try String.fetchOne(db, sql: "SELECT status FROM registry_entries WHERE unique_id = ?", arguments: [replaced])
                }
                guard let status else { throw DocumentsError(.notFound, "the entry to be replaced is not registered") }
                guard status == AvailabilityStatus.approved.rawValue else {
                    throw DocumentsError(.invalidTransition, "only an Approved entry can be replaced")
                }
                try setStatus(uniqueId: replaced, .deprecated)
            }
            let sealed = try cipher.seal(json: e, context: "registry_entries.entry")
            try sql("register an entry") {
                try db.cachedStatement(sql: """
                    INSERT INTO registry_entries (unique_id, patient_index, class_code, type_code, confidentiality,
                        creation_time, status, hash, size, repository_id, submission_set, replaces, entry, registered_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                        e.uniqueId, cipher.registryPatientIndex(e.patientId), e.classCode.code, e.typeCode.code,
                        e.confidentialityCode.code, e.creationTime.timeIntervalSince1970, e.status.rawValue, e.hash, e.size,
                        e.repositoryId, set.uniqueId, e.replaces, sealed, at,
                    ])
            }
        }
        if !fresh.isEmpty {
            try sql("register a submission set") {
                try db.cachedStatement(sql: "INSERT INTO submission_sets (unique_id, source_id, submitted_at, entry_count) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [set.uniqueId, set.sourceId, at, fresh.count])
            }
        }
    }

    func setStatus(uniqueId: String, _ status: AvailabilityStatus) throws {
        let row = try sql("read the registry") {
            try Row.fetchOne(db, sql: "SELECT status, entry FROM registry_entries WHERE unique_id = ?", arguments: [uniqueId])
        }
        guard let row else { throw DocumentsError(.notFound, "no registry entry has this uniqueId") }
        guard (row["status"] as String) != status.rawValue else {
            throw DocumentsError(.invalidTransition, "the entry already has this status")
        }
        var entry = try cipher.open(json: row["entry"] as Data, as: DocumentEntry.self, context: "registry_entries.entry")
        entry.status = status
        let sealed = try cipher.seal(json: entry, context: "registry_entries.entry")
        try sql("change an entry's status") {
            try db.execute(sql: "UPDATE registry_entries SET status = ?, entry = ? WHERE unique_id = ?", arguments: [status.rawValue, sealed, uniqueId])
        }
    }

    @discardableResult
    func keepEvidence(_ e: Evidence, at: Date) throws(StorageError) -> Int64 {
        let sealed = try e.inline.map { (bytes) throws(StorageError) in try cipher.seal(bytes, context: "evidence.envelope") }
        return try sql("keep evidence") {
            try db.cachedStatement(sql: "INSERT INTO evidence (operation, sender, sha256, envelope, blob, wrapped_key, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .execute(arguments: [e.operation, e.sender, e.sha256, sealed, e.stored?.blob, e.stored?.wrappedKey, at])
            return db.lastInsertedRowID
        }
    }

    func saveDirectoryNode(_ node: DirectoryNode, at: Date) throws(StorageError) {
        let json = String(decoding: (try? JSONEncoder().encode(node)) ?? Data(), as: UTF8.self)
        try sql("publish a node") {
            try db.execute(sql: "INSERT INTO directory_nodes (id, node, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET node = excluded.node, updated_at = excluded.updated_at", arguments: [node.id, json, at])
        }
    }

    func repositoryDocument(uniqueId: String) throws(StorageError) -> RepositoryDocument? {
        try SQLiteReader(db: db, cipher: cipher).repositoryDocument(uniqueId: uniqueId)
    }

    func rememberRequest(_ id: String, expires: Date, now: Date) throws(StorageError) {
        try sql("remember a request id") {
            try db.cachedStatement(sql: "DELETE FROM seen_requests WHERE expires < ?").execute(arguments: [now.timeIntervalSince1970])
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO seen_requests (id, expires) VALUES (?, ?)").execute(arguments: [id, expires.timeIntervalSince1970])
        }
    }

    func rememberSignOut(jti: String, expires: Int64) throws(StorageError) {
        try sql("remember a sign-out") {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO revoked_sessions (jti, expires) VALUES (?, ?)").execute(arguments: [jti, Double(expires)])
        }
    }
}

extension SQLiteReader {
    func repositoryDocument(uniqueId: String) throws(StorageError) -> RepositoryDocument? {
        let row = try sql("read the repository") {
            try Row.fetchOne(db, sql: "SELECT blob, wrapped_key, entry FROM repository_documents WHERE unique_id = ?", arguments: [uniqueId])
        }
        guard let row else { return nil }
        let entry = try cipher.open(json: row["entry"] as Data, as: DocumentEntry.self, context: "repository_documents.entry")
        return RepositoryDocument(entry: entry, wrappedKey: row["wrapped_key"], blob: row["blob"])
    }

    func repositoryCount() throws(StorageError) -> Int {
        try sql("count documents") { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM repository_documents") ?? 0 }
    }

    func findDocuments(_ q: StoredQuery.FindDocuments, limit: Int) throws(StorageError) -> [DocumentEntry] {
        var clauses = ["patient_index = ?"]
        var arguments: [any DatabaseValueConvertible] = [cipher.registryPatientIndex(q.patientId)]
        func any(_ column: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            clauses.append("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))")
            arguments.append(contentsOf: values)
        }
        any("class_code", q.classCodes)
        any("type_code", q.typeCodes)
        any("confidentiality", q.confidentialityCodes)
        any("status", (q.statuses.isEmpty ? [.approved] : q.statuses).map(\.rawValue))
        if let from = q.createdFrom {
            clauses.append("creation_time >= ?")
            arguments.append(from.timeIntervalSince1970)
        }
        if let to = q.createdTo {
            clauses.append("creation_time < ?")
            arguments.append(to.timeIntervalSince1970)
        }
        arguments.append(limit)
        let statement = "SELECT entry FROM registry_entries WHERE \(clauses.joined(separator: " AND ")) ORDER BY creation_time DESC, id DESC LIMIT ?"
        let rows = try sql("query the registry") {
            try Data.fetchAll(db.cachedStatement(sql: statement), arguments: StatementArguments(arguments))
        }
        var out: [DocumentEntry] = []
        out.reserveCapacity(rows.count)
        for r in rows {
            let e = try cipher.open(json: r, as: DocumentEntry.self, context: "registry_entries.entry")
            // The blind index is a hash: confirm the patient on the opened entry too.
            if e.patientId == q.patientId { out.append(e) }
        }
        return out
    }

    func registryEntries(uniqueIds: [String]) throws(StorageError) -> [DocumentEntry] {
        var out: [DocumentEntry] = []
        for id in uniqueIds {
            let sealed = try sql("read the registry") {
                try Data.fetchOne(db, sql: "SELECT entry FROM registry_entries WHERE unique_id = ?", arguments: [id])
            }
            if let sealed { out.append(try cipher.open(json: sealed, as: DocumentEntry.self, context: "registry_entries.entry")) }
        }
        return out
    }

    func registryCount() throws(StorageError) -> Int {
        try sql("count entries") { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM registry_entries") ?? 0 }
    }

    func seenRequests(now: Date) throws(StorageError) -> [String: Date] {
        let rows = try sql("read the replay cache") { try Row.fetchAll(db, sql: "SELECT id, expires FROM seen_requests WHERE expires >= ?", arguments: [now.timeIntervalSince1970]) }
        return Dictionary(rows.map { (row: Row) in (row["id"] as String, Date(timeIntervalSince1970: row["expires"] as Double)) }, uniquingKeysWith: { a, _ in a })
    }

    func signOuts(now: Date) throws(StorageError) -> [String: Int64] {
        let rows = try sql("read sign-outs") { try Row.fetchAll(db, sql: "SELECT jti, expires FROM revoked_sessions WHERE expires >= ?", arguments: [now.timeIntervalSince1970]) }
        return Dictionary(rows.map { (row: Row) in (row["jti"] as String, Int64(row["expires"] as Double)) }, uniquingKeysWith: { a, _ in a })
    }

    func evidenceCount(operation: String?) throws(StorageError) -> Int {
        try sql("count evidence") {
            if let operation {
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM evidence WHERE operation = ?", arguments: [operation]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM evidence") ?? 0
        }
    }

    func directoryNode(id: String) throws(StorageError) -> DirectoryNode? {
        let json = try sql("read the directory") { try String.fetchOne(db, sql: "SELECT node FROM directory_nodes WHERE id = ?", arguments: [id]) }
        return json.flatMap { try? JSONDecoder().decode(DirectoryNode.self, from: Data($0.utf8)) }
    }

    func directoryNodes() throws(StorageError) -> [DirectoryNode] {
        let rows = try sql("read the directory") { try String.fetchAll(db, sql: "SELECT node FROM directory_nodes ORDER BY id") }
        return rows.compactMap { try? JSONDecoder().decode(DirectoryNode.self, from: Data($0.utf8)) }
    }
}
