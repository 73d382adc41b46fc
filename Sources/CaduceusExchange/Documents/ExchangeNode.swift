package import CaduceusPKI
package import CaduceusStorage
package import CaduceusDocuments
package import CaduceusCore
package import X509
import CaduceusCMS
import CaduceusAudit
package import CaduceusPolicy
package import CaduceusPatientIndex
import Foundation
import Synchronization

/// The roles a node plays (DESIGN §1).
package enum NodeRole: String, Sendable, Codable, CaseIterable {
    /// Beside a hospital's EMRs: HL7 in, repository, document source and consumer.
    case hospital
    /// A regional HIE: registry, MPI.
    case regional
    /// The federation's anchor: node directory.
    case global
}

/// Outbound calls to other nodes (implemented over HTTPS with mutual TLS by `CaduceusHTTP`).
package protocol PeerTransport: Sendable {
    /// POSTs an envelope; returns the reply envelope, or throws the peer's coded error.
    func post(_ endpoint: String, path: String, envelope: [UInt8]) async throws -> [UInt8]
    /// GETs a public resource (the directory).
    func get(_ endpoint: String, path: String) async throws -> [UInt8]
    /// Closes idle connections (before a graceful shutdown, so servers need not wait for them).
    func close()
}

/// A node's place in the federation.
package struct ExchangeConfiguration: Sendable {
    /// This node's id (its certificate's CN).
    package var nodeId: String
    /// Roles played.
    package var roles: Set<NodeRole>
    /// This node's public HTTPS base URL; empty until the listener is bound (then `https://host:port`).
    package var endpoint: String
    /// The regional node (registry and MPI) this node uses.
    package var regionalNode: String
    /// This node's plain-HTTP revocation list listener (`http://host:port`), empty when it runs none.
    package var revocationEndpoint = ""
    /// The global node's base URL (directory); empty: this node's own endpoint once bound (it is its own directory),
    /// unless ``ExchangeNode/useDirectory(at:)`` names another first.
    package var directoryEndpoint: String
    /// Creates a configuration.
    package init(nodeId: String, roles: Set<NodeRole>, endpoint: String, regionalNode: String, directoryEndpoint: String) {
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
package final class ExchangeNode: Sendable {
    /// What the services share.
    let core: NodeCore
    /// This node's place in the federation.
    package var configuration: ExchangeConfiguration { core.configuration }
    /// The node's store.
    package var store: any CaduceusStore { core.store }
    /// The node's document content.
    package var blobs: BlobStore { core.blobs }
    /// The policy decision point guarding users' operations.
    package var policy: PolicyDecisionPoint { core.policy }

    /// Creates a node. `mpi` is required for the regional role; `onlineStatus`, when given, is asked about every card
    /// that signs in (OCSP, after the CRL check).
    package convenience init(configuration: ExchangeConfiguration, credential: Credential, validator: @escaping @Sendable () -> ChainValidator, store: any CaduceusStore, blobs: BlobStore, mpi: MPIService?, transport: any PeerTransport, policy: PolicyDecisionPoint, revocation: (any RevocationLists)? = nil, onlineStatus: (any OnlineRevocationChecker)? = nil, clock: any WallClock = SystemWallClock()) {
        self.init(configuration: configuration, credentials: RenewableCredential(credential), validator: validator, store: store, blobs: blobs, mpi: mpi, transport: transport, policy: policy, revocation: revocation, onlineStatus: onlineStatus, clock: clock)
    }

    /// Creates a node whose own credential may be renewed while it runs (see ``RenewableCredential``).
    package init(configuration: ExchangeConfiguration, credentials: RenewableCredential, validator: @escaping @Sendable () -> ChainValidator, store: any CaduceusStore, blobs: BlobStore, mpi: MPIService?, transport: any PeerTransport, policy: PolicyDecisionPoint, revocation: (any RevocationLists)? = nil, onlineStatus: (any OnlineRevocationChecker)? = nil, clock: any WallClock = SystemWallClock()) {
        core = NodeCore(configuration: configuration, credentials: credentials, validator: validator, store: store, blobs: blobs, mpi: mpi, transport: transport, policy: policy, revocation: revocation, onlineStatus: onlineStatus, clock: clock)
    }

    /// The revocation lists this node keeps and re-serves (nil in unit tests without them).
    package var revocationLists: (any RevocationLists)? { core.revocation }

    /// Tells every other node in the directory of `crls` (concurrently; each call bounded by the peer client's
    /// deadline); returns how many nodes answered. A node that missed it fetches it on its schedule.
    @discardableResult
    package func pushRevocations(_ crls: [PublishedCRL]) async -> Int { await core.revocationService.push(crls) }

    /// Fetches the revocation lists every other node in the directory holds, keeping those newer than this node's;
    /// returns how many were taken.
    @discardableResult
    package func fetchRevocations() async -> Int { await core.revocationService.fetch() }

    /// The audience of sign-in assertions: every node of the federation accepts them.
    package static let federationAudience = "caduceus-federation"

    /// Completes this node's place once its HTTPS listener is bound on `host:port`: an empty endpoint becomes
    /// `https://host:port`, and an empty directory endpoint this node's own. Listeners bind first (port 0: the kernel
    /// chooses) and the node learns its address from them — nothing probes for a free port.
    package func bound(host: String, port: Int) {
        core.place.withLock { c in
            if c.endpoint.isEmpty { c.endpoint = "https://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
            if c.directoryEndpoint.isEmpty { c.directoryEndpoint = c.endpoint }
        }
    }

    /// The node's own credential (renewed in place by the composition root's renewer).
    package var credentials: RenewableCredential { core.credentials }

    /// Attaches the CA this hospital node issues cards from (the card station's operations need it).
    package func useCardAuthority(_ authority: any CardAuthority) { core.cardAuthorityBox.withLock { $0 = authority } }

    /// Attaches the HL7 receiver of this hospital node's EMR feed: patients registered at the node (the transfer
    /// inbox) go through its ingest rules.
    package func usePatientIntake(_ receiver: HL7Receiver) { core.patientIntakeBox.withLock { $0 = receiver } }

    /// Records where this node's plain-HTTP revocation list listener is bound (published in its directory entry).
    package func servesRevocationLists(at url: String) { core.place.withLock { $0.revocationEndpoint = url } }

    /// The plain-HTTP revocation list listeners of the other nodes, as the directory lists them (empty when the
    /// directory cannot be read).
    package func revocationSources() async -> [String] {
        guard let listing = try? await core.transport.get(core.configuration.directoryEndpoint, path: "/v1/directory/nodes"),
              let nodes = try? JSONDecoder.exchange.decode([DirectoryNode].self, from: Data(listing))
        else { return [] }
        // Only on the node's own HTTPS host: a directory entry cannot send every node fetching from another machine.
        return nodes.filter { $0.id != core.id }.compactMap { node -> String? in
            guard let url = node.revocationEndpoint, url.hasPrefix("http://"), let host = URL(string: url)?.host,
                  host == URL(string: node.endpoint)?.host
            else { return nil }
            return url
        }
    }

    /// Points this node at the global directory (once the global node's listener is bound, for nodes started
    /// together on one machine).
    package func useDirectory(at endpoint: String) {
        core.place.withLock { $0.directoryEndpoint = endpoint }
        core.directoryCache.withLock { $0.removeAll() }
    }

    /// Records where this node's audit repository (syslog over TLS) listens, for `audit.position` answers.
    package func setAuditRepository(host: String, port: Int) { core.auditRepositoryAddress.withLock { $0 = (host, port) } }

    /// Where this node's audit repository listens (nil until bound, or when it runs none).
    package var auditRepository: (host: String, port: Int)? { core.auditRepositoryAddress.withLock { $0 } }

    /// Closes this node's idle outbound connections.
    package func closeConnections() { core.transport.close() }


    /// Restores what must survive a restart: the request ids seen within the freshness window (the replay cache)
    /// and the sign-outs of assertions not yet expired. Call once before serving.
    package func restoreState() async throws {
        let now = core.clock.now()
        let (seen, signedOut) = try await core.store.read { r in (try r.seenRequests(now: now), try r.signOuts(now: now)) }
        core.seenRequests.withLock { $0.merge(seen) { a, _ in a } }
        for (jti, expires) in signedOut { core.sessions.revoke(jti: jti, expires: expires) }
    }

    /// Handles an envelope POSTed to `path` over a TLS connection whose client presented `tlsClient`; returns the
    /// reply envelope. The envelope door of the gate (``pass(_:door:authenticate:bind:respond:)``): it authenticates
    /// by opening the envelope, binds it to the connection (the envelope's signer must be that TLS client), and its
    /// request id must not have been seen within the freshness window.
    /// - Throws: a coded error (``ExchangeError``, ``DocumentsError``, `cda.*`, `dicom.*`, `storage.*`), already audited.
    package func handle(path: String, envelope: [UInt8], tlsClient: Certificate) async throws -> [UInt8] {
        guard let operation = ExchangeOperation.allCases.first(where: { $0.path == path }) else {
            throw ExchangeError(.badRequest, "no such operation")
        }
        return try await pass(
            operation, door: .envelope,
            authenticate: { [core] in
                try await Envelope.open(envelope, as: core.id, decryptors: core.credentials.decryptors(at: core.clock.now()), validator: core.validatorSource(), expecting: operation, now: core.clock.now())
            },
            bind: { opened throws(ExchangeError) in
                guard opened.signer == tlsClient else {
                    throw ExchangeError(.peerMismatch, "the TLS client certificate is not the envelope's signer")
                }
            },
            respond: { [core] opened, reply in try Envelope.seal(reply, from: core.credential, to: opened.signer, now: core.clock.now()) })
    }

    /// The gate's first authorisation: the operation's ``OperationRule`` (this node's role, the caller's certificate
    /// kind, a sign-in where a person acts), before any handler runs.
    func authorizeCaller(_ operation: ExchangeOperation, _ o: OpenedEnvelope) throws(ExchangeError) {
        let rule = operation.rule
        if let role = rule.role { try core.require(role) }
        guard rule.callers.contains(o.identity.kind) else {
            throw ExchangeError(.forbidden, "this operation is not open to a \(o.identity.kind.rawValue) certificate")
        }
        if rule.signedIn, o.message.header.assertion == nil { throw ExchangeError(.forbidden, "sign in first (no assertion in the request)") }
    }

    /// Refuses a request id this signer used before within the freshness window; returns the key and expiry to
    /// remember durably (with the operation's audit event).
    func noteRequest(_ o: OpenedEnvelope) throws(ExchangeError) -> (String, Date) {
        // Per signing certificate (issuer and serial: unique), not per name.
        let key = Hex.encode(o.signer.serialNumber.bytes) + "@" + String(describing: o.signer.issuer) + " " + o.message.header.requestId
        let now = core.clock.now(), expires = o.message.header.issuedAt.addingTimeInterval(2 * Envelope.maxSkew)
        let fresh = core.seenRequests.withLock { seen in
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
    /// cache; on success, with the operation's own writes (``AuditNotes/commit(_:)``).
    func audit(_ operation: ExchangeOperation, _ notes: AuditNotes, error: (any Error)?, remember: (String, Date)? = nil, writes: [@Sendable (any StoreTransaction) throws -> Void] = []) async throws {
        let messages = AuditNotes.messages(
            for: operation, notes: notes, node: core.id, endpoint: core.configuration.endpoint, error: error, time: core.clock.now())
        let now = core.clock.now()
        _ = try await core.store.write { tx in
            if let (key, expires) = remember { try tx.rememberRequest(key, expires: expires, now: now) }
            for write in writes { try write(tx) }
            try tx.appendAudit(messages)
        }
    }

    func dispatch(_ operation: ExchangeOperation, _ o: ExchangeRequest) async throws -> ExchangeMessage {
        switch operation {
        case .registerIdentity: return try await core.regionalMPIService.registerIdentity(o)
        case .findPatients: return try core.reply(o, try core.regionalMPIService.findPatients(o.message.decodeBody(FindPatientsRequest.self), o))
        case .registerSubmission: return try await core.registryService.registerSubmission(o)
        case .query: return try await core.registryService.query(o)
        case .retrieve: return try await core.repositoryService.retrieve(o)
        case .transfer: return try await core.transferService.receiveTransfer(o)
        case .publishNode: return try await core.directoryService.publish(o)
        case .submit: return try await core.clinicalService.submit(o)
        case .userQuery: return try await core.clinicalService.userQuery(o)
        case .userRetrieve: return try await core.clinicalService.userRetrieve(o)
        case .userTransfer: return try await core.transferService.userTransfer(o)
        case .userFindPatients: return try await core.clinicalService.userFindPatients(o)
        case .signIn: return try await core.sessionService.signIn(o)
        case .signOut: return try await core.sessionService.signOut(o)
        case .revokeSession: return try await core.sessionService.revokeSession(o)
        case .userEmergencies: return try await core.sessionService.userEmergencies(o)
        case .userEmergencyReview: return try await core.sessionService.userEmergencyReview(o)
        case .userAuditSearch, .userAuditExport: return try await core.auditSearchService.search(o)
        case .userConsent: return try await core.consentService.userConsent(o)
        case .userConsents: return try await core.consentService.userConsents(o)
        case .registerConsent: return try await core.consentService.registerConsent(o)
        case .queryConsents: return try await core.consentService.queryConsents(o)
        case .auditPosition: return try await core.registryService.auditPosition(o)
        case .userAccessReport: return try await core.accessReportService.userAccessReport(o)
        case .accessReport: return try await core.accessReportService.accessReport(o)
        case .accessEvents: return try await core.accessReportService.accessEvents(o)
        case .publishCRL: return try await core.revocationService.receive(o)
        case .staffImport: return try await core.cardService.staffImport(o)
        case .staffList: return try await core.cardService.staffList(o)
        case .userCard: return try await core.cardService.ownCard(o)
        case .cardEnroll: return try await core.cardService.enroll(o)
        case .cardAction: return try await core.cardService.action(o)
        case .cardList: return try await core.cardService.list(o)
        case .adminOverview: return try await AdminService(core: core).overview(o)
        case .adminCodes: return try await AdminService(core: core).codes(o)
        case .adminCodesSave: return try await AdminService(core: core).save(o)
        case .adminPatients: return try await PatientAdminService(core: core).patients(o)
        case .adminMPIReview: return try await PatientAdminService(core: core).review(o)
        case .adminMPIDecide: return try await PatientAdminService(core: core).decide(o)
        case .mpiReview: return try await RegionalReviewService(core: core).review(o)
        case .mpiDecide: return try await RegionalReviewService(core: core).decide(o)
        case .mpiLinks: return try await RegionalReviewService(core: core).links(o)
        case .userTransfers: return try await TransferInboxService(core: core).list(o)
        case .userTransferAccept: return try await TransferInboxService(core: core).accept(o)
        }
    }


    /// The purpose of use of a patient's own sign-in (HL7 PurposeOfUse "patient requested").
    package static let patientPurpose = "PATRQT"

    // MARK: - The node's own calls (demo, tests, background services)

    /// A node's directory entry and validated certificate (cached).
    package func lookUp(_ nodeId: String) async throws -> (DirectoryNode, Certificate) { try await core.lookUp(nodeId) }
    /// This node as the directory describes it.
    package func selfDescription() throws -> DirectoryNode { try core.directoryService.selfDescription() }
    /// Publishes this node in the global directory.
    package func publishSelf() async throws { try await core.directoryService.publishSelf() }
    /// Seals a request to `nodeId`, posts it, and opens the reply (which must be signed by that node).
    package func call(_ operation: ExchangeOperation, to nodeId: String, body: some Encodable, documents: [MIMEPart] = [], assertion: String? = nil) async throws -> OpenedEnvelope {
        try await core.call(operation, to: nodeId, body: body, documents: documents, assertion: assertion)
    }
    /// Registers a locally stored patient with the regional MPI; returns the global id.
    package func registerWithRegion(_ identity: LocalIdentity) async throws -> PatientIdentifier { try await core.regionalMPIService.registerWithRegion(identity) }
    /// Provide-and-register (all or nothing).
    package func publish(_ docs: [(DocumentEntry, [UInt8])], patient: PatientIdentifier, evidence: OpenedEnvelope? = nil) async throws -> [DocumentEntry] {
        try await core.clinicalService.publish(docs, patient: patient, evidence: evidence)
    }
    /// Runs a stored query at the regional registry.
    package func queryRegistry(_ query: StoredQuery) async throws -> [DocumentEntry] { try await core.clinicalService.queryRegistry(query) }
    /// Runs a stored query at the regional registry: entries, consents, and (GetDocuments) the signed release.
    package func registryAnswer(_ query: StoredQuery) async throws -> EntriesResponse { try await core.clinicalService.registryAnswer(query) }
    /// Fetches documents across the federation for the user whose assertion is given (each repository decides again).
    package func retrieveAcross(_ ids: [String], for assertion: String?, authorize: ([DocumentEntry], [ConsentRecord]) throws -> Void = { _, _ in }) async throws -> ([DocumentEntry], [MIMEPart], [String: String]) {
        try await core.clinicalService.retrieveAcross(ids, for: assertion, authorize: authorize)
    }
    /// Pushes documents from this node's repository to `nodeId`; returns the recipient's checked receipt.
    package func transfer(_ ids: [String], to nodeId: String, reason: String) async throws -> TransferReceipt {
        try await core.transferService.transfer(ids, to: nodeId, reason: reason, audit: nil)
    }
    /// A patient's consents as the regional registry holds them.
    package func consentsAtRegion(_ query: ConsentQuery) async throws -> ConsentsResponse { try await core.consentService.consentsAtRegion(query, audit: nil) }
}
