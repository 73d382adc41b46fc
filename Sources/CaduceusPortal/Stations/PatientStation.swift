import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPolicy
import Foundation
import Hummingbird

/// The patient portal: her documents (list and view), her consents, who accessed her record across the federation
/// (break-glass marked), her card. Every page is an operation of the gate for the patient's own card (purpose
/// PATRQT); the services check the record is hers.
struct PatientStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/patient/documents") { request, context in await portal.serve("patient.documents", request, context, documents) }
        router.get("/portal/patient/consents") { request, context in await portal.serve("patient.consents", request, context, consents) }
        router.get("/portal/patient/access") { request, context in await portal.serve("patient.access", request, context, access) }
    }

    func own(_ visit: Portal.Visit) throws -> (PortalSession, PatientIdentifier) {
        let session = try visit.signedIn()
        guard let own = visit.ownRecord else { throw PortalError(.badRequest, "this station is for patients' cards") }
        return (session, own)
    }

    func documents(_ visit: Portal.Visit) async throws -> Response {
        let (session, own) = try own(visit)
        let reply = try await portal.gate(.userQuery, StoredQuery.findDocuments(StoredQuery.FindDocuments(patientId: own)), visit, session: session)
        let entries = try reply.decodeBody(EntriesResponse.self).entries
        let rows = portal.documentRows(entries, session: session)
        return portal.page("My documents", "documents", [
            "intro": "Your documents from every hospital of the region.", "documents": rows, "hasDocuments": !rows.isEmpty,
        ], visit: visit, session: session, current: "/portal/patient/documents")
    }

    func consents(_ visit: Portal.Visit) async throws -> Response {
        let (session, own) = try own(visit)
        let reply = try await portal.gate(.userConsents, ConsentQuery(patient: own), visit, session: session)
        let records = try reply.decodeBody(ConsentsResponse.self).consents
        let rows = records.sorted { $0.recordedTime > $1.recordedTime }.map { r -> [String: String] in
            let d = r.directive
            let scope = d.documentId != nil ? "one document" : d.classCode.map { "documents of class \($0)" } ?? (d.organization.map { "organisation \($0)" } ?? "everyone")
            let status = r.revokedTime != nil ? "revoked " + Portal.time(r.revokedTime!) : (d.validUntil.map { $0 < Date() } == true ? "lapsed" : "in force")
            return [
                "decision": d.decision.rawValue == "permit" ? "share (opt in)" : "do not share (opt out)", "scope": scope,
                "from": Portal.time(d.validFrom), "until": d.validUntil.map(Portal.time) ?? "—", "status": status,
            ]
        }
        return portal.page("My consents", "consents", ["consents": rows, "hasConsents": !rows.isEmpty], visit: visit, session: session, current: "/portal/patient/consents")
    }

    func access(_ visit: Portal.Visit) async throws -> Response {
        let (session, own) = try own(visit)
        let reply = try await portal.gate(.userAccessReport, AccessReportRequest(patient: own), visit, session: session)
        let report = try reply.decodeBody(AccessReport.self)
        let entries = report.entries.suffix(500).map { e -> [String: Any] in
            [
                "time": Portal.time(e.time), "node": e.node, "who": e.who == "patient" ? "you" : e.who, "role": e.role, "purpose": e.purpose,
                "action": e.action, "outcome": e.outcome == "ok" ? "done" : "refused (\(e.outcome))", "emergency": e.emergency,
            ]
        }
        return portal.page("Who accessed my record", "access", [
            "entries": entries, "unavailable": report.unavailable, "hasUnavailable": !report.unavailable.isEmpty,
        ], visit: visit, session: session, current: "/portal/patient/access")
    }
}
