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

/// What every service of a node shares: its place in the federation, its credential and validator, its store and
/// blobs, the MPI (regional), the outbound transport and directory cache, the clock, the policy decision point, the
/// sign-in ledger and the replay cache — and the steps every service uses (the signed-in person behind a request,
/// the policy decision, evidence, replies, outbound calls). The services are small values over it.
final class NodeCore: Sendable {
    /// This node's place in the federation; its endpoints are completed once its listener is bound.
    let place: Mutex<ExchangeConfiguration>
    var configuration: ExchangeConfiguration { place.withLock { $0 } }

    /// The node's own credential, renewed in place (``RenewableCredential``).
    let credentials: RenewableCredential
    /// The credential to sign with now.
    var credential: Credential { credentials.current }

    let validatorSource: @Sendable () -> ChainValidator

    let store: any CaduceusStore

    let blobs: BlobStore

    let mpi: MPIService?

    let transport: any PeerTransport

    let clock: any WallClock

    /// Directory entries looked up, with when: an entry is looked up again after ``directoryCacheSeconds`` (a
    /// node's renewed certificate reaches its peers) or once its certificate has expired.
    let directoryCache = Mutex<[String: (DirectoryNode, Certificate, Date)]>([:])
    static let directoryCacheSeconds: TimeInterval = 300

    /// The policy decision point guarding users' operations.
    let policy: PolicyDecisionPoint

    /// Where this (regional) node's audit repository listens for syslog, once bound.
    let auditRepositoryAddress = Mutex<(host: String, port: Int)?>(nil)

    /// Sign-in sessions started or used here (idle time, sign-out).
    let sessions = AssertionLedger()

    /// Request ids seen within the freshness window (per signer), restored from the store at start.
    let seenRequests = Mutex<[String: Date]>([:])

    /// The revocation lists this node keeps and re-serves.
    let revocation: (any RevocationLists)?

    /// The CA this (hospital) node issues cards from, once the composition root attached one.
    let cardAuthorityBox = Mutex<(any CardAuthority)?>(nil)
    var cardAuthority: (any CardAuthority)? { cardAuthorityBox.withLock { $0 } }
    /// The HL7 receiver this (hospital) node registers patients through, once the composition root attached it
    /// (the transfer inbox's registration: ``HL7Receiver/registerNew(_:)``).
    let patientIntakeBox = Mutex<HL7Receiver?>(nil)
    var patientIntake: HL7Receiver? { patientIntakeBox.withLock { $0 } }
    /// The card station's writes, one at a time.
    let stationLock = StationLock()

    /// Asks CAs' OCSP responders about cards at sign-in (nil: the CRLs alone decide).
    let onlineStatus: (any OnlineRevocationChecker)?

    /// Creates the shared part of a node. `mpi` is required for the regional role.
    init(configuration: ExchangeConfiguration, credentials: RenewableCredential, validator: @escaping @Sendable () -> ChainValidator, store: any CaduceusStore, blobs: BlobStore, mpi: MPIService?, transport: any PeerTransport, policy: PolicyDecisionPoint, revocation: (any RevocationLists)? = nil, onlineStatus: (any OnlineRevocationChecker)? = nil, clock: any WallClock = SystemWallClock()) {
        self.revocation = revocation
        self.onlineStatus = onlineStatus
        self.policy = policy
        self.place = Mutex(configuration)
        self.credentials = credentials
        self.validatorSource = validator
        self.store = store
        self.blobs = blobs
        self.mpi = mpi
        self.transport = transport
        self.clock = clock
    }

    var id: String { configuration.nodeId }

    func require(_ role: NodeRole) throws(ExchangeError) {
        guard configuration.roles.contains(role) else { throw ExchangeError(.wrongRole, "this node does not play the \(role.rawValue) role") }
    }

    func requirePerson(_ o: ExchangeRequest, allowPatients: Bool = false) throws(ExchangeError) {
        guard o.identity.kind == .person || (allowPatients && o.identity.kind == .patient) else {
            throw ExchangeError(.forbidden, allowPatients ? "this operation is for signed-in people" : "this operation is for signed-in staff")
        }
    }

