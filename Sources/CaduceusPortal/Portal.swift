package import CaduceusExchange
package import Hummingbird
package import Logging
package import X509
package import CaduceusCore
package import CaduceusPKCS11
import CaduceusDocuments
import CaduceusPKI
import Crypto
import Foundation
import Mustache
import NIOCore
import SwiftASN1

/// A request context that names the card of the connection: the TLS client certificate the federation's verifier
/// accepted in the handshake, with the chain it validated (leaf first).
package protocol PortalRequestContext: RequestContext {
    /// The client's certificates, leaf first (empty: none).
    func clientCertificates() async -> [Certificate]
}

/// The web portal every node serves beside its API (the stations of issue 14). The person's card is the TLS client
/// certificate — no passwords. Every page passes the node's gate as the API does (``ExchangeNode/portal(_:body:assertion:client:presented:)``:
/// the card validated again, identity bound to its issuer, the operation's rule, the service's policy decision with
/// reasons, one audit event marked with the door `portal`). A browser session holds the assertion the gate's sign-in
/// issued (purpose of use chosen on entry; break-glass a separate, marked step) under a random id in a
/// `__Host-` cookie (`Secure; HttpOnly; SameSite=Strict`) bound to the card's certificate: another certificate
/// presenting it gets nothing. Every form carries a CSRF token; every response a strict Content-Security-Policy;
/// no identifier of a patient or document appears in a URL (opaque per-session handles) or in a log line.
package final class Portal: Sendable {
    let node: ExchangeNode
    let sessions: PortalSessions
    let library: MustacheLibrary
    /// Keys the entry page's form token (before a session exists, the token is bound to the card).
    let entryKey = SymmetricKey(size: .bits256)
    let logger: Logger
    /// The card station's card encoder (nil: none attached; cards are issued as PKCS#12 files only).
    let cardEncoder: CardEncoder?

    /// The session cookie's name (`__Host-`: Secure, path `/`, no Domain — RFC 6265bis §4.1.3.2).
    static let cookie = "__Host-caduceus-session"

    /// A portal for `node`; `logger` gets constant messages with the route and outcome code only. `cardEncoder`: the
    /// PKCS#11 module the card station issues cards onto tokens with.
    package init(node: ExchangeNode, logger: Logger, cardEncoder: CardEncoder? = nil) throws {
        self.node = node
        self.sessions = PortalSessions()
        self.library = try PortalTemplates.library()
        self.logger = logger
        self.cardEncoder = cardEncoder
    }

    /// Adds the portal's routes to a router whose context names the connection's card.
    package func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/") { _, _ in Response(status: .seeOther, headers: Self.headers(location: "/portal")) }
        router.get("/portal/static/portal.css") { _, _ in
            var h = Self.headers(contentType: "text/css; charset=utf-8")
            h[.cacheControl] = "max-age=3600"
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: PortalTemplates.css + "\n" + StationTemplates.css + "\n" + RecordTemplates.css)))
        }
        router.get("/portal") { request, context in await self.serve("entry", request, context, self.entry) }
        router.post("/portal/signin") { request, context in await self.serve("signin", request, context, self.signIn) }
        router.get("/portal/breakglass") { request, context in await self.serve("breakglass", request, context, self.breakGlassForm) }
        router.post("/portal/breakglass") { request, context in await self.serve("breakglass.declare", request, context, self.breakGlass) }
        router.post("/portal/signout") { request, context in await self.serve("signout", request, context, self.signOut) }
        router.get("/portal/card") { request, context in await self.serve("card", request, context, self.cardStatus) }
        router.get("/portal/documents/:handle") { request, context in
            let handle = context.parameters.get("handle") ?? ""
            return await self.serve("document", request, context) { try await self.openDocument($0, handle: handle) }
        }
        router.get("/portal/documents/:handle/preview") { request, context in
            let handle = context.parameters.get("handle") ?? ""
            return await self.serve("document.preview", request, context) { try await self.documentPreview($0, handle: handle) }
        }
        PatientStation(portal: self).routes(router)
        MedicalStation(portal: self).routes(router)
        PrivacyStation(portal: self).routes(router)
        AuditStation(portal: self).routes(router)
        AdminStation(portal: self).routes(router)
        AdminPatientsStation(portal: self).routes(router)
        TransferStation(portal: self).routes(router)
        CardStation(portal: self).routes(router)
    }

    // MARK: - Every request

    /// Who is asking: the card of the connection (validated again by the gate when it acts), and the session the
    /// cookie names — only if it was opened with this very certificate.
    struct Visit: Sendable {
        let card: Certificate
        let presented: [Certificate]
        let fingerprint: [UInt8]
        let identity: FederationIdentity
        let session: PortalSession?
        let form: [String: String]

        /// The patient a patient card names (CN = id, OU = assigning authority).
        var ownRecord: PatientIdentifier? {
            guard identity.kind == .patient, let authority = identity.role, !authority.isEmpty else { return nil }
            return PatientIdentifier(id: identity.commonName, authority: authority)
        }

        /// The session, or the refusal a page needs when there is none.
        func signedIn() throws(PortalError) -> PortalSession {
            guard let session else { throw PortalError(.signInFirst, "sign in first") }
            return session
        }

        /// The session of a staff card (the admin, card, medical and transfer stations are for staff, not patients).
        func signedInStaff() throws(PortalError) -> PortalSession {
            let session = try signedIn()
            guard identity.kind == .person else { throw PortalError(.badRequest, "this station is for staff cards") }
            return session
        }
    }

    /// Runs a page: reads the card and the session, checks the CSRF token of a POST, runs `body`, renders a coded
    /// error as an error page. Logs the route and outcome code, nothing else.
    func serve(_ route: String, _ request: Request, _ context: some PortalRequestContext, _ body: (Visit) async throws -> Response) async -> Response {
        let response: Response
        var code = "ok"
        do {
            let visit = try await self.visit(request, context)
            if request.method == .post {
                let expected = visit.session?.csrf ?? entryToken(visit.fingerprint)
                guard let sent = visit.form["csrf"], sameToken(sent, expected) else {
                    throw PortalError(.csrf, "the form was not sent from this portal's page (missing or wrong form token)")
                }
            }
            response = try await body(visit)
        } catch let e as PortalError where e.kind == .signInFirst {
            code = e.code
            response = Response(status: .seeOther, headers: Self.headers(location: "/portal"))
        } catch {
            let coded = error as? any CaduceusError ?? PortalError(.internal, "the page could not be shown")
            code = coded.code
            response = errorPage(coded)
        }
        logger.info("portal request", metadata: ["portal.route": .string(route), "portal.outcome": .string(code)])
        return response
    }

    func visit(_ request: Request, _ context: some PortalRequestContext) async throws -> Visit {
        let certificates = await context.clientCertificates()
        guard let card = certificates.first, let identity = FederationIdentity(card) else {
            throw PortalError(.noCard, "this portal opens only with a federation card")
        }
        var serializer = DER.Serializer()
        try serializer.serialize(card)
        let fingerprint = Array(SHA256.hash(data: serializer.serializedBytes))
        var session: PortalSession?
        if let id = Self.cookieValue(request), let found = sessions.session(id) {
            // A session opened with another card gets nothing here: not its data, not even its sign-out.
            guard found.certificate == fingerprint else { throw PortalError(.sessionNotYours, "this session belongs to another card") }
            session = found
        }
        var form: [String: String] = [:]
        if request.method == .post {
            let body = try await request.body.collect(upTo: 64 << 10)
            form = FormData.decode(String(buffer: body))
        }
        return Visit(card: card, presented: certificates, fingerprint: fingerprint, identity: identity, session: session, form: form)
    }

    static func cookieValue(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(cookie + "=") { return String(pair.dropFirst(cookie.count + 1)) }
            }
        }
        return nil
    }

    /// The entry form's token: bound to the card (HMAC of its certificate's SHA-256 under a key of this process).
    func entryToken(_ fingerprint: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("portal.entry".utf8) + fingerprint, using: entryKey)
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Calls the gate for the visit's card with its session's assertion.
    func gate<Body: Encodable & Sendable>(_ operation: ExchangeOperation, _ body: Body, _ visit: Visit, session: PortalSession?) async throws -> ExchangeMessage {
        try await node.portal(operation, body: body, assertion: session?.assertion, client: visit.card, presented: visit.presented)
    }

    // MARK: - Entry, sign-in, break-glass, sign-out, card

    func entry(_ visit: Visit) async throws -> Response {
        if let session = visit.session { return home(visit, session) }
        let purposes: [[String: Any]] = [
            ["code": "TREAT", "label": "Treatment", "checked": true], ["code": "HPAYMT", "label": "Payment"],
            ["code": "HOPERAT", "label": "Healthcare operations"], ["code": "HRESCH", "label": "Research"],
        ]
        return page("Welcome", "entry", [
            "name": displayName(visit.identity), "role": visit.identity.kind == .patient ? "patient card" : visit.identity.role ?? "",
            "organization": visit.identity.organization ?? "", "patient": visit.identity.kind == .patient,
            "csrf": entryToken(visit.fingerprint), "purposes": purposes,
        ], visit: visit, session: nil)
    }

    func home(_ visit: Visit, _ session: PortalSession) -> Response {
        let tiles = navigation(session).map { ["href": $0.href, "label": $0.label, "text": $0.text] }
        return page("Your stations", "home", [
            "name": displayName(visit.identity), "role": session.role, "purpose": session.purpose,
            "expires": Self.time(session.expires), "tiles": tiles,
        ], visit: visit, session: session)
    }

    func signIn(_ visit: Visit) async throws -> Response {
        let purpose = visit.form["purpose"] ?? ""
        guard purpose != "ETREAT" else { throw PortalError(.badRequest, "break-glass is declared on its own page, with a reason") }
        return try await openSession(visit, SignInRequest(purpose: purpose))
    }

    func breakGlassForm(_ visit: Visit) async throws -> Response {
        guard visit.identity.kind == .person else { throw PortalError(.badRequest, "break-glass is for clinical staff") }
        return page("Emergency access", "breakglass", ["csrf": visit.session?.csrf ?? entryToken(visit.fingerprint)], visit: visit, session: visit.session, current: "")
    }

    func breakGlass(_ visit: Visit) async throws -> Response {
        let reason = (visit.form["reason"] ?? "").trimmed
        return try await openSession(visit, SignInRequest(purpose: "ETREAT", reason: reason))
    }

    /// Signs in through the gate (the same `session.signin` as the API: card checks, OCSP, the purpose the card may
    /// assert, break-glass into the review queue) and opens a session bound to this certificate. A session this card
    /// already had is signed out first.
    func openSession(_ visit: Visit, _ request: SignInRequest) async throws -> Response {
        let reply = try await gate(.signIn, request, visit, session: nil)
        let signed = try reply.decodeBody(SignInResponse.self)
        if let old = visit.session {
            _ = try? await gate(.signOut, [String: String](), visit, session: old)
            sessions.close(old.id)
        }
        let role = visit.identity.kind == .patient ? "patient" : visit.identity.role ?? ""
        let session = sessions.open(assertion: signed.assertion, certificate: visit.fingerprint, role: role, purpose: request.purpose, expires: signed.expires)
        var h = Self.headers(location: "/portal")
        h[.setCookie] = "\(Self.cookie)=\(session.id); Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=\(max(60, Int(signed.expires.timeIntervalSinceNow)))"
        return Response(status: .seeOther, headers: h)
    }

    func signOut(_ visit: Visit) async throws -> Response {
        let session = try visit.signedIn()
        sessions.close(session.id)
        _ = try await gate(.signOut, [String: String](), visit, session: session)
        var h = Self.headers(location: "/portal")
        h[.setCookie] = "\(Self.cookie)=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
        return Response(status: .seeOther, headers: h)
    }

    func cardStatus(_ visit: Visit) async throws -> Response {
        let session = try visit.signedIn()
        let card = visit.card
        var facts: [[String: String]] = [
            ["label": "Holder", "value": displayName(visit.identity)],
            ["label": "Kind", "value": visit.identity.kind == .patient ? "patient card" : "staff card"],
        ]
        if visit.identity.kind == .person { facts.append(["label": "Role", "value": visit.identity.role ?? ""]) }
        facts += [
            ["label": "Organisation", "value": visit.identity.organization ?? ""],
            ["label": "Issued by", "value": String(describing: card.issuer)],
            ["label": "Serial number", "value": Hex.encode(card.serialNumber.bytes)],
            ["label": "Valid from", "value": Self.time(card.notValidBefore)],
            ["label": "Expires", "value": Self.time(card.notValidAfter)],
        ]
        // The registry's entry for this card, through the gate (the page is audited like every other).
        let record = try await gate(.userCard, [String: String](), visit, session: session).decodeBody(OwnCardResponse.self).record
        if let record {
            facts.append(["label": "Card registry", "value": "\(record.status.rawValue) at \(node.configuration.nodeId)" + (record.keyOrigin == "holder" ? ", key on a token" : "")])
            if let last = record.history.last { facts.append(["label": "Last change", "value": "\(last.action) \(Self.time(last.at))"]) }
        } else {
            facts.append(["label": "Card registry", "value": "issued outside this node's card station"])
        }
        return page("My card", "card", ["facts": facts, "ocsp": true], visit: visit, session: session, current: "/portal/card")
    }

    func openDocument(_ visit: Visit, handle: String) async throws -> Response {
        let session = try visit.signedIn()
        // Document handles are bare; other kinds of handle in the same map are prefixed (`consent:`, `transfer:`…).
        guard !handle.contains(":"), let uid = session.documents[handle] else { throw PortalError(.notFound, "no such document in this session (open it from a list)") }
        let reply = try await gate(.userRetrieve, RetrieveRequest(uniqueIds: [uid]), visit, session: session)
        let answer = try reply.decodeBody(RetrieveResponse.self)
        guard let entry = answer.entries.first, let part = reply.documents.first(where: { $0.contentID == uid }) else {
            throw PortalError(.notFound, "the document was not returned")
        }
        let back = visit.identity.kind == .patient ? "/portal/patient/documents" : "/portal/medical/patient"
        var facts: [[String: String]] = []
        let html: String
        let title: String
        if entry.mimeType.contains("xml") {
            let view = CDAView.render(part.body)
            title = view.title
            facts = view.facts.map { ["label": $0.label, "value": $0.value] }
            html = view.html
        } else if entry.mimeType == "application/dicom" {
            let view = DICOMView.render(part.body, handle: handle)
            title = view.title
            facts = view.facts.map { ["label": $0.label, "value": $0.value] }
            html = view.html
        } else {
            title = entry.title.isEmpty ? "Document" : entry.title
            html = "<p class=\"notice\">A \(escape(entry.mimeType)) document of \(part.body.count) bytes; this portal shows structured clinical documents (CDA) and DICOM images only.</p>"
        }
        facts += [
            ["label": "Kind", "value": entry.classCode.display.isEmpty ? entry.classCode.code : entry.classCode.display],
            ["label": "Held by", "value": answer.servedBy[uid] ?? entry.repositoryId],
            ["label": "Confidentiality", "value": Self.confidentiality(entry.confidentialityCode.code)],
        ]
        return page(title, "document", ["facts": facts, "html": html, "back": back], visit: visit, session: session, current: back)
    }

    /// The first frame of a DICOM document of this session as a PNG: the handle must be one this session was given,
    /// and the document is retrieved through the gate again (the policy and the repository decide again; audited).
    func documentPreview(_ visit: Visit, handle: String) async throws -> Response {
        let session = try visit.signedIn()
        guard let uid = session.documents[handle] else { throw PortalError(.notFound, "no such document in this session (open it from a list)") }
        let reply = try await gate(.userRetrieve, RetrieveRequest(uniqueIds: [uid]), visit, session: session)
        guard let part = reply.documents.first(where: { $0.contentID == uid }) else { throw PortalError(.notFound, "the document was not returned") }
        let png = try DICOMView.preview(part.body)
        return Response(status: .ok, headers: Self.headers(contentType: "image/png"), body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    // MARK: - Rendering

    struct NavItem { let href: String, label: String, text: String }

    /// The stations a session's role opens (admin and card stations will add theirs here).
    func navigation(_ session: PortalSession) -> [NavItem] {
        var items: [NavItem] = []
        if session.role == "patient" {
            items = [
                NavItem(href: "/portal/patient/documents", label: "My documents", text: "Your documents from every hospital of the region"),
                NavItem(href: "/portal/patient/consents", label: "My consents", text: "Your choices about sharing your record"),
                NavItem(href: "/portal/patient/access", label: "Who accessed my record", text: "Every access, everywhere, break-glass marked"),
            ]
        } else if node.policy.policy.emergencyReviewers?.contains(session.role) == true {
            items = [
                NavItem(href: "/portal/privacy", label: "Break-glass review", text: "Emergency accesses to review"),
                NavItem(href: "/portal/privacy/audit", label: "Audit trail", text: "Search this node's trail, alerts, charts, CSV export"),
            ]
        } else if node.policy.policy.roles[session.role]?.ceilings.keys.contains(where: { $0 == "TREAT" || $0 == "ETREAT" }) == true {
            items = [NavItem(href: "/portal/medical", label: "Find a patient", text: "Search the region and open her documents")]
            if node.configuration.roles.contains(.hospital) {
                items.append(NavItem(href: "/portal/medical/transfers", label: "Transfers", text: "Transfers received from other hospitals, and sent"))
            }
        }
        // The admin and card stations, at a hospital node, for the roles the policy names (the services decide again).
        let policy = node.policy.policy
        if session.role != "patient", node.configuration.roles.contains(.hospital) {
            if policy.personnelAdministrators?.contains(session.role) == true {
                items += [
                    NavItem(href: "/portal/admin", label: "Administration", text: "Organisation, nodes of the federation, certificates and health"),
                    NavItem(href: "/portal/admin/staff", label: "Personnel", text: "The staff registry: import the HR export, edit"),
                    NavItem(href: "/portal/admin/codes", label: "Code tables", text: "The codes this node validates with, versioned"),
                    NavItem(href: "/portal/admin/patients", label: "Patients", text: "This hospital's patients and their links in the regional MPI"),
                    NavItem(href: "/portal/admin/matches", label: "Possible matches", text: "The MPI's review queue for this hospital's patients"),
                ]
            }
            if (policy.cardOfficers ?? []).contains(session.role) || (policy.cardApprovers ?? []).contains(session.role) {
                items.append(NavItem(href: "/portal/cards", label: "Card station", text: "Enrol, approve, issue, block, print cards"))
            }
        }
        items.append(NavItem(href: "/portal/card", label: "My card", text: "Your card's status and validity"))
        return items
    }

    /// Renders a station's template inside the layout, with the session's header, navigation and break-glass banner.
    func page(_ title: String, _ template: String, _ data: [String: Any], visit: Visit, session: PortalSession?, current: String = "", status: HTTPResponse.Status = .ok) -> Response {
        let body = library.render(Self.blanksAsNull(data), withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "body": body, "node": node.configuration.nodeId]
        if let session {
            layout["who"] = ["name": displayName(visit.identity), "role": session.role, "purpose": session.purpose, "emergency": session.emergency, "csrf": session.csrf] as [String: Any]
            let nav = navigation(session).map { ["href": $0.href, "label": $0.label, "current": $0.href == current] as [String: Any] }
            layout["nav"] = nav
            layout["hasNav"] = !nav.isEmpty
            layout["emergency"] = session.emergency
        }
        let html = library.render(layout, withTemplate: "layout") ?? ""
        return Response(status: status, headers: Self.headers(contentType: "text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// Mustache renders a section for any string, even an empty one: empty strings become null, so `{{#notice}}…`
    /// shows only when there is a notice (and `{{x}}` still renders nothing for them).
    static func blanksAsNull(_ value: Any) -> Any {
        switch value {
        case let s as String: return s.isEmpty ? NSNull() : s
        case let d as [String: Any]: return d.mapValues(blanksAsNull)
        case let d as [String: String]: return d.mapValues { $0.isEmpty ? NSNull() as Any : $0 as Any }
        case let a as [[String: Any]]: return a.map { $0.mapValues(blanksAsNull) }
        case let a as [[String: String]]: return a.map { $0.mapValues { $0.isEmpty ? NSNull() as Any : $0 as Any } }
        default: return value
        }
    }

    /// An error as a page: the stable code and the PHI-free message, with the status of its category.
    func errorPage(_ e: any CaduceusError) -> Response {
        let body = library.render(["code": e.code, "message": e.message], withTemplate: "error") ?? ""
        let html = library.render(["title": Self.errorTitle(e.category), "body": body, "node": node.configuration.nodeId], withTemplate: "layout") ?? ""
        return Response(status: Self.status(for: e.category), headers: Self.headers(contentType: "text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func errorTitle(_ category: ErrorCategory) -> String {
        switch category {
        case .forbidden: return "Not permitted"
        case .unauthenticated: return "Your card was not accepted"
        case .notFound: return "Not found"
        case .upstream: return "Another node did not answer"
        case .internal: return "Something went wrong"
        case .client, .conflict, .tooLarge: return "This request could not be completed"
        }
    }

    /// The mapping of error categories to HTTP statuses (exhaustive), the API's and the portal's.
    package static func status(for category: ErrorCategory) -> HTTPResponse.Status {
        switch category {
        case .client: return .badRequest
        case .unauthenticated: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .tooLarge: return .contentTooLarge
        case .upstream: return .badGateway
        case .internal: return .internalServerError
        }
    }

    /// Every portal response's headers: a strict Content-Security-Policy (nothing but this origin's stylesheet, no
    /// script at all, forms only to this origin, no framing), no caching, no sniffing, no referrer.
    static func headers(contentType: String? = nil, location: String? = nil) -> HTTPFields {
        var h = HTTPFields()
        if let contentType { h[.contentType] = contentType }
        if let location { h[.location] = location }
        h[HTTPFields.Element.Name("Content-Security-Policy")!] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        h[.cacheControl] = "no-store"
        h[HTTPFields.Element.Name("X-Content-Type-Options")!] = "nosniff"
        h[HTTPFields.Element.Name("Referrer-Policy")!] = "no-referrer"
        h[HTTPFields.Element.Name("X-Frame-Options")!] = "DENY"
        h[HTTPFields.Element.Name("Strict-Transport-Security")!] = "max-age=31536000"
        return h
    }

    func displayName(_ identity: FederationIdentity) -> String {
        identity.kind == .patient ? "Patient \(identity.commonName)" : identity.commonName
    }

    /// A formatter of UTC times in `format` (the portal shows and takes every time in UTC).
    static func utc(_ format: String, locale: String = "en_US_POSIX") -> DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: locale)
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = format
        f.isLenient = false
        return f
    }

    /// A calendar day (UTC), as forms show and take it: `YYYY-MM-DD`.
    static func day(_ date: Date) -> String { utc("yyyy-MM-dd").string(from: date) }

    /// The start (00:00 UTC) of a `YYYY-MM-DD` day; nil when it is not one.
    static func day(_ text: String) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.count == 10 else { return nil }
        return utc("yyyy-MM-dd").date(from: t)
    }

    static func time(_ date: Date) -> String { utc("yyyy-MM-dd HH:mm 'UTC'", locale: "en_GB").string(from: date) }

    static func confidentiality(_ code: String) -> String {
        switch code {
        case "U": return "unrestricted"
        case "L": return "low"
        case "M": return "moderate"
        case "N": return "normal"
        case "R": return "restricted"
        case "V": return "very restricted"
        default: return code
        }
    }

    /// A document list's rows, each document behind a new opaque handle of the session.
    func documentRows(_ entries: [DocumentEntry], session: PortalSession) -> [[String: String]] {
        var handles: [String: String] = [:]
        let rows = entries.sorted { $0.creationTime > $1.creationTime }.map { e -> [String: String] in
            let handle = String(PortalSessions.token().prefix(16))
            handles[handle] = e.uniqueId
            return [
                "title": e.title.isEmpty ? (e.typeCode.display.isEmpty ? "Document" : e.typeCode.display) : e.title,
                "kind": e.classCode.display.isEmpty ? e.classCode.code : e.classCode.display,
                "date": Self.time(e.creationTime), "source": e.authorInstitution.isEmpty ? e.repositoryId : e.authorInstitution,
                "conf": e.confidentialityCode.code, "confLabel": Self.confidentiality(e.confidentialityCode.code), "handle": handle,
            ]
        }
        sessions.update(session.id) { s in
            if s.documents.count > 500 { s.documents.removeAll() }
            s.documents.merge(handles) { a, _ in a }
        }
        return rows
    }
}

/// `application/x-www-form-urlencoded` bodies (HTML forms).
enum FormData {
    static func decode(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&").prefix(64) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = unescape(String(kv[0]))
            let value = kv.count > 1 ? unescape(String(kv[1])) : ""
            if !key.isEmpty, out[key] == nil { out[key] = String(value.prefix(4000)) }
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
    }
}
