public import CaduceusPKI
public import CaduceusStorage
public import CaduceusDocuments
public import CaduceusCore
public import X509
import CaduceusCMS
import CaduceusAudit
public import CaduceusPolicy
public import CaduceusPatientIndex
import Foundation
import Synchronization

/// The roles a node plays (DESIGN §1).
public enum NodeRole: String, Sendable, Codable, CaseIterable {
    /// Beside a hospital's EMRs: HL7 in, repository, document source and consumer.
    case hospital
    /// A regional HIE: registry, MPI.
    case regional
    /// The federation's anchor: node directory.
    case global
}

/// Outbound calls to other nodes (implemented over HTTPS with mutual TLS by `CaduceusHTTP`).
public protocol PeerTransport: Sendable {
    /// POSTs an envelope; returns the reply envelope, or throws the peer's coded error.
    func post(_ endpoint: String, path: String, envelope: [UInt8]) async throws -> [UInt8]
    /// GETs a public resource (the directory).
    func get(_ endpoint: String, path: String) async throws -> [UInt8]
    /// Closes idle connections (before a graceful shutdown, so servers need not wait for them).
    func close()
}

/// A node's place in the federation.
public struct ExchangeConfiguration: Sendable {
    /// This node's id (its certificate's CN).
    public var nodeId: String
    /// Roles played.
    public var roles: Set<NodeRole>
    /// This node's public HTTPS base URL.
    public var endpoint: String
    /// The regional node (registry and MPI) this node uses.
    public var regionalNode: String
    /// The global node's base URL (directory).
    public var directoryEndpoint: String
    /// Creates a configuration.
    public init(nodeId: String, roles: Set<NodeRole>, endpoint: String, regionalNode: String, directoryEndpoint: String) {
        self.nodeId = nodeId
        self.roles = roles
        self.endpoint = endpoint
        self.regionalNode = regionalNode
        self.directoryEndpoint = directoryEndpoint
    }
}

/// One node of the exchange: answers the operations of the roles it plays and performs users' cross-node requests.
/// Every envelope received is opened (decrypted, signature and chain verified, audience/operation/freshness
/// checked), kept as evidence, acted on, and answered with an envelope signed by this node and encrypted to the
/// requester. Every operation, accepted or refused, leaves one audit event.
public final class ExchangeNode: Sendable {
    public let configuration: ExchangeConfiguration
    let credential: Credential
    let validatorSource: @Sendable () -> ChainValidator
    public let store: any CaduceusStore
    public let blobs: BlobStore
    let mpi: MPIService?
    let transport: any PeerTransport
    let clock: any WallClock
    let directoryCache = Mutex<[String: (DirectoryNode, Certificate)]>([:])
    /// The policy decision point guarding users' operations.
    public let policy: PolicyDecisionPoint
    /// Where this (regional) node's audit repository listens for syslog, once bound.
    let auditRepositoryAddress = Mutex<(host: String, port: Int)?>(nil)
    /// Sign-in sessions started or used here (idle time, sign-out).
    let sessions = AssertionLedger()
    /// Request ids seen within the freshness window (per signer), restored from the store at start.
    let seenRequests = Mutex<[String: Date]>([:])
    /// The audience of sign-in assertions: every node of the federation accepts them.
    public static let federationAudience = "caduceus-federation"
    /// How long a sign-in lasts, and a break-glass one.
    static let signInLifetime: TimeInterval = 8 * 3600, emergencyLifetime: TimeInterval = 3600

    /// Creates a node. `mpi` is required for the regional role.
    public init(configuration: ExchangeConfiguration, credential: Credential, validator: @escaping @Sendable () -> ChainValidator, store: any CaduceusStore, blobs: BlobStore, mpi: MPIService?, transport: any PeerTransport, policy: PolicyDecisionPoint, clock: any WallClock = SystemWallClock()) {
        self.policy = policy
        self.configuration = configuration
        self.credential = credential
        self.validatorSource = validator
        self.store = store
        self.blobs = blobs
        self.mpi = mpi
        self.transport = transport
        self.clock = clock
    }

    var id: String { configuration.nodeId }

    /// Records where this node's audit repository (syslog over TLS) listens, for `audit.position` answers.
    public func setAuditRepository(host: String, port: Int) { auditRepositoryAddress.withLock { $0 = (host, port) } }

    /// Where this node's audit repository listens (nil until bound, or when it runs none).
    public var auditRepository: (host: String, port: Int)? { auditRepositoryAddress.withLock { $0 } }

    func auditPosition(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try require(.regional)
        try requireNode(o)
        guard let address = auditRepositoryAddress.withLock({ $0 }) else { throw ExchangeError(.wrongRole, "this node runs no audit repository") }
        let node = o.identity.commonName
        let (head, checkpoint) = try await store.read { r in (try r.repositoryHead(node: node), try r.repositoryCheckpoints(node: node).last?.sequence ?? 0) }
        return try reply(o, AuditPosition(sequence: head.sequence, hash: Hex.encode(head.hash), checkpoint: checkpoint, syslogHost: address.host, syslogPort: address.port))
    }

    /// Closes this node's idle outbound connections.
    public func closeConnections() { transport.close() }

    // MARK: - Serving

    /// Restores what must survive a restart: the request ids seen within the freshness window (the replay cache)
    /// and the sign-outs of assertions not yet expired. Call once before serving.
    public func restoreState() async throws {
        let now = clock.now()
        let (seen, signedOut) = try await store.read { r in (try r.seenRequests(now: now), try r.signOuts(now: now)) }
        seenRequests.withLock { $0.merge(seen) { a, _ in a } }
        for (jti, expires) in signedOut { sessions.revoke(jti: jti, expires: expires) }
    }

