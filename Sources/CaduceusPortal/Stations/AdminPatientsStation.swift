import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPatientIndex
import Foundation
import Hummingbird

/// The admin station's patients section: search the patients this hospital node holds (`admin.patients`, the
/// demographics as the HL7 feeds left them), open one with the regional MPI's links (local ids ↔ global id, the
/// MPI's history), and work the regional MPI's review queue for this hospital's patients (`admin.mpi.review`,
/// `admin.mpi.decide`, forwarded to the regional node, which holds the queue and decides again what this hospital
/// may see and decide). Criteria travel in POST bodies; patients and review items are named by opaque handles.
struct AdminPatientsStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/admin/patients") { request, context in
            await portal.serve("admin.patients", request, context, searchForm)
        }
        router.post("/portal/admin/patients/search") { request, context in
            await portal.serve("admin.patients.search", request, context, search)
        }
        router.post("/portal/admin/patients/open") { request, context in
            await portal.serve("admin.patients.open", request, context, open)
        }
        router.get("/portal/admin/matches") { request, context in
            await portal.serve("admin.mpi.review", request, context, review)
        }
        router.post("/portal/admin/matches/decide") { request, context in
            await portal.serve("admin.mpi.decide", request, context, decide)
        }
    }


    static func name(_ d: Demographics) -> String {
        [d.given, d.middle, d.family].filter { !$0.isEmpty }.joined(separator: " ")
    }

    static func sex(_ code: String) -> String {
        switch code {
        case "F": return "female"
        case "M": return "male"
        case "O": return "other"
        case "U", "": return "unknown"
        default: return code
        }
    }

    func searchForm(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        return portal.page(
            "Patients", "adminPatients", ["csrf": session.csrf, "searched": false], visit: visit, session: session,
            current: "/portal/admin/patients")
    }

    func search(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let f = visit.form
        let criteria = Demographics(
            family: (f["family"] ?? "").trimmed, given: (f["given"] ?? "").trimmed,
            birthDate: (f["birth"] ?? "").trimmed, sex: (f["sex"] ?? "").trimmed)
        let localId = (f["localId"] ?? "").trimmed
        let answer = try await portal.gate(
            .adminPatients, AdminPatientsRequest(criteria: criteria, localId: localId), visit, session: session
        )
        .decodeBody(AdminPatientsResponse.self)
        var handles: [String: Sensitive<PatientIdentifier>] = [:]
        let rows = answer.patients.map { p -> [String: String] in
            let handle = String(PortalSessions.token().prefix(16))
            handles["admin:" + handle] = Sensitive(
                PatientIdentifier(id: p.identity.id, authority: p.identity.authority))
            return [
                "name": Self.name(p.demographics), "born": CDAView.date(p.demographics.birthDate),
                "sex": Self.sex(p.demographics.sex),
                "id": p.identity.id, "authority": p.identity.authority, "handle": handle,
            ]
        }
        portal.sessions.update(session.id) { s in
            if s.patients.count > 200 { s.patients.removeAll() }
            s.patients.merge(handles) { a, _ in a }
        }
        return portal.page(
            "Patients", "adminPatients",
            [
                "csrf": session.csrf, "searched": true, "matches": rows, "hasMatches": !rows.isEmpty,
                "truncated": answer.truncated,
            ], visit: visit, session: session, current: "/portal/admin/patients")
    }

    func open(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let handle = visit.form["patient"], let chosen = session.patients["admin:" + handle]?.unsafeValue else {
            throw PortalError(.notFound, "no such patient in this session (search again)")
        }
        let answer = try await portal.gate(
            .adminPatients, AdminPatientsRequest(patient: LocalIdentity(id: chosen.id, authority: chosen.authority)),
            visit, session: session
        )
        .decodeBody(AdminPatientsResponse.self)
        guard let record = answer.record else {
            throw PortalError(.notFound, "the patient is no longer in the registry")
        }
        let d = record.demographics
        let address = [d.street, d.city, d.postalCode].filter { !$0.isEmpty }.joined(separator: ", ")
        let facts: [[String: String]] = [
            ["label": "Name", "value": Self.name(d)], ["label": "Born", "value": CDAView.date(d.birthDate)],
            ["label": "Sex", "value": Self.sex(d.sex)],
            ["label": "Address", "value": address.isEmpty ? "—" : address],
            ["label": "Phone", "value": d.phone.isEmpty ? "—" : d.phone],
            [
                "label": "Primary care provider",
                "value": record.primaryCareProvider.replacingOccurrences(of: "^", with: " ").trimmed.isEmpty
                    ? "—" : record.primaryCareProvider.replacingOccurrences(of: "^", with: " ").trimmed,
            ],
        ].filter { !($0["value"] ?? "").isEmpty }
        let identifiers = record.identifiers.map {
            ["id": $0.id, "authority": $0.authority, "key": $0 == record.identity] as [String: Any]
        }
        // NK1 and IN1 as the EMR sent them (names and relationships in HL7's component form, shown plainly).
        func plain(_ s: String) -> String {
            let t = s.replacingOccurrences(of: "^", with: " ").trimmed
            return t.isEmpty ? "—" : t
        }
        let contacts = record.contacts.map {
            ["name": plain($0.name), "relationship": plain($0.relationship), "role": plain($0.role), "phone": plain($0.phone)]
        }
        let insurance = record.insurance.map {
            ["plan": plain($0.plan), "company": plain($0.company), "policy": plain($0.policyNumber), "group": plain($0.groupNumber)]
        }
        var links: [[String: Any]] = []
        var history: [[String: String]] = []
        if let l = answer.links {
            links = l.identities.map {
                ["id": $0.id, "authority": $0.authority, "here": $0 == record.identity] as [String: Any]
            }
            history = l.history.map {
                ["action": $0.action, "from": $0.from ?? "—", "to": $0.to ?? "—", "actor": $0.actor]
            }
        }
        return portal.page(
            Self.name(d).isEmpty ? "Patient" : Self.name(d), "adminPatient",
            [
                "facts": facts, "identifiers": identifiers, "globalId": answer.links?.patientId.id ?? "",
                "globalAuthority": answer.links?.patientId.authority ?? "",
                "hasLinks": answer.links != nil, "links": links, "linksUnavailable": answer.linksUnavailable ?? "",
                "history": history, "hasHistory": !history.isEmpty,
                "contacts": contacts, "hasContacts": !contacts.isEmpty, "insurance": insurance, "hasInsurance": !insurance.isEmpty,
                "otherNames": record.otherNames.map { $0.replacingOccurrences(of: "^", with: " ") }.joined(
                    separator: "; "),
                "lastMessage": record.lastMessageControlID,
            ], visit: visit, session: session, current: "/portal/admin/patients")
    }

    func review(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        return try await reviewPage(visit, session, notice: nil)
    }

    func reviewPage(_ visit: Portal.Visit, _ session: PortalSession, notice: String?) async throws -> Response {
        let items = try await portal.gate(.adminMPIReview, MPIReviewRequest(), visit, session: session).decodeBody(
            [MPIReviewItem].self)
        var handles: [String: String] = [:]
        let rows = items.map { i -> [String: Any] in
            let handle = String(PortalSessions.token().prefix(16))
            handles["match:" + handle] = String(i.id)
            func side(_ s: MPIReviewItem.Side) -> [String: String] {
                [
                    "name": Self.name(s.demographics), "born": CDAView.date(s.demographics.birthDate),
                    "sex": Self.sex(s.demographics.sex),
                    "id": s.identity.id, "authority": s.identity.authority, "global": s.patientId,
                    "address": [s.demographics.street, s.demographics.city, s.demographics.postalCode].filter {
                        !$0.isEmpty
                    }.joined(separator: ", "),
                ]
            }
            return [
                "handle": handle, "weight": String(format: "%.1f", i.weight), "reason": Self.reason(i.reason),
                "record": side(i.record), "candidate": side(i.candidate),
            ]
        }
        portal.sessions.update(session.id) { s in s.documents.merge(handles) { _, b in b } }
        return portal.page(
            "Possible matches", "adminMatches",
            [
                "csrf": session.csrf, "items": rows, "hasItems": !rows.isEmpty, "notice": notice ?? "",
                "count": String(rows.count),
            ], visit: visit, session: session, current: "/portal/admin/matches")
    }

    static func reason(_ code: String) -> String {
        switch code {
        case "mpi.review.weight": return "match weight between the review and link thresholds"
        case "mpi.review.ambiguous": return "more than one person matches strongly"
        case "mpi.review.given-name": return "the given names disagree"
        case "mpi.review.same-domain":
            return "the matching person already has a record at this hospital: a possible duplicate registration"
        default: return code
        }
    }

    func decide(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let handle = visit.form["match"], let raw = session.documents["match:" + handle], let id = Int64(raw)
        else {
            throw PortalError(.notFound, "no such possible match in this session (open the list again)")
        }
        guard let decision = MPIDecisionRequest.Decision(rawValue: visit.form["decision"] ?? "") else {
            throw PortalError(.badRequest, "choose accept or reject")
        }
        let r = try await portal.gate(
            .adminMPIDecide, MPIDecisionRequest(review: id, decision: decision), visit, session: session
        ).decodeBody(MPIDecisionResponse.self)
        portal.sessions.update(session.id) { s in s.documents["match:" + handle] = nil }
        let notice =
            r.decision == .accept
            ? "Accepted: the two records are now one person (\(r.relinked) record\(r.relinked == 1 ? "" : "s") relinked)."
            : "Rejected: the records stay apart and will not be proposed again."
        return try await reviewPage(visit, session, notice: notice)
    }
}
