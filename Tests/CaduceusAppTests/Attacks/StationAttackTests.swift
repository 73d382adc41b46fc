import CaduceusApp
import CaduceusCore
import CaduceusExchange
import CaduceusPKCS11
import CaduceusPKI
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing
import X509

// The admin and card stations (issue 14), attacked through the portal door in process: each page and form of the
// stations is one gate operation, so a card that may not run them is refused there with a reason, audited once, and
// nothing changes. CSRF on the stations' forms is attacked over HTTPS in PortalBrowserTests.

@Suite("Attacks: the admin and card stations", .serialized)
struct StationAttackTests {
    /// Signs `card` in at `node` through the portal door; returns its assertion.
    static func signIn(_ node: ExchangeNode, _ card: Credential, purpose: String) async throws -> String {
        try await node.portal(.signIn, body: SignInRequest(purpose: purpose), assertion: nil, client: card.certificate, presented: [card.certificate] + card.chain)
            .decodeBody(SignInResponse.self).assertion
    }

    static func call(_ node: ExchangeNode, _ card: Credential, _ assertion: String?, _ op: ExchangeOperation, _ body: some Encodable & Sendable) async throws -> ExchangeMessage {
        try await node.portal(op, body: body, assertion: assertion, client: card.certificate, presented: [card.certificate] + card.chain)
    }

    /// What the stations may not change unseen: hospital B's code tables and card registry.
    static func stationState(_ fed: LocalFederation) async throws -> [String] {
        try await fed.runtimes[LocalFederation.hospitalB]!.store.read { r in
            try CodeTableName.allCases.map { "\($0.rawValue):\(try r.codeTable($0)?.version ?? 0)" } + (try r.cards().map { "\($0.id):\($0.status.rawValue)" })
        }
    }