    /// Handles an envelope POSTed to `path` over a TLS connection whose client presented `tlsClient`; returns the
    /// reply envelope. The envelope's signer must be that TLS client (the connection and the message name one party),
    /// and its request id must not have been seen within the freshness window.
    /// - Throws: a coded error (``ExchangeError``, ``DocumentsError``, `cda.*`, `dicom.*`, `storage.*`), already audited.
    public func handle(path: String, envelope: [UInt8], tlsClient: Certificate) async throws -> [UInt8] {
        guard let operation = ExchangeOperation.allCases.first(where: { $0.path == path }) else {
            throw ExchangeError(.badRequest, "no such operation")
        }
        let notes = AuditNotes()
        return try await AuditNotes.$current.withValue(notes) {
            var remember: (String, Date)?
            do {
                let opened = try await Envelope.open(envelope, as: id, credential: credential, validator: validatorSource(), expecting: operation, now: clock.now())
                notes.signer = opened.identity
                guard opened.signer == tlsClient else {
                    throw ExchangeError(.peerMismatch, "the TLS client certificate is not the envelope's signer")
                }
                remember = try noteRequest(opened)
                let reply = try await dispatch(operation, opened)
                let sealed = try Envelope.seal(reply, from: credential, to: opened.signer, now: clock.now())
                try? await audit(operation, notes, error: nil, remember: remember)
                return sealed
            } catch {
                try? await audit(operation, notes, error: error, remember: remember)
                if error is any CaduceusError { throw error }
                throw ExchangeError(.badRequest, "the request could not be processed")
            }
        }
    }

    /// Refuses a request id this signer used before within the freshness window; returns the key and expiry to
    /// remember durably (with the operation's audit event).
    func noteRequest(_ o: OpenedEnvelope) throws(ExchangeError) -> (String, Date) {
        let key = o.identity.commonName + " " + o.message.header.requestId
        let now = clock.now(), expires = o.message.header.issuedAt.addingTimeInterval(2 * Envelope.maxSkew)
        let fresh = seenRequests.withLock { seen in
            if seen.count > 10_000 { seen = seen.filter { $0.value >= now } }
            if let until = seen[key], until >= now { return false }
            seen[key] = expires
            return true
        }
        guard fresh else { throw ExchangeError(.replayed, "this request id was used before (a replayed envelope)") }
        return (key, expires)
    }

    /// Appends the operation's audit message to the hash-chained log: who (the envelope's signer, or "unknown" when
    /// the envelope did not open), this node, what (patients by identifier, documents by unique id — never names or
    /// birth dates), the outcome and its error code; and, in the same unit of work, the request id for the replay
    /// cache.
    func audit(_ operation: ExchangeOperation, _ notes: AuditNotes, error: (any Error)?, remember: (String, Date)? = nil) async throws {
        let messages = AuditNotes.messages(
            for: operation, notes: notes, node: id, endpoint: configuration.endpoint, error: error, time: clock.now())
        let now = clock.now()
        _ = try await store.write { tx in
            if let (key, expires) = remember { try tx.rememberRequest(key, expires: expires, now: now) }
            try tx.appendAudit(messages)
        }
    }

    func require(_ role: NodeRole) throws(ExchangeError) {
        guard configuration.roles.contains(role) else { throw ExchangeError(.wrongRole, "this node does not play the \(role.rawValue) role") }
    }

    func requireNode(_ o: OpenedEnvelope) throws(ExchangeError) {
        guard o.identity.kind == .node else { throw ExchangeError(.forbidden, "this operation is for federation nodes") }
    }

    func requirePerson(_ o: OpenedEnvelope, allowPatients: Bool = false) throws(ExchangeError) {
        guard o.identity.kind == .person || (allowPatients && o.identity.kind == .patient) else {
            throw ExchangeError(.forbidden, allowPatients ? "this operation is for signed-in people" : "this operation is for signed-in staff")
        }
    }

    func reply(_ to: OpenedEnvelope, _ body: some Encodable, documents: [MIMEPart] = []) throws -> ExchangeMessage {
        ExchangeMessage(
            header: EnvelopeHeader(operation: to.message.header.operation, audience: to.identity.commonName, requestId: to.message.header.requestId, issuedAt: clock.now(), body: try JSONEncoder.exchange.encode(body)),
            documents: documents)
    }

    func keep(_ o: OpenedEnvelope) async throws {
        let now = clock.now()
        let e = try evidence(o)
        _ = try await store.write { tx in try tx.keepEvidence(e, at: now) }
    }

    /// Envelopes up to this size are kept sealed in the database; larger ones go to the blob store (one write, no
    /// WAL copy).
    static let inlineEvidence = 64 << 10

    /// The evidence record of an envelope (large envelopes written, durably, to the blob store first).
    func evidence(_ o: OpenedEnvelope) throws -> Evidence {
        let op = o.message.header.operation.rawValue, sender = o.identity.commonName
        let digest = DocumentIntegrity.sha256(o.raw)
        if o.raw.count <= Self.inlineEvidence {
            return Evidence(operation: op, sender: sender, sha256: digest, inline: o.raw, stored: nil)
        }
        let stored = try blobs.put(o.raw, uniqueId: "evidence:" + digest)
        return Evidence(operation: op, sender: sender, sha256: digest, inline: nil, stored: stored)
    }

    func dispatch(_ operation: ExchangeOperation, _ o: OpenedEnvelope) async throws -> ExchangeMessage {
        switch operation {
        case .registerIdentity: return try await registerIdentity(o)
        case .findPatients: return try reply(o, try findPatients(o.message.decodeBody(FindPatientsRequest.self), o))
        case .registerSubmission: return try await registerSubmission(o)
        case .query: return try await query(o)
        case .retrieve: return try await retrieve(o)
        case .transfer: return try await receiveTransfer(o)
        case .publishNode: return try await publish(o)
        case .submit: return try await submit(o)
        case .userQuery: return try await userQuery(o)
        case .userRetrieve: return try await userRetrieve(o)
        case .userTransfer: return try await userTransfer(o)
        case .userFindPatients: return try await userFindPatients(o)
        case .signIn: return try await signIn(o)
        case .signOut: return try await signOut(o)
        case .revokeSession: return try await revokeSession(o)
        case .userEmergencies: return try await userEmergencies(o)
        case .userEmergencyReview: return try await userEmergencyReview(o)
        case .userConsent: return try await userConsent(o)
        case .userConsents: return try await userConsents(o)
        case .registerConsent: return try await registerConsent(o)
        case .queryConsents: return try await queryConsents(o)
        case .auditPosition: return try await auditPosition(o)
        case .userAccessReport: return try await userAccessReport(o)
        case .accessReport: return try await accessReport(o)
        case .accessEvents: return try await accessEvents(o)
        }
    }

