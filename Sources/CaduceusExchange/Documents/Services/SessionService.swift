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

/// Sessions: sign-in (a signed assertion naming the card's home organisation), sign-out (persisted, told to every node), the node-to-node revocation (only from the issuing node), and the break-glass review queue.
struct SessionService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    /// How long a sign-in lasts, and a break-glass one.
    static let signInLifetime: TimeInterval = 8 * 3600, emergencyLifetime: TimeInterval = 3600

    func signIn(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        try core.requirePerson(o, allowPatients: true)
        // The CRLs held here passed the card; its CA's OCSP responder may know of a later revocation.
        try await OnlineStatusCheck(core: core).require(o)
        let request = try o.message.decodeBody(SignInRequest.self)
        let role: String
        if o.identity.kind == .patient {
            // A patient acts on their own record only (consents, access report): purpose "patient request".
            guard request.purpose == ExchangeNode.patientPurpose else { throw ExchangeError(.badRequest, "a patient signs in for the purpose PATRQT") }
            role = "patient"
        } else {
            guard PurposeOfUse(rawValue: request.purpose) != nil else { throw ExchangeError(.badRequest, "the purpose of use is not one this federation knows") }
            guard request.purpose != ExchangeNode.patientPurpose else { throw ExchangeError(.badRequest, "PATRQT is a patient's own purpose") }
            guard let cardRole = o.identity.role, !cardRole.isEmpty else { throw ExchangeError(.forbidden, "the card names no functional role") }
            guard !cardRole.hasPrefix("system:") else { throw ExchangeError(.forbidden, "a system role is not a person's functional role") }
            role = cardRole
        }
        o.audit.purpose(request.purpose)
        let emergency = request.purpose == PurposeOfUse.ETREAT.rawValue
        let reason = (request.reason ?? "").trimmingCharacters(in: .whitespaces)
        if emergency, reason.count < 4 {
            throw ExchangeError(.badRequest, "an emergency access (ETREAT) needs a stated reason")
        }
        let now = core.clock.now()
        let lifetime = emergency ? Self.emergencyLifetime : Self.signInLifetime
        let t = Int64(now.timeIntervalSince1970)
        let claims = AssertionClaims(
            iss: core.id, sub: o.identity.commonName, aud: ExchangeNode.federationAudience, role: role, org: try core.homeOrganization(o.identity), pou: request.purpose,
            iat: t, nbf: t, exp: t + Int64(lifetime), jti: UUID().uuidString.lowercased())
        let token = try SignedAssertion.issue(claims, by: core.credential)
        if emergency {
            // Break-glass: into the review queue (with the reason, sealed) and onto the trail as an override.
            let entry = EmergencyAccess(
                id: claims.jti, subject: claims.sub, role: role, declaredAt: core.id, reason: String(reason.prefix(500)),
                started: now, expires: Date(timeIntervalSince1970: Double(claims.exp)))
            try await core.store.write { tx in try tx.noteEmergencyAccess(entry, useAt: nil) }
            o.audit.alert(.emergencyOverrideStarted)
        }
        return try core.reply(o, SignInResponse(assertion: token, expires: Date(timeIntervalSince1970: Double(claims.exp))))
    }

    func signOut(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o, allowPatients: true)
        core.sessions.revoke(claims)
        let now = core.clock.now(), emergency = claims.pou == PurposeOfUse.ETREAT.rawValue
        try await core.store.write { tx in
            try tx.rememberSignOut(jti: claims.jti, expires: claims.exp)
            if emergency { try tx.endEmergencyAccess(id: claims.jti, at: now) }
        }
        if emergency { o.audit.alert(.emergencyOverrideStopped) }
        let told = await propagateSignOut(SessionRevocation(jti: claims.jti, expires: claims.exp, assertion: o.message.header.assertion))
        return try core.reply(o, ["signedOut": claims.jti, "nodesTold": String(told)])
    }

    /// Tells every other node of the directory that an assertion was signed out (concurrently, best effort: a node
    /// that cannot be reached keeps honouring it until it expires or idles out). Returns how many nodes were told.
    func propagateSignOut(_ revocation: SessionRevocation) async -> Int {
        guard let others = await core.otherNodes() else { return 0 }
        return await withTaskGroup(of: Bool.self) { group in
            for node in others {
                group.addTask { (try? await core.call(.revokeSession, to: node, body: revocation)) != nil }
            }
            var told = 0
            for await ok in group where ok { told += 1 }
            return told
        }
    }

    /// The privacy officer's view of this node's break-glass review queue (reasons included).
    func userEmergencies(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o)
        try core.requireHome(claims)
        try requireEmergencyReviewer(claims)
        let request = try o.message.decodeBody(EmergencyQueueRequest.self)
        let unreviewed = request.unreviewedOnly
        return try core.reply(o, try await core.store.read { try $0.emergencyAccesses(unreviewedOnly: unreviewed) })
    }

    /// Records the privacy officer's finding on one emergency access (the reviewer is the signed-in person).
    func userEmergencyReview(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o)
        try core.requireHome(claims)
        try requireEmergencyReviewer(claims)
        let request = try o.message.decodeBody(EmergencyReviewRequest.self)
        let note = request.note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty, note.count <= 2000 else { throw ExchangeError(.badRequest, "a review needs a finding of at most 2000 characters") }
        o.audit.add(AuditObject(typeCode: 2, role: 13, idType: AuditCode("jti", system: "caduceus-audit", display: "Emergency access"), id: request.id))
        let (id, reviewer, now) = (request.id, claims.sub, core.clock.now())
        let entry = try await core.store.write { tx -> Result<EmergencyAccess, ExchangeError>? in
            guard let existing = try tx.emergencyAccess(id: id) else { return nil }
            // Nobody reviews their own emergency access.
            guard existing.subject != reviewer else { return .failure(ExchangeError(.forbidden, "a privacy officer may not review their own emergency access")) }
            guard try tx.reviewEmergencyAccess(id: id, reviewer: reviewer, note: note, at: now) else { return nil }
            return try tx.emergencyAccess(id: id).map { .success($0) }
        }
        guard let entry else { throw DocumentsError(.notFound, "this node has no emergency access with this id") }
        return try core.reply(o, try entry.get())
    }

    func requireEmergencyReviewer(_ claims: AssertionClaims) throws(ExchangeError) {
        guard core.policy.policy.emergencyReviewers?.contains(claims.role) == true else {
            throw ExchangeError(.forbidden, "this functional role may not read or review the break-glass queue")
        }
    }

    /// `session.revoke`: another node's sign-out; the assertion is refused here too (and a break-glass access it
    /// carried ends in this node's review queue).
    func revokeSession(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let revocation = try o.message.decodeBody(SessionRevocation.self)
        // A node ends only the sessions it issued: the revocation carries the assertion, whose issuer must be the sender.
        guard let token = revocation.assertion,
              let claims = try? await SignedAssertion.verify(token, audience: ExchangeNode.federationAudience, validator: core.validatorSource(), now: core.clock.now()),
              claims.jti == revocation.jti, claims.iss == o.identity.commonName
        else { throw ExchangeError(.forbidden, "a node ends only the sign-ins it issued") }
        core.sessions.revoke(claims)
        let now = core.clock.now()
        try await core.store.write { tx in
            try tx.rememberSignOut(jti: claims.jti, expires: claims.exp)
            try tx.endEmergencyAccess(id: claims.jti, at: now)
        }
        return try core.reply(o, ["revoked": claims.jti])
    }
}