    @Test("a nurse's card reaching the admin and card stations is refused with a reason and audited once; nothing changes")
    func nurseRefused() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let nurse = fed.users["clinician.hospital-b"]!
            let assertion = try await Self.signIn(b, nurse, purpose: "TREAT")
            let before = try await Self.stationState(fed)
            let save = CodeTableSaveRequest(table: .administrativeSex, base: 0, entries: [CodeTableEntry(code: "F", display: "Female")], note: "nurse tries")
            for (op, body) in [(ExchangeOperation.adminOverview, AnyEncodable(AdminOverviewRequest(probeHealth: false))), (.adminCodes, AnyEncodable(CodeTablesRequest())),
                               (.adminCodesSave, AnyEncodable(save)), (.staffList, AnyEncodable(StaffListRequest())), (.cardList, AnyEncodable(CardListRequest())),
                               (.staffImport, AnyEncodable(StaffImportRequest(csv: "Employee ID,Last Name,First Name,Role,Email,Status\r\nE9,X,Y,nurse,x@y.test,Active\r\n")))] {
                let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await Self.call(b, nurse, assertion, op, body) }
                #expect(refused == "exchange.forbidden", "\(op.rawValue)")
            }
            // The reason is on the trail: the functional role may not run the station.
            let last = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter(limit: 1)) }.first
            #expect(last?.message.eventTypes.contains { $0.code == "staff.import" } == true && last?.message.errorCode == "exchange.forbidden")
            #expect(try await Self.stationState(fed) == before)
        }
    }

    @Test("a patient's card is refused at the stations' operations (staff only), audited; nothing changes")
    func patientRefused() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let a = fed.runtimes[LocalFederation.hospitalA]!.node
            let patient = fed.users[LocalFederation.patientCard]!
            let assertion = try await Self.signIn(a, patient, purpose: "PATRQT")
            let before = try await Self.stationState(fed)
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await Self.call(a, patient, assertion, .adminCodes, CodeTablesRequest())
            } == "exchange.forbidden")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await Self.call(a, patient, assertion, .cardEnroll, CardEnrollRequest(staffId: "E1", role: "nurse"))
            } == "exchange.forbidden")
            #expect(try await Self.stationState(fed) == before)
            _ = b
        }
    }

    @Test("an administrator of another organisation cannot act on this node's cards or code tables, even signed in here")
    func otherOrganisationRefused() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            // B's own officers make a live card first.
            let clerk = fed.users["clerk.hospital-b"]!
            let clerkAssertion = try await Self.signIn(b, clerk, purpose: "HOPERAT")
            _ = try await Self.call(b, clerk, clerkAssertion, .staffImport, StaffImportRequest(csv: "Employee ID,Last Name,First Name,Department,Role,Email,Status\r\nE7,Marsh,Ida,Cardiology,nurse,ida@hospital-b.caduceus.test,Active\r\n"))
            let card = try await Self.call(b, clerk, clerkAssertion, .cardEnroll, CardEnrollRequest(staffId: "E7", role: "nurse")).decodeBody(CardRecord.self)
            // Hospital A's administrator, signed in at B (B accepts the card: the federation trusts A's CA).
            let adminA = try fed.issueCard("Admin of A (synthetic)", ca: "hospital-a", role: "administrative")
            let assertion = try await Self.signIn(b, adminA, purpose: "HOPERAT")
            let before = try await Self.stationState(fed)
            for action in [CardLifecycle.Action.approve, .reject, .terminate] {
                #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                    _ = try await Self.call(b, adminA, assertion, .cardAction, CardActionRequest(card: card.id, action: action))
                } == "exchange.forbidden", "\(action)")
            }
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await Self.call(b, adminA, assertion, .adminCodesSave, CodeTableSaveRequest(table: .confidentiality, base: 0, entries: [CodeTableEntry(code: "N", display: "normal")], note: "from A"))
            } == "exchange.forbidden")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await Self.call(b, adminA, assertion, .cardList, CardListRequest())
            } == "exchange.forbidden")
            #expect(try await Self.stationState(fed) == before)
        }
    }

    @Test("code tables: a bad table or a save from a stale version is refused with the rule named, audited once, nothing kept; a good save is audited with its version")
    func codeTableRules() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let clerk = fed.users["clerk.hospital-b"]!
            let assertion = try await Self.signIn(b, clerk, purpose: "HOPERAT")
            func save(_ table: CodeTableName, base: Int, _ codes: [String], note: String = "synthetic change") async throws -> CodeTableVersion {
                try await Self.call(b, clerk, assertion, .adminCodesSave, CodeTableSaveRequest(table: table, base: base, entries: codes.map { CodeTableEntry(code: $0, display: "d") }, note: note))
                    .decodeBody(CodeTableVersion.self)
            }
            let bad: [(CodeTableName, [String], String)] = [
                (.administrativeSex, ["F", "F"], "twice"), (.administrativeSex, ["F|M"], "HL7 delimiters"), (.administrativeSex, [], "1 to"),
                (.assigningAuthority, ["not-an-oid"], "OID"), (.administrativeSex, ["F"], "note"),
            ]
            for (table, codes, rule) in bad {
                let before = try await Self.stationState(fed)
                var message = ""
                let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                    do { _ = try await save(table, base: 0, codes, note: rule == "note" ? "" : "synthetic change") } catch let e as any CaduceusError {
                        message = e.message
                        throw e
                    }
                }
                #expect(refused == "exchange.bad-request" && message.contains(rule), "\(rule): \(message)")
                #expect(try await Self.stationState(fed) == before)
            }
            let head = try await auditHead(fed, LocalFederation.hospitalB)
            #expect(try await save(.administrativeSex, base: 0, ["F", "M", "U"]).version == 1)
            let saved = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter(limit: 10)) }.filter { $0.sequence > head }
            #expect(saved.count == 1 && saved[0].message.objects.contains { $0.id == "administrative-sex v1" }, "the save is on the trail with its version")
            // Two pages showed version 1; the second save is refused and keeps nothing.
            #expect(try await save(.administrativeSex, base: 1, ["F", "M", "U", "O"]).version == 2)
            let before = try await Self.stationState(fed)
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await save(.administrativeSex, base: 1, ["F"]) } == "storage.conflict")
            #expect(try await Self.stationState(fed) == before)
            let tables = try await Self.call(b, clerk, assertion, .adminCodes, CodeTablesRequest(history: .administrativeSex)).decodeBody(CodeTablesResponse.self)
            #expect(tables.history.map(\.version) == [2, 1] && tables.tables.first { $0.name == .administrativeSex }?.current?.entries.count == 4)
            #expect(tables.tables.first { $0.name == .assigningAuthority }?.standard.map(\.code) == [LocalFederation.domainB], "the authorities B's CA may vouch for")
        }
    }
}

