import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

@Suite("CA hierarchy, profiles, CSR and CRL against openssl")
struct HierarchyInteropTests {
    let pki: TestPKI
    let dir: TemporaryDirectory
    let rootPath: String
    let untrustedPath: String

    init() throws {
        pki = try TestPKI()
        dir = try TemporaryDirectory()
        rootPath = try dir.write("root.pem", try PEM.encode([pki.root.certificate]))
        untrustedPath = try dir.write("cas.pem", try PEM.encode([pki.hospital.certificate, pki.regional.certificate]))
    }

    func opensslVerify(_ leafPath: String, purpose: String? = nil, crl: String? = nil) throws -> ProcessRunner.Result {
        var args = ["verify", "-CAfile", rootPath, "-untrusted", untrustedPath]
        if let purpose { args += ["-purpose", purpose] }
        if let crl { args += ["-crl_check", "-CRLfile", crl] }
        return try ProcessRunner.openssl(args + [leafPath])
    }

    @Test("each profile verifies with openssl for its purpose, and with our validator", arguments: [
        ("node", "sslserver"), ("node", "sslclient"), ("node", "smimesign"), ("person", "smimesign"),
        ("person", "smimeencrypt"), ("person", "sslclient"), ("patient", "smimesign"),
    ])
    func profilesVerify(profileName: String, purpose: String) async throws {
        let profile: IssuanceProfile
        switch profileName {
        case "node": profile = .node(dnsNames: ["node1.hospital-a.test"])
        case "person": profile = .person(email: "staff@hospital-a.test")
        default: profile = .patient(email: nil)
        }
        for key in [KeyAlgorithm.p256, .rsa2048] {
            let credential = try pki.credential(profile, name: "\(profileName) \(key)", key: key)
            let path = try dir.write("\(profileName)-\(purpose)-\(key).pem", try PEM.encode([credential.certificate]))
            // OpenSSL's smimeencrypt purpose demands keyEncipherment whatever the key type; an ECDH key correctly has
            // keyAgreement instead (RFC 8550 §4.4.2), so OpenSSL is asked about that purpose for RSA keys only.
            if !(purpose == "smimeencrypt" && key == .p256) {
                let result = try opensslVerify(path, purpose: purpose)
                #expect(result.ok, "\(profileName) \(purpose) \(key): \(result.stderr)")
            }
            let usage: CertificateUsage = purpose == "sslserver" ? .tlsServer : purpose == "sslclient" ? .tlsClient : purpose == "smimesign" ? .smimeSigning : .smimeEncryption
            let verdict = await pki.validator().validate(
                credential.certificate, intermediates: credential.chain, usage: usage, validityTime: Date(), now: Date())
            guard case .trusted(let chain) = verdict else { Issue.record("our validator refused: \(verdict)"); continue }
            #expect(chain.count == 4)
        }
    }

    @Test("certificates carry the RFC 5280 extensions the profile promises")
    func extensions() throws {
        let person = try pki.credential(.person(email: "staff@hospital-a.test"), name: "Staff", key: .rsa2048)
        let path = try dir.write("person-ext.pem", try PEM.encode([person.certificate]))
        let text = try ProcessRunner.openssl(["x509", "-in", path, "-noout", "-text"]).text
        #expect(text.contains("Digital Signature, Non Repudiation, Key Encipherment"))
        #expect(text.contains("E-mail Protection, TLS Web Client Authentication"))
        #expect(text.contains("email:staff@hospital-a.test"))
        #expect(text.contains("CA:FALSE"))
        // Serial: at least 64 bits of randomness, positive.
        #expect(person.certificate.serialNumber.bytes.count >= 15)
        #expect(person.certificate.serialNumber.bytes.first! & 0x80 == 0)
        let regionalText = try ProcessRunner.openssl(["x509", "-in", untrustedPath, "-noout", "-text"]).text
        #expect(regionalText.contains("CA:TRUE, pathlen:0"))
    }

