import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPKI
import CaduceusPolicy
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// A transport that never reaches anyone: the services under test answer in process.
struct NoNetwork: PeerTransport {
    func post(_ endpoint: String, path: String, envelope: [UInt8]) async throws -> [UInt8] {
        throw ExchangeError(.peerUnavailable, "no network in unit tests")
    }
    func get(_ endpoint: String, path: String) async throws -> [UInt8] { throw ExchangeError(.peerUnavailable, "no network in unit tests") }
    func close() {}
}

/// The store a fixture's node keeps its state in: in memory (the default, for unit tests), or SQLite in the
/// fixture's temporary directory.
enum FixtureStore: String, CaseIterable, Sendable {
    case memory
    case sqlite

    func make(in dir: TemporaryDirectory) throws -> any CaduceusStore {
        let key = NodeKey(bytes: Data(repeating: 7, count: 32))
        switch self {
        case .memory: return try InMemoryStore(nodeKey: key)
        case .sqlite: return try SQLiteStore(path: dir.file("n.sqlite"), nodeKey: key)
        }
    }
}

/// One node (every role) over a store (in memory by default) and no network: the gate and the services are
/// exercised through `handle`, with envelopes sealed in process — no socket. Blobs go to a temporary directory.
struct GateFixture {
    let pki: TestPKI
    let dir: TemporaryDirectory
    let node: ExchangeNode
    let nodeCredential: Credential
    let store: any CaduceusStore

    init(roles: Set<NodeRole> = [.hospital, .regional, .global], store kind: FixtureStore = .memory) async throws {
        pki = try TestPKI()
        dir = try TemporaryDirectory()
        nodeCredential = try pki.credential(.node(dnsNames: ["node.unit.test"]), name: "node.unit")
        store = try kind.make(in: dir)
        let blobs = try BlobStore(directory: dir.file("blobs"), cipher: store.cipher)
        let mpi = try await MPIService(store: store, globalAuthority: "2.25.99")
        let configuration = ExchangeConfiguration(nodeId: "node.unit", roles: roles, endpoint: "https://127.0.0.1:1", regionalNode: "node.unit", directoryEndpoint: "https://127.0.0.1:1")
        let validator = pki.validator()
        node = ExchangeNode(configuration: configuration, credential: nodeCredential, validator: { validator }, store: store, blobs: blobs, mpi: mpi, transport: NoNetwork(), policy: PolicyDecisionPoint(policy: try PolicySet.shippedDefault()))
    }

    /// A staff card of `organization` in `role`.
    func card(_ name: String, role: String, organization: String = "node.unit") throws -> Credential {
        let key = try PrivateKeyMaterial.generate(.p256)
        let cert = try pki.hospital.issue(profile: .person(email: "x@unit.test"), subject: try federationName(commonName: name, organization: organization, unit: role), publicKey: key.publicKey, serialNumber: SerialNumberGenerator.random(), now: Date())
        return try Credential(key: key, certificate: cert, chain: [pki.hospital.certificate, pki.regional.certificate])
    }

    func seal(_ operation: ExchangeOperation, _ body: some Encodable, from signer: Credential, assertion: String? = nil, requestId: String = UUID().uuidString) throws -> [UInt8] {
        let header = EnvelopeHeader(operation: operation, audience: "node.unit", requestId: requestId, issuedAt: Date(), body: try JSONEncoder.exchange.encode(body), assertion: assertion)
        return try Envelope.seal(ExchangeMessage(header: header), from: signer, to: nodeCredential.certificate, now: Date())
    }

    /// Handles a request from `signer` over a connection whose client certificate is `tls` (the signer by default);
    /// returns the refusal's code, or nil.
    func code(_ operation: ExchangeOperation, _ body: some Encodable, from signer: Credential, tls: Credential? = nil, assertion: String? = nil) async throws -> String? {
        let sealed = try seal(operation, body, from: signer, assertion: assertion)
        do {
            _ = try await node.handle(path: operation.path, envelope: sealed, tlsClient: (tls ?? signer).certificate)
            return nil
        } catch let e as any CaduceusError { return e.code }
    }

    func auditCount() async throws -> Int { try await store.read { try $0.auditMessages(AuditFilter()).count } }

    /// Signs `card` in and returns the assertion.
    func signIn(_ card: Credential, purpose: String = "TREAT", reason: String? = nil) async throws -> String {
        let sealed = try seal(.signIn, SignInRequest(purpose: purpose, reason: reason), from: card)
        let reply = try await node.handle(path: ExchangeOperation.signIn.path, envelope: sealed, tlsClient: card.certificate)
        let opened = try await Envelope.open(reply, as: FederationIdentity(card.certificate)!.commonName, credential: card, validator: pki.validator(), expecting: .signIn, now: Date())
        return try opened.message.decodeBody(SignInResponse.self).assertion
    }
}

@Suite("The gate and the services, in process")
struct GateTests {
    @Test("the operation rule table: a card on a node operation, a node on a user operation, a person without a sign-in — each refused with one audit event", arguments: FixtureStore.allCases)
    func callerKinds(_ kind: FixtureStore) async throws {
        let f = try await GateFixture(store: kind)
        let nurse = try f.card("Nurse (synthetic)", role: "nurse")
        let before = try await f.auditCount()
        #expect(try await f.code(.query, StoredQuery.getDocuments(uniqueIds: ["2.25.1"]), from: nurse) == "exchange.forbidden")
        #expect(try await f.code(.userQuery, StoredQuery.getDocuments(uniqueIds: ["2.25.1"]), from: f.nodeCredential) == "exchange.forbidden")
        #expect(try await f.code(.userQuery, StoredQuery.getDocuments(uniqueIds: ["2.25.1"]), from: nurse) == "exchange.forbidden", "no assertion")
        #expect(try await f.auditCount() == before + 3)
        // Every operation has a rule, and every node-to-node operation is closed to people.
        for op in ExchangeOperation.allCases where op.rule.callers == [.node] {
            #expect(!op.rawValue.hasPrefix("user."), "\(op)")
        }
    }

