import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPatientIndex
import CaduceusPKI
import CaduceusPolicy
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import X509

/// Two nodes talking in process over in-memory stores: a hospital, and a node that is its region (registry, MPI,
/// consent registry) and the global directory. No socket, no database file: the services run on the fakes of
/// `CaduceusTestSupport`. Both nodes are published in the directory when the fixture is made.
struct InProcessFederation {
    static let hospitalId = "node.hospital"
    static let regionId = "node.region"
    static let hospitalEndpoint = "https://hospital.unit.test:8443"
    static let regionEndpoint = "https://region.unit.test:8443"
    static let globalAuthority = "2.25.99"
    static let localAuthority = "2.25.1.1"

    let pki: TestPKI
    let dir: TemporaryDirectory
    let network = InProcessNetwork()
    let hospital: ExchangeNode
    let region: ExchangeNode
    let hospitalCredential: Credential
    let regionCredential: Credential

    init() async throws {
        pki = try TestPKI()
        dir = try TemporaryDirectory()
        hospitalCredential = try pki.credential(.node(dnsNames: ["hospital.unit.test"]), name: Self.hospitalId)
        regionCredential = try pki.credential(.node(dnsNames: ["region.unit.test"]), name: Self.regionId)
        let validator = pki.validator()
        let policy = PolicyDecisionPoint(policy: try PolicySet.shippedDefault())

        let regionStore = try InMemoryStore()
        region = ExchangeNode(
            configuration: ExchangeConfiguration(nodeId: Self.regionId, roles: [.regional, .global], endpoint: Self.regionEndpoint, regionalNode: Self.regionId, directoryEndpoint: Self.regionEndpoint),
            credential: regionCredential, validator: { validator }, store: regionStore,
            blobs: try BlobStore(directory: dir.file("region-blobs"), cipher: regionStore.cipher),
            mpi: try await MPIService(store: regionStore, globalAuthority: Self.globalAuthority),
            transport: network.transport(for: regionCredential.certificate), policy: policy)
        let hospitalStore = try InMemoryStore()
        hospital = ExchangeNode(
            configuration: ExchangeConfiguration(nodeId: Self.hospitalId, roles: [.hospital], endpoint: Self.hospitalEndpoint, regionalNode: Self.regionId, directoryEndpoint: Self.regionEndpoint),
            credential: hospitalCredential, validator: { validator }, store: hospitalStore,
            blobs: try BlobStore(directory: dir.file("hospital-blobs"), cipher: hospitalStore.cipher),
            mpi: nil, transport: network.transport(for: hospitalCredential.certificate), policy: policy)
        network.register(region)
        network.register(hospital)
        try await region.publishSelf()
        try await hospital.publishSelf()
    }

    /// A patient of the hospital (synthetic), filed in its registry as ADT would file it.
    func admit(_ mrn: String, family: String = "Synthetic") async throws -> LocalIdentity {
        let identity = LocalIdentity(id: mrn, authority: Self.localAuthority)
        let record = PatientRecord(identity: identity, identifiers: [identity], demographics: Demographics(family: family, given: "Test", birthDate: "19800101", sex: "F"))
        let sealed = try hospital.store.cipher.seal(patient: record)
        try await hospital.store.write { tx in try tx.savePatient(sealed, at: Date()) }
        return identity
    }

    /// A document of the hospital's repository about `patient` (its local identifier).
    func document(_ n: Int, patient: LocalIdentity, text: String = "synthetic narrative") -> (DocumentEntry, [UInt8]) {
        let content = Array("<ClinicalDocument>\(text) \(n)</ClinicalDocument>".utf8)
        let p = PatientIdentifier(id: patient.id, authority: patient.authority)
        let entry = DocumentEntry(
            entryUUID: "urn:uuid:00000000-0000-0000-0000-\(String(format: "%012d", n))", uniqueId: "2.25.7.\(n)", patientId: p, sourcePatientId: p,
            classCode: Code("Summary", scheme: "s"), typeCode: Code("34133-9", scheme: "2.16.840.1.113883.6.1"),
            confidentialityCode: Code("N", scheme: "2.16.840.1.113883.5.25"), formatCode: Code("f", scheme: "s"), mimeType: "text/xml",
            hash: DocumentIntegrity.sha256(content), size: content.count, creationTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(n)),
            title: "Synthetic \(n)", repositoryId: Self.hospitalId)
        return (entry, content)
    }

    /// A staff card of the hospital in `role`.
    func card(_ name: String, role: String) throws -> Credential {
        let key = try PrivateKeyMaterial.generate(.p256)
        let cert = try pki.hospital.issue(
            profile: .person(email: "staff@unit.test"), subject: try federationName(commonName: name, organization: Self.hospitalId, unit: role),
            publicKey: key.publicKey, serialNumber: SerialNumberGenerator.random(), now: Date())
        return try Credential(key: key, certificate: cert, chain: [pki.hospital.certificate, pki.regional.certificate])
    }

    /// A person's request to `node` (over a connection whose client is the card), and the reply opened.
    func userCall(_ operation: ExchangeOperation, _ body: some Encodable, card: Credential, at node: ExchangeNode, assertion: String? = nil, documents: [MIMEPart] = []) async throws -> OpenedEnvelope {
        let (_, certificate) = try await hospital.lookUp(node.configuration.nodeId)
        let header = EnvelopeHeader(operation: operation, audience: node.configuration.nodeId, requestId: UUID().uuidString, issuedAt: Date(), body: try JSONEncoder.exchange.encode(body), assertion: assertion)
        let sealed = try Envelope.seal(ExchangeMessage(header: header, documents: documents), from: card, to: certificate, now: Date())
        let reply = try await node.handle(path: operation.path, envelope: sealed, tlsClient: card.certificate)
        return try await Envelope.open(reply, as: FederationIdentity(card.certificate)!.commonName, credential: card, validator: pki.validator(), expecting: operation, now: Date())
    }

    /// Signs `card` in at `node`; returns the assertion.
    func signIn(_ card: Credential, purpose: String, at node: ExchangeNode) async throws -> String {
        try await userCall(.signIn, SignInRequest(purpose: purpose), card: card, at: node).message.decodeBody(SignInResponse.self).assertion
    }
}
