import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusPolicy
import CaduceusStorage
import Foundation

/// The transfer inbox of a hospital node (DESIGN §2, flow 4, the receiving side's clinician): what other hospitals
/// pushed here (``TransferService`` keeps each received transfer in the inbox as it stores its documents, and each
/// sent one), and its acceptance, which files the documents under a local patient: the one the regional MPI links to
/// the patient the sender named, or one the clinician chooses from this hospital's registry. Filing registers the
/// documents with the regional registry as held by this repository under that patient (a document the sender
/// registered already with the same content stays as it is). A transfer is accepted once.
///
/// For the clinicians of this hospital only (signed in at any node, but of this organisation); each document's
/// confidentiality is weighed for the person's role and purpose: the list withholds what they may not see, and
/// acceptance needs a permit for every document.
struct TransferInboxService: Sendable {
    let core: NodeCore

    /// The most transfers a list shows per direction, and the most inbox rows whose MPI link it looks up.
    static let maxList = 200, maxLookups = 20

    func clinician(_ o: ExchangeRequest) async throws -> AssertionClaims {
        let claims = try await core.authorize(o)
        try core.requireHome(claims)
        guard core.decide(claims, Confidentiality.U.rawValue, audit: o.audit).isPermit else {
            throw ExchangeError(.forbidden, "the policy does not permit this role and purpose to handle transfers")
        }
        return claims
    }

    /// `user.transfers`.
    func list(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await clinician(o)
        let request = try o.message.decodeBody(TransfersRequest.self)
        let limit = max(1, min(request.limit, Self.maxList))
        let (received, sent) = try await core.store.read { r in
            (try r.transfers(.received, limit: limit), try r.transfers(.sent, limit: limit))
        }
        func visible(_ t: TransferRecord) -> TransferRecord {
            var shown = t
            shown.entries = t.entries.filter { core.decide(claims, $0.confidentialityCode.code, audit: nil).isPermit }
            return shown
        }
        var inbox: [InboxTransfer] = []
        var lookups = 0
        for t in received {
            let shown = visible(t)
            var linked = t.accepted?.patient
            var linkError: String?
            if t.accepted == nil, let patient = t.entries.first?.sourcePatientId {
                if lookups < Self.maxLookups {
                    lookups += 1
                    do { linked = try await localPatient(linkedTo: patient) } catch {
                        linkError = (error as? any CaduceusError)?.code ?? ExchangeError.Code.peerUnavailable.rawValue
                    }
                } else {
                    linkError = "exchange.not-looked-up"
                }
            }
            inbox.append(
                InboxTransfer(
                    transfer: shown, withheld: t.entries.count - shown.entries.count, linkedPatient: linked,
                    linkError: linkError))
            for e in shown.entries { o.audit.patient(e.sourcePatientId) }
        }
        let outbox = sent.map(visible)
        for t in outbox { for e in t.entries { o.audit.patient(e.sourcePatientId) } }
        return try core.reply(o, TransfersResponse(received: inbox, sent: outbox))
    }

    /// `user.transfer.accept`.
    func accept(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await clinician(o)
        let request = try o.message.decodeBody(TransferAcceptRequest.self)
        guard let transfer = try await core.store.read({ r in try r.transfer(id: request.transfer, .received) }) else {
            throw ExchangeError(.notFound, "no such received transfer")
        }
        o.audit.documents(transfer.entries.map(\.uniqueId))
        for e in transfer.entries { o.audit.patient(e.sourcePatientId) }
        guard transfer.accepted == nil else {
            throw ExchangeError(.invalidTransition, "this transfer was accepted already")
        }
        for e in transfer.entries where !core.decide(claims, e.confidentialityCode.code, audit: o.audit).isPermit {
            throw ExchangeError(
                .forbidden, "the policy does not let this role and purpose file a document of this confidentiality")
        }
        let patient: PatientIdentifier
        if let localId = request.localId?.trimmingCharacters(in: .whitespaces), !localId.isEmpty {
            let own = ownAuthorities()
            let held = try await core.store.read { r in try r.patients(limit: PatientAdminService.scanLimit) }
            guard
                let chosen = held.first(where: {
                    $0.identity.id == localId && IssuerNamespace.admits(own, $0.identity.authority)
                })
            else {
                throw ExchangeError(.unknownPatient, "this hospital holds no patient with this id")
            }
            patient = PatientIdentifier(id: chosen.identity.id, authority: chosen.identity.authority)
        } else {
            guard let sourcePatient = transfer.entries.first?.sourcePatientId,
                let linked = try await localPatient(linkedTo: sourcePatient)
            else {
                throw ExchangeError(
                    .unknownPatient, "the MPI links no patient of this hospital to the transfer's patient: choose one")
            }
            patient = linked
        }
        o.audit.patient(patient)
        let now = core.clock.now()
        // Filed here under the local patient (the acceptance names her). Nothing is registered again: the registry
        // holds each uniqueId once, under the repository and patient that first registered it (a copy under another
        // repository is refused as `documents.duplicate-unique-id`), so the sender's entry stays the federation's.
        let acceptance = TransferAcceptance(patient: patient, by: claims.sub, at: now)
        let id = transfer.id
        let accepted = try await core.store.write { tx in try tx.acceptTransfer(id: id, acceptance) }
        return try core.reply(o, InboxTransfer(transfer: accepted, withheld: 0, linkedPatient: patient))
    }

    /// The hospitals of the directory other than this one (the recipients a transfer may name).
    static func hospitals(_ core: NodeCore) async -> [String]? {
        guard
            let listing = try? await core.transport.get(
                core.configuration.directoryEndpoint, path: "/v1/directory/nodes"),
            let nodes = try? JSONDecoder.exchange.decode([DirectoryNode].self, from: Data(listing))
        else { return nil }
        return nodes.filter { $0.id != core.id && $0.roles.contains(NodeRole.hospital.rawValue) }.map(\.id).sorted()
    }

    /// The assigning authorities this node's CA vouches for.
    func ownAuthorities() -> [String] {
        core.credential.chain.first.flatMap { IssuerNamespace(of: $0) }?.authorities ?? []
    }

    /// The patient of this hospital's registry the regional MPI links to `patient` (nil: none).
    func localPatient(linkedTo patient: PatientIdentifier) async throws -> PatientIdentifier? {
        let own = ownAuthorities()
        let asked = LocalIdentity(id: patient.id, authority: patient.authority)
        var candidates: [LocalIdentity] = IssuerNamespace.admits(own, asked.authority) ? [asked] : []
        if candidates.isEmpty {
            let opened = try await core.call(
                .mpiLinks, to: core.configuration.regionalNode, body: MPILinksRequest(identity: asked))
            candidates = try opened.message.decodeBody(MPILinks.self).identities.filter {
                IssuerNamespace.admits(own, $0.authority)
            }
        }
        for c in candidates where try await core.store.read({ r in try r.patient(c) }) != nil {
            return PatientIdentifier(id: c.id, authority: c.authority)
        }
        return nil
    }
}

extension ExchangeNode {
    /// The hospitals of the federation's directory other than this node (nil: the directory did not answer): the
    /// recipients the portal's transfer form offers.
    package func otherHospitals() async -> [String]? { await TransferInboxService.hospitals(core) }
}