    @Test("a node that does not play the operation's role answers exchange.wrong-role")
    func wrongRole() async throws {
        let f = try await GateFixture(roles: [.hospital])
        #expect(try await f.code(.query, StoredQuery.getDocuments(uniqueIds: ["2.25.1"]), from: f.nodeCredential) == "exchange.wrong-role")
        #expect(try await f.code(.publishNode, ["x": "y"], from: f.nodeCredential) == "exchange.wrong-role")
    }

    @Test("the TLS client must be the envelope's signer; a request id is accepted once", arguments: FixtureStore.allCases)
    func bindings(_ kind: FixtureStore) async throws {
        let f = try await GateFixture(store: kind)
        let other = try f.pki.credential(.node(dnsNames: ["other.unit.test"]), name: "node.other")
        #expect(try await f.code(.query, StoredQuery.getDocuments(uniqueIds: ["2.25.1"]), from: f.nodeCredential, tls: other) == "exchange.peer-mismatch")
        let sealed = try f.seal(.query, StoredQuery.getDocuments(uniqueIds: ["2.25.1"]), from: other)
        _ = try await f.node.handle(path: ExchangeOperation.query.path, envelope: sealed, tlsClient: other.certificate)
        await #expect(throws: ExchangeError(.replayed, "")) {
            _ = try await f.node.handle(path: ExchangeOperation.query.path, envelope: sealed, tlsClient: other.certificate)
        }
    }

    @Test("sign-in: the assertion names the card's home organisation; break-glass needs a reason; a node ends only sessions it issued; a node's own queue is for its own organisation")
    func sessions() async throws {
        let f = try await GateFixture()
        let visitor = try f.card("Nurse (synthetic)", role: "nurse", organization: "node.elsewhere")
        let token = try await f.signIn(visitor)
        let claims = try await SignedAssertion.verify(token, audience: ExchangeNode.federationAudience, validator: f.pki.validator(), now: Date())
        #expect(claims.org == "node.elsewhere" && claims.iss == "node.unit")
        #expect(try await f.code(.signIn, SignInRequest(purpose: "ETREAT", reason: nil), from: visitor) == "exchange.bad-request")
        // Another node tells this one to end a sign-in it did not issue.
        let officer = try f.card("Officer (synthetic)", role: "privacy-officer")
        let officerToken = try await f.signIn(officer, purpose: "HOPERAT")
        let officerClaims = try await SignedAssertion.verify(officerToken, audience: ExchangeNode.federationAudience, validator: f.pki.validator(), now: Date())
        let other = try f.pki.credential(.node(dnsNames: ["other.unit.test"]), name: "node.other")
        #expect(try await f.code(.revokeSession, SessionRevocation(jti: officerClaims.jti, expires: officerClaims.exp, assertion: officerToken), from: other) == "exchange.forbidden")
        #expect(try await f.code(.userEmergencies, EmergencyQueueRequest(), from: officer, assertion: officerToken) == nil, "still signed in")
        // A privacy officer of another organisation does not read this node's break-glass queue.
        let visitingOfficer = try f.card("Visiting officer (synthetic)", role: "privacy-officer", organization: "node.elsewhere")
        let visitingToken = try await f.signIn(visitingOfficer, purpose: "HOPERAT")
        #expect(try await f.code(.userEmergencies, EmergencyQueueRequest(), from: visitingOfficer, assertion: visitingToken) == "exchange.forbidden")
    }

    @Test("directory: a node publishes only its own entry")
    func directory() async throws {
        let f = try await GateFixture()
        let other = try f.pki.credential(.node(dnsNames: ["other.unit.test"]), name: "node.other")
        let entry = DirectoryNode(id: "node.unit", roles: ["global"], endpoint: "https://127.0.0.1:2", certificatePEM: try PEM.encode([other.certificate] + other.chain))
        #expect(try await f.code(.publishNode, entry, from: other) == "exchange.forbidden")
        let own = DirectoryNode(id: "node.other", roles: ["hospital"], endpoint: "https://127.0.0.1:2", certificatePEM: try PEM.encode([other.certificate] + other.chain))
        #expect(try await f.code(.publishNode, own, from: other) == nil)
        #expect(try await f.store.read { try $0.directoryNode(id: "node.unit") } == nil)
    }

    @Test("repository: no user, or no signed release, releases nothing")
    func repository() async throws {
        let f = try await GateFixture()
        let other = try f.pki.credential(.node(dnsNames: ["other.unit.test"]), name: "node.other")
        #expect(try await f.code(.retrieve, RetrieveRequest(uniqueIds: ["2.25.1"]), from: other) == "exchange.forbidden")
        // A user's assertion issued by another node than the one asking is refused too.
        let nurse = try f.card("Nurse (synthetic)", role: "nurse")
        let token = try await f.signIn(nurse)
        #expect(try await f.code(.retrieve, RetrieveRequest(uniqueIds: ["2.25.1"]), from: other, assertion: token) == "exchange.forbidden")
    }
}