    func reply(_ to: ExchangeRequest, _ body: some Encodable, documents: [MIMEPart] = []) throws -> ExchangeMessage {
        try reply(to.envelope, body, documents: documents)
    }

    func reply(_ to: OpenedEnvelope, _ body: some Encodable, documents: [MIMEPart] = []) throws -> ExchangeMessage {
        ExchangeMessage(
            header: EnvelopeHeader(operation: to.message.header.operation, audience: to.identity.commonName, requestId: to.message.header.requestId, issuedAt: clock.now(), body: try JSONEncoder.wire.encode(body)),
            documents: documents)
    }

    /// Keeps the request's own envelope as evidence, in the operation's commit (with its audit event).
    func keep(_ o: ExchangeRequest) throws { try keepInCommit(o.envelope, audit: o.audit) }

    /// Keeps an envelope as evidence: in the commit of the operation whose `audit` notes are given (one durable
    /// commit per node per hop), or at once when the node acts on its own (no operation).
    func keep(_ o: OpenedEnvelope, audit: AuditNotes?) async throws {
        if let audit { return try keepInCommit(o, audit: audit) }
        // A portal request is no envelope (nothing signed to keep): its act is on the trail.
        guard !o.raw.isEmpty else { return }
        let now = clock.now()
        let e = try evidence(o)
        _ = try await store.write { tx in try tx.keepEvidence(e, at: now) }
    }

    func keepInCommit(_ o: OpenedEnvelope, audit: AuditNotes) throws {
        guard !o.raw.isEmpty else { return }
        let now = clock.now()
        let e = try evidence(o)
        // Signed evidence stays on file whatever becomes of the operation (written with its failure event too).
        audit.commit(always: true) { tx in try tx.keepEvidence(e, at: now) }
    }

    /// Envelopes up to this size are kept sealed in the database, in the operation's commit (one sequential WAL write
    /// shares its fsync); larger ones go to the blob store (a file and its directory fsynced, no WAL copy).
    static let inlineEvidence = 1 << 20

    /// The evidence record of an envelope (large envelopes written, durably, to the blob store first).
    func evidence(_ o: ExchangeRequest) throws -> Evidence { try evidence(o.envelope) }

    /// The evidence kept is the envelope's signed content (SignedData, DER), sealed at rest like every stored PHI, and
    /// the SHA-256 of the envelope as received (the digest a receipt names).
    func evidence(_ o: OpenedEnvelope) throws -> Evidence {
        let op = o.message.header.operation.rawValue, sender = o.identity.commonName
        let digest = DocumentIntegrity.sha256(o.raw)
        let kept = o.signed.isEmpty ? o.raw : o.signed
        if kept.count <= Self.inlineEvidence {
            return Evidence(operation: op, sender: sender, sha256: digest, inline: kept, stored: nil)
        }
        let stored = try blobs.put(kept, uniqueId: "evidence:" + digest)
        return Evidence(operation: op, sender: sender, sha256: digest, inline: nil, stored: stored)
    }

    /// A card's home organisation (its subject O, which validation has bound to the issuing CA's namespace):
    /// assertions carry it, so policy and consent are weighed for the person's own organisation wherever they sign in.
    func homeOrganization(_ identity: FederationIdentity) throws(ExchangeError) -> String {
        guard let org = identity.organization, !org.isEmpty else { throw ExchangeError(.forbidden, "the card names no home organisation") }
        return org
    }

    /// The ids of every other node in the directory, sorted; nil when the directory cannot be read.
    func otherNodes() async -> [String]? {
        guard let listing = try? await transport.get(configuration.directoryEndpoint, path: "/v1/directory/nodes"),
              let nodes = try? JSONDecoder.exchange.decode([DirectoryNode].self, from: Data(listing))
        else { return nil }
        return nodes.map(\.id).filter { $0 != id }.sorted()
    }

