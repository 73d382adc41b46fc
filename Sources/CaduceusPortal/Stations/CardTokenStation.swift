import CaduceusCore
import CaduceusExchange
import CaduceusPKCS11
import CaduceusPKI
import CaduceusStorage
import Foundation
import Hummingbird

/// The card station's issue onto a token, with the node's card encoder (`cards.encoder.module`, a ``CardEncoder``):
/// the officer opens an approved card's token page, chooses a blank token by label and types its user PIN; the node
/// asks the card service first whether this officer may issue this card now (`card.action` with `check`, audited),
/// and only then logs in to the token, generates the key there, has the token sign the request, and issues through
/// `card.action` (`issue` with the CSR, audited, as from the CLI's `--csr`); the certificate and its chain are stored
/// beside the key. The page shows what was written — token, key id, serial, expiry — never key material.
///
/// The PIN travels in the POST body only; it is wrapped in ``Sensitive`` at once, handed to `C_Login` (whose byte copy
/// is zeroed), never stored, logged or put in a page. A token error before the card is issued (wrong PIN, no such
/// token, no room) shows the form again with its code: nothing was issued, the card is still approved. A failure after
/// the card was issued leaves it issued (its key is on the token, nothing is compromised) and says so: the page offers
/// the certificate chain once and names the command that stores it (`caduceus token import-cert --id 01`), or the
/// card can be reported lost (revoked, a replacement enrolled).
struct CardTokenStation {
    let portal: Portal

    func routes<Context: PortalRequestContext>(_ router: Router<Context>) {
        router.get("/portal/cards/token/:handle") { request, context in
            let handle = context.parameters.get("handle") ?? ""
            return await portal.serve("cards.token", request, context) { try await form($0, handle: handle) }
        }
        router.post("/portal/cards/token") { request, context in await portal.serve("cards.token.issue", request, context, issue) }
    }

    func encoder() throws(PortalError) -> CardEncoder {
        guard let encoder = portal.cardEncoder else {
            throw PortalError(.noCardEncoder, "no card encoder attached to this node: cards are issued as PKCS#12 files")
        }
        return encoder
    }

    /// The token page of an approved card: the blank tokens the encoder shows, and the PIN field.
    func form(_ visit: Portal.Visit, handle: String) async throws -> Response {
        let session = try visit.signedInStaff()
        let encoder = try encoder()
        guard let id = session.documents["card:" + handle] else { throw PortalError(.notFound, "no such card in this session (open the card station again)") }
        let cards = try await portal.gate(.cardList, CardListRequest(card: id), visit, session: session).decodeBody([CardRecord].self)
        guard let card = cards.first, card.status == .approved else { throw PortalError(.badRequest, "only an approved card is issued onto a token") }
        return formPage(visit, session, encoder, handle: handle, card: card, error: nil)
    }

    func formPage(_ visit: Portal.Visit, _ session: PortalSession, _ encoder: CardEncoder, handle: String, card: CardRecord, error: PKCS11Error?) -> Response {
        var data: [String: Any] = [
            "csrf": session.csrf, "handle": handle, "holder": card.holderKind == "patient" ? "the patient" : card.commonName,
            "role": card.role.isEmpty ? "patient card" : card.role,
        ]
        do {
            let tokens = try encoder.blankTokens()
            data["tokens"] = tokens.map { ["label": $0.label, "model": [$0.manufacturer, $0.model].filter { !$0.isEmpty }.joined(separator: " "), "serial": $0.serialNumber] }
            data["hasTokens"] = !tokens.isEmpty
        } catch {
            let coded = error as? any CaduceusError
            data["hasTokens"] = false
            data["listError"] = ["code": coded?.code ?? "pkcs11.function-failed", "message": coded?.message ?? "the module did not answer"]
        }
        if let error { data["error"] = ["code": error.code, "message": error.message] }
        return portal.page(
            "Issue onto a token", "cardToken", data, visit: visit, session: session, current: "/portal/cards",
            status: error.map { Portal.status(for: $0.category) } ?? .ok)
    }