    @Test("path length and name constraints are enforced, and openssl agrees")
    func constraints() async throws {
        #expect(throws: PKIError(.profileViolation, "")) {
            try pki.hospital.issue(
                profile: .issuingCA(pathLength: 0), subject: try federationName(commonName: "Too deep"),
                publicKey: try PrivateKeyMaterial.generate(.p256).publicKey, serialNumber: SerialNumberGenerator.random(), now: Date())
        }
        // A constrained hospital CA (DNS subtree hospital-a.test) certifies a node outside its subtree.
        let key = try PrivateKeyMaterial.generate(.p256)
        let constrainedCert = try pki.regional.issue(
            profile: .issuingCA(pathLength: 0, permittedDNSDomains: ["hospital-a.test"], namespace: .unrestricted),
            subject: try federationName(commonName: "Constrained Hospital CA"), publicKey: key.publicKey,
            serialNumber: SerialNumberGenerator.random(), now: Date())
        let constrained = try CertificateAuthority(certificate: constrainedCert, key: key, parents: pki.regional.chain)
        let nodeKey = try PrivateKeyMaterial.generate(.p256)
        for (name, allowed) in [("n.hospital-a.test", true), ("n.hospital-b.test", false)] {
            let node = try constrained.issue(
                profile: .node(dnsNames: [name]), subject: try federationName(commonName: name), publicKey: nodeKey.publicKey,
                serialNumber: SerialNumberGenerator.random(), now: Date())
            let verdict = await pki.validator().validate(
                node, intermediates: [constrainedCert, pki.regional.certificate], usage: .tlsServer, validityTime: Date(), now: Date())
            let leafPath = try dir.write("nc-\(name).pem", try PEM.encode([node]))
            let chainPath = try dir.write("nc-chain.pem", try PEM.encode([constrainedCert, pki.regional.certificate]))
            let openssl = try ProcessRunner.openssl(["verify", "-CAfile", rootPath, "-untrusted", chainPath, leafPath])
            switch verdict {
            case .trusted: #expect(allowed); #expect(openssl.ok)
            case .rejected(let error):
                #expect(!allowed)
                #expect(error.kind == .chainInvalid)
                #expect(!openssl.ok)
            }
        }
    }

    @Test("a CSR made by openssl is certified after the proof-of-possession check; a forged one is refused")
    func csrIntake() async throws {
        let keyPath = dir.file("csr.key")
        #expect(try ProcessRunner.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyPath]).ok)
        let csrPath = dir.file("req.csr")
        let req = try ProcessRunner.openssl(["req", "-new", "-key", keyPath, "-subj", "/O=Caduceus Federation/CN=Card 0042", "-out", csrPath])
        #expect(req.ok, "\(req.stderr)")
        let csrText = try String(contentsOfFile: csrPath, encoding: .utf8)
        let csr = try CertificateSigningRequest(pemEncoded: csrText)
        let certificate = try pki.hospital.issue(
            csr: csr, profile: .person(email: "card0042@hospital-a.test"), serialNumber: SerialNumberGenerator.random(), now: Date())
        let certPath = try dir.write("csr-cert.pem", try PEM.encode([certificate]))
        let result = try opensslVerify(certPath, purpose: "smimesign")
        #expect(result.ok, "\(result.stderr)")
        // The key openssl generated matches the certificate: openssl computes the same public key.
        let pub1 = try ProcessRunner.openssl(["x509", "-in", certPath, "-noout", "-pubkey"]).text
        let pub2 = try ProcessRunner.openssl(["ec", "-in", keyPath, "-pubout"]).text
        #expect(pub1 == pub2)
        // Our own key material reads openssl's SEC1 key.
        let ours = try PrivateKeyMaterial(pemEncoded: try String(contentsOfFile: keyPath, encoding: .utf8))
        #expect(ours.publicKey == certificate.publicKey)

        // Forged CSR: the subject changed after signing.
        let other = try CertificateSigningRequest(
            version: .v1, subject: try federationName(commonName: "Forged"), privateKey: ours.certificateKey,
            attributes: CertificateSigningRequest.Attributes())
        let forged = try CertificateSigningRequest(
            version: .v1, subject: try federationName(commonName: "Someone else"), publicKey: other.publicKey,
            attributes: other.attributes, signatureAlgorithm: other.signatureAlgorithm, signature: other.signature)
        #expect(throws: PKIError(.proofOfPossessionFailed, "")) {
            try pki.hospital.issue(csr: forged, profile: .person(email: "x@hospital-a.test"), serialNumber: SerialNumberGenerator.random(), now: Date())
        }
    }

    @Test("revocation: our CRL is read by openssl, and openssl verify -crl_check agrees with our verdicts")
    func crlAgreement() async throws {
        let revoked = try pki.credential(.node(dnsNames: ["revoked.hospital-a.test"]), name: "Revoked")
        let good = try pki.credential(.node(dnsNames: ["good.hospital-a.test"]), name: "Good")
        let crl = try CertificateRevocationList.make(
            authority: pki.hospital,
            entries: [.init(serialNumber: revoked.certificate.serialNumber, revocationDate: Date().addingTimeInterval(-10), reason: .keyCompromise)],
            crlNumber: 7, thisUpdate: Date().addingTimeInterval(-60), nextUpdate: Date().addingTimeInterval(86_400))
        let crlPath = try dir.write("hospital.crl.pem", crl.pemEncoded)
        let text = try ProcessRunner.openssl(["crl", "-in", crlPath, "-noout", "-text"])
        #expect(text.ok, "\(text.stderr)")
        #expect(text.text.contains("Key Compromise"))
        #expect(text.text.contains("X509v3 CRL Number: \n                7") || text.text.contains("CRL Number:"))
        let caPath = try dir.write("hospital-ca.pem", try PEM.encode([pki.hospital.certificate]))
        #expect(try ProcessRunner.openssl(["crl", "-in", crlPath, "-noout", "-CAfile", caPath]).ok)

        for (credential, expectRevoked) in [(revoked, true), (good, false)] {
            let path = try dir.write("crl-\(expectRevoked).pem", try PEM.encode([credential.certificate]))
            let openssl = try opensslVerify(path, crl: crlPath)
            let verdict = await pki.validator(crls: [crl], revocation: .leaf).validate(
                credential.certificate, intermediates: credential.chain, usage: .tlsServer, validityTime: Date(), now: Date())
            if expectRevoked {
                #expect(!openssl.ok)
                #expect(openssl.stderr.contains("revoked") || openssl.text.contains("revoked"))
                guard case .rejected(let error) = verdict else { Issue.record("revoked certificate accepted"); continue }
                #expect(error.kind == .revoked)
            } else {
                #expect(openssl.ok, "\(openssl.stderr)")
                guard case .trusted = verdict else { Issue.record("good certificate refused: \(verdict)"); continue }
            }
        }
        // We read a CRL written by openssl itself (openssl ca -gencrl needs a config; use our parser on openssl's re-encoding).
        let der = try ProcessRunner.openssl(["crl", "-in", crlPath, "-outform", "DER"])
        let reread = try CertificateRevocationList(derEncoded: Array(der.stdout))
        #expect(reread.entries.count == 1)
        #expect(reread.crlNumber == [7])
        #expect(reread.isSigned(by: pki.hospital.certificate))
        #expect(!reread.isSigned(by: pki.regional.certificate))
    }

    @Test("a CRL with a bad signature does not count; a required CRL then is invalid")
    func forgedCRL() async throws {
        let credential = try pki.credential(.node(dnsNames: ["x.hospital-a.test"]), name: "X")
        // Signed by the regional CA but claiming nothing: wrong issuer for the leaf; make one with the hospital's name
        // but a different key instead.
        let impostorKey = try PrivateKeyMaterial.generate(.p256)
        let impostor = try CertificateAuthority(
            certificate: try CertificateAuthority.makeRoot(subject: pki.hospital.certificate.subject, key: impostorKey, now: Date()).certificate,
            key: impostorKey, parents: [])
        let crl = try CertificateRevocationList.make(
            authority: impostor, entries: [], crlNumber: 1, thisUpdate: Date().addingTimeInterval(-60), nextUpdate: Date().addingTimeInterval(3600))
        let verdict = await pki.validator(crls: [crl], revocation: .leaf).validate(
            credential.certificate, intermediates: credential.chain, usage: .tlsServer, validityTime: Date(), now: Date())
        guard case .rejected(let error) = verdict else { Issue.record("accepted with a forged CRL"); return }
        #expect(error.kind == .crlInvalid)
    }

    @Test func malformedCRL() {
        #expect(throws: PKIError(.malformed, "")) { try CertificateRevocationList(derEncoded: [0x30, 0x05, 1, 2, 3]) }
    }
}