    // MARK: - Sign-in and authorization

    func signIn(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try requirePerson(o, allowPatients: true)
        let request = try o.message.decodeBody(SignInRequest.self)
        let role: String
        if o.identity.kind == .patient {
            // A patient acts on their own record only (consents, access report): purpose "patient request".
            guard request.purpose == Self.patientPurpose else { throw ExchangeError(.badRequest, "a patient signs in for the purpose PATRQT") }
            role = "patient"
        } else {
            guard PurposeOfUse(rawValue: request.purpose) != nil else { throw ExchangeError(.badRequest, "the purpose of use is not one this federation knows") }
            guard let cardRole = o.identity.role, !cardRole.isEmpty else { throw ExchangeError(.forbidden, "the card names no functional role") }
            guard !cardRole.hasPrefix("system:") else { throw ExchangeError(.forbidden, "a system role is not a person's functional role") }
            role = cardRole
        }
        AuditNotes.current?.purpose(request.purpose)
        let emergency = request.purpose == PurposeOfUse.ETREAT.rawValue
        let reason = (request.reason ?? "").trimmingCharacters(in: .whitespaces)
        if emergency, reason.count < 4 {
            throw ExchangeError(.badRequest, "an emergency access (ETREAT) needs a stated reason")
        }
        let now = clock.now()
        let lifetime = emergency ? Self.emergencyLifetime : Self.signInLifetime
        let t = Int64(now.timeIntervalSince1970)
        let claims = AssertionClaims(
            iss: id, sub: o.identity.commonName, aud: Self.federationAudience, role: role, org: try homeOrganization(o.identity), pou: request.purpose,
            iat: t, nbf: t, exp: t + Int64(lifetime), jti: UUID().uuidString.lowercased())
        let token = try SignedAssertion.issue(claims, by: credential)
        if emergency {
            // Break-glass: into the review queue (with the reason, sealed) and onto the trail as an override.
            let entry = EmergencyAccess(
                id: claims.jti, subject: claims.sub, role: role, declaredAt: id, reason: String(reason.prefix(500)),
                started: now, expires: Date(timeIntervalSince1970: Double(claims.exp)))
            try await store.write { tx in try tx.noteEmergencyAccess(entry, useAt: nil) }
            AuditNotes.current?.alert(.emergencyOverrideStarted)
        }
        return try reply(o, SignInResponse(assertion: token, expires: Date(timeIntervalSince1970: Double(claims.exp))))
    }

    /// A card's home organisation (its subject O, which validation has bound to the issuing CA's namespace):
    /// assertions carry it, so policy and consent are weighed for the person's own organisation wherever they sign in.
    func homeOrganization(_ identity: FederationIdentity) throws(ExchangeError) -> String {
        guard let org = identity.organization, !org.isEmpty else { throw ExchangeError(.forbidden, "the card names no home organisation") }
        return org
    }

    /// The purpose of use of a patient's own sign-in (HL7 PurposeOfUse "patient requested").
    public static let patientPurpose = "PATRQT"

    func signOut(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        let claims = try await authorize(o, allowPatients: true)
        sessions.revoke(claims)
        let now = clock.now(), emergency = claims.pou == PurposeOfUse.ETREAT.rawValue
        try await store.write { tx in
            try tx.rememberSignOut(jti: claims.jti, expires: claims.exp)
            if emergency { try tx.endEmergencyAccess(id: claims.jti, at: now) }
        }
        if emergency { AuditNotes.current?.alert(.emergencyOverrideStopped) }
        let told = await propagateSignOut(SessionRevocation(jti: claims.jti, expires: claims.exp, assertion: o.message.header.assertion))
        return try reply(o, ["signedOut": claims.jti, "nodesTold": String(told)])
    }

    /// Tells every other node of the directory that an assertion was signed out (concurrently, best effort: a node
    /// that cannot be reached keeps honouring it until it expires or idles out). Returns how many nodes were told.
    func propagateSignOut(_ revocation: SessionRevocation) async -> Int {
        guard let others = await otherNodes() else { return 0 }
        return await withTaskGroup(of: Bool.self) { group in
            for node in others {
                group.addTask { (try? await self.call(.revokeSession, to: node, body: revocation)) != nil }
            }
            var told = 0
            for await ok in group where ok { told += 1 }
            return told
        }
    }

    /// The ids of every other node in the directory, sorted; nil when the directory cannot be read.
    func otherNodes() async -> [String]? {
        guard let listing = try? await transport.get(configuration.directoryEndpoint, path: "/v1/directory/nodes"),
              let nodes = try? JSONDecoder.exchange.decode([DirectoryNode].self, from: Data(listing))
        else { return nil }
        return nodes.map(\.id).filter { $0 != id }.sorted()
    }

    /// The privacy officer's view of this node's break-glass review queue (reasons included).
    func userEmergencies(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        let claims = try await authorize(o)
        try requireEmergencyReviewer(claims)
        let request = try o.message.decodeBody(EmergencyQueueRequest.self)
        let unreviewed = request.unreviewedOnly
        return try reply(o, try await store.read { try $0.emergencyAccesses(unreviewedOnly: unreviewed) })
    }

    /// Records the privacy officer's finding on one emergency access (the reviewer is the signed-in person).
    func userEmergencyReview(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        let claims = try await authorize(o)
        try requireEmergencyReviewer(claims)
        let request = try o.message.decodeBody(EmergencyReviewRequest.self)
        let note = request.note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty, note.count <= 2000 else { throw ExchangeError(.badRequest, "a review needs a finding of at most 2000 characters") }
        AuditNotes.current?.add(AuditObject(typeCode: 2, role: 13, idType: AuditCode("jti", system: "caduceus-audit", display: "Emergency access"), id: request.id))
        let (id, reviewer, now) = (request.id, claims.sub, clock.now())
        let entry = try await store.write { tx -> Result<EmergencyAccess, ExchangeError>? in
            guard let existing = try tx.emergencyAccess(id: id) else { return nil }
            // Nobody reviews their own emergency access.
            guard existing.subject != reviewer else { return .failure(ExchangeError(.forbidden, "a privacy officer may not review their own emergency access")) }
            guard try tx.reviewEmergencyAccess(id: id, reviewer: reviewer, note: note, at: now) else { return nil }
            return try tx.emergencyAccess(id: id).map { .success($0) }
        }
        guard let entry else { throw DocumentsError(.notFound, "this node has no emergency access with this id") }
        return try reply(o, try entry.get())
    }