    /// The signed-in person behind a `user.*` request: a valid assertion from any node of the federation, presented
    /// by its own subject (the envelope's signer), not signed out or idle here.
    func authorize(_ o: ExchangeRequest, allowPatients: Bool = false) async throws -> AssertionClaims {
        try requirePerson(o, allowPatients: allowPatients)
        guard let token = o.message.header.assertion else { throw ExchangeError(.forbidden, "sign in first (no assertion in the request)") }
        let claims = try await SignedAssertion.verify(token, audience: ExchangeNode.federationAudience, validator: validatorSource(), now: clock.now())
        try SignedAssertion.requireHolder(claims, signer: o.identity.commonName)
        // Bound to the presenting card, not only its CN: the organisation (and a staff member's role) the assertion
        // names are the card's own, whichever node signed it.
        guard claims.org == o.identity.organization, o.identity.kind != .person || claims.role == o.identity.role else {
            throw ExchangeError(.forbidden, "the assertion names another organisation or role than the card presenting it")
        }
        try sessions.use(claims, now: clock.now())
        o.audit.purpose(claims.pou)
        try await noteEmergencyUse(claims)
        return claims
    }

    /// The decision for `claims` on a document of `confidentiality`, given the patient's consent as it stands.
    func decide(_ claims: AssertionClaims, _ confidentiality: String, consent: ConsentState = .none, audit: AuditNotes?) -> Decision {
        let conf = Confidentiality(rawValue: confidentiality) ?? .V
        let decision: Decision
        if let purpose = PurposeOfUse(rawValue: claims.pou) {
            decision = policy.decide(AccessRequest(role: claims.role, organization: claims.org, purpose: purpose, confidentiality: conf, consent: consent))
        } else {
            decision = Decision(effect: .deny, reasons: ["purpose.unknown"], obligations: ["audit"])
        }
        audit?.decision(decision)
        return decision
    }

    /// The decision for `claims` on `entry`: `consents` are the patient's records (as the regional registry holds
    /// them; those of other patients are ignored), resolved for the person's organisation (unless another is given)
    /// and this document — and, when the data lands at another node than the person's organisation (`receivedBy`: a
    /// person signed in away from home), for that node too: a patient's consent binds every organisation that receives
    /// her record.
    func decide(_ claims: AssertionClaims, _ entry: DocumentEntry, consents: [ConsentRecord], organization: String? = nil, receivedBy: String? = nil, audit: AuditNotes?) -> Decision {
        let patient = entry.patientId.description
        let theirs = consents.filter { $0.patientId == patient }
        let org = organization ?? claims.org
        var orgs = [org]
        if let receivedBy, receivedBy != org { orgs.append(receivedBy) }
        var decision = Decision(effect: .deny, reasons: ["default"], obligations: [])
        for o in orgs {
            let state = ConsentResolver.state(theirs, organization: o, documentId: entry.uniqueId, classCode: entry.classCode.code, at: clock.now())
            decision = decide(claims, entry.confidentialityCode.code, consent: state, audit: audit)
            if !decision.isPermit { return decision }
        }
        return decision
    }

    /// Refuses an operation on this node's own data (its repository, its break-glass queue) to a person of another
    /// organisation, whatever their role: a privacy officer or clinician of hospital B acts on B's node.
    func requireHome(_ claims: AssertionClaims) throws(ExchangeError) {
        guard claims.org == id else { throw ExchangeError(.forbidden, "this operation is for the node's own organisation") }
    }

    /// Counts a use of a break-glass (ETREAT) sign-in in this node's review queue (an entry is opened here when the
    /// sign-in was declared at another node).
    func noteEmergencyUse(_ claims: AssertionClaims) async throws {
        guard claims.pou == PurposeOfUse.ETREAT.rawValue else { return }
        let now = clock.now()
        let entry = EmergencyAccess(
            id: claims.jti, subject: claims.sub, role: claims.role, declaredAt: claims.iss, reason: "",
            started: Date(timeIntervalSince1970: Double(claims.iat)), expires: Date(timeIntervalSince1970: Double(claims.exp)))
        try await store.write { tx in try tx.noteEmergencyAccess(entry, useAt: now) }
    }

    func requirePermit(_ claims: AssertionClaims, _ entries: [DocumentEntry], consents: [ConsentRecord], organization: String? = nil, receivedBy: String? = nil, audit: AuditNotes?) throws {
        for e in entries {
            let d = decide(claims, e, consents: consents, organization: organization, receivedBy: receivedBy, audit: audit)
            guard d.isPermit else {
                throw ExchangeError(.forbidden, "the policy does not permit this access (\(d.reasons.joined(separator: ", ")))")
            }
        }
    }

