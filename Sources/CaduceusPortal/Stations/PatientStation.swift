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
        router.post("/portal/patient/consents") { request, context in await portal.serve("patient.consents.record", request, context, record) }
        router.post("/portal/patient/consents/withdraw") { request, context in await portal.serve("patient.consents.withdraw", request, context, withdraw) }
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
        return try await consentsPage(visit, session, own, notice: nil, problem: nil)
    }

    /// The consents on file (each one in force with a Withdraw button) and the form that records a new one. The
    /// form offers what the patient's own documents name: the organisations holding them, their kinds, each
    /// document (by an opaque handle of the session).
    func consentsPage(_ visit: Portal.Visit, _ session: PortalSession, _ own: PatientIdentifier, notice: String?, problem: String?, form: [String: String] = [:]) async throws -> Response {
        let reply = try await portal.gate(.userConsents, ConsentQuery(patient: own), visit, session: session)
        let records = try reply.decodeBody(ConsentsResponse.self).consents
        let now = Date()
        var handles: [String: String] = [:]
        let rows = records.sorted { $0.recordedTime > $1.recordedTime }.map { r -> [String: Any] in
            let d = r.directive
            let scope = d.documentId != nil ? "one document" : d.classCode.map { "documents of kind \($0)" } ?? (d.organization.map { "organisation \($0)" } ?? "every organisation")
            let inForce = r.revokedTime == nil && d.validFrom <= now && (d.validUntil.map { now < $0 } ?? true)
            let status = r.revokedTime.map { "withdrawn " + Portal.time($0) }
                ?? (d.validUntil.map { $0 <= now } == true ? "lapsed" : (d.validFrom > now ? "from " + Portal.day(d.validFrom) : "in force"))
            var row: [String: Any] = [
                "decision": d.decision == .permit ? "share (opt in)" : "do not share (opt out)", "scope": scope,
                "from": Portal.day(d.validFrom), "until": d.validUntil.map { Portal.day($0.addingTimeInterval(-1)) } ?? "—", "status": status,
                "inForce": inForce, "how": r.attestedBy.map { "at the portal of \($0)" } ?? "signed with the card",
                "recorded": Portal.time(r.recordedTime),
            ]
            if r.revokedTime == nil {
                let handle = String(PortalSessions.token().prefix(16))
                handles["consent:" + handle] = d.id
                row["handle"] = handle
                row["withdrawable"] = true
            }
            return row
        }
        // What the form offers: the organisations and kinds of her documents, and the documents themselves.
        let entries = (try? await portal.gate(.userQuery, StoredQuery.findDocuments(StoredQuery.FindDocuments(patientId: own)), visit, session: session)
            .decodeBody(EntriesResponse.self).entries) ?? []
        // Every hospital of the directory (and any other organisation holding her documents).
        let hospitals = await portal.node.otherHospitals() ?? []
        let organizations = Set(entries.map(\.repositoryId) + hospitals + [portal.node.configuration.nodeId]).sorted()
        var kinds: [String: String] = [:]
        for e in entries where !e.classCode.code.isEmpty { kinds[e.classCode.code] = e.classCode.display.isEmpty ? e.classCode.code : e.classCode.display }
        let documents = entries.sorted { $0.creationTime > $1.creationTime }.prefix(200).map { e -> [String: String] in
            let handle = String(PortalSessions.token().prefix(16))
            handles["consent-document:" + handle] = e.uniqueId
            let title = e.title.isEmpty ? (e.typeCode.display.isEmpty ? "Document" : e.typeCode.display) : e.title
            return ["handle": handle, "label": "\(title), \(Portal.day(e.creationTime)), \(e.repositoryId)"]
        }
        portal.sessions.update(session.id) { s in
            s.documents = s.documents.filter { !$0.key.hasPrefix("consent") }
            s.documents.merge(handles) { a, _ in a }
        }
        let scope = form["scope"] ?? "all"
        return portal.page("My consents", "consents", [
            "consents": rows, "hasConsents": !rows.isEmpty, "csrf": session.csrf, "notice": notice ?? "", "problem": problem ?? "",
            "organizations": organizations.map { ["id": $0, "selected": $0 == form["organization"]] },
            "kinds": kinds.sorted { $0.value < $1.value }.map { ["code": $0.key, "label": $0.value, "selected": $0.key == form["kind"]] },
            "documents": documents, "hasDocuments": !documents.isEmpty, "hasKinds": !kinds.isEmpty,
            "today": Portal.day(now), "from": form["from"] ?? Portal.day(now), "until": form["until"] ?? "",
            "deny": form["decision"] == "deny", "scopeAll": scope == "all", "scopeOrganization": scope == "organization",
            "scopeKind": scope == "kind", "scopeDocument": scope == "document",
        ], visit: visit, session: session, current: "/portal/patient/consents")
    }

    /// Records a consent from the form: the portal sends the directive; the node attests it for her card (she
    /// cannot sign in the browser) and the regional registry records it under the same rules as a signed one.
    func record(_ visit: Portal.Visit) async throws -> Response {
        let (session, own) = try own(visit)
        let f = visit.form
        do {
            let directive = try Self.directive(f, session: session)
            let r = try await portal.gate(.userConsent, ConsentRequest(directive: directive), visit, session: session).decodeBody(ConsentRecord.self)
            let what = r.directive.decision == .permit ? "Sharing is on" : "Sharing is off"
            return try await consentsPage(visit, session, own, notice: "Recorded by the regional registry: \(what) for \(Self.scopeText(r.directive)), from \(Portal.day(r.directive.validFrom)).", problem: nil)
        } catch let e as any CaduceusError where e.category == .client || e.code.hasPrefix("consent.") {
            // The form is shown again with what she chose and the rule that refused it.
            return try await consentsPage(visit, session, own, notice: nil, problem: e.message, form: f)
        }
    }

    /// Withdraws a consent on file (a revocation, attested like a directive).
    func withdraw(_ visit: Portal.Visit) async throws -> Response {
        let (session, own) = try own(visit)
        guard let handle = visit.form["consent"], let id = session.documents["consent:" + handle] else {
            throw PortalError(.notFound, "no such consent in this session (open the page again)")
        }
        let revocation = ConsentRevocation(consentId: id, patient: own.description, issuedAt: Date())
        let r = try await portal.gate(.userConsent, ConsentRequest(revocation: revocation), visit, session: session).decodeBody(ConsentRecord.self)
        return try await consentsPage(visit, session, own, notice: "Withdrawn: \(Self.scopeText(r.directive)) no longer applies.", problem: nil)
    }

    static func scopeText(_ d: ConsentDirective) -> String {
        if d.documentId != nil { return "one document" }
        if let c = d.classCode { return "documents of kind \(c)" }
        return d.organization.map { "organisation \($0)" } ?? "every organisation"
    }

    /// The directive the form asks for (the node sets its id, patient and time).
    static func directive(_ f: [String: String], session: PortalSession) throws -> ConsentDirective {
        guard let decision = ConsentDirective.Decision(rawValue: f["decision"] ?? "") else {
            throw PortalError(.badRequest, "choose whether to share or not")
        }
        guard let from = Portal.day(f["from"] ?? "") else { throw PortalError(.badRequest, "give the first day as YYYY-MM-DD") }
        var until: Date?
        if let text = f["until"], !text.trimmed.isEmpty {
            // The last day it applies, inclusive.
            guard let day = Portal.day(text) else { throw PortalError(.badRequest, "give the last day as YYYY-MM-DD") }
            until = day.addingTimeInterval(86400)
        }
        var d = ConsentDirective(id: "", patient: "", decision: decision, validFrom: from, validUntil: until, issuedAt: Date())
        switch f["scope"] ?? "all" {
        case "all": break
        case "organization":
            guard let org = f["organization"]?.trimmed, !org.isEmpty else { throw PortalError(.badRequest, "choose the organisation") }
            d.organization = org
        case "kind":
            guard let kind = f["kind"]?.trimmed, !kind.isEmpty else { throw PortalError(.badRequest, "choose the kind of document") }
            d.classCode = kind
        case "document":
            guard let handle = f["document"], let id = session.documents["consent-document:" + handle] else {
                throw PortalError(.badRequest, "choose one of your documents")
            }
            d.documentId = id
        default:
            throw PortalError(.badRequest, "choose what the consent is for")
        }
        return d
    }

    func access(_ visit: Portal.Visit) async throws -> Response {
        let (session, own) = try own(visit)
        let reply = try await portal.gate(.userAccessReport, AccessReportRequest(patient: own), visit, session: session)
        let report = try reply.decodeBody(AccessReport.self)
        let entries = report.entries.suffix(500).map { e -> [String: Any] in
            [
                "time": Portal.time(e.time), "node": e.node, "who": e.who == "patient" ? "you" : e.who, "role": e.role, "purpose": e.purpose,
                "action": Self.words(e.action), "code": e.action, "outcome": e.outcome == "ok" ? "done" : "refused (\(e.outcome))", "emergency": e.emergency,
            ]
        }
        return portal.page("Who accessed my record", "access", [
            "entries": entries, "unavailable": report.unavailable, "hasUnavailable": !report.unavailable.isEmpty,
        ], visit: visit, session: session, current: "/portal/patient/access")
    }

    /// What an operation on the trail did, as a patient reads it (the operation's code stays beside it).
    static func words(_ operation: String) -> String {
        let known: [String: String] = [
            "user.submit": "filed a document", "registry.register": "registered a document in the region",
            "user.query": "listed your documents", "registry.query": "listed your documents (registry)",
            "user.retrieve": "opened a document", "repository.retrieve": "released a document",
            "user.transfer": "sent documents to another hospital", "transfer.push": "received a transfer",
            "user.transfer.accept": "filed a received transfer", "user.pdq": "searched for you by name",
            "mpi.pdq": "searched for you by name (regional index)", "mpi.register": "registered your identity",
            "mpi.pix": "looked up your identifiers", "user.consent": "changed your consent", "consent.register": "recorded your consent",
            "user.consents": "read your consents", "consent.query": "read your consents (registry)",
            "user.accessreport": "read this access report", "audit.report": "gathered this access report",
            "admin.patients": "opened your registration", "admin.mpi.decide": "decided a possible duplicate of your record",
            "mpi.decide": "decided a possible duplicate of your record", "mpi.review-queued": "queued a possible duplicate of your record for review",
            "110135": "your sharing settings changed (security alert)", "110113": "security alert", "user.card": "read the card's status",
        ]
        if operation.hasPrefix("ADT") { return "registration from the hospital's system" }
        if operation.hasPrefix("ORU") { return "results from the hospital's system" }
        if operation.hasPrefix("MDM") { return "a document from the hospital's system" }
        if operation.hasPrefix("QBP") || operation.hasPrefix("QRY") { return "query from the hospital's system" }
        return known[operation] ?? operation
    }
}
