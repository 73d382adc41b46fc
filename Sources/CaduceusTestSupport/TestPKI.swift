package import CaduceusPKI
package import X509
package import struct Foundation.Date
import Foundation

/// A federation PKI built in code for tests: root (global) → regional CA → hospital CA → leaves. Synthetic names only.
package struct TestPKI: Sendable {
    package let root: CertificateAuthority
    package let regional: CertificateAuthority
    package let hospital: CertificateAuthority
    package let now: Date

    /// Builds the hierarchy with CA keys of `caKeys`.
    package init(now: Date = Date(), caKeys: KeyAlgorithm = .p256) throws {
        self.now = now
        root = try CertificateAuthority.makeRoot(
            subject: try federationName(commonName: "Test Global Root CA"), key: try .generate(caKeys), now: now)
        let regionalKey = try PrivateKeyMaterial.generate(caKeys)
        let regionalCert = try root.issue(
            profile: .issuingCA(pathLength: 1, namespace: .unrestricted), subject: try federationName(commonName: "Test Regional CA"),
            publicKey: regionalKey.publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
        regional = try CertificateAuthority(certificate: regionalCert, key: regionalKey, parents: [root.certificate])
        let hospitalKey = try PrivateKeyMaterial.generate(caKeys)
        let hospitalCert = try regional.issue(
            profile: .issuingCA(pathLength: 0, namespace: .unrestricted), subject: try federationName(commonName: "Test Hospital CA"),
            publicKey: hospitalKey.publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
        hospital = try CertificateAuthority(certificate: hospitalCert, key: hospitalKey, parents: regional.chain)
    }

    /// A credential issued by the hospital CA.
    package func credential(_ profile: IssuanceProfile, name: String, key algorithm: KeyAlgorithm = .p256) throws
        -> Credential
    {
        let key = try PrivateKeyMaterial.generate(algorithm)
        let certificate = try hospital.issue(
            profile: profile, subject: try federationName(commonName: name), publicKey: key.publicKey,
            serialNumber: SerialNumberGenerator.random(), now: now)
        return try Credential(key: key, certificate: certificate, chain: [hospital.certificate, regional.certificate])
    }

    /// A credential with explicit validity and optionally explicit extensions (for negative tests).
    package func customCredential(
        _ profile: IssuanceProfile, name: String, notBefore: Date, notAfter: Date,
        extensions: Certificate.Extensions? = nil, key algorithm: KeyAlgorithm = .p256
    ) throws -> Credential {
        let key = try PrivateKeyMaterial.generate(algorithm)
        let certificate = try hospital.issueUnchecked(
            profile: profile, subject: try federationName(commonName: name), publicKey: key.publicKey,
            notBefore: notBefore, notAfter: notAfter, extensions: extensions)
        return try Credential(key: key, certificate: certificate, chain: [hospital.certificate, regional.certificate])
    }

    /// A validator trusting this PKI's root.
    package func validator(crls: [CertificateRevocationList] = [], revocation: RevocationRequirement = .bestEffort)
        -> ChainValidator
    {
        ChainValidator(anchors: [root.certificate], crls: crls, revocation: revocation)
    }
}

extension TemporaryDirectory {
    /// Writes `<name>.pem` (certificate), `<name>.key` (PKCS#8) and `<name>.chain.pem` (certificate + chain) and
    /// returns their paths.
    @discardableResult
    package func write(credential: Credential, as name: String) throws -> (cert: String, key: String, chain: String) {
        let cert = try write("\(name).pem", try PEM.encode([credential.certificate]))
        let key = try write("\(name).key", credential.key.pkcs8PEM)
        let chain = try write("\(name).chain.pem", try PEM.encode([credential.certificate] + credential.chain))
        return (cert, key, chain)
    }
}
