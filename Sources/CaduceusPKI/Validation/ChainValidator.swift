public import X509
public import struct Foundation.Date
import Foundation
import SwiftASN1
import CryptoExtras

/// What a validated certificate is about to be used for; decides the key-usage and EKU checks on the leaf.
public enum CertificateUsage: Sendable, Hashable {
    /// Signing S/MIME / CMS content: keyUsage digitalSignature or nonRepudiation; EKU emailProtection (RFC 8550 §4.4).
    case smimeSigning
    /// Receiving encrypted S/MIME / CMS content: keyUsage keyEncipherment (RSA) or keyAgreement (EC); EKU
    /// emailProtection.
    case smimeEncryption
    /// A TLS server: digitalSignature; EKU serverAuth.
    case tlsServer
    /// A TLS client (nodes and card sign-in): digitalSignature; EKU clientAuth.
    case tlsClient
    /// No leaf usage check.
    case any
}

/// How much revocation checking a validation demands.
public enum RevocationRequirement: Sendable, Equatable {
    /// Use every CRL supplied; a missing CRL is not an error.
    case bestEffort
    /// The leaf's issuer must have supplied a valid CRL (like `openssl verify -crl_check`).
    case leaf
    /// Every non-anchor certificate's issuer must have supplied a valid CRL (like `-crl_check_all`).
    case fullChain
    /// What a running node demands: every non-anchor certificate's issuer has a CRL signed by it whose nextUpdate,
    /// plus `grace` seconds, is still ahead. Anything else — no CRL, a badly signed one, a stale one, one without a
    /// nextUpdate — is `pki.revocation-unknown`: the certificate is refused, never waved through.
    case failClosed(grace: Double)
}

/// The result of validating a certificate: the chain from leaf to anchor, or the reason it was refused.
public enum ChainVerdict: Sendable {
    /// The certificate chains to a trust anchor and passed every check; `chain` runs leaf first, anchor last.
    case trusted(chain: [Certificate])
    /// Refused, with the rule broken.
    case rejected(PKIError)
}

/// RFC 5280 path validation on swift-certificates' `Verifier`, plus the checks it leaves to us: validity at a chosen
/// time, CRL revocation, leaf key usage and extended key usage. Each refusal carries its own ``PKIError/Code``.
public struct ChainValidator: Sendable {
    /// Trust anchors (self-signed roots).
    public let anchors: [Certificate]
    /// Revocation lists to consult.
    public let crls: [CertificateRevocationList]
    /// How much revocation checking is required.
    public let revocation: RevocationRequirement
    /// Verdicts already reached under these anchors and lists (see ``ValidationCache``); used only by a fail-closed
    /// validator, whose revocation decision has a known lifetime.
    public let cache: ValidationCache?

    /// Creates a validator; `cache` must belong to exactly these anchors and lists (make a new one when they change).
    public init(anchors: [Certificate], crls: [CertificateRevocationList] = [], revocation: RevocationRequirement = .bestEffort, cache: ValidationCache? = nil) {
        self.anchors = anchors
        self.crls = crls
        self.revocation = revocation
        if case .failClosed = revocation { self.cache = cache } else { self.cache = nil }
    }

