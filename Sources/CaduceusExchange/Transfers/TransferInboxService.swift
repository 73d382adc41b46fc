import CaduceusAudit
import CaduceusCDA
import CaduceusCore
import CaduceusHL7
import CaduceusDocuments
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusPolicy
import CaduceusStorage
import Foundation
import Synchronization

/// The transfer inbox of a hospital node (DESIGN §2, flow 4, the receiving side's clinician): what other hospitals
/// pushed here (``TransferService`` keeps each received transfer in the inbox as it stores its documents, and each
/// sent one), and its acceptance, which files the documents under a local patient: the one the regional MPI links to
/// the patient the sender named, one the clinician chooses from this hospital's registry, or one the clinician
/// registers here (``register(_:claims:audit:)``: a role the policy names `patientRegistrars`). Filing registers the
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

    /// The transfers being accepted in this process (node id and transfer id): an acceptance — with the patient it
    /// may register first — runs once at a time per transfer, so a double submit cannot register a second patient
    /// for a transfer another acceptance is filing.
    static let accepting = Mutex<Set<String>>([])

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
            // Nobody linked: a registrar is offered the patient as the document's header names her.
            var registration: NewLocalPatient?
            if t.accepted == nil, linked == nil, linkError == nil, mayRegister(claims),
                let authority = registrationAuthority(),
                let document = shown.entries.first(where: { $0.mimeType == DocumentMetadata.cdaMimeType })
            {
                registration = await proposal(document, authority: authority)
            }
            inbox.append(
                InboxTransfer(
                    transfer: shown, withheld: t.entries.count - shown.entries.count, linkedPatient: linked,
                    linkError: linkError, registration: registration))
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
        let claim = core.id + "\u{0}" + request.transfer
        guard Self.accepting.withLock({ $0.insert(claim).inserted }) else {
            throw ExchangeError(.invalidTransition, "this transfer is being accepted by another request")
        }
        defer { _ = Self.accepting.withLock { $0.remove(claim) } }
        // Read once the claim is held: an acceptance that finished meanwhile is seen.
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
        if let registration = request.register {
            guard request.localId == nil else { throw ExchangeError(.badRequest, "name a patient of this hospital or register one, not both") }
            // A patient the MPI links already is not registered twice (the service decides, not the page).
            if let sourcePatient = transfer.entries.first?.sourcePatientId, try await localPatient(linkedTo: sourcePatient) != nil {
                throw ExchangeError(.patientExists, "the MPI links a patient of this hospital to the transfer's patient: accept under her")
            }
            patient = try await register(registration, claims: claims, audit: o.audit)
        } else if let localId = request.localId?.trimmingCharacters(in: .whitespaces), !localId.isEmpty {
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

    // MARK: - Registering a new patient

    /// Whether the policy lets this person's role register patients here (default deny: a policy without
    /// `patientRegistrars` lets nobody).
    func mayRegister(_ claims: AssertionClaims) -> Bool { core.policy.policy.patientRegistrars?.contains(claims.role) == true }

    /// The assigning authority a patient registered here gets her MRN in: one this node's CA vouches for that its
    /// HL7 feed takes (nil: this node has no feed, and registers nobody).
    func registrationAuthority() -> String? {
        guard let intake = core.patientIntake else { return nil }
        return ownAuthorities().filter { intake.configuration.knownAuthorities.contains($0) }.sorted().first
    }

    /// The patient as a received CDA's header names her (recordTarget: name, birth date, sex), read from this
    /// repository's copy; empty fields when it cannot be read. The MRN is left to the clinician.
    func proposal(_ entry: DocumentEntry, authority: String) async -> NewLocalPatient {
        var proposal = NewLocalPatient(authority: authority, family: "", given: "")
        guard let row = try? await core.store.read({ r in try r.repositoryDocument(uniqueId: entry.uniqueId) }),
            let content = try? core.blobs.get(row), let header = try? CDAHeader.readHeader(content)
        else { return proposal }
        let named = header.patient.unsafeValue
        proposal.family = named.family
        proposal.given = named.given.joined(separator: " ")
        proposal.birthDate = String(named.birthTime.prefix(8))
        proposal.sex = named.gender
        return proposal
    }

    /// Registers a new patient of this hospital for the inbox's acceptance, and returns her identity.
    ///
    /// The registration is an ADT^A04 that this node builds and hands to its own HL7 receiver
    /// (``HL7Receiver/registerNew(_:)``), not a row written here. The EMR's feed is the one way a patient enters a
    /// hospital's registry, so the inbox uses it too: the same parse rules, code tables (administrative sex, the
    /// assigning authority), local MPI, message log, audit record, and the hook that registers the identity with the
    /// regional MPI (which links her to the sender's patient by matching). A second path would drift from the
    /// first. The message names the clinician as EVN-5 (operator). What the receiver adds for this path: PID-3 must
    /// be new, checked in its unit of work, so an MRN given to another patient is refused, never overwritten.
    ///
    /// Refusals: `exchange.forbidden` (a role the policy does not name), `exchange.bad-request` (no name, a malformed
    /// MRN or date), `exchange.patient-exists` (the MRN is taken), `exchange.unknown-code` (a code table refuses the
    /// sex or the authority), `exchange.wrong-role` (a node without an HL7 feed for its domain).
    func register(_ new: NewLocalPatient, claims: AssertionClaims, audit: AuditNotes) async throws -> PatientIdentifier {
        guard mayRegister(claims) else {
            throw ExchangeError(.forbidden, "the policy does not let this functional role register patients")
        }
        guard let intake = core.patientIntake, let authority = registrationAuthority() else {
            throw ExchangeError(.wrongRole, "this node registers no patients of its own (it has no HL7 feed for its domain)")
        }
        let mrn = new.mrn.trimmingCharacters(in: .whitespaces)
        guard !mrn.isEmpty, mrn.count <= 40, mrn.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._/".contains($0)) }) else {
            throw ExchangeError(.badRequest, "a hospital id (MRN) is 1 to 40 letters, digits or - . _ /")
        }
        func clean(_ s: String) -> String { s.trimmingCharacters(in: .whitespaces) }
        let family = clean(new.family), given = clean(new.given), birth = clean(new.birthDate), sex = clean(new.sex)
        guard !family.isEmpty || !given.isEmpty else {
            throw ExchangeError(.badRequest, "a patient is registered with a family or a given name")
        }
        guard family.count <= 100, given.count <= 100,
            !(family + given).unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw ExchangeError(.badRequest, "a name is at most 100 characters, without control characters") }
        guard birth.isEmpty || (birth.count == 8 && birth.allSatisfy(\.isNumber)) else {
            throw ExchangeError(.badRequest, "a birth date is YYYYMMDD")
        }
        guard sex.count <= 2, sex.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw ExchangeError(.badRequest, "administrative sex is a code of HL7 table 0001")
        }
        let identity = LocalIdentity(id: mrn, authority: authority)
        audit.patient(PatientIdentifier(id: mrn, authority: authority))
        // Refused before the feed when the MRN is plainly taken (the receiver checks again in its unit of work).
        if try await core.store.read({ r in try r.patient(identity) }) != nil {
            throw ExchangeError(.patientExists, "this hospital has given this id to another patient")
        }
        let admission = Self.admission(
            NewLocalPatient(mrn: mrn, authority: authority, family: family, given: given, birthDate: birth, sex: sex),
            operator: claims.sub, nodeId: core.id, now: core.clock.now())
        let answer = await intake.registerNew(admission)
        guard answer.kind == .accepted else { throw Self.refusal(answer.bytes) }
        return PatientIdentifier(id: mrn, authority: authority)
    }

    /// The ADT^A04 (HL7 v2.5.1, UTF-8) registering `patient`: MSH from this node's inbox, EVN-5 the operator, PID-3
    /// the MRN in its authority, PID-5 the name, PID-7 the birth date, PID-8 the sex. Every value is escaped.
    static func admission(_ patient: NewLocalPatient, operator: String, nodeId: String, now: Date) -> [UInt8] {
        func e(_ s: String) -> String { HL7Escaping.escape(s, delimiters: .standard) }
        let ts = HL7Receiver.timestamp(now)
        let control = "INBOX" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(15)
        return Array(([
            "MSH|^~\\&|CADUCEUS-INBOX|\(e(nodeId))|CADUCEUS|\(e(nodeId))|\(ts)||ADT^A04^ADT_A01|\(control)|P|2.5.1|||AL|NE||UNICODE UTF-8",
            "EVN|A04|\(ts)|||\(e(String(`operator`.prefix(100))))",
            "PID|1||\(e(patient.mrn))^^^&\(e(patient.authority))&ISO^MR||\(e(patient.family))^\(e(patient.given))||\(patient.birthDate)|\(e(patient.sex))",
        ].joined(separator: "\r") + "\r").utf8)
    }

    /// The exchange's error for the receiver's refusal (its ACK's ERR: ERR-5 the receiver's code, ERR-8 its PHI-free
    /// message).
    static func refusal(_ ack: [UInt8]) -> ExchangeError {
        guard let message = try? HL7Message(parsing: ack), let err = message.view(ERRSegment.self) else {
            return ExchangeError(.badRequest, "the registration was refused")
        }
        let code = (try? err.string(5)) ?? "", text = (try? err.string(8)) ?? ""
        switch code {
        case HL7Error.Code.duplicateKey.rawValue: return ExchangeError(.patientExists, "this hospital has given this id to another patient")
        case HL7Error.Code.badDataType.rawValue where text.contains("table"), HL7Error.Code.unknownKey.rawValue:
            return ExchangeError(.unknownCode, "the registration was refused: " + text)
        case HL7Error.Code.applicationError.rawValue:
            return ExchangeError(ExchangeError.Code("exchange.internal", .internal), "the registration could not be stored; try again")
        default: return ExchangeError(.badRequest, "the registration was refused: " + text)
        }
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