    func requireEmergencyReviewer(_ claims: AssertionClaims) throws(ExchangeError) {
        guard policy.policy.emergencyReviewers?.contains(claims.role) == true else {
            throw ExchangeError(.forbidden, "this functional role may not read or review the break-glass queue")
        }
    }

    /// `session.revoke`: another node's sign-out; the assertion is refused here too (and a break-glass access it
    /// carried ends in this node's review queue).
    func revokeSession(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try requireNode(o)
        let revocation = try o.message.decodeBody(SessionRevocation.self)
        // A node ends only the sessions it issued: the revocation carries the assertion, whose issuer must be the sender.
        guard let token = revocation.assertion,
              let claims = try? await SignedAssertion.verify(token, audience: Self.federationAudience, validator: validatorSource(), now: clock.now()),
              claims.jti == revocation.jti, claims.iss == o.identity.commonName
        else { throw ExchangeError(.forbidden, "a node ends only the sign-ins it issued") }
        sessions.revoke(claims)
        let now = clock.now()
        try await store.write { tx in
            try tx.rememberSignOut(jti: claims.jti, expires: claims.exp)
            try tx.endEmergencyAccess(id: claims.jti, at: now)
        }
        return try reply(o, ["revoked": claims.jti])
    }

    /// The signed-in person behind a `user.*` request: a valid assertion from any node of the federation, presented
    /// by its own subject (the envelope's signer), not signed out or idle here.
    func authorize(_ o: OpenedEnvelope, allowPatients: Bool = false) async throws -> AssertionClaims {
        try requirePerson(o, allowPatients: allowPatients)
        guard let token = o.message.header.assertion else { throw ExchangeError(.forbidden, "sign in first (no assertion in the request)") }
        let claims = try await SignedAssertion.verify(token, audience: Self.federationAudience, validator: validatorSource(), now: clock.now())
        try SignedAssertion.requireHolder(claims, signer: o.identity.commonName)
        try sessions.use(claims, now: clock.now())
        AuditNotes.current?.purpose(claims.pou)
        if claims.pou == PurposeOfUse.ETREAT.rawValue {
            // Every use of a break-glass sign-in is counted in this node's review queue (an entry is opened here
            // when the sign-in was declared at another node).
            let now = clock.now()
            let entry = EmergencyAccess(
                id: claims.jti, subject: claims.sub, role: claims.role, declaredAt: claims.iss, reason: "",
                started: Date(timeIntervalSince1970: Double(claims.iat)), expires: Date(timeIntervalSince1970: Double(claims.exp)))
            try await store.write { tx in try tx.noteEmergencyAccess(entry, useAt: now) }
        }
        return claims
    }

    /// The decision for `claims` on a document of `confidentiality`, given the patient's consent as it stands.
    func decide(_ claims: AssertionClaims, _ confidentiality: String, consent: ConsentState = .none) -> Decision {
        let conf = Confidentiality(rawValue: confidentiality) ?? .V
        let decision: Decision
        if let purpose = PurposeOfUse(rawValue: claims.pou) {
            decision = policy.decide(AccessRequest(role: claims.role, organization: claims.org, purpose: purpose, confidentiality: conf, consent: consent))
        } else {
            decision = Decision(effect: .deny, reasons: ["purpose.unknown"], obligations: ["audit"])
        }
        AuditNotes.current?.decision(decision)
        return decision
    }

    /// The decision for `claims` on `entry`: `consents` are the patient's records (as the regional registry holds
    /// them; those of other patients are ignored), resolved for the receiving organisation (the requester's node
    /// unless given) and this document.
    func decide(_ claims: AssertionClaims, _ entry: DocumentEntry, consents: [ConsentRecord], organization: String? = nil) -> Decision {
        let patient = entry.patientId.description
        let state = ConsentResolver.state(
            consents.filter { $0.patientId == patient }, organization: organization ?? claims.org, documentId: entry.uniqueId,
            classCode: entry.classCode.code, at: clock.now())
        return decide(claims, entry.confidentialityCode.code, consent: state)
    }

    func requirePermit(_ claims: AssertionClaims, _ entries: [DocumentEntry], consents: [ConsentRecord], organization: String? = nil) throws {
        for e in entries {
            let d = decide(claims, e, consents: consents, organization: organization)
            guard d.isPermit else {
                throw ExchangeError(.forbidden, "the policy does not permit this access (\(d.reasons.joined(separator: ", ")))")
            }
        }
    }

    // MARK: - Regional: MPI

    func regionalMPI() throws(ExchangeError) -> MPIService {
        try require(.regional)
        guard let mpi else { throw ExchangeError(.wrongRole, "this node has no MPI") }
        return mpi
    }

    func registerIdentity(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        let mpi = try regionalMPI()
        try requireNode(o)
        let request = try o.message.decodeBody(RegisterIdentityRequest.self)
        guard !request.identity.id.isEmpty, !request.identity.authority.isEmpty else {
            throw ExchangeError(.badRequest, "an identity needs an id and an assigning authority")
        }
        // A node registers identities only in the assigning authorities its CA vouches for.
        guard let namespace = o.issuerNamespace, IssuerNamespace.admits(namespace.authorities, request.identity.authority) else {
            throw ExchangeError(.forbidden, "this node may not register identities of this assigning authority")
        }
        let sealed = try store.cipher.seal(mpiIdentity: request.identity, demographics: request.demographics)
        let now = clock.now(), actor = "node:" + o.identity.commonName, e = try evidence(o)
        let record = try await store.write { tx in
            try tx.keepEvidence(e, at: now)
            return try mpi.register(request.identity, request.demographics, sealed: sealed, in: tx, actor: actor, at: now).record
        }
        let person = mpi.read { $0.person(of: record) } ?? ""
        AuditNotes.current?.patient(PatientIdentifier(id: request.identity.id, authority: request.identity.authority))
        return try reply(o, RegisterIdentityResponse(patientId: PatientIdentifier(id: person, authority: mpi.globalAuthority)))
    }

