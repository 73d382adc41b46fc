import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKCS11
import CaduceusPKI
import CaduceusPortal
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Hummingbird
import Testing
import X509

/// The card station's issue onto a token (issue 14), through the portal's route handlers in process, with SoftHSM2 as
/// hospital B's card encoder; what was written is read back with OpenSC's `pkcs11-tool`, and the card on the token
/// signs in at the federation.
@Suite("Cards: issue onto a token at the card station", .serialized)
struct CardTokenIssueTests {
    /// Hospital B's portal with SoftHSM2 as its card encoder (or none), its officer's browser signed in, and an
    /// approved card for Ngozi Okafor (nurse), enrolled by the officer and approved by a second administrator.
    static func station(_ fed: LocalFederation, log: CapturedLog, encoder: Bool = true) async throws -> (portal: Portal, officer: PortalDriver, card: String) {
        let (officer, approver) = try await CardLifecycleTests.station(fed)
        _ = try await officer.importStaff(csv: CardLifecycleTests.hrExport)
        let enrolled = try await officer.enrollCard(CardEnrollRequest(staffId: "E100", role: "nurse"))
        _ = try await approver.cardAction(enrolled.id, .approve)
        let portal = try Portal(
            node: fed.runtimes[LocalFederation.hospitalB]!.node, logger: log.logger(),
            cardEncoder: encoder ? CardEncoder(modulePath: SoftHSM.modulePath) : nil)
        let browser = PortalDriver(portal: portal, card: fed.users["clerk.hospital-b"]!, logger: log.logger())
        try await browser.signIn(purpose: "HOPERAT")
        return (portal, browser, enrolled.id)
    }

    /// The card-station row naming `holder`.
    static func row(_ page: PortalDriver.Page, _ holder: String) -> String? {
        page.body.components(separatedBy: "<tr>").first { $0.contains("<td>\(holder)</td>") }
    }

    /// The token page of `holder`'s card, as the card station links it.
    static func tokenPage(_ browser: PortalDriver, _ holder: String) async throws -> (page: PortalDriver.Page, handle: String) {
        let cards = try await browser.get("/portal/cards")
        let line = try #require(Self.row(cards, holder), "the station lists \(holder)")
        let handle = try #require(PortalDriver.capture(#"href="/portal/cards/token/([A-Za-z0-9_-]+)""#, in: line).first, "an approved card offers Issue to token")
        return (try await browser.get("/portal/cards/token/" + handle), handle)
    }

