import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import Foundation
import Hummingbird
import NIOCore

/// The privacy officer's audit console: a search of this node's trail (patient, user, event, outcome, time — the
/// criteria in a POSTed form, the patient never in a URL), the results table (break-glass marked, patients by this
/// node's pseudonym), the events and refusals of the last 14 days as inline SVG, the recent Security Alerts
/// (integrity alarms marked), and the current search as a CSV download (POST, `Content-Disposition: attachment`,
/// every field under the CSV formula guard). Every view and export is one operation of the gate
/// (`user.audit.search` / `user.audit.export`), refused unless the role is one the policy names as a reviewer of
/// emergency access, and one event on the trail.
struct AuditStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/privacy/audit") { request, context in await portal.serve("privacy.audit", request, context, console) }
        router.post("/portal/privacy/audit") { request, context in await portal.serve("privacy.audit.search", request, context, search) }
        router.post("/portal/privacy/audit/export") { request, context in await portal.serve("privacy.audit.export", request, context, export) }
    }

    static let events: [(code: String, label: String)] = [
        ("", "any event"), ("110112", "Query"), ("110106", "Export"), ("110107", "Import"), ("110110", "Patient Record"),
        ("110114", "User Authentication"), ("110113", "Security Alert"), ("110100", "Application Activity"),
    ]

    func console(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedIn()
        let request = AuditSearchRequest(limit: 50, summary: true)
        portal.sessions.update(session.id) { $0.auditSearch = Sensitive(request) }
        return try await show(visit, session, request, form: [:], searched: false)
    }

    func search(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedIn()
        let request = try Self.request(visit.form)
        portal.sessions.update(session.id) { $0.auditSearch = Sensitive(request) }
        return try await show(visit, session, request, form: visit.form, searched: true)
    }

    /// The criteria of a search form (dates as `YYYY-MM-DD`, UTC; the end day included).
    static func request(_ f: [String: String]) throws -> AuditSearchRequest {
        let id = (f["patient"] ?? "").trimmed, authority = (f["authority"] ?? "").trimmed
        guard id.isEmpty == authority.isEmpty else { throw PortalError(.badRequest, "a patient is named by her identifier and its assigning authority") }
        let user = (f["user"] ?? "").trimmed, event = (f["event"] ?? "").trimmed
        guard event.isEmpty || events.contains(where: { $0.code == event }) else { throw PortalError(.badRequest, "no such event type") }
        let outcome: AuditSearchRequest.Outcome?
        switch f["outcome"] ?? "" {
        case "": outcome = nil
        case "success": outcome = .success
        case "failure": outcome = .failure
        default: throw PortalError(.badRequest, "no such outcome")
        }
        func day(_ key: String) throws -> Date? {
            let text = (f[key] ?? "").trimmed
            guard !text.isEmpty else { return nil }
            let parser = DateFormatter()
            parser.locale = Locale(identifier: "en_US_POSIX")
            parser.timeZone = TimeZone(identifier: "UTC")
            parser.dateFormat = "yyyy-MM-dd"
            guard let date = parser.date(from: text) else { throw PortalError(.badRequest, "dates are YYYY-MM-DD") }
            return date
        }
        return AuditSearchRequest(
            patient: id.isEmpty ? nil : PatientIdentifier(id: id, authority: authority), user: user.isEmpty ? nil : user,
            eventID: event.isEmpty ? nil : event, outcome: outcome, from: try day("from"), to: try day("to").map { $0.addingTimeInterval(86_400) },
            limit: 500, summary: true)
    }

    func show(_ visit: Portal.Visit, _ session: PortalSession, _ request: AuditSearchRequest, form: [String: String], searched: Bool) async throws -> Response {
        let reply = try await portal.gate(.userAuditSearch, request, visit, session: session)
        let answer = try reply.decodeBody(AuditSearchResponse.self)
        let rows = answer.rows.map { Self.row($0, searched: answer.patientPseudonym) }
        let alerts = answer.alerts.prefix(20).map { Self.row($0, searched: nil) }
        let bursts = (answer.bursts ?? []).map { b -> [String: Any] in
            [
                "user": b.user, "count": String(b.count), "from": Portal.time(b.from), "to": Portal.time(b.to),
                "errorCode": b.errorCode, "signIn": b.signIn,
            ]
        }
        let outcome = form["outcome"] ?? ""
        let event = form["event"] ?? ""
        return portal.page("Audit trail", "audit", [
            "csrf": session.csrf, "searched": searched, "rows": rows, "hasRows": !rows.isEmpty, "truncated": answer.truncated,
            "count": String(rows.count), "chart": AuditChart.svg(answer.days), "alerts": Array(alerts), "hasAlerts": !alerts.isEmpty || !bursts.isEmpty,
            "bursts": bursts,
            "patient": form["patient"] ?? "", "authority": form["authority"] ?? "", "user": form["user"] ?? "",
            "from": form["from"] ?? "", "to": form["to"] ?? "",
            "events": Self.events.map { ["code": $0.code, "label": $0.label, "selected": $0.code == event] as [String: Any] },
            "outcomes": [("", "any outcome"), ("success", "success"), ("failure", "refused or failed")].map {
                ["code": $0.0, "label": $0.1, "selected": $0.0 == outcome] as [String: Any]
            },
        ], visit: visit, session: session, current: "/portal/privacy/audit")
    }

    /// The current search (the last one shown in this session) as CSV, through the gate as an export.
    func export(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedIn()
        var request = session.auditSearch?.unsafeValue ?? AuditSearchRequest()
        request.summary = false
        request.limit = 5000
        let reply = try await portal.gate(.userAuditExport, request, visit, session: session)
        let answer = try reply.decodeBody(AuditSearchResponse.self)
        let csv = CSV.encode(Self.csvRows(answer.rows))
        var h = Portal.headers(contentType: "text/csv; charset=utf-8")
        let stamp = DateFormatter()
        stamp.locale = Locale(identifier: "en_US_POSIX")
        stamp.timeZone = TimeZone(identifier: "UTC")
        stamp.dateFormat = "yyyyMMdd'T'HHmm'Z'"
        let name = "audit-\(portal.node.configuration.nodeId.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." })-\(stamp.string(from: Date())).csv"
        h[HTTPFields.Element.Name("Content-Disposition")!] = "attachment; filename=\"\(name)\""
        return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: csv)))
    }

    /// The export's rows: a header, then one row an event (patients by pseudonym).
    static func csvRows(_ rows: [AuditSearchRow]) -> [[String]] {
        let time = ISO8601DateFormatter()
        return [["sequence", "time", "event id", "event", "operation", "outcome", "error code", "user", "role", "purpose", "break-glass", "patients"]]
            + rows.map { r in
                [
                    String(r.sequence), time.string(from: r.time), r.eventID, r.event, r.operation, outcomeLabel(r.outcome), r.errorCode, r.user,
                    r.role, r.purpose, r.emergency ? "yes" : "no", r.patients.joined(separator: " "),
                ]
            }
    }

    static func outcomeLabel(_ outcome: Int) -> String {
        switch outcome {
        case 0: return "success"
        case 4: return "minor failure"
        case 8: return "serious failure"
        default: return "major failure"
        }
    }

    static func row(_ r: AuditSearchRow, searched: String?) -> [String: Any] {
        let patients = r.patients.map { p -> String in
            if p == searched { return "searched patient" }
            return "P·" + String(p.replacingOccurrences(of: "pseudonym:", with: "").prefix(8))
        }
        return [
            "time": Portal.time(r.time), "event": r.event, "operation": r.operation, "ok": r.outcome == 0,
            "outcome": r.outcome == 0 ? "success" : (r.errorCode.isEmpty ? outcomeLabel(r.outcome) : r.errorCode),
            "user": r.user, "role": r.role, "purpose": r.purpose, "emergency": r.emergency, "integrity": r.integrity,
            "patients": patients.joined(separator: ", "),
        ]
    }
}