    func findPatients(_ request: FindPatientsRequest, _ o: OpenedEnvelope) throws -> [PatientMatch] {
        let mpi = try regionalMPI()
        return mpi.read { index in
            var seen = Set<String>()
            var out: [PatientMatch] = []
            for hit in index.search(request.criteria, limit: max(1, min(request.limit, 100)) * 4) where seen.insert(hit.person).inserted {
                let identities = index.members(of: hit.person).compactMap { index.identity(of: $0) }
                out.append(PatientMatch(
                    patientId: PatientIdentifier(id: hit.person, authority: mpi.globalAuthority), identities: identities,
                    demographics: index.demographics(of: hit.record) ?? Demographics(), weight: hit.weight))
                if out.count >= request.limit { break }
            }
            return out
        }
    }

    /// The global id of a patient named in any domain the MPI knows (or the global domain itself).
    func globalPatient(_ p: PatientIdentifier) throws -> PatientIdentifier {
        let mpi = try regionalMPI()
        if p.authority == mpi.globalAuthority { return p }
        let person = mpi.read { index in index.record(of: LocalIdentity(id: p.id, authority: p.authority)).flatMap { index.person(of: $0) } }
        guard let person else { throw ExchangeError(.unknownPatient, "the MPI does not know this patient identity") }
        return PatientIdentifier(id: person, authority: mpi.globalAuthority)
    }

    // MARK: - Regional: registry

    func registerSubmission(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try require(.regional)
        try requireNode(o)
        var set = try o.message.decodeBody(SubmissionSet.self)
        guard set.sourceId == o.identity.commonName, set.entries.allSatisfy({ $0.repositoryId == o.identity.commonName }) else {
            throw ExchangeError(.forbidden, "a node registers only documents held in its own repository")
        }
        let global = try globalPatient(set.patientId)
        AuditNotes.current?.patient(global)
        AuditNotes.current?.documents(set.entries.map(\.uniqueId))
        set.patientId = global
        for i in set.entries.indices {
            guard set.entries[i].patientId == set.entries[i].sourcePatientId || set.entries[i].patientId == global else {
                throw DocumentsError(.patientMismatch, "every entry must name the submission set's patient")
            }
            set.entries[i].patientId = global
        }
        try set.validate()
        // A document is replaced (and so deprecated) only by its source organisation, for the same patient.
        let replaced = set.entries.compactMap(\.replaces)
        if !replaced.isEmpty {
            let existing = try await store.read { r in try r.registryEntries(uniqueIds: replaced) }
            for old in existing where old.repositoryId != o.identity.commonName || old.patientId != global {
                throw ExchangeError(.forbidden, "a document is replaced only by its source organisation, for the same patient")
            }
        }
        let now = clock.now(), e = try evidence(o), frozen = set
        try await store.write { tx in
            try tx.keepEvidence(e, at: now)
            try tx.registerSubmission(frozen, at: now)
        }
        let stored = try await store.read { r in try r.registryEntries(uniqueIds: frozen.entries.map(\.uniqueId)) }
        return try reply(o, EntriesResponse(entries: stored))
    }

    func runQuery(_ query: StoredQuery) async throws -> [DocumentEntry] {
        switch query {
        case .findDocuments(var q):
            AuditNotes.current?.patient(q.patientId)
            q.patientId = try globalPatient(q.patientId)
            let frozen = q
            return try await store.read { r in try r.findDocuments(frozen, limit: 1000) }
        case .getDocuments(let ids):
            AuditNotes.current?.documents(ids)
            guard ids.count <= 1000 else { throw DocumentsError(.tooLarge, "GetDocuments takes at most 1000 ids") }
            return try await store.read { r in try r.registryEntries(uniqueIds: ids) }
        }
    }

    func query(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try require(.regional)
        try requireNode(o)
        let query = try o.message.decodeBody(StoredQuery.self)
        let entries = try await runQuery(query)
        // Every patient the answer names is on the event (a GetDocuments by id names none in its request).
        for e in entries { AuditNotes.current?.patient(e.patientId) }
        let consents = try await consents(of: entries)
        // For GetDocuments (the step before a retrieve), the registry signs what the repository needs to decide.
        var release: String?
        if case .getDocuments = query, !entries.isEmpty {
            let basis = ReleaseBasis(iat: Int64(clock.now().timeIntervalSince1970), entries: entries, consents: consents)
            release = try CompactJWS.sign(json: basis, type: ReleaseBasis.type, by: credential)
        }
        return try reply(o, EntriesResponse(entries: entries, consents: consents, release: release))
    }

    /// The consents on file for the patients of `entries` (summaries: no signed statements).
    func consents(of entries: [DocumentEntry]) async throws -> [ConsentRecord] {
        let patients = Set(entries.map(\.patientId.description))
        guard !patients.isEmpty else { return [] }
        return try await store.read { r in try patients.sorted().flatMap { try r.consents(patientId: $0) } }.map(\.summary)
    }

    // MARK: - Hospital: repository

