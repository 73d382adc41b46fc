import CaduceusApp
import CaduceusCore
import CaduceusExchange
@testable import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// The `crl.publish` door: a node takes a pushed revocation list only from a CA that chains to its own anchors, only
/// when it is newer than the one it holds.
@Suite("Attacks: revocation lists", .serialized)
struct RevocationAttackTests {
    @Test("a node pushes a list signed by an impostor CA named like hospital B's (lifting every revocation): refused, pki.crl-invalid, the list held is unchanged")
    func impostorList() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let a = fed.runtimes[LocalFederation.hospitalA]!
            let issuerB = fed.users["clinician.hospital-b"]!.certificate.issuer
            let genuineB = try fed.authorities["hospital-b"]!.authority().certificate
            #expect(try #require(a.trust.list(of: issuerB)).isSigned(by: genuineB))
            let dir = try TemporaryDirectory()
            let impostor = try CAStore.createRoot(at: dir.file("impostor"), subject: issuerB, now: Date())
            let forged = try impostor.makeCRL(now: Date().addingTimeInterval(60))
            let published = PublishedCRL(crl: Data(forged.derEncoded), chain: try PEM.encode([try impostor.authority().certificate]))
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB), nodeA = try nodeCredential(fed, LocalFederation.hospitalA)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                let sealed = try envelope(.publishCRL, to: LocalFederation.hospitalA, body: [published], from: nodeB, encryptedTo: nodeA.certificate)
                _ = try await transport(fed, as: nodeB).post(fed.endpoint(LocalFederation.hospitalA), path: ExchangeOperation.publishCRL.path, envelope: sealed)
            }
            #expect(refused == "pki.crl-invalid")
            // The list held is still B's own (the hosting node may have published a newer one meanwhile), never the
            // impostor's.
            let after = try #require(a.trust.list(of: issuerB))
            #expect(after.isSigned(by: genuineB))
            #expect(after.derEncoded != forged.derEncoded)
        }
    }

    @Test("hospital A's CA (pathLen 0) mints a CA named like the regional CA and publishes a list under that name: refused (pki.crl-invalid); the regional CA's genuine list still decides")
    func subordinateImpostor() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let a = fed.runtimes[LocalFederation.hospitalA]!, b = fed.runtimes[LocalFederation.hospitalB]!
            let regionalCA = try fed.authorities["regional"]!.authority().certificate
            #expect(try #require(b.trust.list(of: regionalCA)).isSigned(by: regionalCA))
            // Our issuance refuses it (pathLen 0), so the attacker, who holds A's CA key, signs it by hand: a CA
            // certificate carrying the regional CA's exact name, no namespace.
            let caA = try fed.authorities["hospital-a"]!.authority()
            let mintedKey = try PrivateKeyMaterial.generate(.p256)
            let mintedCert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: mintedKey.publicKey,
                notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(86_400),
                issuer: caA.certificate.subject, subject: regionalCA.subject, signatureAlgorithm: caA.key.signatureAlgorithm,
                // The federation's CA profile and an empty namespace, as our issuance would write them.
                extensions: try CertificateAuthority.extensions(
                    for: .issuingCA(pathLength: 0, permittedDNSDomains: [], namespace: IssuerNamespace(nodes: [], organizations: [], authorities: [], roles: [])),
                    publicKey: mintedKey.publicKey, issuerPublicKey: caA.certificate.publicKey),
                issuerPrivateKey: caA.key.certificateKey)
            let minted = try CertificateAuthority(certificate: mintedCert, key: mintedKey, parents: caA.chain)
            let forged = try CertificateRevocationList.make(authority: minted, entries: [], crlNumber: 99, thisUpdate: Date(), nextUpdate: Date().addingTimeInterval(86_400))
            let chain = try PEM.encode([mintedCert] + caA.chain.dropLast())
            let nodeA = try nodeCredential(fed, LocalFederation.hospitalA), nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                let sealed = try envelope(.publishCRL, to: LocalFederation.hospitalB, body: [PublishedCRL(crl: Data(forged.derEncoded), chain: chain)], from: nodeA, encryptedTo: nodeB.certificate)
                _ = try await transport(fed, as: nodeA).post(fed.endpoint(LocalFederation.hospitalB), path: ExchangeOperation.publishCRL.path, envelope: sealed)
            }
            #expect(refused == "pki.crl-invalid")
            // The regional CA's own list still decides (the regional node may have published a newer one meanwhile:
            // compare signers, not bytes — a byte comparison failed in CI when that happened mid-test).
            let after = try #require(b.trust.list(of: regionalCA))
            #expect(after.isSigned(by: regionalCA))
            #expect(after.derEncoded != forged.derEncoded)
            // Even beside it, a list signed by another key never counts for the regional CA: B still accepts A's node.
            _ = try await transport(fed, as: nodeA).get(fed.endpoint(LocalFederation.hospitalB), path: "/health")
            _ = a
        }
    }

    @Test("an older genuine list pushed again (to bring back a revoked card) is not taken; a staff card cannot push lists at all")
    func olderListAndWrongCaller() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let a = fed.runtimes[LocalFederation.hospitalA]!
            let issuerB = fed.users["clinician.hospital-b"]!.certificate.issuer
            let old = try #require(a.trust.published().first { (try? CertificateRevocationList(derEncoded: Array($0.crl)))?.issuer == issuerB })
            try await fed.revoke(serial: fed.users["clerk.hospital-b"]!.certificate.serialNumber, ca: "hospital-b")
            let current = try #require(a.trust.list(of: issuerB))
            #expect(current.entry(for: fed.users["clerk.hospital-b"]!.certificate.serialNumber) != nil, "the push reached A")
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB), nodeA = try nodeCredential(fed, LocalFederation.hospitalA)
            let sealed = try envelope(.publishCRL, to: LocalFederation.hospitalA, body: [old], from: nodeB, encryptedTo: nodeA.certificate)
            let answer = try await transport(fed, as: nodeB).post(fed.endpoint(LocalFederation.hospitalA), path: ExchangeOperation.publishCRL.path, envelope: sealed)
            let opened = try await Envelope.open(answer, as: LocalFederation.hospitalB, credential: nodeB, validator: fed.trust.validator(), expecting: .publishCRL, now: Date())
            #expect(try opened.message.decodeBody(PublishCRLResponse.self).accepted == 0, "answered, and nothing taken")
            // The older list did not replace the newer one: the clerk's card stays revoked at A (B may have published
            // a newer list meanwhile, so the held list is compared by what it says, not byte for byte).
            let held = try #require(a.trust.list(of: issuerB))
            #expect(held.derEncoded != Array(old.crl), "the older list did not replace the newer one")
            #expect(held.entry(for: fed.users["clerk.hospital-b"]!.certificate.serialNumber) != nil)
            // A person's card is not a node: the gate refuses before the lists are looked at.
            let card = fed.users["clinician.hospital-a"]!
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                let byCard = try envelope(.publishCRL, to: LocalFederation.hospitalA, body: [old], from: card, encryptedTo: nodeA.certificate)
                _ = try await transport(fed, as: card).post(fed.endpoint(LocalFederation.hospitalA), path: ExchangeOperation.publishCRL.path, envelope: byCard)
            }
            #expect(refused == "exchange.forbidden")
        }
    }

    @Test("a node's directory entry names a plain-HTTP list source on another machine (to send every node fetching there): the others ignore it")
    func foreignRevocationSource() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let a = fed.runtimes[LocalFederation.hospitalA]!, b = fed.runtimes[LocalFederation.hospitalB]!
            #expect(await a.node.revocationSources().count == 3)
            b.node.servesRevocationLists(at: "http://192.0.2.1:9")
            try await b.node.publishSelf()
            let sources = await a.node.revocationSources()
            #expect(sources.count == 2 && !sources.contains { $0.contains("192.0.2.1") }, "\(sources)")
        }
    }
}
