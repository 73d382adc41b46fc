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

/// A hospital's repository: releases a document only for a named user, after its own policy and consent decision on the registry's signed release; files documents encrypted.
struct RepositoryService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    /// `repository.retrieve`: the data's owner decides. A document leaves this repository only for a named user whose
    /// assertion travels with the request (verified here; issued by the requesting node), after this node's own
    /// policy and consent decision on the regional registry's signed ``ReleaseBasis`` — as an XCA responding gateway.
    func retrieve(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let request = try o.message.decodeBody(RetrieveRequest.self)
        o.audit.documents(request.uniqueIds)
        guard let token = o.message.header.assertion else {
            throw ExchangeError(.forbidden, "a repository releases documents only for a named user (no assertion)")
        }
        let claims = try await SignedAssertion.verify(token, audience: ExchangeNode.federationAudience, validator: core.validatorSource(), now: core.clock.now())
        guard claims.iss == o.identity.commonName else { throw ExchangeError(.forbidden, "the user's assertion was issued by another node") }
        try core.sessions.use(claims, now: core.clock.now())
        o.audit.purpose(claims.pou)
        try await core.noteEmergencyUse(claims)
        let basis = try await releaseBasis(request.release)
        try core.keep(o)
        let (entries, parts) = try await localDocuments(request.uniqueIds, audit: o.audit)
        for local in entries {
            guard let registered = basis.entries.first(where: { $0.uniqueId == local.uniqueId }), registered.hash == local.hash else {
                throw ExchangeError(.forbidden, "the registry's release does not cover a requested document")
            }
            o.audit.patient(registered.patientId)
            try core.requirePermit(claims, [registered], consents: basis.consents, receivedBy: o.identity.commonName, audit: o.audit)
        }
        return try core.reply(o, EntriesResponse(entries: entries), documents: parts)
    }

    /// Verifies a ``ReleaseBasis``: signed by this node's regional node, fresh.
    func releaseBasis(_ token: String?) async throws -> ReleaseBasis {
        guard let token else { throw ExchangeError(.forbidden, "a retrieve carries the registry's signed release") }
        let verified: CompactJWS.Verified
        do { verified = try await CompactJWS.verify(token, domain: "release", validator: core.validatorSource(), now: core.clock.now()) } catch {
            throw ExchangeError(.forbidden, "the release is not a valid statement of the regional registry")
        }
        guard verified.type == ReleaseBasis.type, let signer = verified.signer, signer.kind == .node, signer.commonName == core.configuration.regionalNode,
              let basis = try? JSONDecoder.exchange.decode(ReleaseBasis.self, from: verified.payload),
              abs(Double(basis.iat) - core.clock.now().timeIntervalSince1970) <= Envelope.maxSkew
        else { throw ExchangeError(.forbidden, "the release is not a fresh statement of this node's regional registry") }
        return basis
    }

    func localDocuments(_ ids: [String], audit: AuditNotes?) async throws -> ([DocumentEntry], [MIMEPart]) {
        guard !ids.isEmpty, ids.count <= 100 else { throw ExchangeError(.badRequest, "retrieve between 1 and 100 documents at a time") }
        audit?.documents(ids)
        var entries: [DocumentEntry] = []
        var parts: [MIMEPart] = []
        for uid in ids {
            let row = try await core.store.read { r in try r.repositoryDocument(uniqueId: uid) }
            guard let row else { throw DocumentsError(.notFound, "the repository holds no document with this uniqueId") }
            let content = try core.blobs.get(row)
            entries.append(row.entry)
            parts.append(MIMEPart(contentType: row.entry.mimeType, id: uid, body: content))
        }
        // Exports name the patient (under this repository's own id for them), so they appear in her access report.
        for e in entries { audit?.patient(e.sourcePatientId) }
        return (entries, parts)
    }

    /// Encrypts and files documents in one unit of work (blobs first, removed again if the commit fails).
    @discardableResult
    func storeDocuments(_ docs: [(DocumentEntry, [UInt8])], evidence: OpenedEnvelope?) async throws -> [TransferReceipt.ReceiptLine] {
        let (rows, filing) = try sealDocuments(docs, evidence: evidence)
        do {
            try await core.store.write { tx in try filing(tx) }
        } catch {
            discard(rows, evidence: filing)
            throw error
        }
        return rows.map { TransferReceipt.ReceiptLine(uniqueId: $0.entry.uniqueId, hash: $0.entry.hash) }
    }

    /// Refuses unique ids this repository already holds before anything is written for them (a resubmission or a
    /// repeated transfer of the same document would otherwise write its blob first and fail only at the commit).
    func requireNew(_ ids: [String]) async throws {
        let held = try await core.store.read { r in try ids.contains { try r.repositoryDocument(uniqueId: $0) != nil } }
        if held { throw DocumentsError(.duplicateUniqueId, "this repository already holds a document with this uniqueId") }
    }

    /// A write that files documents (and the envelope that brought them), with what it would leave behind unfiled.
    struct Filing: Sendable {
        let rows: [RepositoryDocument]
        let evidence: Evidence?
        let at: Date
        func callAsFunction(_ tx: any StoreTransaction) throws {
            if let evidence { try tx.keepEvidence(evidence, at: at) }
            for row in rows { try tx.saveRepositoryDocument(row, at: at) }
        }
    }

    /// Encrypts the documents into blobs (each file and its directory fsynced) and returns the rows, and the write
    /// that files them, for the caller to commit — in its own transaction, or in the operation's (see
    /// ``AuditNotes/commit(_:)``). On failure nothing is left behind.
    func sealDocuments(_ docs: [(DocumentEntry, [UInt8])], evidence: OpenedEnvelope?) throws -> ([RepositoryDocument], Filing) {
        var rows: [RepositoryDocument] = []
        var kept: Evidence?
        do {
            for (entry, content) in docs {
                let stored = try core.blobs.put(content, uniqueId: entry.uniqueId)
                rows.append(RepositoryDocument(entry: entry, wrappedKey: stored.wrappedKey, blob: stored.blob))
            }
            kept = try evidence.map { try core.evidence($0) }
        } catch {
            discard(rows, evidence: Filing(rows: [], evidence: kept, at: Date()))
            throw error
        }
        return (rows, Filing(rows: rows, evidence: kept, at: core.clock.now()))
    }

    /// Removes the blobs of documents (and evidence) that were not filed.
    func discard(_ rows: [RepositoryDocument], evidence: Filing) {
        for row in rows { core.blobs.remove(blob: row.blob) }
        if let blob = evidence.evidence?.stored?.blob { core.blobs.remove(blob: blob) }
    }
}
