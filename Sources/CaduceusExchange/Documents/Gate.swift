package import CaduceusPKI
package import X509
import CaduceusAudit
import CaduceusCore
import Foundation

/// The doors of a node. Each door authenticates in its own way and then hands the request to the one gate
/// (``ExchangeNode/pass(_:door:authenticate:bind:respond:)``): authenticate → identify → authorise → act → audit.
package enum Door: String, Sendable {
    /// The envelope API between nodes and for the CLI: a signed-then-encrypted envelope, its signer bound to the TLS
    /// client of the connection.
    case envelope
    /// The web portal: the person's card is the TLS client certificate of the browser's connection, validated again
    /// for every request; the portal keeps the sign-in assertion for the browser session.
    case portal
}

extension ExchangeNode {
    /// The gate every door uses. `authenticate` yields the request as the door authenticated it (the identity comes
    /// from the certificate, bound to its issuer's namespace by validation); `bind` checks what the door must bind
    /// to it (the envelope door: the TLS client is the signer). Then the operation's ``OperationRule`` authorises the
    /// caller's kind and this node's role, the envelope door refuses a replayed request id, the use-case service acts
    /// (deciding with the policy, reasons on the trail), `respond` turns its reply into the door's wire form, and one
    /// audit event is written whatever the outcome.
    func pass<Reply>(
        _ operation: ExchangeOperation, door: Door,
        authenticate: () async throws -> OpenedEnvelope,
        bind: (OpenedEnvelope) throws -> Void,
        respond: (OpenedEnvelope, ExchangeMessage) throws -> Reply
    ) async throws -> Reply {
        // The operation's audit notes travel with the request to every handler (explicitly, not as a task-local):
        // what a handler touches goes on the operation's one event.
        let notes = AuditNotes()
        if door != .envelope { notes.door(door.rawValue) }
        var remember: (String, Date)?
        do {
            let opened = try await authenticate()
            notes.signer = opened.identity
            try bind(opened)
            try authorizeCaller(operation, opened)
            // The portal's requests are made by the node itself from a form (their ids are fresh by construction):
            // its forms carry CSRF tokens instead.
            if door == .envelope { remember = try noteRequest(opened) }
            let reply = try await dispatch(operation, ExchangeRequest(envelope: opened, audit: notes, door: door))
            let answer = try respond(opened, reply)
            // The operation's writes and its event, in one commit; the answer leaves only once that is on disk.
            try await audit(operation, notes, error: nil, remember: remember, writes: notes.writes(succeeded: true))
            return answer
        } catch {
            try? await audit(operation, notes, error: error, remember: remember, writes: notes.writes(succeeded: false))
            notes.failed()
            if error is any CaduceusError { throw error }
            throw ExchangeError(.badRequest, "the request could not be processed")
        }
    }

    /// The CA certificates this node holds with their revocation lists (every CA of a valid certificate has one:
    /// revocation is required), to complete a chain a peer sent short.
    package func heldAuthorities() -> [Certificate] {
        (core.revocation?.published() ?? []).flatMap { (try? PEM.certificates(fromPEM: $0.chain)) ?? [] }
    }

    /// The portal door: `operation` with `body` for the holder of the card `client` presented in the browser's TLS
    /// handshake (with any certificates known to come with it, `presented`), carrying the portal session's
    /// sign-in assertion. The card is validated again now (chain, namespace, fail-closed revocation: a connection
    /// kept open across a revocation gets nothing more), and must be a person's or a patient's; the rest is the
    /// gate's, exactly as for an envelope. Returns the service's reply (its body and documents), not sealed: it
    /// does not leave the node.
    /// - Throws: a coded error, already audited.
    package func portal(_ operation: ExchangeOperation, body: some Encodable, assertion: String?, client: Certificate, presented: [Certificate]) async throws -> ExchangeMessage {
        let encoded = try JSONEncoder.wire.encode(body)
        return try await pass(
            operation, door: .portal,
            authenticate: { [core] in
                let now = core.clock.now()
                // The chain is completed from what the browser sent and the CA certificates this node holds with their
                // revocation lists (every CA of a valid card has one: revocation is required).
                let intermediates = (presented + heldAuthorities()).filter { $0 != client }
                let verdict = await core.validatorSource().validate(client, intermediates: intermediates, usage: .tlsClient, validityTime: now, now: now)
                guard case .trusted(let chain) = verdict else {
                    if case .rejected(let e) = verdict { throw ExchangeError(.signerRejected, "the card was not accepted (\(e.code))") }
                    throw ExchangeError(.signerRejected, "the card was not accepted")
                }
                guard let identity = FederationIdentity(client) else { throw ExchangeError(.signerRejected, "the card names no federation identity") }
                let header = EnvelopeHeader(operation: operation, audience: core.id, requestId: UUID().uuidString.lowercased(), issuedAt: now, body: encoded, assertion: assertion)
                return OpenedEnvelope(message: ExchangeMessage(header: header, documents: []), signer: client, chain: chain, identity: identity, raw: [])
            },
            bind: { opened throws(ExchangeError) in
                guard opened.identity.kind == .person || opened.identity.kind == .patient else {
                    throw ExchangeError(.forbidden, "the portal is for people's cards")
                }
            },
            respond: { _, reply in reply })
    }
}