    /// `repository.retrieve`: the data's owner decides. A document leaves this repository only for a named user whose
    /// assertion travels with the request (verified here; issued by the requesting node), after this node's own
    /// policy and consent decision on the regional registry's signed ``ReleaseBasis`` — as an XCA responding gateway.
    func retrieve(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try require(.hospital)
        try requireNode(o)
        let request = try o.message.decodeBody(RetrieveRequest.self)
        AuditNotes.current?.documents(request.uniqueIds)
        guard let token = o.message.header.assertion else {
            throw ExchangeError(.forbidden, "a repository releases documents only for a named user (no assertion)")
        }
        let claims = try await SignedAssertion.verify(token, audience: Self.federationAudience, validator: validatorSource(), now: clock.now())
        guard claims.iss == o.identity.commonName else { throw ExchangeError(.forbidden, "the user's assertion was issued by another node") }
        try sessions.use(claims, now: clock.now())
        AuditNotes.current?.purpose(claims.pou)
        let basis = try await releaseBasis(request.release)
        try await keep(o)
        let (entries, parts) = try await localDocuments(request.uniqueIds)
        for local in entries {
            guard let registered = basis.entries.first(where: { $0.uniqueId == local.uniqueId }), registered.hash == local.hash else {
                throw ExchangeError(.forbidden, "the registry's release does not cover a requested document")
            }
            AuditNotes.current?.patient(registered.patientId)
            try requirePermit(claims, [registered], consents: basis.consents)
        }
        return try reply(o, EntriesResponse(entries: entries), documents: parts)
    }

    /// Verifies a ``ReleaseBasis``: signed by this node's regional node, fresh.
    func releaseBasis(_ token: String?) async throws -> ReleaseBasis {
        guard let token else { throw ExchangeError(.forbidden, "a retrieve carries the registry's signed release") }
        let verified: CompactJWS.Verified
        do { verified = try await CompactJWS.verify(token, domain: "release", validator: validatorSource(), now: clock.now()) } catch {
            throw ExchangeError(.forbidden, "the release is not a valid statement of the regional registry")
        }
        guard verified.type == ReleaseBasis.type, let signer = verified.signer, signer.kind == .node, signer.commonName == configuration.regionalNode,
              let basis = try? JSONDecoder.exchange.decode(ReleaseBasis.self, from: verified.payload),
              abs(Double(basis.iat) - clock.now().timeIntervalSince1970) <= Envelope.maxSkew
        else { throw ExchangeError(.forbidden, "the release is not a fresh statement of this node's regional registry") }
        return basis
    }

    func localDocuments(_ ids: [String]) async throws -> ([DocumentEntry], [MIMEPart]) {
        guard !ids.isEmpty, ids.count <= 100 else { throw ExchangeError(.badRequest, "retrieve between 1 and 100 documents at a time") }
        AuditNotes.current?.documents(ids)
        var entries: [DocumentEntry] = []
        var parts: [MIMEPart] = []
        for uid in ids {
            let row = try await store.read { r in try r.repositoryDocument(uniqueId: uid) }
            guard let row else { throw DocumentsError(.notFound, "the repository holds no document with this uniqueId") }
            let content = try blobs.get(row)
            entries.append(row.entry)
            parts.append(MIMEPart(contentType: row.entry.mimeType, id: uid, body: content))
        }
        // Exports name the patient (under this repository's own id for them), so they appear in her access report.
        for e in entries { AuditNotes.current?.patient(e.sourcePatientId) }
        return (entries, parts)
    }

    func receiveTransfer(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try require(.hospital)
        try requireNode(o)
        let request = try o.message.decodeBody(TransferRequest.self)
        guard request.to == id else { throw ExchangeError(.misdirected, "the transfer names another recipient") }
        guard !o.message.documents.isEmpty, o.message.documents.count == request.entries.count else {
            throw DocumentsError(.invalidMetadata, "a transfer carries one metadata entry per document")
        }
        var received: [(RepositoryDocument, [UInt8])] = []
        AuditNotes.current?.documents(request.entries.map(\.uniqueId))
        for e in request.entries { AuditNotes.current?.patient(e.sourcePatientId) }
        for part in o.message.documents {
            guard var entry = request.entries.first(where: { $0.uniqueId == part.contentID }) else {
                throw DocumentsError(.invalidMetadata, "a document part has no metadata entry")
            }
            try DocumentIntegrity.check(part.body, against: entry)
            // Metadata and content must agree about the patient, whatever the sender says.
            let derived = try DocumentMetadata.entry(for: part.body, mimeType: entry.mimeType, sourcePatient: entry.sourcePatientId, repositoryId: id, now: clock.now())
            guard derived.uniqueId == entry.uniqueId else { throw DocumentsError(.invalidMetadata, "the uniqueId differs from the document's own id") }
            entry.repositoryId = id
            received.append((RepositoryDocument(entry: entry, wrappedKey: Data(), blob: ""), part.body))
        }
        let receipt = try await storeDocuments(received.map { ($0.0.entry, $0.1) }, evidence: o)
        return try reply(o, TransferReceipt(requestId: o.message.header.requestId, envelopeSHA256: DocumentIntegrity.sha256(o.raw), receivedBy: id, receivedAt: clock.now(), documents: receipt))
    }

    /// Encrypts and files documents in one unit of work (blobs first, removed again if the commit fails).
    @discardableResult
    func storeDocuments(_ docs: [(DocumentEntry, [UInt8])], evidence: OpenedEnvelope?) async throws -> [TransferReceipt.ReceiptLine] {
        var rows: [RepositoryDocument] = []
        var kept: Evidence?
        do {
            for (entry, content) in docs {
                let stored = try blobs.put(content, uniqueId: entry.uniqueId)
                rows.append(RepositoryDocument(entry: entry, wrappedKey: stored.wrappedKey, blob: stored.blob))
            }
            let now = clock.now(), frozen = rows
            kept = try evidence.map { try self.evidence($0) }
            let frozenEvidence = kept
            try await store.write { tx in
                if let frozenEvidence { try tx.keepEvidence(frozenEvidence, at: now) }
                for row in frozen { try tx.saveRepositoryDocument(row, at: now) }
            }
        } catch {
            for row in rows { blobs.remove(blob: row.blob) }
            if let blob = kept?.stored?.blob { blobs.remove(blob: blob) }
            throw error
        }
        return rows.map { TransferReceipt.ReceiptLine(uniqueId: $0.entry.uniqueId, hash: $0.entry.hash) }
    }

    // MARK: - Global: directory

