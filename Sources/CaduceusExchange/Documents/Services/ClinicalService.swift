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

/// Users' document operations through their node: provide-and-register, queries filtered by the policy, patient search, cross-node retrieve.
struct ClinicalService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    func submit(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o)
        let request = try o.message.decodeBody(SubmitRequest.self)
        o.audit.patient(request.patient)
        guard !o.message.documents.isEmpty else { throw DocumentsError(.invalidMetadata, "a submission carries at least one document") }
        guard request.replaces == nil || o.message.documents.count == 1 else {
            throw DocumentsError(.invalidMetadata, "a replacement submits exactly one document")
        }
        var docs: [(DocumentEntry, [UInt8])] = []
        for part in o.message.documents {
            let entry = try DocumentMetadata.entry(for: part.body, mimeType: part.mediaType, sourcePatient: request.patient, repositoryId: core.id, confidentiality: request.confidentiality, replaces: request.replaces, now: core.clock.now())
            docs.append((entry, part.body))
        }
        o.audit.documents(docs.map(\.0.uniqueId))
        // Filing at the author's own node discloses nothing: role, purpose and confidentiality decide.
        try core.requireHome(claims)
        try core.requirePermit(claims, docs.map(\.0), consents: [], audit: o.audit)
        let registered = try await publish(docs, patient: request.patient, evidence: o.envelope, audit: o.audit)
        return try core.reply(o, EntriesResponse(entries: registered))
    }

    /// Provide-and-register: files the documents in this node's repository and registers them with the regional
    /// registry; if registration fails the documents are removed again, so a submission is all or nothing.
    ///
    /// For a user's submission (`audit` given) the node makes one durable commit: the documents' blobs are written
    /// (and fsynced) first, the registry registers them, and then the rows, the user's envelope, the registry's
    /// signed answer and the audit event are committed together before the user is answered. A crash between the
    /// registry's commit and this node's leaves an entry whose document this repository does not hold (a retrieve
    /// of it is `documents.not-found`; the user, never answered, submits again, and the registry takes the same
    /// document again as a retry).
    ///
    /// The node's code tables (``CodeTableRules``) are checked first, against the versions in force now: the
    /// registry registers before this node commits, so a refusal must come before either writes anything.
    func publish(_ docs: [(DocumentEntry, [UInt8])], patient: PatientIdentifier, evidence: OpenedEnvelope? = nil, audit: AuditNotes? = nil) async throws -> [DocumentEntry] {
        try core.require(.hospital)
        try await CodeTableRules.checkDocuments(docs.map(\.0), patientDomain: true, store: core.store)
        if let audit {
            // The user's signed envelope is kept whatever becomes of the submission; the filing only if it succeeds.
            if let evidence { try core.keepInCommit(evidence, audit: audit) }
            try await core.repositoryService.requireNew(docs.map(\.0.uniqueId))
            let (rows, filing) = try core.repositoryService.sealDocuments(docs, evidence: nil)
            do {
                let set = SubmissionSet(uniqueId: UUIDOID.make(), sourceId: core.id, submissionTime: core.clock.now(), patientId: patient, entries: docs.map(\.0))
                let opened = try await core.call(.registerSubmission, to: core.configuration.regionalNode, body: set)
                audit.commit { tx in try filing(tx) }
                // The blobs are written ahead of the commit: removed if it (or anything after) fails.
                audit.onFailure { [repository = core.repositoryService] in repository.discard(rows, evidence: filing) }
                try core.keepInCommit(opened, audit: audit)
                return try opened.message.decodeBody(EntriesResponse.self).entries
            } catch {
                core.repositoryService.discard(rows, evidence: filing)
                throw error
            }
        }
        try await core.repositoryService.storeDocuments(docs, evidence: evidence)
        do {
            let set = SubmissionSet(uniqueId: UUIDOID.make(), sourceId: core.id, submissionTime: core.clock.now(), patientId: patient, entries: docs.map(\.0))
            let opened = try await core.call(.registerSubmission, to: core.configuration.regionalNode, body: set)
            try await core.keep(opened, audit: nil)
            return try opened.message.decodeBody(EntriesResponse.self).entries
        } catch {
            let ids = docs.map(\.0.uniqueId)
            let rows = try? await core.store.read { r in try ids.compactMap { try r.repositoryDocument(uniqueId: $0) } }
            try? await core.store.write { tx in for uid in ids { try tx.deleteRepositoryDocument(uniqueId: uid) } }
            for row in rows ?? [] { core.blobs.remove(blob: row.blob) }
            throw error
        }
    }

    func userQuery(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o, allowPatients: true)
        let query = try o.message.decodeBody(StoredQuery.self)
        try requireOwnQuery(o, query)
        switch query {
        case .findDocuments(let q): o.audit.patient(q.patientId)
        case .getDocuments(let ids): o.audit.documents(ids)
        }
        // Entries the policy (with the patient's consents) does not let this person see are not shown (their
        // existence is not disclosed).
        let answer = try await registryAnswer(query)
        let consents = answer.consents ?? []
        let entries = answer.entries.filter { core.decide(claims, $0, consents: consents, receivedBy: core.id, audit: o.audit).isPermit }
        for e in entries { o.audit.patient(e.patientId) }
        return try core.reply(o, EntriesResponse(entries: entries))
    }

    /// A patient queries only her own record: FindDocuments for the identifier on her card (the registry answers for
    /// every identity the regional MPI links to it); never GetDocuments by id.
    func requireOwnQuery(_ o: ExchangeRequest, _ query: StoredQuery) throws(ExchangeError) {
        guard o.identity.kind == .patient else { return }
        guard case .findDocuments(let q) = query else { throw ExchangeError(.forbidden, "a patient queries her own record by her identifier") }
        _ = try core.consentService.requireOwnRecord(o, q.patientId, or: nil)
    }

    /// Runs a stored query at the regional registry.
    func queryRegistry(_ query: StoredQuery) async throws -> [DocumentEntry] {
        try await registryAnswer(query).entries
    }

    /// Runs a stored query at the regional registry: entries, and the consents on file for their patients.
    func registryAnswer(_ query: StoredQuery) async throws -> EntriesResponse {
        let opened = try await core.call(.query, to: core.configuration.regionalNode, body: query)
        return try opened.message.decodeBody(EntriesResponse.self)
    }

    func userFindPatients(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o)
        guard core.decide(claims, Confidentiality.U.rawValue, audit: o.audit).isPermit else { throw ExchangeError(.forbidden, "the policy does not permit this role and purpose to search patients") }
        let request = try o.message.decodeBody(FindPatientsRequest.self)
        let opened = try await core.call(.findPatients, to: core.configuration.regionalNode, body: request)
        return try core.reply(o, try opened.message.decodeBody([PatientMatch].self))
    }

    func userRetrieve(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o, allowPatients: true)
        let request = try o.message.decodeBody(RetrieveRequest.self)
        o.audit.documents(request.uniqueIds)
        if let own = core.consentService.patientIdentity(of: o.identity) {
            // A patient retrieves only what the registry lists under the identifier on her card (any identity the
            // regional MPI links to it).
            let listed = Set(try await queryRegistry(.findDocuments(StoredQuery.FindDocuments(patientId: own))).map(\.uniqueId))
            guard request.uniqueIds.allSatisfy(listed.contains) else {
                throw ExchangeError(.forbidden, "a patient retrieves only documents of her own record")
            }
        }
        let (entries, parts, servedBy) = try await retrieveAcross(request.uniqueIds, for: o.message.header.assertion, audit: o.audit) { try core.requirePermit(claims, $0, consents: $1, receivedBy: core.id, audit: o.audit) }
        for e in entries { o.audit.patient(e.patientId) }
        return try core.reply(o, RetrieveResponse(entries: entries, servedBy: servedBy), documents: parts)
    }

    /// Finds documents' entries in the registry, fetches each from the repository holding it (re-encrypted to
    /// this node and signed by that repository), and checks every document against the registry's hash and size.
    /// `authorize` sees the entries and the consents on file for their patients before anything is fetched; each
    /// repository decides again itself, for the user whose `assertion` (issued by this node) travels with the request.
    func retrieveAcross(_ ids: [String], for assertion: String?, audit: AuditNotes? = nil, authorize: ([DocumentEntry], [ConsentRecord]) throws -> Void = { _, _ in }) async throws -> ([DocumentEntry], [MIMEPart], [String: String]) {
        let answer = try await registryAnswer(.getDocuments(uniqueIds: ids))
        let entries = answer.entries
        guard entries.count == Set(ids).count else { throw DocumentsError(.notFound, "the registry has no entry for a requested uniqueId") }
        try authorize(entries, answer.consents ?? [])
        var parts: [MIMEPart] = []
        var servedBy: [String: String] = [:]
        for (repository, group) in Dictionary(grouping: entries, by: \.repositoryId).sorted(by: { $0.key < $1.key }) {
            let opened = try await core.call(.retrieve, to: repository, body: RetrieveRequest(uniqueIds: group.map(\.uniqueId), release: answer.release), assertion: assertion)
            try await core.keep(opened, audit: audit)
            for entry in group {
                guard let part = opened.message.documents.first(where: { $0.contentID == entry.uniqueId }) else {
                    throw DocumentsError(.notFound, "the repository did not return a requested document")
                }
                try DocumentIntegrity.check(part.body, against: entry)
                parts.append(part)
                servedBy[entry.uniqueId] = opened.identity.commonName
            }
        }
        return (entries, parts, servedBy)
    }
}
