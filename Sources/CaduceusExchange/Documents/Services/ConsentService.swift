import CaduceusPKI
import CaduceusStorage
import CaduceusDocuments
import CaduceusCore
import X509
import CaduceusCMS
import CaduceusAudit
import CaduceusPolicy
import CaduceusPatientIndex
import Foundation
import Synchronization

// Consent (BPPC in spirit). A consent statement is a compact JWS signed by the card of the person making it: the
// patient for themselves, or staff in a role the policy names as a consent recorder (a paper consent at
// registration). The regional node is the consent registry: it verifies every statement itself (signature, chain,
// revocation, who may speak for the patient), records it against the patient's global id, and returns the consents
// on file with every registry answer, so the node deciding on a request anywhere in the federation weighs the consent
// as it stands at that moment.

/// Consent (BPPC in spirit): statements signed by the patient's (or a recorder's) card, verified and recorded by the regional consent registry, returned with every registry answer.
struct ConsentService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    /// How far a statement's `issuedAt` may be from the registry's clock (a stale statement is not replayed later).
    static let statementWindow: TimeInterval = 3600


    /// `user.consent`: checks the statement is the requester's own, then records it at the regional registry. Through
    /// the API the card signs the statement; at the portal (the browser uses the card for TLS only) the patient's
    /// home node attests what she asked for (``attest(_:_:claims:)``), and the registry checks that attestation.
    func userConsent(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o, allowPatients: true)
        let request = try o.message.decodeBody(ConsentRequest.self)
        let statement: String
        let verified: CompactJWS.Verified
        if let signed = request.statement {
            guard request.directive == nil, request.revocation == nil else {
                throw ExchangeError(.badRequest, "a consent request carries a signed statement or a directive, not both")
            }
            verified = try await CompactJWS.verify(signed, domain: "consent", validator: core.validatorSource(), now: core.clock.now())
            // The card that signed the statement is the card that sent it (its name, kind, role and organisation).
            guard verified.signer == o.identity else {
                throw ExchangeError(.forbidden, "a consent statement must be signed by the person sending it")
            }
            statement = signed
        } else {
            statement = try attest(request, o, claims: claims)
            verified = try await CompactJWS.verify(statement, domain: "consent", validator: core.validatorSource(), now: core.clock.now())
        }
        try core.keep(o)
        let record: ConsentRecord
        if core.configuration.roles.contains(.regional) {
            record = try await recordConsent(verified, statement: statement, madeAt: core.id, audit: o.audit)
        } else {
            let opened = try await core.call(.registerConsent, to: core.configuration.regionalNode, body: ConsentStatement(statement: statement))
            try core.keepInCommit(opened, audit: o.audit)
            record = try opened.message.decodeBody(ConsentRecord.self)
            o.audit.add(.patient(record.patientId))
        }
        return try core.reply(o, record)
    }

    /// The statement this node makes for a patient who asked at its portal: an ``AttestedConsent`` naming her card
    /// (validated by the gate for this very request) and her portal session, signed with the node's key. Only at the
    /// portal, only for a patient's own card, and only at her home node (the one node the registry takes it from).
    /// The node fixes what the patient may not choose: the patient (her card's identifier), the statement's time and,
    /// for a directive, its id.
    func attest(_ request: ConsentRequest, _ o: ExchangeRequest, claims: AssertionClaims) throws -> String {
        guard o.door == .portal else {
            throw ExchangeError(.badRequest, "a consent through the API is a statement signed by the card")
        }
        guard let own = patientIdentity(of: o.identity) else {
            throw ExchangeError(.forbidden, "the portal takes consent changes from patients, for their own record")
        }
        guard o.identity.organization == core.id else {
            throw ExchangeError(.forbidden, "a patient changes her consents at her home organisation's portal")
        }
        let now = core.clock.now()
        var directive = request.directive, revocation = request.revocation
        switch (directive, revocation) {
        case (var d?, nil):
            d.id = UUID().uuidString.lowercased()
            d.patient = own.description
            d.issuedAt = now
            try d.validate()
            directive = d
        case (nil, var r?):
            r.patient = own.description
            r.issuedAt = now
            revocation = r
        default:
            throw ExchangeError(.badRequest, "a consent request carries one directive or one revocation")
        }
        let card = try o.envelope.chain.map { Data(try $0.derBytes()).base64EncodedString() }
        let registry = core.configuration.roles.contains(.regional) ? core.id : core.configuration.regionalNode
        let attested = AttestedConsent(directive: directive, revocation: revocation, card: card, door: o.door.rawValue, registry: registry, session: claims.jti, attestedAt: now)
        return try CompactJWS.sign(json: attested, type: ConsentStatement.attestedType, by: core.credential)
    }

    /// `user.consents`: a patient reads their own consents (with the signed statements); staff who record consents
    /// read any patient's, staff permitted to search patients read the summaries.
    func userConsents(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o, allowPatients: true)
        var query = try o.message.decodeBody(ConsentQuery.self)
        o.audit.patient(query.patient)
        if try requireOwnRecord(o, query.patient, or: nil) {
            query.statements = true
        } else if core.policy.policy.consentRecorders?.contains(claims.role) == true {
            query.statements = true
        } else {
            guard core.decide(claims, Confidentiality.U.rawValue, audit: o.audit).isPermit else {
                throw ExchangeError(.forbidden, "the policy does not permit this role and purpose to read consents")
            }
            query.statements = false
        }
        return try core.reply(o, try await consentsAtRegion(query, audit: o.audit))
    }

    /// A patient's consents from the regional registry (this node's own when it is the regional node).
    func consentsAtRegion(_ query: ConsentQuery, audit: AuditNotes?) async throws -> ConsentsResponse {
        if core.configuration.roles.contains(.regional) { return try await localConsents(query, audit: audit) }
        let opened = try await core.call(.queryConsents, to: core.configuration.regionalNode, body: query)
        return try opened.message.decodeBody(ConsentsResponse.self)
    }


    func registerConsent(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let request = try o.message.decodeBody(ConsentStatement.self)
        let verified = try await CompactJWS.verify(request.statement, domain: "consent", validator: core.validatorSource(), now: core.clock.now())
        let record = try await recordConsent(verified, statement: request.statement, madeAt: o.identity.commonName, audit: o.audit)
        return try core.reply(o, record)
    }

    func queryConsents(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        return try core.reply(o, try await localConsents(o.message.decodeBody(ConsentQuery.self), audit: o.audit))
    }

    func localConsents(_ query: ConsentQuery, audit: AuditNotes?) async throws -> ConsentsResponse {
        let global = try core.regionalMPIService.globalPatient(query.patient)
        audit?.patient(global)
        let records = try await core.store.read { r in try r.consents(patientId: global.description) }
        return ConsentsResponse(patientId: global, consents: query.statements ? records : records.map(\.summary))
    }

    /// Records a verified consent statement (a directive) or applies it (a revocation) in this regional registry
    /// (the caller verified signature, chain and revocation: once per statement); returns the record as it now stands. The audit trail gets a Security Alert "object security
    /// attributes changed" beside the operation's event.
    func recordConsent(_ verified: CompactJWS.Verified, statement: String, madeAt node: String, audit: AuditNotes?) async throws -> ConsentRecord {
        _ = try core.regionalMPIService.regionalMPI()
        let now = core.clock.now()
        let said = try await content(of: verified, submittedBy: node, now: now)
        if let directive = said.directive {
            try directive.validate()
            try requireFresh(directive.issuedAt, now: now)
            let global = try core.regionalMPIService.globalPatient(try patientIdentifier(directive.patient))
            audit?.patient(global)
            try authorizeConsentSigner(said.signer, for: global)
            let record = ConsentRecord(
                directive: directive, patientId: global.description, signedBy: said.signer.commonName, recordedAt: node, recordedTime: now,
                statement: statement, attestedBy: said.attestedBy)
            try await keep(audit) { tx in try tx.saveConsent(record) }
            audit?.alert(.objectSecurityAttributesChanged)
            return record
        }
        guard let revocation = said.revocation else { throw PolicyError.invalidConsent("the statement is neither a consent directive nor a revocation") }
        try requireFresh(revocation.issuedAt, now: now)
        let global = try core.regionalMPIService.globalPatient(try patientIdentifier(revocation.patient))
        audit?.patient(global)
        try authorizeConsentSigner(said.signer, for: global)
        let signedBy = said.signer.commonName
        guard let existing = try await core.store.read({ r in try r.consent(id: revocation.consentId) }), existing.patientId == global.description else {
            throw DocumentsError(.notFound, "the patient has no consent with this id")
        }
        // The first revocation stands (the store keeps it if another came first); a repeated one changes nothing and
        // raises no alert.
        guard existing.revokedTime == nil else { return existing }
        var revoked = existing
        revoked.revokedTime = now
        revoked.revokedBy = signedBy
        revoked.revocationStatement = statement
        let id = revocation.consentId
        try await keep(audit) { tx in _ = try tx.revokeConsent(id: id, at: now, by: signedBy, statement: statement) }
        audit?.alert(.objectSecurityAttributesChanged)
        return revoked
    }

    /// Stores a consent change in the commit of the operation that made it (with its audit event: one durable commit
    /// per node per hop), or at once when no operation carries it.
    func keep(_ audit: AuditNotes?, _ write: @escaping @Sendable (any StoreTransaction) throws -> Void) async throws {
        if let audit { return audit.commit(write) }
        try await core.store.write { tx in try write(tx) }
    }

    /// What a verified statement says and on whose behalf: a card's own statement (a directive or a revocation, the
    /// card its signer), or a home node's attestation of what its patient asked at its portal (the patient's card,
    /// validated here, its speaker). The rules that follow are the same for both.
    /// An attestation is taken only as its attesting node submits it (`submittedBy`: the node that sent
    /// `consent.register`, or this node for its own patient), addressed to this registry.
    func content(of verified: CompactJWS.Verified, submittedBy: String, now: Date) async throws -> (signer: FederationIdentity, directive: ConsentDirective?, revocation: ConsentRevocation?, attestedBy: String?) {
        guard let signer = verified.signer else {
            throw ExchangeError(.forbidden, "a consent statement is signed by a patient's or a staff member's card")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        if verified.type == ConsentStatement.attestedType {
            guard signer.kind == .node else { throw ExchangeError(.forbidden, "only a patient's home node attests a consent statement") }
            guard let attested = try? decoder.decode(AttestedConsent.self, from: verified.payload),
                  (attested.directive == nil) != (attested.revocation == nil), attested.door == Door.portal.rawValue
            else { throw PolicyError.invalidConsent("the attestation does not carry one consent directive or revocation made at a portal") }
            try requireFresh(attested.attestedAt, now: now)
            guard attested.registry == core.id else {
                throw PolicyError.invalidConsent("the attestation is addressed to another consent registry")
            }
            guard signer.commonName == submittedBy else {
                throw ExchangeError(.forbidden, "an attestation is submitted by the node that made it")
            }
            guard attested.card.count <= 5 else { throw PolicyError.invalidConsent("the attestation carries more certificates than a card's chain") }
            let certificates = attested.card.compactMap { Data(base64Encoded: $0).flatMap { try? Certificate(derEncoded: Array($0)) } }
            guard certificates.count == attested.card.count, let card = certificates.first else {
                throw PolicyError.invalidConsent("the attestation does not carry the patient's card")
            }
            // The card itself, now: a card revoked since its session began speaks no more.
            let verdict = await core.validatorSource().validate(card, intermediates: Array(certificates.dropFirst()), usage: .tlsClient, validityTime: now, now: now)
            guard case .trusted = verdict, let holder = FederationIdentity(card) else {
                throw ExchangeError(.signerRejected, "the patient's card in the attestation is not valid in this federation")
            }
            guard holder.kind == .patient else {
                throw ExchangeError(.forbidden, "a node attests consent statements of patients only")
            }
            // The card's O is its home organisation, bound to the CA that issued it: no other node speaks for her.
            guard holder.organization == signer.commonName else {
                throw ExchangeError(.forbidden, "a node attests consent only for patients whose cards name it as their home organisation")
            }
            return (holder, attested.directive, attested.revocation, signer.commonName)
        }
        guard signer.kind == .person || signer.kind == .patient else {
            throw ExchangeError(.forbidden, "a consent statement is signed by a patient's or a staff member's card")
        }
        switch verified.type {
        case ConsentStatement.directiveType:
            guard let directive = try? decoder.decode(ConsentDirective.self, from: verified.payload) else {
                throw PolicyError.invalidConsent("the statement does not carry a consent directive")
            }
            return (signer, directive, nil, nil)
        case ConsentStatement.revocationType:
            guard let revocation = try? decoder.decode(ConsentRevocation.self, from: verified.payload) else {
                throw PolicyError.invalidConsent("the statement does not carry a consent revocation")
            }
            return (signer, nil, revocation, nil)
        default:
            throw PolicyError.invalidConsent("the statement is neither a consent directive nor a revocation")
        }
    }

    func requireFresh(_ issued: Date, now: Date) throws(PolicyError) {
        guard abs(issued.timeIntervalSince(now)) <= Self.statementWindow else {
            throw PolicyError.invalidConsent("the statement was not made within the last hour")
        }
    }

    func patientIdentifier(_ cx: String) throws(ExchangeError) -> PatientIdentifier {
        guard let p = PatientIdentifier(cx: cx) else { throw ExchangeError(.badRequest, "the patient is not a CX identifier (id^^^&authority&ISO)") }
        return p
    }

    /// For a patient's own-record operations: true when the sender is the patient named (by the identifier on their
    /// card); refused when the sender is another patient, or staff whose role is not among `roles` (nil: any staff,
    /// the caller decides).
    func requireOwnRecord(_ o: ExchangeRequest, _ patient: PatientIdentifier, or roles: [String]?) throws(ExchangeError) -> Bool {
        if o.identity.kind == .patient {
            guard patientIdentity(of: o.identity) == patient else {
                throw ExchangeError(.forbidden, "a patient acts only on their own record (by the identifier on their card)")
            }
            return true
        }
        if let roles, !roles.contains(o.identity.role ?? "") {
            throw ExchangeError(.forbidden, "this functional role may not do this for a patient")
        }
        return false
    }

    /// The patient a patient card names: its CN is the patient's id, its OU the assigning authority.
    func patientIdentity(of identity: FederationIdentity) -> PatientIdentifier? {
        guard identity.kind == .patient, let authority = identity.role, !authority.isEmpty else { return nil }
        return PatientIdentifier(id: identity.commonName, authority: authority)
    }

    /// A patient speaks for themselves (their card's identifier must be linked to the same person in the MPI);
    /// staff only in a role the policy names as a consent recorder.
    func authorizeConsentSigner(_ signer: FederationIdentity, for global: PatientIdentifier) throws {
        switch signer.kind {
        case .patient:
            guard let own = patientIdentity(of: signer), (try? core.regionalMPIService.globalPatient(own)) == global else {
                throw ExchangeError(.forbidden, "a patient states consent only for themselves")
            }
        case .person:
            guard let role = signer.role, core.policy.policy.consentRecorders?.contains(role) == true else {
                throw ExchangeError(.forbidden, "this functional role may not record a consent on a patient's behalf")
            }
        default:
            throw ExchangeError(.forbidden, "a consent statement is signed by a patient's or a staff member's card")
        }
    }
}

extension PolicyError {

    static func invalidConsent(_ message: String) -> PolicyError { PolicyError("consent.invalid", message) }
}