    /// Validates `leaf` for `usage`.
    /// - Parameters:
    ///   - intermediates: untrusted certificates that may complete the chain (those carried in a message, say).
    ///   - validityTime: the instant every certificate must be valid at (the signing time, for a signature).
    ///   - now: the current time, for CRL freshness.
    public func validate(
        _ leaf: Certificate,
        intermediates: [Certificate],
        usage: CertificateUsage,
        validityTime: Date,
        now: Date
    ) async -> ChainVerdict {
        let key = ValidationCache.Key(leaf: leaf, usage: usage)
        if let cache, let chain = cache.verdict(key, intermediates: intermediates, validityTime: validityTime, now: now) { return .trusted(chain: chain) }
        var verifier = Verifier(rootCertificates: CertificateStore(anchors)) {
            ValidityPolicy(time: validityTime)
            LeafUsagePolicy(usage: usage)
            RevocationPolicy(crls: crls, requirement: revocation, now: now)
            NamespacePolicy()
            RFC5280Policy(validationTime: validityTime)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        switch result {
        case .validCertificate(let path):
            let chain = Array(path)
            cache?.remember(key, chain: chain, reachedAt: now, freshUntil: RevocationPolicy.freshUntil(chain, crls: crls, requirement: revocation, now: now))
            return .trusted(chain: chain)
        case .couldNotValidate(let failures):
            guard let first = failures.first else {
                return .rejected(PKIError(.untrusted, "no chain from the certificate to a trusted anchor"))
            }
            return .rejected(Self.error(from: String(describing: first.policyFailureReason)))
        }
    }

    /// Our policies encode their code as the reason's prefix (`pki.revoked: …`); swift-certificates' own RFC 5280
    /// failures (basic constraints, name constraints, path length) become ``PKIError/Code/chainInvalid``.
    static func error(from reason: String) -> PKIError {
        let codes: [PKIError.Code] = [.expired, .notYetValid, .revoked, .keyUsage, .crlMissing, .crlInvalid, .revocationUnknown, .outsideNamespace]
        for code in codes where reason.hasPrefix(code.rawValue + ": ") {
            return PKIError(code, String(reason.dropFirst(code.rawValue.count + 2)))
        }
        return PKIError(.chainInvalid, "the certificate chain breaks an RFC 5280 rule")
    }
}

/// Every certificate of the chain must be within its validity period at `time`.
struct ValidityPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let time: Date

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        for (index, certificate) in chain.enumerated() {
            let role = index == 0 ? "certificate" : "issuing CA certificate"
            if time < certificate.notValidBefore {
                return .failsToMeetPolicy(reason: "pki.not-yet-valid: the \(role) is not yet valid")
            }
            if time > certificate.notValidAfter {
                return .failsToMeetPolicy(reason: "pki.expired: the \(role) has expired")
            }
        }
        return .meetsPolicy
    }
}

/// Leaf key usage / EKU for the intended use, and keyCertSign on every issuer that has a keyUsage extension.
struct LeafUsagePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let usage: CertificateUsage

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        for issuer in chain.dropFirst() {
            if let ku = try? issuer.extensions.keyUsage, !ku.keyCertSign {
                return .failsToMeetPolicy(reason: "pki.key-usage: an issuing CA lacks keyCertSign")
            }
        }
        let leaf = chain.leaf
        let keyUsage: KeyUsage?
        let eku: ExtendedKeyUsage?
        do {
            keyUsage = try leaf.extensions.keyUsage
            eku = try leaf.extensions.extendedKeyUsage
        } catch {
            return .failsToMeetPolicy(reason: "pki.key-usage: the usage extensions cannot be parsed")
        }
        let isRSA = _RSA.Signing.PublicKey(leaf.publicKey) != nil
        func ekuAllows(_ wanted: ExtendedKeyUsage.Usage) -> Bool {
            guard let eku else { return true }
            return eku.contains(wanted) || eku.contains(.any)
        }
        switch usage {
        case .any:
            return .meetsPolicy
        case .smimeSigning:
            if let keyUsage, !(keyUsage.digitalSignature || keyUsage.nonRepudiation) {
                return .failsToMeetPolicy(reason: "pki.key-usage: the certificate may not sign (keyUsage)")
            }
            if !ekuAllows(.emailProtection) {
                return .failsToMeetPolicy(reason: "pki.key-usage: the certificate is not for S/MIME (extendedKeyUsage)")
            }
        case .smimeEncryption:
            if let keyUsage, isRSA ? !keyUsage.keyEncipherment : !keyUsage.keyAgreement {
                return .failsToMeetPolicy(reason: "pki.key-usage: the certificate may not receive encrypted keys (keyUsage)")
            }
            if !ekuAllows(.emailProtection) {
                return .failsToMeetPolicy(reason: "pki.key-usage: the certificate is not for S/MIME (extendedKeyUsage)")
            }
        case .tlsServer, .tlsClient:
            if let keyUsage, !keyUsage.digitalSignature {
                return .failsToMeetPolicy(reason: "pki.key-usage: the certificate may not sign (keyUsage)")
            }
            if !ekuAllows(usage == .tlsServer ? .serverAuth : .clientAuth) {
                return .failsToMeetPolicy(reason: "pki.key-usage: the certificate is not for this TLS role")
            }
        }
        return .meetsPolicy
    }
}