    static func card(_ fed: LocalFederation, _ id: String) async throws -> CardRecord? {
        try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.card(id: id) }
    }

    /// `pkcs11-tool --list-objects` of a test token, logged in. (pkcs11-tool takes the first token whose label
    /// *starts* with the one given: the test tokens' labels are not prefixes of one another.)
    static func listed(_ label: String) throws -> String {
        let run = try ProcessRunner.run(SoftHSM.pkcs11Tool, ["--module", SoftHSM.modulePath, "--token-label", label, "--login", "--pin", SoftHSM.userPIN, "--list-objects"])
        #expect(run.ok, "\(run.stderr)")
        return run.text
    }

    @Test("an officer issues an approved card onto a SoftHSM2 token: the key is made there and never extractable (pkcs11-tool), the certificate beside it matches it, the card signs in from the token; the check and the issue are audited; no PIN anywhere")
    func issueOntoToken() async throws {
        let fixture = try SoftHSM.token("station-issue")
        let log = CapturedLog()
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (_, officer, cardId) = try await Self.station(fed, log: log)
            let (form, handle) = try await Self.tokenPage(officer, "Ngozi Okafor")
            #expect(form.status == .ok && form.body.contains("Issue Ngozi Okafor's card onto a token"), "\(form.body.suffix(2000))")
            #expect(form.body.contains(#"<input id="pin" name="pin" type="password" autocomplete="off""#), "the PIN is a password field")
            #expect(form.body.contains(#"<option value="station-issue">"#), "the blank token is offered by its label")

            let head = try await auditHead(fed, LocalFederation.hospitalB)
            let done = try await officer.post("/portal/cards/token", [("card", handle), ("token", fixture.label), ("pin", SoftHSM.userPIN)], from: form)
            #expect(done.status == .ok, "\(done.body.suffix(3000))")
            let record = try #require(try await Self.card(fed, cardId))
            #expect(record.status == .issued && record.keyOrigin == "holder", "the key is the token's, not the node's")
            let serial = try #require(record.serial)
            #expect(done.body.contains("Card written to token \u{201C}station-issue\u{201D} for Ngozi Okafor") && done.body.contains("<code>\(serial)</code>") && done.body.contains("<code>01</code>"))
            #expect(done.body.contains("is now issued, onto token"))
            #expect(!done.body.contains("PRIVATE KEY") && !done.body.contains("One-time password"), "no key material, no PKCS#12")

            // The token, read by a foreign tool: a private EC key under id 01, never extractable; its public key and
            // the certificate stored beside it are the card's.
            let text = try Self.listed(fixture.label)
            let privateBlock = try #require(text.components(separatedBy: "Private Key Object").dropFirst().first, "\(text)")
            let access = try #require(privateBlock.split(separator: "\n").first { $0.contains("Access:") })
            #expect(privateBlock.contains("EC") && privateBlock.contains("ID:         01"))
            #expect(access.contains("sensitive") && access.contains("never extractable") && !access.replacingOccurrences(of: "never extractable", with: "").contains("extractable"), "\(access)")
            #expect(text.contains("Certificate Object") && text.components(separatedBy: "Certificate Object").count >= 3, "the card's certificate and its chain: \(text)")
            let dir = try TemporaryDirectory()
            for (type, file) in [("cert", "card.der"), ("pubkey", "card.pub.der")] {
                let read = try ProcessRunner.run(SoftHSM.pkcs11Tool, ["--module", SoftHSM.modulePath, "--token-label", fixture.label, "--read-object", "--type", type, "--id", "01", "-o", dir.file(file)])
                #expect(read.ok, "\(read.stderr)")
            }
            let onToken = try Certificate(derEncoded: Array(try dir.read("card.der")))
            let publicKey = try Certificate.PublicKey(derEncoded: Array(try dir.read("card.pub.der")))
            #expect(Hex.encode(onToken.serialNumber.bytes) == serial && onToken.publicKey == publicKey, "the stored certificate is the card's, for the key on the token")
            #expect(FederationIdentity(onToken)?.commonName == "Ngozi Okafor" && FederationIdentity(onToken)?.role == "nurse")

            // The card on the token signs in (TLS client authentication and envelopes on the token).
            let token = try PKCS11Token(modulePath: fixture.module, label: fixture.label, pin: Sensitive(SoftHSM.userPIN))
            let credential = try token.credential(id: CardEncoder.cardKeyId)
            #expect(credential.key.isExternal && credential.certificate == onToken && !credential.chain.isEmpty)
            let signedIn = try await fed.client(card: credential, at: LocalFederation.hospitalA).signIn()
            #expect(!signedIn.assertion.isEmpty)

            // B's trail: the question before the token was touched, then the issue (a Security Alert), each once.
            let all = try await CardLifecycleTests.trail(fed, after: head)
            let trail = all.filter { $0.eventTypes.contains { $0.code == "card.action" } }
            let alerts = all.filter { $0.eventTypes.contains { $0.code == "110137" } }
            #expect(alerts.count == 1 && alerts[0].objects.contains { $0.id == cardId }, "the issue's Security Alert (110137)")
            let check = trail.filter { $0.objects.contains { $0.id == "check" } }, issue = trail.filter { !$0.objects.contains { $0.id == "check" } }
            #expect(trail.count == 2 && check.count == 1 && issue.count == 1 && trail.allSatisfy { $0.outcome == .success }, "\(trail.count)")
            #expect(check.first?.objects.contains { $0.id == cardId } == true && issue.first?.objects.contains { $0.id == cardId } == true)
            // The PIN is in no page, no URL and no log line.
            #expect(!done.body.contains(SoftHSM.userPIN) && !form.body.contains(SoftHSM.userPIN))
            #expect(log.text.contains("cards.token.issue") && !log.text.contains(SoftHSM.userPIN))
            // The token is no longer blank: the station does not offer it again.
            let again = try await officer.get("/portal/cards/token/" + handle)
            #expect(again.status == .badRequest, "an issued card has no token page")
            #expect(try CardEncoder(modulePath: SoftHSM.modulePath).blankTokens().contains { $0.label == fixture.label } == false)
        }
    }

    @Test("refusals before the card is issued leave it approved and the token empty: a wrong PIN, an unknown token, a full token, a card not approved, no PIN, no form token")
    func refusalsLeaveTheCardApproved() async throws {
        let fixture = try SoftHSM.token("station-errors")
        let full = try SoftHSM.token("station-full")
        let log = CapturedLog()
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (_, officer, cardId) = try await Self.station(fed, log: log)
            let (form, handle) = try await Self.tokenPage(officer, "Ngozi Okafor")
            func post(_ token: String, _ pin: String, from page: PortalDriver.Page? = nil) async throws -> PortalDriver.Page {
                try await officer.post("/portal/cards/token", [("card", handle), ("token", token), ("pin", pin)], from: page ?? form)
            }
            func issueEvents(after head: UInt64) async throws -> Int {
                try await CardLifecycleTests.trail(fed, after: head).filter { m in
                    m.eventTypes.contains { $0.code == "card.action" } && !m.objects.contains { $0.id == "check" }
                }.count
            }
            let head = try await auditHead(fed, LocalFederation.hospitalB)

            // A wrong PIN: the token refuses it; the form again, with the code; nothing issued, nothing on the token.
            let wrong = try await post(fixture.label, "0000-wrong-pin")
            #expect(wrong.status == .unauthorized && wrong.body.contains("pkcs11.pin-incorrect") && wrong.body.contains("Nothing was issued: the card is still approved"), "\(wrong.body.suffix(1500))")
            #expect(wrong.body.contains(#"name="pin" type="password""#), "the form is shown again")
            #expect(try await Self.card(fed, cardId)?.status == .approved)
            #expect(!(try Self.listed(fixture.label)).contains("ID:         01"), "no key was made")
            #expect(!wrong.body.contains("0000-wrong-pin") && !log.text.contains("0000-wrong-pin"))

            // No token with that label.
            let unknown = try await post("no-such-token", SoftHSM.userPIN)
            #expect(unknown.status == .notFound && unknown.body.contains("pkcs11.token-not-found") && unknown.body.contains("still approved"))

            // A token whose card-key place is taken: refused, and not offered.
            _ = try PKCS11Token(modulePath: full.module, label: full.label, pin: Sensitive(SoftHSM.userPIN)).generateP256Key(id: CardEncoder.cardKeyId, keyLabel: "taken")
            let taken = try await post(full.label, SoftHSM.userPIN)
            #expect(taken.status == .conflict && taken.body.contains("pkcs11.token-full"), "\(taken.body.suffix(1500))")
            #expect(try Self.listed(full.label).components(separatedBy: "Private Key Object").count == 2, "the token's own key is untouched, no second key")
            let offered = try await officer.get("/portal/cards/token/" + handle)
            #expect(offered.body.contains(#"<option value="station-errors">"#) && !offered.body.contains(#"<option value="station-full">"#))

            // No PIN, and no form token: refused before anything is asked.
            #expect(try await post(fixture.label, "").status == .badRequest)
            let forged = try await officer.post("/portal/cards/token", [("card", handle), ("token", fixture.label), ("pin", SoftHSM.userPIN)], from: nil)
            #expect(forged.status == .forbidden && forged.body.contains("portal.csrf"))
            #expect(try await Self.card(fed, cardId)?.status == .approved)
            #expect(try await issueEvents(after: head) == 0, "no issue was attempted")
            #expect(!(try Self.listed(fixture.label)).contains("ID:         01"))

            // A card that is not approved (issued as a PKCS#12 meanwhile): the service says so before the token is
            // touched; audited.
            let officerClient = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
            try await officerClient.signIn(purpose: "HOPERAT")
            _ = try await officerClient.cardAction(cardId, .issue)
            let before = try await auditHead(fed, LocalFederation.hospitalB)
            let late = try await post(fixture.label, SoftHSM.userPIN)
            #expect(late.status == .conflict && late.body.contains("exchange.invalid-transition"), "\(late.status) \(late.body.suffix(800))")
            let refused = try await CardLifecycleTests.trail(fed, after: before)
            #expect(refused.count == 1 && refused[0].errorCode == "exchange.invalid-transition")
            #expect(!(try Self.listed(fixture.label)).contains("ID:         01"), "the token was not touched")
            #expect((try await officer.get("/portal/cards/token/" + handle)).status == .badRequest, "an issued card has no token page")
        }
    }

    @Test("a token pulled out after the card was issued: the card stays issued, the page says the certificate is not on the token and offers it once with the command that stores it")
    func certificateNotWritten() async throws {
        let fixture = try SoftHSM.token("station-pulled")
        let log = CapturedLog()
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (_, officer, cardId) = try await Self.station(fed, log: log)
            // The CA answers, and in that moment the token leaves the encoder (its store is taken away).
            let node = fed.runtimes[LocalFederation.hospitalB]!.node
            let directory = try #require(try SoftHSM.tokenDirectory(fixture.label))
            node.useCardAuthority(PullingAuthority(inner: HostedCardAuthority(store: fed.authorities["hospital-b"]!, publish: {}), pull: {
                try? FileManager.default.moveItem(atPath: directory, toPath: directory + ".pulled")
            }))
            let (form, handle) = try await Self.tokenPage(officer, "Ngozi Okafor")
            let page = try await officer.post("/portal/cards/token", [("card", handle), ("token", fixture.label), ("pin", SoftHSM.userPIN)], from: form)
            try? FileManager.default.moveItem(atPath: directory + ".pulled", toPath: directory)
            let record = try #require(try await Self.card(fed, cardId))
            #expect(record.status == .issued, "the card stays issued")
            #expect(page.status == .internalServerError && page.body.contains("Issued, but not written to the token") && page.body.contains("pkcs11.certificate-not-stored"), "\(page.status) \(page.body.suffix(2500))")
            #expect(page.body.contains("caduceus token import-cert") && page.body.contains("--id 01") && page.body.contains("report the card lost"))
            // The chain is offered once, as PEM: it is the card's certificate.
            let download = try #require(PortalDriver.capture(#"name="download" value="([^"]+)""#, in: page.body).first)
            let file = try await officer.post("/portal/cards/download", [("download", download)], from: page)
            #expect(file.status == .ok && file.headers[.contentType] == "application/x-pem-file")
            let chain = try PEM.certificates(fromPEM: file.body)
            #expect(Hex.encode(chain[0].serialNumber.bytes) == record.serial)
            #expect((try await officer.post("/portal/cards/download", [("download", download)], from: page)).status == .notFound, "once")
        }
    }

    @Test("a node without a card encoder says so and offers PKCS#12 only; its token page is refused")
    func noEncoder() async throws {
        let log = CapturedLog()
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (_, officer, _) = try await Self.station(fed, log: log, encoder: false)
            let cards = try await officer.get("/portal/cards")
            #expect(cards.body.contains("No card encoder attached to this node") && !cards.body.contains("Issue to token"))
            let row = try #require(Self.row(cards, "Ngozi Okafor"))
            #expect(row.contains(#"value="issue""#), "the PKCS#12 issue is offered")
            let refused = try await officer.get("/portal/cards/token/anything")
            #expect(refused.status == .notFound && refused.body.contains("portal.no-card-encoder"))
        }
    }
}

/// A card CA that issues, then runs `pull` (a token taken out of the encoder while the CA worked).
struct PullingAuthority: CardAuthority {
    let inner: HostedCardAuthority
    let pull: @Sendable () -> Void
    func namespace() throws -> IssuerNamespace { try inner.namespace() }
    func issue(profile: IssuanceProfile, subject: DistinguishedName, publicKey: Certificate.PublicKey, now: Date) throws -> (certificate: Certificate, chain: [Certificate]) {
        let issued = try inner.issue(profile: profile, subject: subject, publicKey: publicKey, now: now)
        pull()
        return issued
    }
    func revoke(serial: Certificate.SerialNumber, reason: RevocationReason, now: Date) throws { try inner.revoke(serial: serial, reason: reason, now: now) }
    func releaseHold(serial: Certificate.SerialNumber) throws { try inner.releaseHold(serial: serial) }
    func publish() async { await inner.publish() }
}
