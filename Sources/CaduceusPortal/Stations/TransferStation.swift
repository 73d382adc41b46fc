import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusStorage
import Foundation
import Hummingbird

/// The medical station's transfers: the inbox of transfers other hospitals pushed here (sender, time, reason,
/// documents, the patient as the sender named her) with their acceptance — filed under the local patient the
/// regional MPI links, or one the clinician names by this hospital's id (`user.transfers`, `user.transfer.accept`) —
/// the transfers sent from here, and a form that sends the selected patient's documents held at this hospital to
/// another (`user.transfer`, decided for the receiving organisation with her consents). Transfers, documents and
/// recipients are named in forms by opaque handles or node ids: no patient identifier in a URL.
struct TransferStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/medical/transfers") { request, context in
            await portal.serve("medical.transfers", request, context, inbox)
        }
        router.post("/portal/medical/transfers/accept") { request, context in
            await portal.serve("medical.transfers.accept", request, context, accept)
        }
        router.post("/portal/medical/transfers/send") { request, context in
            await portal.serve("medical.transfers.send", request, context, send)
        }
    }


    func inbox(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        return try await page(visit, session, notice: nil)
    }

    static func documents(_ entries: [DocumentEntry]) -> [[String: String]] {
        entries.map {
            [
                "title": $0.title.isEmpty ? ($0.typeCode.display.isEmpty ? "Document" : $0.typeCode.display) : $0.title,
                "kind": $0.mimeType == "application/dicom"
                    ? "DICOM image" : ($0.classCode.display.isEmpty ? $0.classCode.code : $0.classCode.display),
                "conf": $0.confidentialityCode.code, "confLabel": Portal.confidentiality($0.confidentialityCode.code),
            ]
        }
    }

    func page(_ visit: Portal.Visit, _ session: PortalSession, notice: String?) async throws -> Response {
        let answer = try await portal.gate(.userTransfers, TransfersRequest(), visit, session: session).decodeBody(
            TransfersResponse.self)
        var handles: [String: String] = [:]
        let received = answer.received.map { item -> [String: Any] in
            let t = item.transfer
            let handle = String(PortalSessions.token().prefix(16))
            handles["transfer:" + handle] = t.id
            let named = t.entries.first?.sourcePatientId
            var row: [String: Any] = [
                "handle": handle, "from": t.peer, "when": Portal.time(t.at),
                "reason": t.reason.isEmpty ? "—" : t.reason,
                "sentBy": t.sentBy, "documents": Self.documents(t.entries),
                "withheld": item.withheld > 0 ? "\(item.withheld) more you may not see" : "",
                "patient": named.map { "\($0.id)" } ?? "—", "patientAuthority": named?.authority ?? "",
            ]
            if let a = t.accepted {
                row["accepted"] = ["patient": a.patient.id, "by": a.by, "when": Portal.time(a.at)]
            } else if let linked = item.linkedPatient {
                row["linked"] = linked.id
            } else {
                row["choose"] = true
                row["linkError"] = item.linkError ?? ""
            }
            return row
        }
        let sent = answer.sent.map { t -> [String: Any] in
            [
                "to": t.peer, "when": Portal.time(t.at), "reason": t.reason.isEmpty ? "—" : t.reason,
                "sentBy": t.sentBy.isEmpty ? "—" : t.sentBy,
                "documents": Self.documents(t.entries), "patient": t.entries.first?.sourcePatientId.id ?? "—",
            ]
        }
        // The send form: the selected patient's documents held in this hospital's repository.
        var sendable: [[String: String]] = []
        if let chosen = session.selectedPatient?.unsafeValue {
            let reply = try await portal.gate(
                .userQuery, StoredQuery.findDocuments(StoredQuery.FindDocuments(patientId: chosen)), visit,
                session: session)
            let here = try reply.decodeBody(EntriesResponse.self).entries.filter {
                $0.repositoryId == portal.node.configuration.nodeId
            }
            for e in here.sorted(by: { $0.creationTime > $1.creationTime }) {
                let handle = String(PortalSessions.token().prefix(16))
                handles["send:" + handle] = e.uniqueId
                sendable.append([
                    "handle": handle, "title": e.title.isEmpty ? "Document" : e.title,
                    "date": Portal.time(e.creationTime),
                    "conf": e.confidentialityCode.code, "confLabel": Portal.confidentiality(e.confidentialityCode.code),
                ])
            }
        }
        portal.sessions.update(session.id) { s in
            if s.documents.count > 500 { s.documents.removeAll() }
            s.documents.merge(handles) { _, b in b }
        }
        let hospitals = await portal.node.otherHospitals() ?? []
        let pending = received.filter { $0["accepted"] == nil }.count
        return portal.page(
            "Transfers", "transfers",
            [
                "csrf": session.csrf, "notice": notice ?? "", "received": received, "hasReceived": !received.isEmpty,
                "pending": String(pending),
                "sent": sent, "hasSent": !sent.isEmpty, "selected": session.selectedPatient != nil,
                "sendable": sendable, "hasSendable": !sendable.isEmpty,
                "hospitals": hospitals.map { ["id": $0] }, "hasHospitals": !hospitals.isEmpty,
            ], visit: visit, session: session, current: "/portal/medical/transfers")
    }

    func accept(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let handle = visit.form["transfer"], let id = session.documents["transfer:" + handle] else {
            throw PortalError(.notFound, "no such transfer in this session (open the inbox again)")
        }
        let localId = (visit.form["localId"] ?? "").trimmed
        let r = try await portal.gate(
            .userTransferAccept, TransferAcceptRequest(transfer: id, localId: localId.isEmpty ? nil : localId), visit,
            session: session
        )
        .decodeBody(InboxTransfer.self)
        let count = r.transfer.entries.count
        return try await page(
            visit, session,
            notice:
                "Accepted: \(count) document\(count == 1 ? "" : "s") filed under this hospital's patient \(r.transfer.accepted?.patient.id ?? "")."
        )
    }

    func send(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let ids = visit.form.keys.filter { $0.hasPrefix("doc-") }.sorted().compactMap {
            session.documents["send:" + String($0.dropFirst(4))]
        }
        guard !ids.isEmpty else { throw PortalError(.badRequest, "choose at least one document to send") }
        let to = (visit.form["to"] ?? "").trimmed
        guard !to.isEmpty else { throw PortalError(.badRequest, "choose the receiving hospital") }
        let reason = (visit.form["reason"] ?? "").trimmed
        guard reason.count >= 3, reason.count <= 500 else {
            throw PortalError(.badRequest, "give the reason for the transfer (3 to 500 characters)")
        }
        let receipt = try await portal.gate(
            .userTransfer, TransferRequest(to: to, uniqueIds: ids, reason: reason), visit, session: session
        ).decodeBody(TransferReceipt.self)
        return try await page(
            visit, session,
            notice:
                "Sent: \(receipt.documents.count) document\(receipt.documents.count == 1 ? "" : "s") received by \(receipt.receivedBy) at \(Portal.time(receipt.receivedAt)) (signed receipt kept)."
        )
    }
}
