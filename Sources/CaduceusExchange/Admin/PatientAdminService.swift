import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusPatientIndex
import CaduceusPolicy
import CaduceusStorage
import Foundation

/// The admin station's patients section at a hospital node, behind the gate: the signed-in person's role must be
/// one the policy names as `personnelAdministrators`, signed in at this node with a card of its organisation (the
/// station rule of ``AdminService``), and the policy must permit the role and purpose to read registration data
/// (confidentiality `M`, moderate: the decision and its reasons go on the trail).
///
/// - `admin.patients`: search the patients this node holds (demographics as the node stores them, from the HL7
///   feeds), or open one with the regional MPI's links (`mpi.pix`).
/// - `admin.mpi.review`, `admin.mpi.decide`: the regional MPI's review queue, forwarded to the regional node with
///   the administrator's assertion. The queue lives at the regional node, the one place that holds both records of
///   a possible match; the regional node shows a hospital only the possible matches whose record in doubt is in an
///   assigning authority that hospital's CA vouches for (the records its own registrations queued), and takes its
///   administrator's decision on those only (``RegionalReviewService``). The hospital's HIM administrator is who
///   knows that patient and can check the chart; the HIE keeps the rules and the history.
struct PatientAdminService: Sendable {
    let core: NodeCore

    /// The most patients a search returns, and the most registry rows it opens.
    static let maxResults = 50, scanLimit = 5_000

    func authorize(_ o: ExchangeRequest, what: String) async throws -> String {
        let claims = try await AdminService(core: core).authorize(o, what: what)
        guard core.decide(claims, Confidentiality.M.rawValue, audit: o.audit).isPermit else {
            throw ExchangeError(
                .forbidden, "the policy does not permit this role and purpose to read registration data")
        }
        guard let token = o.message.header.assertion else {
            throw ExchangeError(.forbidden, "sign in first (no assertion in the request)")
        }
        return token
    }

    /// `admin.patients`.
    func patients(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        _ = try await authorize(o, what: "read the patient registry")
        let request = try o.message.decodeBody(AdminPatientsRequest.self)
        if let identity = request.patient {
            let record = try await core.store.read { r in try r.patient(identity) }
            o.audit.patient(PatientIdentifier(id: identity.id, authority: identity.authority))
            guard let record else {
                throw ExchangeError(.unknownPatient, "this node holds no patient with this identity")
            }
            var links: MPILinks?
            var unavailable: String?
            do {
                let opened = try await core.call(
                    .mpiLinks, to: core.configuration.regionalNode, body: MPILinksRequest(identity: identity))
                links = try opened.message.decodeBody(MPILinks.self)
            } catch let e as any CaduceusError {
                unavailable = e.code
            } catch {
                unavailable = ExchangeError.Code.peerUnavailable.rawValue
            }
            let shown = AdminPatient(identity: record.identity, demographics: record.demographics)
            return try core.reply(
                o, AdminPatientsResponse(patients: [shown], record: record, links: links, linksUnavailable: unavailable)
            )
        }
        let c = request.criteria ?? Demographics()
        let localId = (request.localId ?? "").trimmingCharacters(in: .whitespaces)
        guard !(c.family.isEmpty && c.given.isEmpty && c.birthDate.isEmpty && localId.isEmpty) else {
            throw ExchangeError(.badRequest, "give a name, a birth date or a local id to search")
        }
        guard
            c.birthDate.isEmpty
                || (c.birthDate.count == 8 && c.birthDate.allSatisfy(\.isASCII) && c.birthDate.allSatisfy(\.isNumber))
        else {
            throw ExchangeError(.badRequest, "a birth date is given as YYYYMMDD")
        }
        let all = try await core.store.read { r in try r.patients(limit: Self.scanLimit) }
        let hits = all.filter { Self.matches($0, c, localId: localId) }
        let shown = hits.prefix(Self.maxResults).map {
            AdminPatient(identity: $0.identity, demographics: $0.demographics)
        }
        for p in shown { o.audit.patient(PatientIdentifier(id: p.identity.id, authority: p.identity.authority)) }
        return try core.reply(
            o,
            AdminPatientsResponse(
                patients: Array(shown), truncated: hits.count > shown.count || all.count == Self.scanLimit))
    }

    /// Name prefixes (case and accent insensitive), birth date and sex exactly, a local id among the PID-3 ids.
    static func matches(_ p: PatientRecord, _ c: Demographics, localId: String) -> Bool {
        func fold(_ s: String) -> String {
            s.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).trimmingCharacters(
                in: .whitespaces)
        }
        func prefix(_ value: String, _ wanted: String) -> Bool { wanted.isEmpty || fold(value).hasPrefix(fold(wanted)) }
        let d = p.demographics
        return prefix(d.family, c.family) && prefix(d.given, c.given)
            && (c.birthDate.isEmpty || d.birthDate == c.birthDate)
            && (c.sex.isEmpty || d.sex == c.sex)
            && (localId.isEmpty || p.identity.id == localId || p.identifiers.contains { $0.id == localId })
    }

    /// `admin.mpi.review`: the possible matches involving this hospital's patients, as the regional MPI lists them.
    func review(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let token = try await authorize(o, what: "work the MPI's review queue")
        let opened = try await core.call(
            .mpiReview, to: core.configuration.regionalNode, body: MPIReviewRequest(), assertion: token)
        let items = try opened.message.decodeBody([MPIReviewItem].self)
        for i in items {
            o.audit.patient(PatientIdentifier(id: i.record.identity.id, authority: i.record.identity.authority))
            o.audit.patient(PatientIdentifier(id: i.candidate.identity.id, authority: i.candidate.identity.authority))
        }
        return try core.reply(o, items)
    }

    /// `admin.mpi.decide`: accept or reject one of them at the regional MPI (which decides again whether this
    /// hospital may).
    func decide(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let token = try await authorize(o, what: "work the MPI's review queue")
        let request = try o.message.decodeBody(MPIDecisionRequest.self)
        o.audit.add(RegionalReviewService.object(request.review))
        let opened = try await core.call(
            .mpiDecide, to: core.configuration.regionalNode, body: request, assertion: token)
        try core.keepInCommit(opened, audit: o.audit)
        return try core.reply(o, try opened.message.decodeBody(MPIDecisionResponse.self))
    }
}
