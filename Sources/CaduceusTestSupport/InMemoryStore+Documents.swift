import CaduceusDocuments
import CaduceusStorage
import Foundation

// The repository, registry, evidence, directory, replay cache and sign-outs, as SQLiteDocuments.swift keeps them.

extension InMemoryTransaction {
    func saveRepositoryDocument(_ document: RepositoryDocument, at: Date) throws {
        guard state.repository[document.entry.uniqueId] == nil else {
            throw DocumentsError(.duplicateUniqueId, "the repository already holds a document with this uniqueId")
        }
        let sealed = try cipher.seal(json: document.entry, context: "repository_documents.entry")
        state.repository[document.entry.uniqueId] = .init(
            hash: document.entry.hash, size: document.entry.size, blob: document.blob, wrappedKey: document.wrappedKey, entry: sealed, storedAt: at)
    }

    func deleteRepositoryDocument(uniqueId: String) throws(StorageError) {
        state.repository[uniqueId] = nil
    }

    func registerSubmission(_ set: SubmissionSet, at: Date) throws {
        try set.validate()
        var fresh: [DocumentEntry] = []
        for e in set.entries {
            if let i = state.registryIndex[e.uniqueId] {
                let row = state.registry[i]
                let held = try cipher.open(json: row.entry, as: DocumentEntry.self, context: "registry_entries.entry")
                guard row.hash == e.hash, held.repositoryId == e.repositoryId, row.patient == cipher.registryPatientIndex(e.patientId) else {
                    throw DocumentsError(.duplicateUniqueId, "a document with this uniqueId is registered with a different hash, repository or patient")
                }
                continue  // the same document again: a retried submission
            }
            fresh.append(e)
        }
        for e in fresh {
            if let replaced = e.replaces {
                guard let i = state.registryIndex[replaced] else { throw DocumentsError(.notFound, "the entry to be replaced is not registered") }
                guard state.registry[i].status == AvailabilityStatus.approved.rawValue else {
                    throw DocumentsError(.invalidTransition, "only an Approved entry can be replaced")
                }
                try setStatus(uniqueId: replaced, .deprecated)
            }
            let sealed = try cipher.seal(json: e, context: "registry_entries.entry")
            state.registryIndex[e.uniqueId] = state.registry.count
            state.registry.append(.init(
                id: (state.registry.last?.id ?? 0) + 1, uniqueId: e.uniqueId, patient: cipher.registryPatientIndex(e.patientId),
                classCode: e.classCode.code, typeCode: e.typeCode.code, confidentiality: e.confidentialityCode.code,
                creationTime: e.creationTime.timeIntervalSince1970, status: e.status.rawValue, hash: e.hash, entry: sealed))
        }
        if !fresh.isEmpty {
            // submission_sets.unique_id is the primary key.
            guard state.submissionSets.insert(set.uniqueId).inserted else { throw refused("register a submission set") }
        }
    }

    func setStatus(uniqueId: String, _ status: AvailabilityStatus) throws {
        guard let i = state.registryIndex[uniqueId] else { throw DocumentsError(.notFound, "no registry entry has this uniqueId") }
        guard state.registry[i].status != status.rawValue else {
            throw DocumentsError(.invalidTransition, "the entry already has this status")
        }
        var entry = try cipher.open(json: state.registry[i].entry, as: DocumentEntry.self, context: "registry_entries.entry")
        entry.status = status
        let sealed = try cipher.seal(json: entry, context: "registry_entries.entry")
        state.registry[i].status = status.rawValue
        state.registry[i].entry = sealed
    }

    @discardableResult
    func keepEvidence(_ e: Evidence, at: Date) throws(StorageError) -> Int64 {
        let sealed = try e.inline.map { (bytes) throws(StorageError) in try cipher.seal(bytes, context: "evidence.envelope") }
        // CHECK ((envelope IS NULL) <> (blob IS NULL)): inline or stored, exactly one.
        guard (sealed == nil) != (e.stored == nil) else { throw refused("keep evidence") }
        let id = (state.evidence.last?.id ?? 0) + 1
        state.evidence.append(.init(
            id: id, operation: e.operation, sender: e.sender, sha256: e.sha256, envelope: sealed, blob: e.stored?.blob, wrappedKey: e.stored?.wrappedKey, receivedAt: at))
        return id
    }

