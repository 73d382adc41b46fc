public import X509
public import struct Foundation.Date
import Foundation
import SwiftASN1
import CryptoExtras
import Crypto

/// A certificate authority in memory: its certificate, its key and the chain above it. Issues certificates by profile;
/// pure (no I/O). ``CAStore`` adds durable state (serials, revocations, CRL numbers) around it.
public struct CertificateAuthority: Sendable {
    /// The CA's own certificate.
    public let certificate: Certificate
    /// The CA's signing key.
    public let key: PrivateKeyMaterial
    /// The certificates above this CA, nearest first, ending with the root. Empty for a root.
    public let parents: [Certificate]

    /// Wraps existing CA material, checking that the key matches the certificate and that it is a CA.
    public init(certificate: Certificate, key: PrivateKeyMaterial, parents: [Certificate]) throws {
        guard certificate.publicKey == key.publicKey else {
            throw PKIError(.profileViolation, "the CA key does not match the CA certificate")
        }
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw PKIError(.profileViolation, "the certificate is not a CA certificate (basicConstraints cA is not set)")
        }
        self.certificate = certificate
        self.key = key
        self.parents = parents
    }

    /// The full chain: this CA, then its parents up to the root.
    public var chain: [Certificate] { [certificate] + parents }

    /// Creates a self-signed root CA.
    public static func makeRoot(
        subject: DistinguishedName,
        key: PrivateKeyMaterial,
        serialNumber: Certificate.SerialNumber = SerialNumberGenerator.random(),
        now: Date,
        validityDays: Int? = nil,
        pathLength: Int = 2,
        namespace: IssuerNamespace = .unrestricted
    ) throws -> CertificateAuthority {
        let profile = IssuanceProfile.rootCA(pathLength: pathLength, namespace: namespace)
        let certificate = try Self.sign(
            profile: profile, subject: subject, publicKey: key.publicKey, serialNumber: serialNumber,
            issuer: subject, issuerKey: key, issuerPublicKey: key.publicKey,
            notBefore: now.addingTimeInterval(-300),
            notAfter: now.addingTimeInterval(Double(validityDays ?? profile.defaultValidityDays) * 86_400)
        )
        return try CertificateAuthority(certificate: certificate, key: key, parents: [])
    }

    /// Issues a certificate for `publicKey` under `profile`. The validity never outlasts the CA's own.
    public func issue(
        profile: IssuanceProfile,
        subject: DistinguishedName,
        publicKey: Certificate.PublicKey,
        serialNumber: Certificate.SerialNumber,
        now: Date,
        validityDays: Int? = nil
    ) throws -> Certificate {
        if case .rootCA = profile {
            throw PKIError(.profileViolation, "a root is self-signed; it cannot be issued by another CA")
        }
        try Self.checkProfileInput(profile, subject: subject)
        try Self.checkAcceptableKey(publicKey)
        if profile.isCA, case .isCertificateAuthority(let limit) = try certificate.extensions.basicConstraints,
            let limit, case .issuingCA(let requested, _, _) = profile, requested >= limit
        {
            throw PKIError(.profileViolation, "the requested path length exceeds what the issuing CA allows")
        }
        try checkNamespace(profile, subject: subject)
        guard now < certificate.notValidAfter, now >= certificate.notValidBefore else {
            throw PKIError(.expired, "the issuing CA certificate is not valid now")
        }
        let days = validityDays ?? profile.defaultValidityDays
        guard days > 0 else { throw PKIError(.profileViolation, "validity must be at least one day") }
        let notAfter = min(now.addingTimeInterval(Double(days) * 86_400), certificate.notValidAfter)
        return try Self.sign(
            profile: profile, subject: subject, publicKey: publicKey, serialNumber: serialNumber,
            issuer: certificate.subject, issuerKey: key, issuerPublicKey: certificate.publicKey,
            notBefore: now.addingTimeInterval(-300), notAfter: notAfter
        )
    }

    /// Issues a certificate from a PKCS#10 request after checking proof of possession: the request's self-signature
    /// must verify with the key it carries (RFC 2986 §3). The subject comes from the request unless `subject` is given.
    public func issue(
        csr: CertificateSigningRequest,
        profile: IssuanceProfile,
        subject: DistinguishedName? = nil,
        serialNumber: Certificate.SerialNumber,
        now: Date,
        validityDays: Int? = nil
    ) throws -> Certificate {
        try Self.checkProofOfPossession(csr)
        return try issue(
            profile: profile, subject: subject ?? csr.subject, publicKey: csr.publicKey,
            serialNumber: serialNumber, now: now, validityDays: validityDays
        )
    }

    /// Checks a CSR's self-signature and algorithms.
    public static func checkProofOfPossession(_ csr: CertificateSigningRequest) throws {
        switch csr.signatureAlgorithm {
        case .ecdsaWithSHA256, .ecdsaWithSHA384, .ecdsaWithSHA512,
            .sha256WithRSAEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption:
            break
        default:
            throw PKIError(.weakAlgorithm, "the CSR is signed with an algorithm the policy refuses")
        }
        try checkAcceptableKey(csr.publicKey)
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw PKIError(.proofOfPossessionFailed, "the CSR signature does not verify with the key it carries")
        }
    }

    /// P-256, P-384 and RSA ≥ 2048 bits are acceptable subject keys.
    static func checkAcceptableKey(_ key: Certificate.PublicKey) throws {
        if P256.Signing.PublicKey(key) != nil || P384.Signing.PublicKey(key) != nil { return }
        if let rsa = _RSA.Signing.PublicKey(key) {
            guard rsa.keySizeInBits >= 2048 else {
                throw PKIError(.weakAlgorithm, "RSA keys must be at least 2048 bits")
            }
            return
        }
        throw PKIError(.unsupportedKey, "only P-256, P-384 and RSA keys are certified")
    }

    static func checkProfileInput(_ profile: IssuanceProfile, subject: DistinguishedName) throws {
        guard !subject.isEmpty else { throw PKIError(.profileViolation, "the subject name must not be empty") }
        switch profile {
        case .node(let names):
            guard !names.isEmpty, names.allSatisfy(isPlausibleDNSName) else {
                throw PKIError(.profileViolation, "a node certificate needs at least one valid DNS name")
            }
        case .person(let email):
            guard isPlausibleMailbox(email) else {
                throw PKIError(.profileViolation, "a person certificate needs a valid email address")
            }
        case .patient(let email):
            if let email, !isPlausibleMailbox(email) {
                throw PKIError(.profileViolation, "the patient card email address is not valid")
            }
        case .interface:
            guard FederationName(subject).organization != nil else {
                throw PKIError(.profileViolation, "an interface certificate names its organisation (O)")
            }
        case .issuingCA(let pathLength, let dns, _):
            guard pathLength >= 0 else { throw PKIError(.profileViolation, "path length must not be negative") }
            guard dns.allSatisfy(isPlausibleDNSName) else {
                throw PKIError(.profileViolation, "a permitted DNS domain is not a valid DNS name")
            }
        case .rootCA, .ocspSigning:
            break
        }
    }

    /// The namespace this CA vouches within (nil: it carries none, and issues nothing).
    public var namespace: IssuerNamespace? { IssuerNamespace(of: certificate) }

    /// Refuses a subject outside this CA's namespace (``IssuerNamespace``), as validation would.
    public func checkNamespace(_ profile: IssuanceProfile, subject: DistinguishedName) throws {
        // A delegated OCSP signer vouches for no name: it is no federation identity (no Caduceus policy) and speaks
        // only for this CA's revocation status.
        guard let kind = profile.kind else { return }
        guard let namespace else {
            throw PKIError(.outsideNamespace, "this CA certificate carries no namespace, so it issues nothing")
        }
        let names = FederationName(subject)
        var child: IssuerNamespace?
        if case .issuingCA(_, _, let ns) = profile { child = ns }
        if let refusal = namespace.refusal(kind: kind, commonName: names.commonName ?? "", organization: names.organization, unit: names.unit, child: child) {
            throw PKIError(.outsideNamespace, refusal)
        }
    }

    static func isPlausibleDNSName(_ name: String) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { c in
                    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d
                }
        }
    }

    static func isPlausibleMailbox(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            return false
        }
        return isPlausibleDNSName(String(parts[1]))
    }

    static func sign(
        profile: IssuanceProfile,
        subject: DistinguishedName,
        publicKey: Certificate.PublicKey,
        serialNumber: Certificate.SerialNumber,
        issuer: DistinguishedName,
        issuerKey: PrivateKeyMaterial,
        issuerPublicKey: Certificate.PublicKey,
        notBefore: Date,
        notAfter: Date
    ) throws -> Certificate {
        let extensions = try Self.extensions(for: profile, publicKey: publicKey, issuerPublicKey: issuerPublicKey)
        do {
            return try Certificate(
                version: .v3, serialNumber: serialNumber, publicKey: publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter,
                issuer: issuer, subject: subject,
                signatureAlgorithm: issuerKey.signatureAlgorithm,
                extensions: extensions, issuerPrivateKey: issuerKey.certificateKey
            )
        } catch {
            throw PKIError(.malformed, "the certificate could not be built or signed")
        }
    }

    static func extensions(
        for profile: IssuanceProfile, publicKey: Certificate.PublicKey, issuerPublicKey: Certificate.PublicKey
    ) throws -> Certificate.Extensions {
        let isRSA = _RSA.Signing.PublicKey(publicKey) != nil
        var list: [Certificate.Extension] = []
        let ski = SubjectKeyIdentifier(hash: publicKey)
        let aki = AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: issuerPublicKey).keyIdentifier)
        let policy: ASN1ObjectIdentifier
        switch profile {
        case .rootCA(let pathLength, let namespace):
            list.append(try .init(BasicConstraints.isCertificateAuthority(maxPathLength: pathLength), critical: true))
            list.append(try .init(KeyUsage(keyCertSign: true, cRLSign: true), critical: true))
            list.append(try .init(ski, critical: false))
            list.append(try namespace.certificateExtension())
            policy = CaduceusOID.policyCA
        case .issuingCA(let pathLength, let dns, let namespace):
            list.append(try .init(BasicConstraints.isCertificateAuthority(maxPathLength: pathLength), critical: true))
            list.append(try .init(KeyUsage(keyCertSign: true, cRLSign: true), critical: true))
            list.append(try .init(ski, critical: false))
            list.append(try .init(aki, critical: false))
            if !dns.isEmpty {
                let constraints = NameConstraints(permittedDNSDomains: dns)
                list.append(try .init(constraints, critical: true))
            }
            if let namespace { list.append(try namespace.certificateExtension()) }
            policy = CaduceusOID.policyCA
        case .node(let names):
            list.append(try .init(BasicConstraints.notCertificateAuthority, critical: true))
            list.append(
                try .init(
                    KeyUsage(digitalSignature: true, keyEncipherment: isRSA, keyAgreement: !isRSA), critical: true))
            list.append(try .init(ExtendedKeyUsage([.serverAuth, .clientAuth, .emailProtection]), critical: false))
            list.append(try .init(SubjectAlternativeNames(names.map { .dnsName($0) }), critical: false))
            list.append(try .init(ski, critical: false))
            list.append(try .init(aki, critical: false))
            policy = CaduceusOID.policyNode
        case .person(let email):
            list.append(try .init(BasicConstraints.notCertificateAuthority, critical: true))
            list.append(
                try .init(
                    KeyUsage(
                        digitalSignature: true, nonRepudiation: true, keyEncipherment: isRSA, keyAgreement: !isRSA),
                    critical: true))
            list.append(try .init(ExtendedKeyUsage([.emailProtection, .clientAuth]), critical: false))
            list.append(try .init(SubjectAlternativeNames([.rfc822Name(email)]), critical: false))
            list.append(try .init(ski, critical: false))
            list.append(try .init(aki, critical: false))
            policy = CaduceusOID.policyPerson
        case .patient(let email):
            list.append(try .init(BasicConstraints.notCertificateAuthority, critical: true))
            list.append(
                try .init(
                    KeyUsage(
                        digitalSignature: true, nonRepudiation: true, keyEncipherment: isRSA, keyAgreement: !isRSA),
                    critical: true))
            list.append(try .init(ExtendedKeyUsage([.emailProtection, .clientAuth]), critical: false))
            if let email { list.append(try .init(SubjectAlternativeNames([.rfc822Name(email)]), critical: false)) }
            list.append(try .init(ski, critical: false))
            list.append(try .init(aki, critical: false))
            policy = CaduceusOID.policyPatient
        case .interface:
            list.append(try .init(BasicConstraints.notCertificateAuthority, critical: true))
            list.append(try .init(KeyUsage(digitalSignature: true), critical: true))
            list.append(try .init(ExtendedKeyUsage([.clientAuth]), critical: false))
            list.append(try .init(ski, critical: false))
            list.append(try .init(aki, critical: false))
            policy = CaduceusOID.policyInterface
        case .ocspSigning:
            // RFC 6960 §4.2.2.2: EKU id-kp-OCSPSigning; §4.2.2.2.1: id-pkix-ocsp-nocheck, value NULL. No policy.
            list.append(try .init(BasicConstraints.notCertificateAuthority, critical: true))
            list.append(try .init(KeyUsage(digitalSignature: true), critical: true))
            list.append(try .init(ExtendedKeyUsage([.ocspSigning]), critical: false))
            list.append(Certificate.Extension(oid: CaduceusOID.ocspNoCheck, critical: false, value: [0x05, 0x00]))
            list.append(try .init(ski, critical: false))
            list.append(try .init(aki, critical: false))
            return try Certificate.Extensions(list)
        }
        list.append(try certificatePolicies([policy]))
        return try Certificate.Extensions(list)
    }

    /// RFC 5280 §4.2.1.4: `SEQUENCE OF PolicyInformation { policyIdentifier }`, non-critical.
    static func certificatePolicies(_ policies: [ASN1ObjectIdentifier]) throws -> Certificate.Extension {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { outer in
            for policy in policies {
                try outer.appendConstructedNode(identifier: .sequence) { info in try info.serialize(policy) }
            }
        }
        return Certificate.Extension(
            oid: CaduceusOID.certificatePolicies, critical: false, value: serializer.serializedBytes[...])
    }
}

