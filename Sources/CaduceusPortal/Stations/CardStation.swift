import CaduceusCore
import CaduceusExchange
import CaduceusStorage
import Foundation
import Hummingbird
import NIOCore

/// The card station (card officers and approvers, at their own hospital's node): the card registry with each card's
/// status and the moves its state allows, enrolment of a staff member from the personnel registry, approval (four
/// eyes: the service refuses the officer who enrolled), issue (a PKCS#12 under a one-time password shown once, the
/// file downloadable once; or onto a token in the node's card encoder, ``CardTokenStation``), block and unblock, lost, terminate, and the card's printable face as a PDF made here.
/// Every rule is `CardService`'s (`card.*`, `staff.list` through the gate); the station only shows and asks. Cards
/// and staff are named by opaque handles of the session.
struct CardStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/cards") { request, context in await portal.serve("cards", request, context, list) }
        router.post("/portal/cards/enroll") { request, context in await portal.serve("cards.enroll", request, context, enroll) }
        router.post("/portal/cards/action") { request, context in await portal.serve("cards.action", request, context, action) }
        router.post("/portal/cards/download") { request, context in await portal.serve("cards.download", request, context, download) }
        router.get("/portal/cards/face/:handle") { request, context in
            let handle = context.parameters.get("handle") ?? ""
            return await portal.serve("cards.face", request, context) { try await face($0, handle: handle, pdf: false) }
        }
        router.get("/portal/cards/face/:handle/card.pdf") { request, context in
            let handle = context.parameters.get("handle") ?? ""
            return await portal.serve("cards.face.pdf", request, context) { try await face($0, handle: handle, pdf: true) }
        }
        CardTokenStation(portal: portal).routes(router)
    }


    /// What an officer can do to a card in each state (the service decides again).
    static let actions: [(CardLifecycle.Action, String, String)] = [
        (.approve, "Approve", "primary"), (.reject, "Reject", ""), (.issue, "Issue", "primary"), (.block, "Block", ""),
        (.unblock, "Unblock", ""), (.lost, "Report lost", "danger"), (.terminate, "Terminate", "danger"),
    ]

    func list(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        return try await page(visit, session, notice: nil, issued: nil)
    }

    /// The station's page; `extra` adds sections (a card written to a token, or issued but not written).
    func page(
        _ visit: Portal.Visit, _ session: PortalSession, notice: String?, issued: [String: Any]?, extra: [String: Any] = [:],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let cards = try await portal.gate(.cardList, CardListRequest(), visit, session: session).decodeBody([CardRecord].self)
        // The enrolment form lists the active staff (staff.list is open to card officers too).
        let staff = (try? await portal.gate(.staffList, StaffListRequest(), visit, session: session).decodeBody([StaffMember].self)) ?? []
        var handles: [String: String] = [:]
        let rows = cards.reversed().map { c -> [String: Any] in
            let handle = String(PortalSessions.token().prefix(16))
            handles["card:" + handle] = c.id
            let moves = Self.actions.filter { CardLifecycle.move(c.status, $0.0) != nil }.map { ["action": $0.0.rawValue, "label": $0.1, "style": $0.2] }
            return [
                "handle": handle, "holder": c.holderKind == "patient" ? "Patient card" : c.commonName, "kind": c.holderKind,
                "role": c.role.isEmpty ? "—" : c.role, "status": c.status.rawValue, "live": c.status == .issued,
                "expires": c.notAfter.map(Portal.time) ?? "—", "serial": c.serial.map { String($0.prefix(12)) } ?? "—",
                "enrolled": c.history.first.map { "\(Portal.time($0.at)) by \($0.by)" } ?? "", "moves": moves, "hasMoves": !moves.isEmpty,
                "printable": c.status == .issued || c.status == .blocked,
                "toToken": portal.cardEncoder != nil && c.status == .approved,
            ]
        }
        let people = staff.flatMap { m in
            m.roles.map { role -> [String: String] in
                let handle = String(PortalSessions.token().prefix(16))
                handles["enrol:" + handle] = m.id + "\u{1F}" + role
                return ["handle": handle, "label": "\(m.displayName) — \(role)\(m.department.isEmpty ? "" : ", \(m.department)")"]
            }
        }
        portal.sessions.update(session.id) { s in
            if s.documents.count > 2000 { s.documents = s.documents.filter { !$0.key.hasPrefix("card:") && !$0.key.hasPrefix("enrol:") } }
            s.documents.merge(handles) { _, b in b }
        }
        var data: [String: Any] = [
            "csrf": session.csrf, "rows": rows, "hasRows": !rows.isEmpty, "people": people, "hasPeople": !people.isEmpty, "notice": notice ?? "",
            "encoder": portal.cardEncoder != nil,
            "counts": CardStatus.allCases.compactMap { s -> [String: String]? in
                let n = cards.filter { $0.status == s }.count
                return n == 0 ? nil : ["status": s.rawValue, "count": String(n)]
            },
        ]
        if let issued { data["issued"] = issued }
        data.merge(extra) { _, b in b }
        return portal.page("Card station", "cards", data, visit: visit, session: session, current: "/portal/cards", status: status)
    }

    func enroll(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let handle = visit.form["person"], let pair = session.documents["enrol:" + handle] else {
            throw PortalError(.notFound, "no such staff member in this session (open the card station again)")
        }
        let parts = pair.split(separator: "\u{1F}", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw PortalError(.notFound, "no such staff member in this session") }
        let card = try await portal.gate(.cardEnroll, CardEnrollRequest(staffId: parts[0], role: parts[1]), visit, session: session).decodeBody(CardRecord.self)
        return try await page(visit, session, notice: "Enrolled \(card.commonName) (\(card.role)): waiting for a second officer's approval.", issued: nil)
    }

    func action(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let handle = visit.form["card"], let id = session.documents["card:" + handle] else {
            throw PortalError(.notFound, "no such card in this session (open the card station again)")
        }
        guard let move = CardLifecycle.Action(rawValue: visit.form["action"] ?? ""), move != .renew else {
            throw PortalError(.badRequest, "no such card action")
        }
        let r = try await portal.gate(.cardAction, CardActionRequest(card: id, action: move), visit, session: session).decodeBody(CardActionResponse.self)
        var issued: [String: Any]?
        if let material = r.issued, let p12 = material.pkcs12, let password = material.password {
            // Shown once: the password is on this page only; the file is downloadable once, from this session.
            let download = String(PortalSessions.token().prefix(16))
            let name = "card-" + (r.card.serial.map { String($0.prefix(12)) } ?? "new") + ".p12"
            portal.sessions.update(session.id) { $0.issuedCard = Sensitive(IssuedCardDownload(handle: download, file: p12, fileName: name)) }
            issued = ["password": password, "download": download, "holder": r.card.commonName, "file": name]
        }
        var notice = "\(r.card.holderKind == "patient" ? "The patient card" : r.card.commonName + "'s card") is now \(r.card.status.rawValue)."
        if r.replacement != nil { notice += " A replacement was enrolled: it needs a second officer's approval, then issue." }
        return try await page(visit, session, notice: notice, issued: issued)
    }

    /// The PKCS#12 of the card just issued (or the certificate chain of one issued but not written to its token),
    /// once (`Content-Disposition: attachment`); gone from the session after.
    func download(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let pending = session.issuedCard?.unsafeValue, let handle = visit.form["download"], sameToken(handle, pending.handle) else {
            throw PortalError(.notFound, "the card's file was downloaded already or belongs to another page (issue a new card to get a new one)")
        }
        portal.sessions.update(session.id) { $0.issuedCard = nil }
        var h = Portal.headers(contentType: pending.contentType)
        h[HTTPFields.Element.Name("Content-Disposition")!] = "attachment; filename=\"\(pending.fileName)\""
        return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: pending.file)))
    }

    /// The card's face: a page to check it, and the PDF to print (both through `card.list` for that card).
    func face(_ visit: Portal.Visit, handle: String, pdf: Bool) async throws -> Response {
        let session = try visit.signedInStaff()
        guard let id = session.documents["card:" + handle] else { throw PortalError(.notFound, "no such card in this session (open the card station again)") }
        let cards = try await portal.gate(.cardList, CardListRequest(card: id), visit, session: session).decodeBody([CardRecord].self)
        guard let c = cards.first, let serial = c.serial, let notAfter = c.notAfter else { throw PortalError(.badRequest, "only an issued card has a face to print") }
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_GB")
        day.timeZone = TimeZone(identifier: "UTC")
        day.dateFormat = "dd MMM yyyy"
        let number = stride(from: 0, to: min(serial.count, 16), by: 4).map { i -> String in
            let s = serial.index(serial.startIndex, offsetBy: i), e = serial.index(s, offsetBy: min(4, serial.count - i))
            return String(serial[s..<e]).uppercased()
        }.joined(separator: " ")
        let fields = CardFace.Fields(
            organization: c.organization, name: c.holderKind == "patient" ? "Patient card" : c.commonName,
            role: c.holderKind == "patient" ? "MIX patient card" : c.role.capitalized, number: number, expires: day.string(from: notAfter),
            issuer: (c.issuer ?? "").replacingOccurrences(of: "CN=", with: ""))
        if pdf {
            var h = Portal.headers(contentType: "application/pdf")
            h[HTTPFields.Element.Name("Content-Disposition")!] = "inline; filename=\"card-\(serial.prefix(12)).pdf\""
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: CardFace.pdf(fields))))
        }
        return portal.page("Card face", "cardFace", [
            "org": fields.organization, "name": fields.name, "role": fields.role, "number": fields.number, "expires": fields.expires,
            "issuer": fields.issuer, "handle": handle,
        ], visit: visit, session: session, current: "/portal/cards")
    }
}