    func saveDirectoryNode(_ node: DirectoryNode, at: Date) throws(StorageError) {
        state.directory[node.id] = node
    }

    func rememberRequest(_ id: String, expires: Date, now: Date) throws(StorageError) {
        let cutoff = now.timeIntervalSince1970
        state.seenRequests = state.seenRequests.filter { $0.value >= cutoff }
        if state.seenRequests[id] == nil { state.seenRequests[id] = expires.timeIntervalSince1970 }  // INSERT OR IGNORE
    }

    func rememberSignOut(jti: String, expires: Int64) throws(StorageError) {
        state.signOuts[jti] = Double(expires)  // INSERT OR REPLACE
    }
}

extension InMemoryReader {
    func repositoryDocument(uniqueId: String) throws(StorageError) -> RepositoryDocument? {
        guard let row = state.repository[uniqueId] else { return nil }
        let entry = try cipher.open(json: row.entry, as: DocumentEntry.self, context: "repository_documents.entry")
        return RepositoryDocument(entry: entry, wrappedKey: row.wrappedKey, blob: row.blob)
    }

    func repositoryCount() throws(StorageError) -> Int { state.repository.count }

    func findDocuments(_ q: StoredQuery.FindDocuments, limit: Int) throws(StorageError) -> [DocumentEntry] {
        let patient = cipher.registryPatientIndex(q.patientId)
        let statuses = (q.statuses.isEmpty ? [.approved] : q.statuses).map(\.rawValue)
        let from = q.createdFrom?.timeIntervalSince1970, to = q.createdTo?.timeIntervalSince1970
        let rows = state.registry.filter { r in
            r.patient == patient
                && (q.classCodes.isEmpty || q.classCodes.contains(r.classCode))
                && (q.typeCodes.isEmpty || q.typeCodes.contains(r.typeCode))
                && (q.confidentialityCodes.isEmpty || q.confidentialityCodes.contains(r.confidentiality))
                && statuses.contains(r.status)
                && from.map { r.creationTime >= $0 } ?? true
                && to.map { r.creationTime < $0 } ?? true
        }
        // ORDER BY creation_time DESC, id DESC
        let ordered = rows.sorted { ($0.creationTime, $0.id) > ($1.creationTime, $1.id) }
        var out: [DocumentEntry] = []
        for r in limited(ordered, limit) {
            let e = try cipher.open(json: r.entry, as: DocumentEntry.self, context: "registry_entries.entry")
            // The blind index is a hash: confirm the patient on the opened entry too.
            if e.patientId == q.patientId { out.append(e) }
        }
        return out
    }

    func registryEntries(uniqueIds: [String]) throws(StorageError) -> [DocumentEntry] {
        var out: [DocumentEntry] = []
        for id in uniqueIds {
            if let i = state.registryIndex[id] {
                out.append(try cipher.open(json: state.registry[i].entry, as: DocumentEntry.self, context: "registry_entries.entry"))
            }
        }
        return out
    }

    func registryCount() throws(StorageError) -> Int { state.registry.count }

    func evidenceCount(operation: String?) throws(StorageError) -> Int {
        guard let operation else { return state.evidence.count }
        return state.evidence.count { $0.operation == operation }
    }

    func directoryNode(id: String) throws(StorageError) -> DirectoryNode? { state.directory[id] }

    func directoryNodes() throws(StorageError) -> [DirectoryNode] {
        state.directory.values.sorted { binaryOrder($0.id, $1.id) }
    }

    func seenRequests(now: Date) throws(StorageError) -> [String: Date] {
        let cutoff = now.timeIntervalSince1970
        return state.seenRequests.filter { $0.value >= cutoff }.mapValues { Date(timeIntervalSince1970: $0) }
    }

    func signOuts(now: Date) throws(StorageError) -> [String: Int64] {
        let cutoff = now.timeIntervalSince1970
        return state.signOuts.filter { $0.value >= cutoff }.mapValues { Int64($0) }
    }
}