    func publish(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try require(.global)
        try requireNode(o)
        let node = try o.message.decodeBody(DirectoryNode.self)
        guard node.id == o.identity.commonName else { throw ExchangeError(.forbidden, "a node publishes only its own entry") }
        guard let leaf = try? PEM.certificates(fromPEM: node.certificatePEM).first, leaf == o.signer else {
            throw ExchangeError(.forbidden, "the published certificate is not the signer's")
        }
        let now = clock.now()
        try await store.write { tx in try tx.saveDirectoryNode(node, at: now) }
        return try reply(o, node)
    }

    /// A node's directory entry and validated certificate (cached).
    public func lookUp(_ nodeId: String) async throws -> (DirectoryNode, Certificate) {
        if let hit = directoryCache.withLock({ $0[nodeId] }) { return hit }
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
        directoryCache.withLock { $0[nodeId] = (node, leaf) }
        return (node, leaf)
    }

    /// This node as the directory describes it (public: id, roles, endpoint, certificate chain).
    public func selfDescription() throws -> DirectoryNode {
        let pem = try PEM.encode([credential.certificate] + credential.chain)
        return DirectoryNode(id: id, roles: configuration.roles.map(\.rawValue).sorted(), endpoint: configuration.endpoint, certificatePEM: pem, region: configuration.roles.contains(.hospital) ? configuration.regionalNode : "")
    }

    /// Publishes this node in the global directory.
    public func publishSelf() async throws {
        let me = try selfDescription()
        if configuration.roles.contains(.global) {
            let now = clock.now()
            try await store.write { tx in try tx.saveDirectoryNode(me, at: now) }
            return
        }
        // The directory's own certificate comes from its entry, which a global node serves for itself.
        let globalBytes = try await transport.get(configuration.directoryEndpoint, path: "/v1/directory/self")
        guard let global = try? JSONDecoder.exchange.decode(DirectoryNode.self, from: Data(globalBytes)) else {
            throw ExchangeError(.peerUnavailable, "the directory did not describe itself")
        }
        let (_, cert) = try await lookUp(global.id)
        _ = try await call(.publishNode, to: global.id, endpoint: configuration.directoryEndpoint, certificate: cert, body: me)
    }

    // MARK: - Outbound

    /// Seals a request to `nodeId`, posts it, and opens the reply (which must be signed by that node).
    /// `assertion` is a user's sign-in assertion forwarded on their behalf (a retrieve: the repository decides for the user).
    public func call(_ operation: ExchangeOperation, to nodeId: String, body: some Encodable, documents: [MIMEPart] = [], assertion: String? = nil) async throws -> OpenedEnvelope {
        let (node, cert) = try await lookUp(nodeId)
        return try await call(operation, to: nodeId, endpoint: node.endpoint, certificate: cert, body: body, documents: documents, assertion: assertion)
    }

    func call(_ operation: ExchangeOperation, to nodeId: String, endpoint: String, certificate: Certificate, body: some Encodable, documents: [MIMEPart] = [], assertion: String? = nil) async throws -> OpenedEnvelope {
        let message = ExchangeMessage(
            header: EnvelopeHeader(operation: operation, audience: nodeId, requestId: UUID().uuidString.lowercased(), issuedAt: clock.now(), body: try JSONEncoder.exchange.encode(body), assertion: assertion),
            documents: documents)
        let sealed = try Envelope.seal(message, from: credential, to: certificate, now: clock.now())
        let answer = try await transport.post(endpoint, path: operation.path, envelope: sealed)
        let opened = try await Envelope.open(answer, as: id, credential: credential, validator: validatorSource(), expecting: operation, now: clock.now())
        guard opened.identity.commonName == nodeId, opened.message.header.requestId == message.header.requestId else {
            throw ExchangeError(.signerRejected, "the reply is not signed by the node that was asked, or answers another request")
        }
        return opened
    }

    /// Registers a locally stored patient with the regional MPI; returns the global id.
    public func registerWithRegion(_ identity: LocalIdentity) async throws -> PatientIdentifier {
        let record = try await store.read { r in try r.patient(identity) }
        guard let record else { throw ExchangeError(.unknownPatient, "this node holds no patient with this identity") }
        let opened = try await call(.registerIdentity, to: configuration.regionalNode, body: RegisterIdentityRequest(identity: identity, demographics: record.demographics))
        try await keep(opened)
        return try opened.message.decodeBody(RegisterIdentityResponse.self).patientId
    }

    // MARK: - Hospital: users' requests

    func submit(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try require(.hospital)
        let claims = try await authorize(o)
        let request = try o.message.decodeBody(SubmitRequest.self)
        AuditNotes.current?.patient(request.patient)
        guard !o.message.documents.isEmpty else { throw DocumentsError(.invalidMetadata, "a submission carries at least one document") }
        guard request.replaces == nil || o.message.documents.count == 1 else {
            throw DocumentsError(.invalidMetadata, "a replacement submits exactly one document")
        }
        var docs: [(DocumentEntry, [UInt8])] = []
        for part in o.message.documents {
            let entry = try DocumentMetadata.entry(for: part.body, mimeType: part.mediaType, sourcePatient: request.patient, repositoryId: id, confidentiality: request.confidentiality, replaces: request.replaces, now: clock.now())
            docs.append((entry, part.body))
        }
        AuditNotes.current?.documents(docs.map(\.0.uniqueId))
        // Filing at the author's own node discloses nothing: role, purpose and confidentiality decide.
        try requirePermit(claims, docs.map(\.0), consents: [])
        let registered = try await publish(docs, patient: request.patient, evidence: o)
        return try reply(o, EntriesResponse(entries: registered))
    }

    /// Provide-and-register: files the documents in this node's repository and registers them with the regional
    /// registry; if registration fails the documents are removed again, so a submission is all or nothing.
    public func publish(_ docs: [(DocumentEntry, [UInt8])], patient: PatientIdentifier, evidence: OpenedEnvelope? = nil) async throws -> [DocumentEntry] {
        try require(.hospital)
        try await storeDocuments(docs, evidence: evidence)
        do {
            let set = SubmissionSet(uniqueId: UUIDOID.make(), sourceId: id, submissionTime: clock.now(), patientId: patient, entries: docs.map(\.0))
            let opened = try await call(.registerSubmission, to: configuration.regionalNode, body: set)
            try await keep(opened)
            return try opened.message.decodeBody(EntriesResponse.self).entries
        } catch {
            let ids = docs.map(\.0.uniqueId)
            let blobs = self.blobs
            let rows = try? await store.read { r in try ids.compactMap { try r.repositoryDocument(uniqueId: $0) } }
            try? await store.write { tx in for uid in ids { try tx.deleteRepositoryDocument(uniqueId: uid) } }
            for row in rows ?? [] { blobs.remove(blob: row.blob) }
            throw error
        }
    }

