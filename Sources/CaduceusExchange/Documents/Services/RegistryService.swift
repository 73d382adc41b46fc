import CaduceusPKI
import CaduceusStorage
import CaduceusDocuments
import CaduceusCore
import X509
import CaduceusCMS
import CaduceusAudit
import CaduceusPolicy
import CaduceusPatientIndex
import Foundation
import Synchronization

/// The regional registry: submissions (a replacement only by the source organisation, for the same patient), stored queries with the patients' consents, the signed release a repository decides on, and the audit repository's position.
struct RegistryService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    func auditPosition(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        guard let address = core.auditRepositoryAddress.withLock({ $0 }) else { throw ExchangeError(.wrongRole, "this node runs no audit repository") }
        let node = o.identity.commonName
        let (head, checkpoint) = try await core.store.read { r in (try r.repositoryHead(node: node), try r.repositoryCheckpoints(node: node).last?.sequence ?? 0) }
        return try core.reply(o, AuditPosition(sequence: head.sequence, hash: Hex.encode(head.hash), checkpoint: checkpoint, syslogHost: address.host, syslogPort: address.port))
    }

    func registerSubmission(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        var set = try o.message.decodeBody(SubmissionSet.self)
        guard set.sourceId == o.identity.commonName, set.entries.allSatisfy({ $0.repositoryId == o.identity.commonName }) else {
            throw ExchangeError(.forbidden, "a node registers only documents held in its own repository")
        }
        let global = try core.regionalMPIService.globalPatient(set.patientId)
        o.audit.patient(global)
        o.audit.documents(set.entries.map(\.uniqueId))
        set.patientId = global
        for i in set.entries.indices {
            guard set.entries[i].patientId == set.entries[i].sourcePatientId || set.entries[i].patientId == global else {
                throw DocumentsError(.patientMismatch, "every entry must name the submission set's patient")
            }
            set.entries[i].patientId = global
        }
        try set.validate()
        // A document is replaced (and so deprecated) only by its source organisation, for the same patient.
        let replaced = set.entries.compactMap(\.replaces)
        if !replaced.isEmpty {
            let existing = try await core.store.read { r in try r.registryEntries(uniqueIds: replaced) }
            for old in existing where old.repositoryId != o.identity.commonName || old.patientId != global {
                throw ExchangeError(.forbidden, "a document is replaced only by its source organisation, for the same patient")
            }
        }
        // Registered in the operation's commit, with the envelope and the audit event: the answer leaves after it. A
        // document registered before with the same hash is a retry (taken again); with another hash the commit fails
        // with `documents.duplicate-unique-id`, and nothing of the set is registered.
        let now = core.clock.now(), frozen = set
        try core.keep(o)
        // The registry's own code tables, read in that commit (``CodeTableRules``): the source patient id's
        // authority, and every coded field.
        o.audit.commit { tx in
            try CodeTableRules(CodeTableRules.documentTables) { try tx.codeTable($0) }.check(frozen.entries, patientDomain: true)
            try tx.registerSubmission(frozen, at: now)
        }
        return try core.reply(o, EntriesResponse(entries: frozen.entries))
    }

    func runQuery(_ query: StoredQuery, audit: AuditNotes?) async throws -> [DocumentEntry] {
        switch query {
        case .findDocuments(var q):
            audit?.patient(q.patientId)
            q.patientId = try core.regionalMPIService.globalPatient(q.patientId)
            let frozen = q
            return try await core.store.read { r in try r.findDocuments(frozen, limit: 1000) }
        case .getDocuments(let ids):
            audit?.documents(ids)
            guard ids.count <= 1000 else { throw DocumentsError(.tooLarge, "GetDocuments takes at most 1000 ids") }
            return try await core.store.read { r in try r.registryEntries(uniqueIds: ids) }
        }
    }

    func query(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let query = try o.message.decodeBody(StoredQuery.self)
        let entries = try await runQuery(query, audit: o.audit)
        // Every patient the answer names is on the event (a GetDocuments by id names none in its request).
        for e in entries { o.audit.patient(e.patientId) }
        let consents = try await consents(of: entries)
        // For GetDocuments (the step before a retrieve), the registry signs what the repository needs to decide.
        var release: String?
        if case .getDocuments = query, !entries.isEmpty {
            let basis = ReleaseBasis(iat: Int64(core.clock.now().timeIntervalSince1970), entries: entries, consents: consents)
            release = try CompactJWS.sign(json: basis, type: ReleaseBasis.type, by: core.credential)
        }
        return try core.reply(o, EntriesResponse(entries: entries, consents: consents, release: release))
    }

    /// The consents on file for the patients of `entries` (summaries: no signed statements).
    func consents(of entries: [DocumentEntry]) async throws -> [ConsentRecord] {
        let patients = Set(entries.map(\.patientId.description))
        guard !patients.isEmpty else { return [] }
        return try await core.store.read { r in try patients.sorted().flatMap { try r.consents(patientId: $0) } }.map(\.summary)
    }
}
