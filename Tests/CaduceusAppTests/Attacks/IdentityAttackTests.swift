import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusPolicy
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// Attacks on who a certificate names: a CA vouching outside its namespace, a card signing in away from home.
@Suite("Attacks: identity bound to its issuer", .serialized)
struct IdentityAttackTests {
    @Test("hospital A's CA refuses to issue hospital B's node, the regional node, B's patient card, a card for B's staff and a privacy-officer card")
    func hospitalCAIssuesOutsideItsNamespace() async throws {
        let dir = try TemporaryDirectory()
        let fed = try await LocalFederation.create(at: dir.path + "/fed", logger: quiet)
        let caA = fed.authorities["hospital-a"]!
        let issuedBefore = try caA.records().count
        let key = try PrivateKeyMaterial.generate(.p256)
        func issue(_ profile: IssuanceProfile, _ cn: String, org: String = LocalFederation.hospitalA, unit: String? = nil) -> String? {
            do {
                _ = try caA.issue(profile: profile, subject: try federationName(commonName: cn, organization: org, unit: unit), publicKey: key.publicKey, now: Date())
                return nil
            } catch let e as PKIError { return e.code } catch { return "uncoded" }
        }
        #expect(issue(.node(dnsNames: ["x.hospital-a.caduceus.test"]), LocalFederation.hospitalB) == "pki.outside-namespace")
        #expect(issue(.node(dnsNames: ["x.hospital-a.caduceus.test"]), LocalFederation.regional) == "pki.outside-namespace")
        #expect(issue(.patient(email: nil), DemoData.mrnB, unit: LocalFederation.domainB) == "pki.outside-namespace")
        #expect(issue(.patient(email: nil), DemoData.mrnB, org: LocalFederation.hospitalB, unit: LocalFederation.domainA) == "pki.outside-namespace")
        #expect(issue(.person(email: "x@hospital-a.caduceus.test"), "Dr X", org: LocalFederation.hospitalB, unit: "physician") == "pki.outside-namespace")
        #expect(issue(.person(email: "x@hospital-a.caduceus.test"), "Dr X", unit: "privacy-officer") == "pki.outside-namespace")
        #expect(issue(.person(email: "x@hospital-a.caduceus.test"), "Dr X", unit: "physician") == nil, "inside its namespace it issues")
        #expect(try caA.records().count == issuedBefore + 1, "refusals leave nothing in the CA's records")
        _ = dir
    }

    @Test("a certificate forged outside its CA's namespace (signed by hospital A's CA key, chain valid) is refused at the TLS handshake and in an envelope")
    func forgedRegionalNodeCertificateIsRefused() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            // The CA's key signs what its software would refuse: the regional node's name, and B's patient.
            let caA = try fed.authorities["hospital-a"]!.authority()
            let key = try PrivateKeyMaterial.generate(.p256)
            let forged = try caA.issueUnchecked(
                profile: .node(dnsNames: ["node.region-north.hospital-a.caduceus.test"]), subject: try federationName(commonName: LocalFederation.regional),
                publicKey: key.publicKey, notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(86400))
            let impostor = try Credential(key: key, certificate: forged, chain: caA.chain.dropLast().map { $0 })
            // openssl-style RFC 5280 validation alone would accept it; the namespace check does not.
            let verdict = await fed.trust.validator().validate(forged, intermediates: impostor.chain, usage: .tlsClient, validityTime: Date(), now: Date())
            guard case .rejected(let error) = verdict else { Issue.record("the forged certificate validated"); return }
            #expect(error.code == "pki.outside-namespace")
            let global = fed.endpoint(LocalFederation.global)
            #expect(await code { _ = try await transport(fed, as: impostor).get(global, path: "/health") } == "exchange.peer-unavailable")
            // In an envelope (over a legitimate node's connection): the signer is refused.
            let nodeA = try nodeCredential(fed, LocalFederation.hospitalA)
            let globalCert = try nodeCredential(fed, LocalFederation.global).certificate
            let me = DirectoryNode(id: LocalFederation.regional, roles: ["regional"], endpoint: "https://127.0.0.1:1", certificatePEM: try PEM.encode([forged] + impostor.chain), region: "")
            let sealed = try envelope(.publishNode, to: LocalFederation.global, body: me, from: impostor, encryptedTo: globalCert)
            let refused = try await attack(fed, auditedAt: LocalFederation.global) {
                _ = try await transport(fed, as: nodeA).post(global, path: ExchangeOperation.publishNode.path, envelope: sealed)
            }
            #expect(refused == "exchange.signer-rejected")
            let entry = try await fed.runtimes[LocalFederation.global]!.store.read { try $0.directoryNode(id: LocalFederation.regional) }
            #expect(entry?.endpoint == fed.endpoint(LocalFederation.regional), "the directory still has the real regional node")
            _ = patientA
        }
    }

    @Test("a node cannot overwrite another node's directory entry")
    func directoryEntryOnlyFromItsNode() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let nodeA = try nodeCredential(fed, LocalFederation.hospitalA)
            let globalCert = try nodeCredential(fed, LocalFederation.global).certificate
            let fake = DirectoryNode(id: LocalFederation.hospitalB, roles: ["hospital"], endpoint: "https://127.0.0.1:1", certificatePEM: try PEM.encode([nodeA.certificate] + nodeA.chain), region: LocalFederation.regional)
            let sealed = try envelope(.publishNode, to: LocalFederation.global, body: fake, from: nodeA, encryptedTo: globalCert)
            let refused = try await attack(fed, auditedAt: LocalFederation.global) {
                _ = try await transport(fed, as: nodeA).post(fed.endpoint(LocalFederation.global), path: ExchangeOperation.publishNode.path, envelope: sealed)
            }
            #expect(refused == "exchange.forbidden")
            let entry = try await fed.runtimes[LocalFederation.global]!.store.read { try $0.directoryNode(id: LocalFederation.hospitalB) }
            #expect(entry?.endpoint == fed.endpoint(LocalFederation.hospitalB))
        }
    }

    @Test("a patient denies hospital B; B's nurse signs in at hospital A instead: the assertion names her home organisation, and the retrieve is refused")
    func signInAtAnotherNodeToEscapeConsent() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let entry = try await fileAtA(fed, ccd, patient: patientA)
            _ = try await patientStates(fed, .deny, organization: LocalFederation.hospitalB, patient: patientA)
            let atHome = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await atHome.signIn()
            #expect(await code { _ = try await atHome.retrieve([entry.uniqueId]) } == "exchange.forbidden")
            // The escape: sign in at A, whose node would once have named itself as her organisation.
            let away = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalA)
            let signedIn = try await away.signIn()
            let claims = try await SignedAssertion.verify(signedIn.assertion, audience: ExchangeNode.federationAudience, validator: fed.trust.validator(), now: Date())
            #expect(claims.org == LocalFederation.hospitalB && claims.iss == LocalFederation.hospitalA, "the organisation comes from the card, not the node")
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalA) { _ = try await away.retrieve([entry.uniqueId]) }
            #expect(refused == "exchange.forbidden")
            #expect(try await away.query(.findDocuments(.init(patientId: patientA))).isEmpty, "not even listed")
        }
    }
}
