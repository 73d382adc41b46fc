import CaduceusApp
import CaduceusAudit
import CaduceusCMS
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Logging
import Testing
import X509

/// The code of the error `body` throws, or nil.
func code(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch let e as any CaduceusError {
        return e.code
    } catch {
        return "uncoded: \(error)"
    }
}

func nodeCredential(_ fed: LocalFederation, _ id: String) throws -> Credential {
    let dir = fed.base + "/nodes/" + id
    let chain = try PEM.certificates(fromFile: dir + "/node.chain.pem")
    let key = try PrivateKeyMaterial(pemEncoded: String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/node.key.pem")), as: UTF8.self))
    return try Credential(key: key, certificate: chain[0], chain: Array(chain.dropFirst()))
}

func transport(_ fed: LocalFederation, as credential: Credential?) throws -> PeerClient {
    let trust = fed.trust
    guard let credential else { return try PeerClient(anchorsPEM: trust.anchorsPEM, validator: { trust.validator() }) }
    return try PeerClient(certificateChainPEM: try PEM.encode([credential.certificate] + credential.chain), privateKeyPEM: credential.key.pkcs8PEM, anchorsPEM: trust.anchorsPEM, validator: { trust.validator() })
}

func envelope(_ op: ExchangeOperation, to audience: String, body: some Encodable, documents: [MIMEPart] = [], from: Credential, encryptedTo: Certificate) throws -> [UInt8] {
    let message = ExchangeMessage(header: EnvelopeHeader(operation: op, audience: audience, requestId: UUID().uuidString, issuedAt: Date(), body: try JSONEncoder.exchange.encode(body)), documents: documents)
    return try Envelope.seal(message, from: from, to: encryptedTo, now: Date())
}

struct Counts: Equatable {
    var repositoryA: Int, repositoryB: Int, registry: Int, evidenceRegional: Int
}

func counts(_ fed: LocalFederation) async throws -> Counts {
    Counts(
        repositoryA: try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.repositoryCount() },
        repositoryB: try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.repositoryCount() },
        registry: try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.registryCount() },
        evidenceRegional: try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.evidenceCount(operation: nil) })
}