/// CRL checking (RFC 5280 §6.3, simplified to complete CRLs issued by the certificate's issuer): a certificate on a
/// valid CRL of its issuer is refused whatever the revocation date, so a revoked credential fails every later
/// verification.
struct RevocationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let crls: [CertificateRevocationList]
    let requirement: RevocationRequirement
    let now: Date

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        let certificates = Array(chain)
        guard certificates.count >= 2 else { return .meetsPolicy }
        for index in 0..<(certificates.count - 1) {
            let subject = certificates[index]
            let issuer = certificates[index + 1]
            let candidates = crls.filter { $0.issuer == issuer.subject }
            let signed = candidates.filter { $0.isSigned(by: issuer) }
            if case .failClosed(let grace) = requirement {
                let current = signed.filter { crl in crl.thisUpdate <= now.addingTimeInterval(300) && (crl.nextUpdate.map { $0.addingTimeInterval(grace) >= now } ?? false) }
                guard !current.isEmpty else {
                    let what = candidates.isEmpty ? "no CRL from its issuer" : signed.isEmpty ? "the issuer's CRL is not signed by it" : "the issuer's CRL is stale"
                    let role = index == 0 ? "certificate" : "issuing CA certificate"
                    return .failsToMeetPolicy(reason: "pki.revocation-unknown: the \(role)'s revocation status is unknown (\(what))")
                }
                if let revoked = Self.revocation(of: subject, in: current, index: index) { return revoked }
                continue
            }
            let fresh = signed.filter { crl in crl.thisUpdate <= now.addingTimeInterval(300) && (crl.nextUpdate.map { $0 >= now } ?? true) }
            let required = requirement == .fullChain || (requirement == .leaf && index == 0)
            if fresh.isEmpty {
                if !candidates.isEmpty && required {
                    return .failsToMeetPolicy(reason: "pki.crl-invalid: the issuer's CRL has a bad signature or is stale")
                }
                if required {
                    return .failsToMeetPolicy(reason: "pki.crl-missing: no CRL from the certificate's issuer was supplied")
                }
                continue
            }
            if let revoked = Self.revocation(of: subject, in: fresh, index: index) { return revoked }
        }
        return .meetsPolicy
    }

    /// The refusal of `subject` (at `index` in the chain) if one of `crls` lists it (a certificate on hold too:
    /// certificateHold is a revocation until the CA removes the entry).
    static func revocation(of subject: Certificate, in crls: [CertificateRevocationList], index: Int) -> PolicyEvaluationResult? {
        for crl in crls {
            if let entry = crl.entry(for: subject.serialNumber) {
                let reason = entry.reason?.name ?? "unspecified"
                let role = index == 0 ? "certificate" : "issuing CA certificate"
                return .failsToMeetPolicy(reason: "pki.revoked: the \(role) is revoked (\(reason))")
            }
        }
        return nil
    }
}

/// Identity bound to its issuer (DESIGN §3, "who may vouch for whom"): every certificate below the anchor must lie in
/// its issuer's ``IssuerNamespace`` — a node's id, a card's organisation, role or assigning authority, a subordinate
/// CA's whole namespace — and an issuer without a namespace vouches for nothing. A chain that is valid by RFC 5280
/// alone is not enough.
struct NamespacePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        let certificates = Array(chain)
        guard certificates.count >= 2 else { return .meetsPolicy }
        for index in 0..<(certificates.count - 1) {
            let subject = certificates[index], issuer = certificates[index + 1]
            guard let namespace = IssuerNamespace(of: issuer) else {
                return .failsToMeetPolicy(reason: "pki.outside-namespace: the issuing CA carries no namespace, so it vouches for nothing")
            }
            guard let identity = FederationIdentity(subject) else {
                return .failsToMeetPolicy(reason: "pki.outside-namespace: the certificate names no federation profile")
            }
            // Whatever acts as a CA is judged as one: an issuer in the chain, or any certificate whose basicConstraints
            // say CA, must carry the CA profile, and its whole namespace must lie inside its issuer's (a CA certificate
            // dressed as a node would otherwise pass on its CN alone and then vouch with any namespace).
            let actsAsCA: Bool
            if case .isCertificateAuthority = try? subject.extensions.basicConstraints { actsAsCA = true } else { actsAsCA = index > 0 }
            if actsAsCA, identity.kind != .ca {
                return .failsToMeetPolicy(reason: "pki.outside-namespace: a CA certificate must carry the CA profile")
            }
            let child = identity.kind == .ca ? IssuerNamespace(of: subject) : nil
            if let refusal = namespace.refusal(kind: identity.kind, commonName: identity.commonName, organization: identity.organization, unit: identity.role, child: child) {
                return .failsToMeetPolicy(reason: "pki.outside-namespace: " + refusal)
            }
        }
        return .meetsPolicy
    }
}
