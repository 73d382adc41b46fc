@testable import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509
import SwiftASN1

@Suite("Issuer namespaces: who may vouch for whom")
struct IssuerNamespaceTests {
    let hospitalNamespace = IssuerNamespace(nodes: ["node.h1"], organizations: ["node.h1"], authorities: ["1.2.3.1"], roles: ["nurse", "physician"])

    /// root (unrestricted) → regional (two hospitals) → hospital (`hospitalNamespace`).
    func hierarchy() throws -> (root: CertificateAuthority, regional: CertificateAuthority, hospital: CertificateAuthority) {
        let now = Date()
        let root = try CertificateAuthority.makeRoot(subject: try federationName(commonName: "NS Root"), key: try .generate(.p256), now: now)
        let regionalKey = try PrivateKeyMaterial.generate(.p256)
        let regionalNamespace = IssuerNamespace(nodes: ["node.r", "node.h1", "node.h2"], organizations: ["node.h1", "node.h2"], authorities: ["1.2.3.1", "1.2.3.2"], roles: ["nurse", "physician", "privacy-officer"])
        let regionalCert = try root.issue(profile: .issuingCA(pathLength: 1, namespace: regionalNamespace), subject: try federationName(commonName: "NS Regional"), publicKey: regionalKey.publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
        let regional = try CertificateAuthority(certificate: regionalCert, key: regionalKey, parents: [root.certificate])
        let hospitalKey = try PrivateKeyMaterial.generate(.p256)
        let hospitalCert = try regional.issue(profile: .issuingCA(pathLength: 0, namespace: hospitalNamespace), subject: try federationName(commonName: "NS Hospital"), publicKey: hospitalKey.publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
        return (root, regional, try CertificateAuthority(certificate: hospitalCert, key: hospitalKey, parents: regional.chain))
    }

    @Test("DER round trip, and the extension is non-critical so openssl accepts the chain and reads the extension as an unknown one")
    func encodingAndOpenSSL() throws {
        let bytes = try hospitalNamespace.derEncoded()
        #expect(try IssuerNamespace(derEncoded: bytes) == hospitalNamespace)
        #expect(throws: PKIError.self) { try IssuerNamespace(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x01]) }
        let (root, _, hospital) = try hierarchy()
        #expect(IssuerNamespace(of: hospital.certificate) == hospitalNamespace)
        #expect(IssuerNamespace(of: root.certificate) == .unrestricted)
        let key = try PrivateKeyMaterial.generate(.p256)
        let leaf = try hospital.issue(profile: .person(email: "n@h1.test"), subject: try federationName(commonName: "Nurse", organization: "node.h1", unit: "nurse"), publicKey: key.publicKey, serialNumber: SerialNumberGenerator.random(), now: Date())
        let dir = try TemporaryDirectory()
        let rootPath = try dir.write("root.pem", try PEM.encode([root.certificate]))
        let untrusted = try dir.write("cas.pem", try PEM.encode(hospital.chain.dropLast()))
        let leafPath = try dir.write("leaf.pem", try PEM.encode([leaf]))
        let verify = try ProcessRunner.openssl(["verify", "-CAfile", rootPath, "-untrusted", untrusted, "-purpose", "smimesign", leafPath])
        #expect(verify.ok, "\(verify.stderr)")
        let text = try ProcessRunner.openssl(["x509", "-in", try dir.write("h.pem", try PEM.encode([hospital.certificate])), "-noout", "-text"])
        #expect(text.ok && String(decoding: text.stdout, as: UTF8.self).contains("2.25.161190442.330357402.960372108.530366393.2.1"))
    }

    @Test("issuance refuses names outside the namespace, and a CA without one issues nothing")
    func issuance() throws {
        let (_, regional, hospital) = try hierarchy()
        let key = try PrivateKeyMaterial.generate(.p256).publicKey
        func issue(_ ca: CertificateAuthority, _ profile: IssuanceProfile, _ cn: String, org: String = "node.h1", unit: String? = nil) -> String? {
            do {
                _ = try ca.issue(profile: profile, subject: try federationName(commonName: cn, organization: org, unit: unit), publicKey: key, serialNumber: SerialNumberGenerator.random(), now: Date())
                return nil
            } catch let e as PKIError { return e.code } catch { return "uncoded" }
        }
        #expect(issue(hospital, .node(dnsNames: ["a.test"]), "node.h1") == nil)
        #expect(issue(hospital, .node(dnsNames: ["a.test"]), "node.h2") == "pki.outside-namespace")
        #expect(issue(hospital, .person(email: "a@a.test"), "Dr A", unit: "physician") == nil)
        #expect(issue(hospital, .person(email: "a@a.test"), "Dr A", unit: "privacy-officer") == "pki.outside-namespace")
        #expect(issue(hospital, .person(email: "a@a.test"), "Dr A", org: "node.h2", unit: "nurse") == "pki.outside-namespace")
        #expect(issue(hospital, .patient(email: nil), "MRN-1", unit: "1.2.3.1") == nil)
        #expect(issue(hospital, .patient(email: nil), "MRN-1", unit: "1.2.3.2") == "pki.outside-namespace")
        #expect(issue(hospital, .patient(email: nil), "MRN-1") == "pki.outside-namespace", "a patient card names its authority")
        #expect(issue(hospital, .interface, "EMR", unit: "FAC") == nil)
        #expect(issue(hospital, .interface, "EMR", org: "node.h2", unit: "FAC") == "pki.outside-namespace")
        // A subordinate CA wider than its issuer, and one with no namespace at all.
        #expect(issue(regional, .issuingCA(pathLength: 0, namespace: IssuerNamespace(nodes: ["node.h3"])), "Wider CA") == "pki.outside-namespace")
        #expect(issue(regional, .issuingCA(pathLength: 0, namespace: .unrestricted), "Wider CA") == "pki.outside-namespace")
        #expect(issue(regional, .issuingCA(pathLength: 0), "No-namespace CA") == "pki.outside-namespace")
    }

    @Test("validation refuses a certificate whose name lies outside its issuer's namespace even when its chain is valid")
    func validation() async throws {
        let (root, regional, hospital) = try hierarchy()
        let validator = ChainValidator(anchors: [root.certificate])
        let key = try PrivateKeyMaterial.generate(.p256).publicKey
        func verdict(_ ca: CertificateAuthority, _ profile: IssuanceProfile, _ cn: String, org: String = "node.h1", unit: String? = nil, extensions: Certificate.Extensions? = nil) async throws -> String {
            let cert = try ca.issueUnchecked(profile: profile, subject: try federationName(commonName: cn, organization: org, unit: unit), publicKey: key, notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(3600), extensions: extensions)
            switch await validator.validate(cert, intermediates: ca.chain.dropLast(), usage: .any, validityTime: Date(), now: Date()) {
            case .trusted: return "trusted"
            case .rejected(let e): return e.code
            }
        }
        #expect(try await verdict(hospital, .node(dnsNames: ["a.test"]), "node.h1") == "trusted")
        #expect(try await verdict(hospital, .node(dnsNames: ["a.test"]), "node.r") == "pki.outside-namespace")
        #expect(try await verdict(hospital, .patient(email: nil), "MRN", unit: "1.2.3.2") == "pki.outside-namespace")
        #expect(try await verdict(hospital, .person(email: "a@a.test"), "Dr", unit: "privacy-officer") == "pki.outside-namespace")
        #expect(try await verdict(regional, .person(email: "a@a.test"), "Dr", org: "node.h2", unit: "privacy-officer") == "trusted")
        // A CA certificate without the extension (as an outside tool would make) vouches for nothing.
        let bareKey = try PrivateKeyMaterial.generate(.p256)
        let bareCert = try regional.issueUnchecked(profile: .issuingCA(pathLength: 0), subject: try federationName(commonName: "Bare CA"), publicKey: bareKey.publicKey, notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(3600))
        let bare = try CertificateAuthority(certificate: bareCert, key: bareKey, parents: regional.chain)
        #expect(try await verdict(bare, .node(dnsNames: ["a.test"]), "node.h1") == "pki.outside-namespace")
        // A CA certificate dressed as a node (the node profile, a node id of its issuer's, an unrestricted namespace):
        // whatever acts as a CA is judged as one.
        let disguisedKey = try PrivateKeyMaterial.generate(.p256)
        var list = try CertificateAuthority.extensions(for: .issuingCA(pathLength: 0, namespace: .unrestricted), publicKey: disguisedKey.publicKey, issuerPublicKey: regional.certificate.publicKey).map { $0 }
        list.removeAll { $0.oid == CaduceusOID.certificatePolicies }
        list.append(try CertificateAuthority.certificatePolicies([CaduceusOID.policyNode]))
        let disguisedCert = try regional.issueUnchecked(profile: .issuingCA(pathLength: 0), subject: try federationName(commonName: "node.h1"), publicKey: disguisedKey.publicKey, notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(3600), extensions: try Certificate.Extensions(list))
        let disguised = try CertificateAuthority(certificate: disguisedCert, key: disguisedKey, parents: regional.chain)
        #expect(try await verdict(disguised, .node(dnsNames: ["a.test"]), "node.anything") == "pki.outside-namespace")
        // Two common names: no identity, so nothing validates as a federation certificate.
        let twoNames = try DistinguishedName { OrganizationName("node.h1"); CommonName("node.h1"); CommonName("node.r") }
        let ambiguous = try hospital.issueUnchecked(profile: .node(dnsNames: ["a.test"]), subject: twoNames, publicKey: key, notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(3600))
        #expect(FederationIdentity(ambiguous) == nil)
    }
}