extension StationAttackTests {
    @Test("issue onto a token: a nurse's form post is refused before any token is touched; her check and her issue with a token-signed request are refused at the gate, audited once each; a form without its token is refused; the card stays approved")
    func tokenIssueRefused() async throws {
        let fixture = try SoftHSM.token("station-attack")
        let log = CapturedLog()
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (portal, officer, cardId) = try await CardTokenIssueTests.station(fed, log: log)
            let (form, handle) = try await CardTokenIssueTests.tokenPage(officer, "Ngozi Okafor")
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let nurse = fed.users["clinician.hospital-b"]!
            func cardKeyOnToken() throws -> Bool { try CardTokenIssueTests.listed(fixture.label).contains("ID:         01") }

            // Her browser, signed in for treatment: the officer's card handle is not in her session; the station's
            // list is refused by the gate (audited); no token is touched.
            let browser = PortalDriver(portal: portal, card: nurse, logger: log.logger())
            try await browser.signIn(purpose: "TREAT")
            let home = try await browser.get("/portal")
            #expect(!home.body.contains("/portal/cards"), "no card station in her navigation")
            let posted = try await browser.post("/portal/cards/token", [("card", handle), ("token", fixture.label), ("pin", SoftHSM.userPIN)], from: home)
            #expect(posted.status == .notFound && posted.body.contains("portal.not-found"))
            #expect((try await browser.get("/portal/cards/token/" + handle)).status == .notFound)
            let head = try await auditHead(fed, LocalFederation.hospitalB)
            let list = try await browser.get("/portal/cards")
            #expect(list.status == .forbidden && list.body.contains("exchange.forbidden"))
            let listed = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter(limit: 10)) }.filter { $0.sequence > head }
            #expect(listed.count == 1 && listed[0].message.errorCode == "exchange.forbidden", "her look at the station is on the trail")
            #expect(try !cardKeyOnToken())

            // Through the portal door with her session's assertion: the question and the issue itself, with a request
            // signed on a token, are refused by the card service.
            let assertion = try await Self.signIn(b, nurse, purpose: "TREAT")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await Self.call(b, nurse, assertion, .cardAction, CardActionRequest(card: cardId, action: .issue, check: true))
            } == "exchange.forbidden")
            let token = try PKCS11Token(modulePath: fixture.module, label: fixture.label, pin: Sensitive(SoftHSM.userPIN))
            let key = try PrivateKeyMaterial(.external(try token.generateP256Key(id: [0x0A], keyLabel: "nurse's try")))
            let csr = try CertificationRequest.make(subject: try DistinguishedName { CommonName("nurse") }, key: key).serializeAsPEM().pemString
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await Self.call(b, nurse, assertion, .cardAction, CardActionRequest(card: cardId, action: .issue, csr: csr))
            } == "exchange.forbidden")

            // The officer's own form, posted without its form token (a cross-site post): refused before anything.
            let before = try await auditHead(fed, LocalFederation.hospitalB)
            let forged = try await officer.post("/portal/cards/token", [("card", handle), ("token", fixture.label), ("pin", SoftHSM.userPIN)], from: nil)
            #expect(forged.status == .forbidden && forged.body.contains("portal.csrf"))
            #expect(try await auditHead(fed, LocalFederation.hospitalB) == before, "refused at the door, nothing asked")
            _ = form
            let card = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.card(id: cardId) }
            #expect(card?.status == .approved && card?.serial == nil)
            #expect(try !cardKeyOnToken())
        }
    }
}

/// A type-erased body for the table of operations above.
struct AnyEncodable: Encodable, Sendable {
    let encode: @Sendable (any Encoder) throws -> Void
    init(_ value: some Encodable & Sendable) { encode = { try value.encode(to: $0) } }
    func encode(to encoder: any Encoder) throws { try encode(encoder) }
}
