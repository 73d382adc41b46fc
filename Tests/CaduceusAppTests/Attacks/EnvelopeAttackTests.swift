import CaduceusApp
import CaduceusCMS
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// Attacks on the envelope: what it binds (signer valid now, the TLS peer, the algorithm, the request id).
@Suite("Attacks: envelopes bind everything", .serialized)
struct EnvelopeAttackTests {
    /// A user.query envelope from `signer`, sealed as `cipher` with `signingTime`.
    func userQuery(_ patient: PatientIdentifier, to node: String, nodeCertificate: Certificate, from signer: Credential, assertion: String?, signingTime: Date = Date(), cipher: ContentCipher = .aes256GCM, requestId: String = UUID().uuidString) throws -> [UInt8] {
        let message = ExchangeMessage(header: EnvelopeHeader(operation: .userQuery, audience: node, requestId: requestId, issuedAt: Date(), body: try JSONEncoder.exchange.encode(StoredQuery.findDocuments(.init(patientId: patient))), assertion: assertion))
        let header = try JSONEncoder.exchange.encode(message.header)
        let entity = Multipart.encode([MIMEPart(contentType: "application/json", id: "header", body: Array(header))]) { "boundary-0123456789abcdef" }
        return try SMIME.seal(entity[...], signers: [signer], recipients: [nodeCertificate], cipher: cipher, format: .der, signingTime: signingTime)
    }

    @Test("an envelope signed with an expired card and a back-dated signing time is refused")
    func expiredSignerWithBackdatedSigningTime() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let caB = try fed.authorities["hospital-b"]!.authority()
            let key = try PrivateKeyMaterial.generate(.p256)
            let old = try caB.issueUnchecked(
                profile: .person(email: "old@hospital-b.caduceus.test"), subject: try federationName(commonName: "Dr Old (synthetic)", organization: LocalFederation.hospitalB, unit: "physician"),
                publicKey: key.publicKey, notBefore: Date().addingTimeInterval(-86400 * 30), notAfter: Date().addingTimeInterval(-86400))
            let expired = try Credential(key: key, certificate: old, chain: caB.chain.dropLast().map { $0 })
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let sealed = try userQuery(patientA, to: LocalFederation.hospitalB, nodeCertificate: nodeB.certificate, from: expired, assertion: nil, signingTime: Date().addingTimeInterval(-86400 * 2))
            // Over a valid connection (the expired card could not even finish a handshake).
            let nurse = try fed.users["clinician.hospital-b"]!
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await transport(fed, as: nurse).post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.userQuery.path, envelope: sealed)
            }
            #expect(refused == "exchange.signer-rejected")
        }
    }

    @Test("a valid card's envelope with a back-dated signing time is refused (freshness)")
    func staleSigningTime() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let nurse = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            let token = try await nurse.signIn().assertion
            let card = fed.users["clinician.hospital-b"]!
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let sealed = try userQuery(patientA, to: LocalFederation.hospitalB, nodeCertificate: nodeB.certificate, from: card, assertion: token, signingTime: Date().addingTimeInterval(-3600))
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await transport(fed, as: card).post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.userQuery.path, envelope: sealed)
            }
            #expect(refused == "exchange.signer-rejected")
        }
    }

    @Test("a TLS client that is not the envelope's signer is refused")
    func tlsClientIsNotTheSigner() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let nurse = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            let token = try await nurse.signIn().assertion
            let card = fed.users["clinician.hospital-b"]!
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let sealed = try userQuery(patientA, to: LocalFederation.hospitalB, nodeCertificate: nodeB.certificate, from: card, assertion: token)
            // A captured envelope relayed over another party's connection (here hospital A's node).
            let nodeA = try nodeCredential(fed, LocalFederation.hospitalA)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await transport(fed, as: nodeA).post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.userQuery.path, envelope: sealed)
            }
            #expect(refused == "exchange.peer-mismatch")
        }
    }

    @Test("an AES-CBC envelope is refused before any key is used (no padding oracle), and the answer is the same for good and bad padding")
    func cbcEnvelope() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let nurse = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            let token = try await nurse.signIn().assertion
            let card = fed.users["clinician.hospital-b"]!
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let sealed = try userQuery(patientA, to: LocalFederation.hospitalB, nodeCertificate: nodeB.certificate, from: card, assertion: token, cipher: .aes256CBC)
            let client = try transport(fed, as: card)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await client.post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.userQuery.path, envelope: sealed)
            }
            #expect(refused == "exchange.weak-algorithm")
            // Flip the last ciphertext byte (bad padding, or good padding with garbage): the same answer.
            var flipped = sealed
            flipped[flipped.count - 1] ^= 0x01
            let again = await refusal { _ = try await client.post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.userQuery.path, envelope: flipped) }
            #expect(again?.code == "exchange.weak-algorithm")
        }
    }

    @Test("a replayed request id is refused, also after the node restarts")
    func replayedRequestId() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let nurse = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            let token = try await nurse.signIn().assertion
            let card = fed.users["clinician.hospital-b"]!
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let rid = UUID().uuidString
            let sealed = try userQuery(patientA, to: LocalFederation.hospitalB, nodeCertificate: nodeB.certificate, from: card, assertion: token, requestId: rid)
            let client = try transport(fed, as: card)
            _ = try await client.post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.userQuery.path, envelope: sealed)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await client.post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.userQuery.path, envelope: sealed)
            }
            #expect(refused == "exchange.replayed")
            // The replay cache is durable: a node restored from the same store refuses it too.
            let b = fed.runtimes[LocalFederation.hospitalB]!
            let seen = try await b.store.read { try $0.seenRequests(now: Date()) }
            #expect(seen.keys.contains { $0.hasSuffix(" " + rid) }, "the request id is on disk for the freshness window")
            let restarted = ExchangeNode(configuration: b.node.configuration, credential: try nodeCredential(fed, LocalFederation.hospitalB), validator: { fed.trust.validator() }, store: b.store, blobs: b.node.blobs, mpi: nil, transport: try transport(fed, as: nil), policy: b.node.policy)
            try await restarted.restoreState()
            #expect(await code { _ = try await restarted.handle(path: ExchangeOperation.userQuery.path, envelope: sealed, tlsClient: card.certificate) } == "exchange.replayed")
        }
    }
}