@Suite("Federation refusals", .serialized)
struct FederationRefusalTests {
    @Test("bad peers, bad envelopes and bad documents get a stable code, change nothing, and leave one audit event")
    func refusals() async throws {
        try await withSeededFederation { fed, ccd, dicom, patientA in
            let clinicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await clinicianA.signIn()
            let regional = fed.endpoint(LocalFederation.regional)
            let regionalCert = try nodeCredential(fed, LocalFederation.regional).certificate
            let nodeA = try nodeCredential(fed, LocalFederation.hospitalA)
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let before = try await counts(fed)

            // TLS: no client certificate, a certificate from another PKI, an expired one.
            #expect(await code { _ = try await transport(fed, as: nil).get(regional, path: "/health") } == "exchange.peer-unavailable")
            let rogue = try TestPKI().credential(.node(dnsNames: ["node.hospital-a.caduceus.test"]), name: LocalFederation.hospitalA)
            #expect(await code { _ = try await transport(fed, as: rogue).get(regional, path: "/health") } == "exchange.peer-unavailable")
            let caB = try fed.authorities["hospital-b"]!.authority()
            let oldKey = try PrivateKeyMaterial.generate(.p256)
            let expiredCert = try caB.issueUnchecked(
                profile: .node(dnsNames: ["old.hospital-b.caduceus.test"]), subject: try federationName(commonName: "node.old-b"), publicKey: oldKey.publicKey,
                notBefore: Date().addingTimeInterval(-86400 * 30), notAfter: Date().addingTimeInterval(-86400), extensions: nil)
            let expired = try Credential(key: oldKey, certificate: expiredCert, chain: nodeB.chain)
            #expect(await code { _ = try await transport(fed, as: expired).get(regional, path: "/health") } == "exchange.peer-unavailable")
            #expect(await code { _ = try await transport(fed, as: nodeB).get(regional, path: "/health") } == nil)

            // Envelopes: signed by a node of another PKI, encrypted to another node, addressed to another node.
            let query = StoredQuery.findDocuments(.init(patientId: patientA))
            let legit = try transport(fed, as: nodeB)
            let forged = try envelope(.query, to: LocalFederation.regional, body: query, from: rogue, encryptedTo: regionalCert)
            #expect(await code { _ = try await legit.post(regional, path: ExchangeOperation.query.path, envelope: forged) } == "exchange.signer-rejected")
            let elsewhere = try envelope(.query, to: LocalFederation.regional, body: query, from: nodeB, encryptedTo: nodeA.certificate)
            #expect(await code { _ = try await legit.post(regional, path: ExchangeOperation.query.path, envelope: elsewhere) } == "exchange.decryption-failed")
            let misaddressed = try envelope(.query, to: LocalFederation.hospitalA, body: query, from: nodeB, encryptedTo: regionalCert)
            #expect(await code { _ = try await legit.post(regional, path: ExchangeOperation.query.path, envelope: misaddressed) } == "exchange.misdirected")
            let wrongRoute = try envelope(.query, to: LocalFederation.regional, body: query, from: nodeB, encryptedTo: regionalCert)
            #expect(await code { _ = try await legit.post(regional, path: ExchangeOperation.registerSubmission.path, envelope: wrongRoute) } == "exchange.misdirected")
            // A node registering documents held by another node.
            var set = SubmissionSet(uniqueId: "2.25.9", sourceId: LocalFederation.hospitalA, submissionTime: Date(), patientId: patientA, entries: [])
            let entry = try DocumentMetadata.entry(for: ccd, mimeType: "text/xml", sourcePatient: patientA, repositoryId: LocalFederation.hospitalA, now: Date())
            set.entries = [entry]
            let impersonation = try envelope(.registerSubmission, to: LocalFederation.regional, body: set, from: nodeB, encryptedTo: regionalCert)
            #expect(await code { _ = try await legit.post(regional, path: ExchangeOperation.registerSubmission.path, envelope: impersonation) } == "exchange.forbidden")
            // A body over the 64 MiB limit is refused before it is read whole.
            let huge = [UInt8](repeating: 0x30, count: NodeServer.maxBody + 1)
            #expect(await code { _ = try await legit.post(regional, path: ExchangeOperation.query.path, envelope: huge) } == "documents.too-large")
            #expect(try await counts(fed) == before)

            // Documents: about someone else, billion laughs, external entity, truncated DICOM, unknown type.
            let otherPatient = PatientIdentifier(id: "A-99999", authority: LocalFederation.domainA)
            let auditBefore = try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.auditMessages(AuditFilter()).count }
            #expect(await code { _ = try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "x", body: ccd)], patient: otherPatient) } == "documents.patient-mismatch")
            let laughs = Array("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><ClinicalDocument xmlns=\"urn:hl7-org:v3\">&b;</ClinicalDocument>".utf8)
            #expect(await code { _ = try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "x", body: laughs)], patient: patientA) } == "cda.doctype-forbidden")
            let xxe = Array("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>&xxe;</title></ClinicalDocument>".utf8)
            #expect(await code { _ = try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "x", body: xxe)], patient: patientA) } == "cda.entity-forbidden")
            #expect(await code { _ = try await clinicianA.submit([MIMEPart(contentType: "application/dicom", id: "x", body: Array(dicom.prefix(300)))], patient: patientA) } == "dicom.truncated")
            #expect(await code { _ = try await clinicianA.submit([MIMEPart(contentType: "application/pdf", id: "x", body: [1, 2, 3])], patient: patientA) } == "documents.unsupported-format")
            // All or nothing: a good document with a bad one stores neither.
            #expect(await code { _ = try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "ok", body: ccd), MIMEPart(contentType: "text/xml", id: "x", body: laughs)], patient: patientA) } == "cda.doctype-forbidden")
            #expect(try await counts(fed) == before)
            let auditAfter = try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.auditMessages(AuditFilter()) }
            #expect(auditAfter.count == auditBefore + 6, "one audit event per refusal")
            #expect(auditAfter.prefix(6).allSatisfy { $0.message.eventTypes.first?.code == "user.submit" && $0.message.outcome != .success && !$0.message.errorCode.isEmpty })
            let refusalCodes = Set(auditAfter.prefix(6).map { $0.message.errorCode })
            #expect(refusalCodes == ["documents.patient-mismatch", "cda.doctype-forbidden", "cda.entity-forbidden", "dicom.truncated", "documents.unsupported-format"])

            // Duplicate unique id with other content.
            let first = try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)
            let altered = Array(String(decoding: ccd, as: UTF8.self).replacingOccurrences(of: "Hemoglobin A1c", with: "Hemoglobin A1C").utf8)
            let mid = try await counts(fed)
            #expect(await code { _ = try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: altered)], patient: patientA) } == "documents.duplicate-unique-id")
            #expect(try await counts(fed) == mid)

            // A transfer whose document does not match its metadata's hash.
            var tampered = first[0]
            tampered.repositoryId = LocalFederation.hospitalA
            let bTamper = try envelope(.transfer, to: LocalFederation.hospitalB, body: TransferRequest(to: LocalFederation.hospitalB, uniqueIds: [tampered.uniqueId], entries: [tampered]), documents: [MIMEPart(contentType: "text/xml", id: tampered.uniqueId, body: altered)], from: nodeA, encryptedTo: nodeB.certificate)
            let fromA = try transport(fed, as: nodeA)
            #expect(await code { _ = try await fromA.post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.transfer.path, envelope: bTamper) } == "documents.hash-mismatch")
            #expect(try await counts(fed) == mid)

            // A revoked node is refused at the handshake: hospital B's next query fails, A's still works.
            try await fed.revoke(nodeId: LocalFederation.hospitalB, ca: "hospital-b")
            #expect(await code { _ = try await transport(fed, as: nodeB).get(regional, path: "/health") } == "exchange.peer-unavailable")
            let clinicianB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            #expect(await code { try await clinicianB.signIn() } == "exchange.peer-unavailable", "B's server certificate is revoked too")
            #expect(await code { _ = try await clinicianB.query(query) } != nil)
            #expect(try await clinicianA.query(query).count == 1)
        }
    }
}
