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

/// Push transfers: a user's transfer (decided for the receiving organisation), the sender's side, and the receiver's signed receipt.
struct TransferService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    func receiveTransfer(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let request = try o.message.decodeBody(TransferRequest.self)
        guard request.to == core.id else { throw ExchangeError(.misdirected, "the transfer names another recipient") }
        guard !o.message.documents.isEmpty, o.message.documents.count == request.entries.count else {
            throw DocumentsError(.invalidMetadata, "a transfer carries one metadata entry per document")
        }
        var received: [(RepositoryDocument, [UInt8])] = []
        o.audit.documents(request.entries.map(\.uniqueId))
        for e in request.entries { o.audit.patient(e.sourcePatientId) }
        for part in o.message.documents {
            guard var entry = request.entries.first(where: { $0.uniqueId == part.contentID }) else {
                throw DocumentsError(.invalidMetadata, "a document part has no metadata entry")
            }
            try DocumentIntegrity.check(part.body, against: entry)
            // Metadata and content must agree about the patient, whatever the sender says.
            let derived = try DocumentMetadata.entry(for: part.body, mimeType: entry.mimeType, sourcePatient: entry.sourcePatientId, repositoryId: core.id, now: core.clock.now())
            guard derived.uniqueId == entry.uniqueId else { throw DocumentsError(.invalidMetadata, "the uniqueId differs from the document's own id") }
            entry.repositoryId = core.id
            received.append((RepositoryDocument(entry: entry, wrappedKey: Data(), blob: ""), part.body))
        }
        // Filed in the operation's commit, with its audit event and its inbox record (until a clinician of this
        // hospital accepts it: ``TransferInboxService``): the signed receipt leaves only after it.
        try core.keep(o)
        try await core.repositoryService.requireNew(received.map(\.0.entry.uniqueId))
        let (rows, filing) = try core.repositoryService.sealDocuments(received.map { ($0.0.entry, $0.1) }, evidence: nil)
        let inbox = TransferRecord(id: o.message.header.requestId, direction: .received, peer: o.identity.commonName, at: core.clock.now(), reason: request.reason, sentBy: request.sentBy ?? "", entries: request.entries)
        // Its codes are checked against this node's tables in the same commit (``CodeTableRules``); the patient it
        // names is in the sender's domain, not checked here.
        let entries = rows.map(\.entry)
        o.audit.commit { tx in
            try CodeTableRules(CodeTableRules.documentTables) { try tx.codeTable($0) }.check(entries, patientDomain: false)
            try filing(tx)
            try tx.saveTransfer(inbox)
        }
        o.audit.onFailure { [repository = core.repositoryService] in repository.discard(rows, evidence: filing) }
        let receipt = rows.map { TransferReceipt.ReceiptLine(uniqueId: $0.entry.uniqueId, hash: $0.entry.hash) }
        return try core.reply(o, TransferReceipt(requestId: o.message.header.requestId, envelopeSHA256: DocumentIntegrity.sha256(o.raw), receivedBy: core.id, receivedAt: core.clock.now(), documents: receipt))
    }

    func userTransfer(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o)
        try core.requireHome(claims)
        let request = try o.message.decodeBody(TransferRequest.self)
        o.audit.documents(request.uniqueIds)
        let held = try await core.store.read { r in try request.uniqueIds.compactMap { try r.repositoryDocument(uniqueId: $0)?.entry } }
        // The recipient is the organisation the patient's consent is weighed for.
        for (patient, group) in Dictionary(grouping: held, by: \.sourcePatientId) {
            let answer = try await core.consentService.consentsAtRegion(ConsentQuery(patient: patient), audit: o.audit)
            var asGlobal = group
            for i in asGlobal.indices { asGlobal[i].patientId = answer.patientId }
            try core.requirePermit(claims, asGlobal, consents: answer.consents, organization: request.to, audit: o.audit)
        }
        return try core.reply(o, try await transfer(request.uniqueIds, to: request.to, reason: request.reason, audit: o.audit, sentBy: claims.sub))
    }

    /// Pushes documents from this node's repository to `nodeId`; returns the recipient's signed receipt after
    /// checking it lists every document with its hash.
    func transfer(_ ids: [String], to nodeId: String, reason: String, audit: AuditNotes?, sentBy: String? = nil) async throws -> TransferReceipt {
        let (entries, parts) = try await core.repositoryService.localDocuments(ids, audit: audit)
        let opened = try await core.call(.transfer, to: nodeId, body: TransferRequest(to: nodeId, uniqueIds: ids, entries: entries, reason: reason, sentBy: sentBy), documents: parts)
        try await core.keep(opened, audit: audit)
        let receipt = try opened.message.decodeBody(TransferReceipt.self)
        guard Set(receipt.documents) == Set(entries.map { TransferReceipt.ReceiptLine(uniqueId: $0.uniqueId, hash: $0.hash) }) else {
            throw ExchangeError(.signerRejected, "the receipt does not list the documents sent")
        }
        let sent = TransferRecord(id: receipt.requestId, direction: .sent, peer: nodeId, at: core.clock.now(), reason: reason, sentBy: sentBy ?? "", entries: entries)
        if let audit {
            audit.commit { tx in try tx.saveTransfer(sent) }  // with the operation's event
        } else {
            try await core.store.write { tx in try tx.saveTransfer(sent) }
        }
        return receipt
    }
}