/// Builds a federation distinguished name: `O=<organisation>, OU=<unit>, CN=<common name>`.
public func federationName(commonName: String, organization: String = "Caduceus Federation", unit: String? = nil)
    throws -> DistinguishedName
{
    try DistinguishedName {
        OrganizationName(organization)
        if let unit { OrganizationalUnitName(unit) }
        CommonName(commonName)
    }
}

extension CertificateAuthority {
    /// Issues with explicit validity and optionally explicit extensions, skipping profile and validity checks. For
    /// building deliberately bad certificates in tests (expired, not yet valid, wrong usage); never used by the CA
    /// store or the CLI.
    package func issueUnchecked(
        profile: IssuanceProfile, subject: DistinguishedName, publicKey: Certificate.PublicKey,
        notBefore: Date, notAfter: Date, extensions: Certificate.Extensions? = nil
    ) throws -> Certificate {
        let chosen = try extensions ?? Self.extensions(for: profile, publicKey: publicKey, issuerPublicKey: certificate.publicKey)
        return try Certificate(
            version: .v3, serialNumber: SerialNumberGenerator.random(), publicKey: publicKey,
            notValidBefore: notBefore, notValidAfter: notAfter, issuer: certificate.subject, subject: subject,
            signatureAlgorithm: key.signatureAlgorithm, extensions: chosen, issuerPrivateKey: key.certificateKey)
    }
}
