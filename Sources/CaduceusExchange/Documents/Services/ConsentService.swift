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


    /// `user.consent`: checks the statement is the requester's own, then records it at the regional registry.
    func userConsent(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        _ = try await core.authorize(o, allowPatients: true)
        let request = try o.message.decodeBody(ConsentStatement.self)
        let verified = try await CompactJWS.verify(request.statement, domain: "consent", validator: core.validatorSource(), now: core.clock.now())
        guard verified.signer?.commonName == o.identity.commonName else {
            throw ExchangeError(.forbidden, "a consent statement must be signed by the person sending it")
        }
        try core.keep(o)
        let record: ConsentRecord
        if core.configuration.roles.contains(.regional) {
            record = try await recordConsent(verified, statement: request.statement, madeAt: core.id, audit: o.audit)
        } else {
            let opened = try await core.call(.registerConsent, to: core.configuration.regionalNode, body: request)
            try core.keepInCommit(opened, audit: o.audit)
            record = try opened.message.decodeBody(ConsentRecord.self)
            o.audit.add(.patient(record.patientId))
        }
        return try core.reply(o, record)
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
        guard let signer = verified.signer, signer.kind == .person || signer.kind == .patient else {
            throw ExchangeError(.forbidden, "a consent statement is signed by a patient's or a staff member's card")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        switch verified.type {
        case ConsentStatement.directiveType:
            guard let directive = try? decoder.decode(ConsentDirective.self, from: verified.payload) else {
                throw PolicyError.invalidConsent("the statement does not carry a consent directive")
            }
            try directive.validate()
            try requireFresh(directive.issuedAt, now: now)
            let global = try core.regionalMPIService.globalPatient(try patientIdentifier(directive.patient))
            audit?.patient(global)
            try authorizeConsentSigner(signer, for: global)
            let record = ConsentRecord(directive: directive, patientId: global.description, signedBy: signer.commonName, recordedAt: node, recordedTime: now, statement: statement)
            try await core.store.write { tx in try tx.saveConsent(record) }
            audit?.alert(.objectSecurityAttributesChanged)
            return record
        case ConsentStatement.revocationType:
            guard let revocation = try? decoder.decode(ConsentRevocation.self, from: verified.payload) else {
                throw PolicyError.invalidConsent("the statement does not carry a consent revocation")
            }
            try requireFresh(revocation.issuedAt, now: now)
            let global = try core.regionalMPIService.globalPatient(try patientIdentifier(revocation.patient))
            audit?.patient(global)
            try authorizeConsentSigner(signer, for: global)
            let signedBy = signer.commonName
            let record = try await core.store.write { tx -> ConsentRecord? in
                guard let existing = try tx.consent(id: revocation.consentId), existing.patientId == global.description else { return nil }
                _ = try tx.revokeConsent(id: revocation.consentId, at: now, by: signedBy, statement: statement)
                return try tx.consent(id: revocation.consentId)
            }
            guard let record else { throw DocumentsError(.notFound, "the patient has no consent with this id") }
            audit?.alert(.objectSecurityAttributesChanged)
            return record
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
