import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusStorage
import Foundation

/// The regional MPI's side of the admin station's patients section: PIX between nodes (`mpi.pix`) and the review
/// queue worked from a hospital's admin station (`mpi.review`, `mpi.decide`), every answer bounded by what the
/// asking node's CA vouches for (its assigning authorities, ``IssuerNamespace``).
///
/// The review queue is worked for a named administrator: the forwarded assertion must be valid now, issued by the
/// forwarding node for its own organisation, not signed out, and name a role the policy lists as
/// `personnelAdministrators`. A hospital sees and decides only the possible matches whose record in doubt (the one its
/// registration queued) is in its assigning authorities; a decision on an item already decided (or another
/// hospital's) is `exchange.not-found`.
struct RegionalReviewService: Sendable {
    let core: NodeCore

    /// The administrator a hospital node forwards, and the assigning authorities that node's CA vouches for.
    func administrator(_ o: ExchangeRequest) async throws -> (AssertionClaims, [String]) {
        guard let token = o.message.header.assertion else {
            throw ExchangeError(.forbidden, "the review queue is worked only for a named administrator (no assertion)")
        }
        let claims = try await SignedAssertion.verify(
            token, audience: ExchangeNode.federationAudience, validator: core.validatorSource(), now: core.clock.now())
        guard claims.iss == o.identity.commonName, claims.org == o.identity.commonName else {
            throw ExchangeError(
                .forbidden,
                "the administrator's assertion was not issued by the forwarding node for its own organisation")
        }
        try core.sessions.use(claims, now: core.clock.now())
        o.audit.purpose(claims.pou)
        guard core.policy.policy.personnelAdministrators?.contains(claims.role) == true else {
            throw ExchangeError(.forbidden, "the policy does not let this functional role work the MPI's review queue")
        }
        let authorities = o.issuerNamespace?.authorities ?? []
        guard !authorities.isEmpty else {
            throw ExchangeError(.forbidden, "the forwarding node's CA vouches for no assigning authority")
        }
        return (claims, authorities)
    }

    /// The possible matches whose record in doubt (the one whose registration or update queued it) is in
    /// `authorities`, oldest first. Each item belongs to exactly one hospital: the one that registered the record in
    /// doubt knows its patient and can check the chart; the candidate's hospital is not asked to decide for it.
    static func visible(_ index: MasterPatientIndex, _ authorities: [String]) -> [MPIReviewItem] {
        index.reviewQueue.compactMap { item in
            guard let a = index.identity(of: item.recordID), let b = index.identity(of: item.candidateRecordID),
                IssuerNamespace.admits(authorities, a.authority)
            else { return nil }
            func side(_ record: Int64, _ identity: LocalIdentity) -> MPIReviewItem.Side {
                .init(
                    identity: identity, demographics: index.demographics(of: record) ?? Demographics(),
                    patientId: index.person(of: record) ?? "")
            }
            return MPIReviewItem(
                id: item.id, weight: item.weight, reason: item.reason, record: side(item.recordID, a),
                candidate: side(item.candidateRecordID, b))
        }
    }

    /// `mpi.review`.
    func review(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let mpi = try core.regionalMPIService.regionalMPI()
        let (_, authorities) = try await administrator(o)
        let items = mpi.read { Self.visible($0, authorities) }
        for i in items {
            o.audit.patient(PatientIdentifier(id: i.record.identity.id, authority: i.record.identity.authority))
            o.audit.patient(PatientIdentifier(id: i.candidate.identity.id, authority: i.candidate.identity.authority))
        }
        return try core.reply(o, items)
    }

    /// `mpi.decide`: the MPI's own accept/reject rules (``MasterPatientIndex/acceptReview(_:)``), persisted with the
    /// MPI's history naming the administrator and their organisation.
    func decide(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let mpi = try core.regionalMPIService.regionalMPI()
        let (claims, authorities) = try await administrator(o)
        let request = try o.message.decodeBody(MPIDecisionRequest.self)
        o.audit.add(Self.object(request.review))
        guard let item = mpi.read({ Self.visible($0, authorities) }).first(where: { $0.id == request.review }) else {
            throw ExchangeError(
                .notFound, "no such open possible match for this hospital (decided already, or not its patients')")
        }
        o.audit.patient(PatientIdentifier(id: item.record.identity.id, authority: item.record.identity.authority))
        o.audit.patient(PatientIdentifier(id: item.candidate.identity.id, authority: item.candidate.identity.authority))
        let id = request.review, decision = request.decision
        let change = try await mpi.perform(actor: "\(claims.sub) (\(claims.role), \(claims.org))") { index in
            decision == .accept ? try index.acceptReview(id) : try index.rejectReview(id)
        }
        return try core.reply(
            o, MPIDecisionResponse(review: id, decision: decision, relinked: change.assignments.count))
    }

    /// `mpi.pix`: the global id of an identity and the identities linked to it — all of them, with the MPI's history
    /// of the record, when the asking node's CA vouches for the identity (PIX for its own patient); otherwise only the
    /// asking node's own identities (a transfer's recipient finding its patient for the sender's).
    func links(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let mpi = try core.regionalMPIService.regionalMPI()
        let request = try o.message.decodeBody(MPILinksRequest.self)
        let authorities = o.issuerNamespace?.authorities ?? []
        let vouched = IssuerNamespace.admits(authorities, request.identity.authority)
        o.audit.patient(PatientIdentifier(id: request.identity.id, authority: request.identity.authority))
        let found = mpi.read { index -> (Int64, String, [LocalIdentity])? in
            guard let record = index.record(of: request.identity), let person = index.person(of: record) else {
                return nil
            }
            return (record, person, index.members(of: person).compactMap { index.identity(of: $0) })
        }
        guard let (record, person, identities) = found else {
            throw ExchangeError(.unknownPatient, "the MPI does not know this patient identity")
        }
        let shown = vouched ? identities : identities.filter { IssuerNamespace.admits(authorities, $0.authority) }
        let events = vouched ? try await core.store.read { r in try r.mpiEvents(record: record) } : []
        return try core.reply(
            o,
            MPILinks(
                patientId: PatientIdentifier(id: person, authority: mpi.globalAuthority), identities: shown.sorted(),
                history: events.map {
                    .init(action: $0.action, from: $0.personBefore, to: $0.personAfter, actor: $0.actor)
                }))
    }

    static func object(_ review: Int64) -> AuditObject {
        AuditObject(
            typeCode: 2, role: 13,
            idType: AuditCode("mpi-review", system: "caduceus-audit", display: "MPI review item"), id: String(review))
    }
}
