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
/// another (`user.transfer`, decided for the receiving organisation with her consents). When the MPI links nobody, a
/// role the policy lets register patients may register her here: a form prefilled from the received document's header
/// plus the MRN the clinician types, accepted with the transfer (`user.transfer.accept` with a registration, an
/// ADT^A04 through the node's HL7 feed). Transfers, documents and recipients are named in forms by opaque handles or
/// node ids: no patient identifier in a URL.
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
        router.post("/portal/medical/transfers/register/form") { request, context in
            await portal.serve("medical.transfers.register.form", request, context, registrationForm)
        }
        router.post("/portal/medical/transfers/register") { request, context in
            await portal.serve("medical.transfers.register", request, context, register)
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
                row["register"] = item.registration != nil
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

    /// The transfer a form's handle names in this session.
    func transferId(_ visit: Portal.Visit, _ session: PortalSession) throws -> String {
        guard let handle = visit.form["transfer"], let id = session.documents["transfer:" + handle] else {
            throw PortalError(.notFound, "no such transfer in this session (open the inbox again)")
        }
        return id
    }

    /// The administrative sex codes the form offers (HL7 table 0001), `selected` marking `current`.
    static func sexes(_ current: String) -> [[String: Any]] {
        [("F", "female"), ("M", "male"), ("O", "other"), ("U", "unknown"), ("A", "ambiguous"), ("N", "not applicable")].map {
            ["code": $0.0, "label": $0.1, "selected": $0.0 == current]
        }
    }

    /// The registration form for a transfer nobody is linked to, prefilled from its document's header.
    func registrationForm(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let id = try transferId(visit, session)
        let answer = try await portal.gate(.userTransfers, TransfersRequest(), visit, session: session).decodeBody(TransfersResponse.self)
        guard let item = answer.received.first(where: { $0.transfer.id == id }), item.transfer.accepted == nil else {
            throw PortalError(.notFound, "this transfer is no longer waiting in the inbox")
        }
        guard let proposal = item.registration else {
            throw PortalError(.badRequest, "a patient is registered from the inbox only when none of this hospital is linked, by a role that may register patients")
        }
        return registrationPage(visit, session, handle: visit.form["transfer"] ?? "", item: item, values: proposal, error: nil)
    }

    func registrationPage(_ visit: Portal.Visit, _ session: PortalSession, handle: String, item: InboxTransfer?, values: NewLocalPatient, error: (any CaduceusError)?) -> Response {
        var data: [String: Any] = [
            "csrf": session.csrf, "handle": handle, "mrn": values.mrn, "authority": values.authority, "family": values.family,
            "given": values.given, "birth": values.birthDate, "sexes": Self.sexes(values.sex),
            "error": error?.message ?? "", "errorCode": error?.code ?? "",
        ]
        if let item {
            let t = item.transfer
            data["transfer"] = [
                "from": t.peer, "when": Portal.time(t.at), "reason": t.reason.isEmpty ? "—" : t.reason, "sentBy": t.sentBy,
                "documents": Self.documents(t.entries), "patient": t.entries.first?.sourcePatientId.id ?? "—",
                "patientAuthority": t.entries.first?.sourcePatientId.authority ?? "",
            ] as [String: Any]
        }
        return portal.page(
            "Register a patient", "transferRegister", data, visit: visit, session: session, current: "/portal/medical/transfers",
            status: error.map { Portal.status(for: $0.category) } ?? .ok)
    }

    /// Registers the patient and accepts the transfer under her; a refusal shows the form again with what was typed.
    func register(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let id = try transferId(visit, session)
        let f = visit.form
        let birth = (f["birth"] ?? "").trimmed.replacingOccurrences(of: "-", with: "")
        let typed = NewLocalPatient(
            mrn: (f["mrn"] ?? "").trimmed, authority: (f["authority"] ?? "").trimmed, family: (f["family"] ?? "").trimmed,
            given: (f["given"] ?? "").trimmed, birthDate: birth, sex: (f["sex"] ?? "").trimmed)
        let accepted: InboxTransfer
        do {
            accepted = try await portal.gate(.userTransferAccept, TransferAcceptRequest(transfer: id, register: typed), visit, session: session)
                .decodeBody(InboxTransfer.self)
        } catch let e as any CaduceusError where [.client, .conflict].contains(e.category) {
            return registrationPage(visit, session, handle: f["transfer"] ?? "", item: nil, values: typed, error: e)
        }
        let count = accepted.transfer.entries.count
        return try await page(
            visit, session,
            notice: "Registered this hospital's patient \(accepted.transfer.accepted?.patient.id ?? typed.mrn) and filed \(count) document\(count == 1 ? "" : "s") under her. The regional MPI matches her with the sender's patient as for any admission.")
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
