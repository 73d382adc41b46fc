import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPatientIndex
import Foundation
import Hummingbird

/// The medical station: find a patient across the region (PDQ at the regional MPI), her documents across the
/// federation (those the policy and her consents let this person see), and open one (the repository decides again).
/// Search criteria travel in POST bodies and the chosen patient in the session: no name or identifier in a URL.
struct MedicalStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/medical") { request, context in await portal.serve("medical.search", request, context, searchForm) }
        router.post("/portal/medical/search") { request, context in await portal.serve("medical.search", request, context, search) }
        router.post("/portal/medical/select") { request, context in await portal.serve("medical.select", request, context, select) }
        router.get("/portal/medical/patient") { request, context in await portal.serve("medical.patient", request, context, patient) }
    }


    func searchForm(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        return portal.page("Find a patient", "search", ["csrf": session.csrf, "searched": false], visit: visit, session: session, current: "/portal/medical")
    }

    func search(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let f = visit.form
        let criteria = Demographics(family: (f["family"] ?? "").trimmed, given: (f["given"] ?? "").trimmed, birthDate: (f["birth"] ?? "").trimmed, sex: (f["sex"] ?? "").trimmed)
        guard !(criteria.family.isEmpty && criteria.given.isEmpty && criteria.birthDate.isEmpty) else {
            throw PortalError(.badRequest, "give a name or a birth date to search")
        }
        let reply = try await portal.gate(.userFindPatients, FindPatientsRequest(criteria: criteria, limit: 20), visit, session: session)
        let matches = try reply.decodeBody([PatientMatch].self)
        var handles: [String: Sensitive<PatientIdentifier>] = [:]
        let rows = matches.map { m -> [String: String] in
            let handle = String(PortalSessions.token().prefix(16))
            handles[handle] = Sensitive(m.patientId)
            let d = m.demographics
            return [
                "name": [d.given, d.family].filter { !$0.isEmpty }.joined(separator: " "), "born": CDAView.date(d.birthDate),
                "sex": d.sex, "records": "\(m.identities.count) hospital record\(m.identities.count == 1 ? "" : "s")", "handle": handle,
            ]
        }
        portal.sessions.update(session.id) { s in
            if s.patients.count > 200 { s.patients.removeAll() }
            s.patients.merge(handles) { a, _ in a }
        }
        return portal.page("Find a patient", "search", [
            "csrf": session.csrf, "searched": true, "matches": rows, "hasMatches": !rows.isEmpty,
        ], visit: visit, session: session, current: "/portal/medical")
    }

    func select(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let handle = visit.form["patient"], let chosen = session.patients[handle] else {
            throw PortalError(.notFound, "no such patient in this session (search again)")
        }
        portal.sessions.update(session.id) { $0.selectedPatient = chosen }
        return Response(status: .seeOther, headers: Portal.headers(location: "/portal/medical/patient"))
    }

    func patient(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let chosen = session.selectedPatient?.unsafeValue else {
            return Response(status: .seeOther, headers: Portal.headers(location: "/portal/medical"))
        }
        let reply = try await portal.gate(.userQuery, StoredQuery.findDocuments(StoredQuery.FindDocuments(patientId: chosen)), visit, session: session)
        let entries = try reply.decodeBody(EntriesResponse.self).entries
        let rows = portal.documentRows(entries, session: session)
        let table = portal.library.render([
            "intro": "Documents of the selected patient across the federation that your role and purpose, and her consents, let you see.",
            "documents": rows, "hasDocuments": !rows.isEmpty,
        ], withTemplate: "documents") ?? ""
        return portal.page("Patient's documents", "patient", ["documentsTable": table, "emergency": session.emergency], visit: visit, session: session, current: "/portal/medical")
    }
}
