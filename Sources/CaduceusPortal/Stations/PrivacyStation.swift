import CaduceusCore
import CaduceusExchange
import CaduceusStorage
import Foundation
import Hummingbird

/// The privacy officer's console (first part): this node's break-glass review queue, with the declared reasons, and
/// the review of an entry (recorded as the signed-in officer; nobody reviews their own).
struct PrivacyStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/privacy") { request, context in await portal.serve("privacy.emergencies", request, context, emergencies) }
        router.post("/portal/privacy/review") { request, context in await portal.serve("privacy.review", request, context, review) }
    }

    func emergencies(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedIn()
        let reply = try await portal.gate(.userEmergencies, EmergencyQueueRequest(unreviewedOnly: false), visit, session: session)
        let entries = try reply.decodeBody([EmergencyAccess].self)
        var handles: [String: String] = [:]
        let rows = entries.sorted { $0.started > $1.started }.map { e -> [String: Any] in
            let handle = String(PortalSessions.token().prefix(16))
            handles[handle] = e.id
            var row: [String: Any] = [
                "started": Portal.time(e.started), "who": e.subject, "role": e.role, "reason": e.reason.isEmpty ? "(declared at \(e.declaredAt))" : e.reason,
                "uses": String(e.uses), "handle": handle,
            ]
            if let reviewed = e.reviewed { row["reviewed"] = "reviewed by \(e.reviewer ?? "") on \(Portal.time(reviewed))" }
            return row
        }
        portal.sessions.update(session.id) { s in s.documents.merge(handles.mapKeys { "emergency:" + $0 }) { a, _ in a } }
        return portal.page("Break-glass review", "emergencies", [
            "entries": rows, "hasEntries": !rows.isEmpty, "csrf": session.csrf,
        ], visit: visit, session: session, current: "/portal/privacy")
    }

    func review(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedIn()
        guard let handle = visit.form["entry"], let id = session.documents["emergency:" + handle] else {
            throw PortalError(.notFound, "no such break-glass entry in this session")
        }
        _ = try await portal.gate(.userEmergencyReview, EmergencyReviewRequest(id: id, note: visit.form["note"] ?? ""), visit, session: session)
        return Response(status: .seeOther, headers: Portal.headers(location: "/portal/privacy"))
    }
}

extension Dictionary {
    func mapKeys<K: Hashable>(_ f: (Key) -> K) -> [K: Value] {
        Dictionary<K, Value>(uniqueKeysWithValues: map { (f($0.key), $0.value) })
    }
}