    func userQuery(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        let claims = try await authorize(o)
        let query = try o.message.decodeBody(StoredQuery.self)
        switch query {
        case .findDocuments(let q): AuditNotes.current?.patient(q.patientId)
        case .getDocuments(let ids): AuditNotes.current?.documents(ids)
        }
        // Entries the policy (with the patient's consents) does not let this person see are not shown (their
        // existence is not disclosed).
        let answer = try await registryAnswer(query)
        let consents = answer.consents ?? []
        let entries = answer.entries.filter { decide(claims, $0, consents: consents).isPermit }
        for e in entries { AuditNotes.current?.patient(e.patientId) }
        return try reply(o, EntriesResponse(entries: entries))
    }

    /// Runs a stored query at the regional registry.
    public func queryRegistry(_ query: StoredQuery) async throws -> [DocumentEntry] {
        try await registryAnswer(query).entries
    }

    /// Runs a stored query at the regional registry: entries, and the consents on file for their patients.
    public func registryAnswer(_ query: StoredQuery) async throws -> EntriesResponse {
        let opened = try await call(.query, to: configuration.regionalNode, body: query)
        return try opened.message.decodeBody(EntriesResponse.self)
    }

    func userFindPatients(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        let claims = try await authorize(o)
        guard decide(claims, Confidentiality.U.rawValue).isPermit else { throw ExchangeError(.forbidden, "the policy does not permit this role and purpose to search patients") }
        let request = try o.message.decodeBody(FindPatientsRequest.self)
        let opened = try await call(.findPatients, to: configuration.regionalNode, body: request)
        return try reply(o, try opened.message.decodeBody([PatientMatch].self))
    }

    func userRetrieve(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        let claims = try await authorize(o)
        let request = try o.message.decodeBody(RetrieveRequest.self)
        AuditNotes.current?.documents(request.uniqueIds)
        let (entries, parts, servedBy) = try await retrieveAcross(request.uniqueIds, for: o.message.header.assertion) { try self.requirePermit(claims, $0, consents: $1) }
        for e in entries { AuditNotes.current?.patient(e.patientId) }
        return try reply(o, RetrieveResponse(entries: entries, servedBy: servedBy), documents: parts)
    }

    /// Finds documents' entries in the registry, fetches each from the repository holding it (re-encrypted to
    /// this node and signed by that repository), and checks every document against the registry's hash and size.
    /// `authorize` sees the entries and the consents on file for their patients before anything is fetched; each
    /// repository decides again itself, for the user whose `assertion` (issued by this node) travels with the request.
    public func retrieveAcross(_ ids: [String], for assertion: String?, authorize: ([DocumentEntry], [ConsentRecord]) throws -> Void = { _, _ in }) async throws -> ([DocumentEntry], [MIMEPart], [String: String]) {
        let answer = try await registryAnswer(.getDocuments(uniqueIds: ids))
        let entries = answer.entries
        guard entries.count == Set(ids).count else { throw DocumentsError(.notFound, "the registry has no entry for a requested uniqueId") }
        try authorize(entries, answer.consents ?? [])
        var parts: [MIMEPart] = []
        var servedBy: [String: String] = [:]
        for (repository, group) in Dictionary(grouping: entries, by: \.repositoryId).sorted(by: { $0.key < $1.key }) {
            let opened = try await call(.retrieve, to: repository, body: RetrieveRequest(uniqueIds: group.map(\.uniqueId), release: answer.release), assertion: assertion)
            try await keep(opened)
            for entry in group {
                guard let part = opened.message.documents.first(where: { $0.contentID == entry.uniqueId }) else {
                    throw DocumentsError(.notFound, "the repository did not return a requested document")
                }
                try DocumentIntegrity.check(part.body, against: entry)
                parts.append(part)
                servedBy[entry.uniqueId] = opened.identity.commonName
            }
        }
        return (entries, parts, servedBy)
    }

    func userTransfer(_ o: OpenedEnvelope) async throws -> ExchangeMessage {
        try require(.hospital)
        let claims = try await authorize(o)
        let request = try o.message.decodeBody(TransferRequest.self)
        AuditNotes.current?.documents(request.uniqueIds)
        let held = try await store.read { r in try request.uniqueIds.compactMap { try r.repositoryDocument(uniqueId: $0)?.entry } }
        // The recipient is the organisation the patient's consent is weighed for.
        for (patient, group) in Dictionary(grouping: held, by: \.sourcePatientId) {
            let answer = try await consentsAtRegion(ConsentQuery(patient: patient))
            var asGlobal = group
            for i in asGlobal.indices { asGlobal[i].patientId = answer.patientId }
            try requirePermit(claims, asGlobal, consents: answer.consents, organization: request.to)
        }
        return try reply(o, try await transfer(request.uniqueIds, to: request.to, reason: request.reason))
    }

    /// Pushes documents from this node's repository to `nodeId`; returns the recipient's signed receipt after
    /// checking it lists every document with its hash.
    public func transfer(_ ids: [String], to nodeId: String, reason: String) async throws -> TransferReceipt {
        let (entries, parts) = try await localDocuments(ids)
        let opened = try await call(.transfer, to: nodeId, body: TransferRequest(to: nodeId, uniqueIds: ids, entries: entries, reason: reason), documents: parts)
        try await keep(opened)
        let receipt = try opened.message.decodeBody(TransferReceipt.self)
        guard Set(receipt.documents) == Set(entries.map { TransferReceipt.ReceiptLine(uniqueId: $0.uniqueId, hash: $0.hash) }) else {
            throw ExchangeError(.signerRejected, "the receipt does not list the documents sent")
        }
        return receipt
    }
}
