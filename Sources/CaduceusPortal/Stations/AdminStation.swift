import CaduceusCore
import CaduceusExchange
import CaduceusStorage
import Foundation
import Hummingbird

/// The admin station (for the roles the policy names as `personnelAdministrators`, at their own hospital's node):
/// the hospital's entities and the federation's infrastructure (`admin.overview`), the personnel registry
/// (`staff.list`, `staff.import` — an edit is a one-row import, so it keeps every rule of the HR import), and the
/// code tables the node validates with (`admin.codes`, `admin.codes.save`: versioned, in force from the next
/// message). Every page and form is one operation of the gate; staff are named in forms by opaque handles.
struct AdminStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/admin") { request, context in await portal.serve("admin.overview", request, context, overview) }
        router.get("/portal/admin/staff") { request, context in await portal.serve("admin.staff", request, context, staff) }
        router.post("/portal/admin/staff/import") { request, context in await portal.serve("admin.staff.import", request, context, importStaff) }
        router.post("/portal/admin/staff/edit") { request, context in await portal.serve("admin.staff.edit", request, context, editForm) }
        router.post("/portal/admin/staff/save") { request, context in await portal.serve("admin.staff.save", request, context, saveMember) }
        router.get("/portal/admin/codes") { request, context in await portal.serve("admin.codes", request, context, codes) }
        router.get("/portal/admin/codes/:table") { request, context in
            let table = context.parameters.get("table") ?? ""
            return await portal.serve("admin.codes.table", request, context) { try await codeTable($0, name: table) }
        }
        router.post("/portal/admin/codes/:table") { request, context in
            let table = context.parameters.get("table") ?? ""
            return await portal.serve("admin.codes.save", request, context) { try await saveTable($0, name: table) }
        }
    }


    // MARK: - Overview

    func overview(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let o = try await portal.gate(.adminOverview, AdminOverviewRequest(), visit, session: session).decodeBody(AdminOverview.self)
        let now = Date()
        /// A node certificate renews itself when a third of its (7-day) life is left: it is a concern only once
        /// renewal is overdue. A CA certificate is renewed by people: warn two weeks ahead.
        func expiry(_ d: Date?, selfRenewing: Bool) -> [String: Any] {
            guard let d else { return ["text": "unknown", "warn": true] }
            let seconds = d.timeIntervalSince(now), days = Int(seconds / 86_400)
            let text = seconds < 0 ? "expired" : days == 0 ? "today" : "in \(days) day\(days == 1 ? "" : "s")"
            return ["text": Portal.time(d), "days": text + (selfRenewing && seconds > 0 ? ", renews itself" : ""), "warn": seconds < (selfRenewing ? 86_400 * 2 : 86_400 * 14)]
        }
        let nodes = (o.nodes ?? []).map { n -> [String: Any] in
            ["id": n.id, "roles": n.roles.joined(separator: ", "), "endpoint": n.endpoint, "region": n.region.isEmpty ? "—" : n.region,
             "expires": expiry(n.certificateExpires, selfRenewing: true), "health": n.health, "up": n.health == "up" || n.health == "this node"]
        }
        let certs = o.certificates.enumerated().map { i, c -> [String: Any] in
            ["label": c.label, "subject": c.subject, "serial": String(c.serial.prefix(16)), "expires": expiry(c.notAfter, selfRenewing: i == 0)]
        } + o.authorities.map { c -> [String: Any] in
            ["label": c.label, "subject": c.subject, "serial": String(c.serial.prefix(16)), "expires": expiry(c.notAfter, selfRenewing: false)]
        }
        let cards = CardStatus.allCases.compactMap { s -> [String: String]? in
            guard let n = o.cards[s.rawValue], n > 0 else { return nil }
            return ["status": s.rawValue, "count": String(n)]
        }
        return portal.page("Hospital administration", "admin", [
            "organization": o.organization, "roles": o.roles.joined(separator: ", "), "endpoint": o.endpoint, "region": o.regionalNode,
            "departments": o.departments.map { ["name": $0.name, "staff": String($0.staff)] }, "hasDepartments": !o.departments.isEmpty,
            "facilities": o.facilities.map { ["code": $0.code, "display": $0.display] }, "hasFacilities": !o.facilities.isEmpty,
            "nodes": nodes, "directoryDown": o.nodes == nil, "certificates": certs, "cards": cards, "hasCards": !cards.isEmpty,
            "messages": String(o.messages),
        ], visit: visit, session: session, current: "/portal/admin")
    }

    // MARK: - Personnel

    func staff(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        return try await staffPage(visit, session, notice: nil)
    }

    func staffPage(_ visit: Portal.Visit, _ session: PortalSession, notice: String?) async throws -> Response {
        let members = try await portal.gate(.staffList, StaffListRequest(includeInactive: true), visit, session: session).decodeBody([StaffMember].self)
        var handles: [String: String] = [:]
        let rows = members.map { m -> [String: Any] in
            let handle = String(PortalSessions.token().prefix(16))
            handles["staff:" + handle] = m.id
            return ["id": m.id, "name": m.displayName, "department": m.department, "roles": m.roles.joined(separator: ", "), "email": m.email,
                    "active": m.active, "updated": Portal.time(m.updated), "source": m.source, "handle": handle]
        }
        portal.sessions.update(session.id) { s in s.documents.merge(handles) { _, b in b } }
        return portal.page("Personnel", "staff", [
            "csrf": session.csrf, "rows": rows, "hasRows": !rows.isEmpty, "count": String(members.filter(\.active).count), "notice": notice ?? "",
        ], visit: visit, session: session, current: "/portal/admin/staff")
    }

    func importStaff(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let csv = visit.form["csv"] ?? ""
        guard !csv.trimmed.isEmpty else { throw PortalError(.badRequest, "paste the HR export (CSV with a header row) to import") }
        let r = try await portal.gate(.staffImport, StaffImportRequest(csv: csv), visit, session: session).decodeBody(StaffImportResponse.self)
        return try await staffPage(visit, session, notice: "Imported: \(r.added) added, \(r.updated) updated, \(r.unchanged) unchanged, \(r.deactivated) affiliations ended, \(r.cardsTerminated) cards revoked.")
    }

    func member(_ visit: Portal.Visit, _ session: PortalSession) async throws -> StaffMember {
        guard let handle = visit.form["member"], let id = session.documents["staff:" + handle] else {
            throw PortalError(.notFound, "no such staff member in this session (open the personnel list again)")
        }
        let members = try await portal.gate(.staffList, StaffListRequest(includeInactive: true), visit, session: session).decodeBody([StaffMember].self)
        guard let m = members.first(where: { $0.id == id }) else { throw PortalError(.notFound, "the staff member is no longer in the registry") }
        return m
    }

    func editForm(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let m = try await member(visit, session)
        return portal.page("Edit staff member", "staffEdit", [
            "csrf": session.csrf, "member": visit.form["member"] ?? "", "id": m.id, "family": m.family, "given": m.given,
            "department": m.department, "roles": m.roles.joined(separator: "; "), "email": m.email, "active": m.active,
        ], visit: visit, session: session, current: "/portal/admin/staff")
    }

    /// Saves an edit as a one-row HR import: the same checks (roles the policy knows and the CA may grant, names,
    /// e-mail), and a member marked terminated loses their cards as an import would do it.
    func saveMember(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let m = try await member(visit, session)
        let f = visit.form
        let row = [m.id, (f["family"] ?? "").trimmed, (f["given"] ?? "").trimmed, (f["department"] ?? "").trimmed, (f["roles"] ?? "").trimmed,
                   (f["email"] ?? "").trimmed, f["active"] == "yes" ? "Active" : "Terminated"]
        let csv = CSV.encode([["Employee ID", "Last Name", "First Name", "Department", "Role", "Email", "Status"], row])
        let r = try await portal.gate(.staffImport, StaffImportRequest(csv: csv), visit, session: session).decodeBody(StaffImportResponse.self)
        return try await staffPage(visit, session, notice: r.updated == 0 ? "Nothing changed." : "Saved\(r.cardsTerminated > 0 ? "; \(r.cardsTerminated) card(s) revoked" : "").")
    }

    // MARK: - Code tables

    static func label(_ t: CodeTableName) -> String {
        switch t {
        case .administrativeSex: return "Administrative sex"
        case .documentClass: return "Document classes"
        case .documentType: return "Document types"
        case .facility: return "Facilities"
        case .confidentiality: return "Confidentiality codes"
        case .assigningAuthority: return "Assigning authorities"
        }
    }

    static func purpose(_ t: CodeTableName) -> String {
        switch t {
        case .administrativeSex: return "HL7 v2 table 0001: PID-8 of every ADT message is checked against it"
        case .documentClass: return "XDS classCode: checked on every document filed or registered here"
        case .documentType: return "XDS typeCode (LOINC, DICOM modality): checked on every document filed or registered here"
        case .facility: return "XDS healthcareFacilityTypeCode (HL7 v3 ServiceDeliveryLocationRoleType): checked when a document names one"
        case .confidentiality: return "HL7 v3 Confidentiality (2.16.840.1.113883.5.25): checked on every document filed or registered here"
        case .assigningAuthority: return "Patient identifier domains (OIDs): PID-3 and MRG-1 of ADT, a submitted document's patient, an identity registered with the MPI"
        }
    }

    func codes(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let r = try await portal.gate(.adminCodes, CodeTablesRequest(), visit, session: session).decodeBody(CodeTablesResponse.self)
        let rows = r.tables.map { t -> [String: Any] in
            ["name": t.name.rawValue, "label": Self.label(t.name), "purpose": Self.purpose(t.name),
             "version": t.current.map { "version \($0.version)" } ?? "not set", "count": String(t.current?.entries.count ?? 0),
             "changed": t.current.map { "\(Portal.time($0.changedAt)) by \($0.changedBy)" } ?? "—", "set": t.current != nil]
        }
        return portal.page("Code tables", "codes", ["tables": rows], visit: visit, session: session, current: "/portal/admin/codes")
    }

    func codeTable(_ visit: Portal.Visit, name: String, notice: String? = nil) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let table = CodeTableName(rawValue: name) else { throw PortalError(.notFound, "no such code table") }
        let r = try await portal.gate(.adminCodes, CodeTablesRequest(history: table), visit, session: session).decodeBody(CodeTablesResponse.self)
        guard let t = r.tables.first(where: { $0.name == table }) else { throw PortalError(.notFound, "no such code table") }
        let entries = t.current?.entries ?? t.standard
        let text = entries.map { [$0.code, $0.display, $0.system].joined(separator: " | ") }.joined(separator: "\n")
        return portal.page(Self.label(table), "codeTable", [
            "csrf": session.csrf, "name": table.rawValue, "purpose": Self.purpose(table), "base": String(t.current?.version ?? 0),
            "version": t.current.map { "Version \($0.version), in force since \(Portal.time($0.changedAt))" } ?? "Not set: not enforced. The standard's codes are shown to start from.",
            "entries": entries.map { ["code": $0.code, "display": $0.display, "system": $0.system] }, "text": text, "notice": notice ?? "",
            "history": r.history.map { ["version": String($0.version), "when": Portal.time($0.changedAt), "by": $0.changedBy, "note": $0.note, "count": String($0.entries.count)] },
            "hasHistory": !r.history.isEmpty,
        ], visit: visit, session: session, current: "/portal/admin/codes")
    }

    /// The table's lines (`code | display | system`, one code a line) as a new version made from `base`.
    func saveTable(_ visit: Portal.Visit, name: String) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let table = CodeTableName(rawValue: name) else { throw PortalError(.notFound, "no such code table") }
        guard let base = Int(visit.form["base"] ?? "") else { throw PortalError(.badRequest, "the form names no base version") }
        let lines = (visit.form["entries"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard lines.count <= 500 else { throw PortalError(.badRequest, "a code table holds at most 500 codes") }
        let entries = lines.map { line -> CodeTableEntry in
            let parts = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            return CodeTableEntry(code: parts[0], display: parts.count > 1 ? parts[1] : "", system: parts.count > 2 ? parts[2] : "")
        }
        let saved = try await portal.gate(.adminCodesSave, CodeTableSaveRequest(table: table, base: base, entries: entries, note: visit.form["note"] ?? ""), visit, session: session)
            .decodeBody(CodeTableVersion.self)
        return try await codeTable(visit, name: name, notice: "Saved as version \(saved.version): in force from the next message.")
    }
}