    // MARK: - Regional: MPI

    /// A node's directory entry and validated certificate (cached).
    func lookUp(_ nodeId: String) async throws -> (DirectoryNode, Certificate) {
        let now = clock.now()
        if let hit = directoryCache.withLock({ $0[nodeId] }), now.timeIntervalSince(hit.2) < Self.directoryCacheSeconds, hit.1.notValidAfter > now {
            return (hit.0, hit.1)
        }
        let bytes: [UInt8]
        do {
            bytes = try await transport.get(configuration.directoryEndpoint, path: "/v1/directory/nodes/" + nodeId)
        } catch let e as RemoteError where e.code == ExchangeError.Code.unknownNode.rawValue || e.code == "http.not-found" {
            throw ExchangeError(.unknownNode, "the directory does not know this node")
        }
        guard let node = try? JSONDecoder.exchange.decode(DirectoryNode.self, from: Data(bytes)), node.id == nodeId,
              let chain = try? PEM.certificates(fromPEM: node.certificatePEM), let leaf = chain.first
        else { throw ExchangeError(.peerUnavailable, "the directory answered with something that is not a node entry") }
        let verdict = await validatorSource().validate(leaf, intermediates: Array(chain.dropFirst()), usage: .smimeEncryption, validityTime: clock.now(), now: clock.now())
        guard case .trusted = verdict, FederationIdentity(leaf)?.commonName == nodeId, FederationIdentity(leaf)?.kind == .node else {
            throw ExchangeError(.signerRejected, "the directory's certificate for this node is not a valid federation node certificate")
        }
        directoryCache.withLock { $0[nodeId] = (node, leaf, now) }
        return (node, leaf)
    }

    /// Seals a request to `nodeId`, posts it, and opens the reply (which must be signed by that node).
    /// `assertion` is a user's sign-in assertion forwarded on their behalf (a retrieve: the repository decides for the user).
    func call(_ operation: ExchangeOperation, to nodeId: String, body: some Encodable, documents: [MIMEPart] = [], assertion: String? = nil) async throws -> OpenedEnvelope {
        let (node, cert) = try await lookUp(nodeId)
        return try await call(operation, to: nodeId, endpoint: node.endpoint, certificate: cert, body: body, documents: documents, assertion: assertion)
    }

    func call(_ operation: ExchangeOperation, to nodeId: String, endpoint: String, certificate: Certificate, body: some Encodable, documents: [MIMEPart] = [], assertion: String? = nil) async throws -> OpenedEnvelope {
        let message = ExchangeMessage(
            header: EnvelopeHeader(operation: operation, audience: nodeId, requestId: UUID().uuidString.lowercased(), issuedAt: clock.now(), body: try JSONEncoder.wire.encode(body), assertion: assertion),
            documents: documents)
        let sealed = try Envelope.seal(message, from: credential, to: certificate, now: clock.now())
        let answer = try await transport.post(endpoint, path: operation.path, envelope: sealed)
        let opened = try await Envelope.open(answer, as: id, decryptors: credentials.decryptors(at: clock.now()), validator: validatorSource(), expecting: operation, now: clock.now())
        guard opened.identity.kind == .node, opened.identity.commonName == nodeId, opened.message.header.requestId == message.header.requestId else {
            throw ExchangeError(.signerRejected, "the reply is not signed by the node that was asked, or answers another request")
        }
        return opened
    }

    // The use-case services.
    var sessionService: SessionService { SessionService(core: self) }
    var auditSearchService: AuditSearchService { AuditSearchService(core: self) }
    var regionalMPIService: RegionalMPIService { RegionalMPIService(core: self) }
    var registryService: RegistryService { RegistryService(core: self) }
    var repositoryService: RepositoryService { RepositoryService(core: self) }
    var transferService: TransferService { TransferService(core: self) }
    var directoryService: DirectoryService { DirectoryService(core: self) }
    var clinicalService: ClinicalService { ClinicalService(core: self) }
    var consentService: ConsentService { ConsentService(core: self) }
    var accessReportService: AccessReportService { AccessReportService(core: self) }
    var revocationService: RevocationService { RevocationService(core: self) }
    var cardService: CardService { CardService(core: self) }
}