    /// Issues the card onto the chosen token (see the type's documentation for the order of the steps).
    func issue(_ visit: Portal.Visit) async throws -> Response {
        let session = try visit.signedInStaff()
        let encoder = try encoder()
        guard let handle = visit.form["card"], let id = session.documents["card:" + handle] else {
            throw PortalError(.notFound, "no such card in this session (open the card station again)")
        }
        let label = visit.form["token"] ?? ""
        let pin = Sensitive(visit.form["pin"] ?? "")
        guard !label.isEmpty, !pin.unsafeValue.isEmpty else { throw PortalError(.badRequest, "choose a token and type its PIN") }
        // The service decides before the token is touched (a refusal costs the token no PIN try); audited.
        let asked = try await portal.gate(.cardAction, CardActionRequest(card: id, action: .issue, check: true), visit, session: session)
            .decodeBody(CardActionResponse.self)
        var issued: CardActionResponse?
        let written: CardEncoder.Written
        do {
            written = try await encoder.encode(token: label, pin: pin) { csr in
                let answer = try await portal.gate(.cardAction, CardActionRequest(card: id, action: .issue, csr: csr), visit, session: session)
                    .decodeBody(CardActionResponse.self)
                issued = answer
                // Parsed by the encoder once the card is issued: a failure then keeps the key on the token.
                return answer.issued?.certificateChain ?? ""
            }
        } catch let error as PKCS11Error where issued == nil {
            // Nothing was issued: the card is still approved.
            return formPage(visit, session, encoder, handle: handle, card: asked.card, error: error)
        } catch {
            guard let issued, let chain = issued.issued?.certificateChain else { throw error }
            return try await notWritten(visit, session, issued, chain: chain, token: label, error: error, encoder: encoder)
        }
        let holder = asked.card.holderKind == "patient" ? "The patient card" : asked.card.commonName + "'s card"
        return try await CardStation(portal: portal).page(
            visit, session, notice: "\(holder) is now issued, onto token \u{201C}\(written.tokenLabel)\u{201D}.", issued: nil,
            extra: [
                "written": [
                    "holder": asked.card.holderKind == "patient" ? "the patient" : asked.card.commonName, "token": written.tokenLabel,
                    "keyId": Hex.encode(written.keyId), "serial": Hex.encode(written.certificate.serialNumber.bytes),
                    "expires": Portal.time(written.certificate.notValidAfter), "stored": String(written.certificatesStored),
                ] as [String: Any]
            ])
    }

    /// The card was issued but its certificate is not on the token: it stays issued; the chain is offered once.
    func notWritten(
        _ visit: Portal.Visit, _ session: PortalSession, _ issued: CardActionResponse, chain: String, token: String, error: any Error,
        encoder: CardEncoder
    ) async throws -> Response {
        let serial = issued.card.serial ?? ""
        let download = String(PortalSessions.token().prefix(16))
        let name = "card-" + String(serial.prefix(12)) + ".pem"
        portal.sessions.update(session.id) {
            $0.issuedCard = Sensitive(IssuedCardDownload(handle: download, file: Data(chain.utf8), fileName: name, contentType: "application/x-pem-file"))
        }
        let coded = error as? any CaduceusError
        return try await CardStation(portal: portal).page(
            visit, session, notice: nil, issued: nil,
            extra: [
                "unstored": [
                    "holder": issued.card.holderKind == "patient" ? "The patient" : issued.card.commonName, "token": token,
                    "serial": serial, "expires": issued.card.notAfter.map(Portal.time) ?? "—", "code": coded?.code ?? "portal.internal",
                    "download": download, "file": name, "module": encoder.modulePath,
                ] as [String: Any]
            ], status: Portal.status(for: coded?.category ?? .internal))
    }
}
