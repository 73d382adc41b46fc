public import CaduceusPKI
public import X509
public import struct Foundation.Date
import Foundation
public import SwiftASN1
import CryptoExtras
import Crypto
import CaduceusCore

/// One signer whose signature verified and whose certificate validated.
public struct VerifiedSigner: Sendable {
    /// The signer's certificate.
    public let certificate: Certificate
    /// The validated chain, signer first, anchor last.
    public let chain: [Certificate]
    /// The signing-time attribute, if the signer included one.
    public let signingTime: Date?
}

/// The outcome of verifying a SignedData: the content and every signer. Returned only when all signers verified.
public struct VerifiedContent: Sendable {
    /// The signed content (attached, or the detached content supplied).
    public let content: ArraySlice<UInt8>
    /// The encapsulated content type (id-data unless nested).
    public let contentType: ASN1ObjectIdentifier
    /// Every signer, in the order of the SignerInfos.
    public let signers: [VerifiedSigner]
    /// The media type of the signed MIME entity, lower-cased, when the signed part of a `multipart/signed` was one
    /// (RFC 8551 §3.5; ``content`` is then its body with the transfer encoding removed). Nil for CMS content read as
    /// bytes: DER, `signed-data`, or a first part that is not a MIME entity.
    public let mediaType: String?

    init(content: ArraySlice<UInt8>, contentType: ASN1ObjectIdentifier, signers: [VerifiedSigner], mediaType: String? = nil) {
        self.content = content
        self.contentType = contentType
        self.signers = signers
        self.mediaType = mediaType
    }
}

/// CMS SignedData (RFC 5652 §5) with signed attributes (content-type, signing-time, message-digest), one or more
/// signers, attached or detached content. Signers are named by IssuerAndSerialNumber; every signer's certificate and
/// chain are included so a recipient can validate the path.
public enum SignedData {
    /// Signs `content`, producing a DER ContentInfo.
    /// - Parameters:
    ///   - signers: credentials that sign; each adds a SignerInfo, and its certificate and chain are included.
    ///   - detached: omit the content from the message (multipart/signed style).
    ///   - signingTime: the signing-time attribute.
    public static func sign(
        _ content: ArraySlice<UInt8>, signers: [Credential], detached: Bool, signingTime: Date
    ) throws -> [UInt8] {
        try signRope(content, signers: signers, detached: detached, signingTime: signingTime).joined()
    }

    package static func signRope(
        _ content: ArraySlice<UInt8>, signers: [Credential], detached: Bool, signingTime: Date,
        contentType: ASN1ObjectIdentifier = CMSOID.data
    ) throws -> DERRope {
        try signRope(.bytes(content), signers: signers, detached: detached, signingTime: signingTime, contentType: contentType)
    }

    /// The content a SignedData is built over: bytes at hand, or a streamed content of known length whose digests
    /// the caller computed (the rope then holds it as its external part, see ``DERRope/split()``).
    package enum ContentSource {
        case bytes(ArraySlice<UInt8>)
        case external(length: Int, digests: [ASN1ObjectIdentifier: [UInt8]])

        func digest(_ oid: ASN1ObjectIdentifier) throws -> [UInt8] {
            switch self {
            case .bytes(let content): return try Digests.compute(oid, content)
            case .external(_, let digests):
                guard let digest = digests[oid] else { throw CMSError(.unsupported, "the content's digest was not computed") }
                return digest
            }
        }
    }

    /// The digest algorithms `signers` sign with (what a streamed content must be hashed with).
    package static func digestAlgorithms(of signers: [Credential]) -> [ASN1ObjectIdentifier] {
        var oids: [ASN1ObjectIdentifier] = []
        for signer in signers {
            let oid = DigestAlgorithms.digest(for: signer.key.signatureAlgorithm)
            if !oids.contains(oid) { oids.append(oid) }
        }
        return oids
    }

    package static func signRope(
        _ content: ContentSource, signers: [Credential], detached: Bool, signingTime: Date,
        contentType: ASN1ObjectIdentifier = CMSOID.data
    ) throws -> DERRope {
        guard !signers.isEmpty else { throw CMSError(.noSigner, "at least one signer is required") }
        do {
            var digestAlgorithms: [AlgorithmIdentifierValue] = []
            var signerInfos: [[UInt8]] = []
            var certificates: [Certificate] = []
            var digests: [ASN1ObjectIdentifier: [UInt8]] = [:]
            for signer in signers {
                let signatureAlgorithm = signer.key.signatureAlgorithm
                let digestOID = DigestAlgorithms.digest(for: signatureAlgorithm)
                let digestID = AlgorithmIdentifierValue(algorithm: digestOID)
                if !digestAlgorithms.contains(digestID) { digestAlgorithms.append(digestID) }
                if digests[digestOID] == nil { digests[digestOID] = try content.digest(digestOID) }
                let attributes = try signedAttributes(
                    contentType: contentType, digest: digests[digestOID]!, signingTime: signingTime)
                let signature = try signer.key.cmsSignature(for: attributes.setEncoding)
                var info = DER.Serializer()
                try info.appendConstructedNode(identifier: .sequence) { c in
                    try c.serialize(1)
                    c.serializeRawBytes(try CertificateReference.issuerAndSerialBytes(of: signer.certificate))
                    try c.serialize(digestID)
                    c.serializeRawBytes(attributes.implicitEncoding)
                    try c.serialize(try SignatureAlgorithms.identifier(for: signatureAlgorithm))
                    try c.serialize(ASN1OctetString(contentBytes: signature[...]))
                }
                signerInfos.append(info.serializedBytes)
                for certificate in [signer.certificate] + signer.chain where !certificates.contains(certificate) {
                    certificates.append(certificate)
                }
            }
            var body = DERRope()
            body.append([0x02, 0x01, 0x01][...])  // version 1: issuerAndSerialNumber signers, id-data content
            var algorithms = DERRope()
            for encoded in try digestAlgorithms.map({ try DERRope(serializing: $0).joined() }).sorted(by: derOrder) {
                algorithms.append(encoded[...])
            }
            body.append(algorithms.wrapped(0x31))
            var encapsulated = try DERRope(serializing: contentType)
            if !detached {
                var octets = DERRope()
                switch content {
                case .bytes(let bytes): octets.append(bytes)
                case .external(let length, _): octets.appendExternal(length: length)
                }
                encapsulated.append(octets.wrapped(0x04).wrapped(0xA0))
            }
            body.append(encapsulated.wrapped(0x30))
            var certificateSet = DERRope()
            for encoded in try certificates.map({ try $0.derBytes() }).sorted(by: derOrder) {
                certificateSet.append(encoded[...])
            }
            body.append(certificateSet.wrapped(0xA0))
            var infos = DERRope()
            for encoded in signerInfos.sorted(by: derOrder) { infos.append(encoded[...]) }
            body.append(infos.wrapped(0x31))
            var contentInfo = try DERRope(serializing: CMSOID.signedData)
            contentInfo.append(body.wrapped(0x30).wrapped(0xA0))
            return contentInfo.wrapped(0x30)
        } catch let error as CMSError {
            throw error
        } catch let error as PKIError {
            throw CMSError(.weakAlgorithm, error.message)
        } catch let error as any CaduceusError where signers.contains(where: { $0.key.isExternal }) {
            throw error  // a token's own refusal (`pkcs11.*`: PIN, session, device) says more than "unsupported"
        } catch {
            throw CMSError(.unsupported, "the content could not be signed with the signer's key")
        }
    }

    struct EncodedAttributes {
        /// `SET OF Attribute` (tag 0x31): what the signature covers (RFC 5652 §5.4).
        let setEncoding: [UInt8]
        /// The same with tag `[0] IMPLICIT` (0xA0), as it sits in SignerInfo.
        let implicitEncoding: [UInt8]
    }

    static func signedAttributes(contentType: ASN1ObjectIdentifier, digest: [UInt8], signingTime: Date) throws
        -> EncodedAttributes
    {
        func attribute(_ oid: ASN1ObjectIdentifier, _ value: (inout DER.Serializer) throws -> Void) throws -> [UInt8] {
            var s = DER.Serializer()
            try s.appendConstructedNode(identifier: .sequence) { a in
                try a.serialize(oid)
                try a.appendConstructedNode(identifier: .set) { try value(&$0) }
            }
            return s.serializedBytes
        }
        let attributes = [
            try attribute(CMSOID.contentTypeAttribute) { try $0.serialize(contentType) },
            try attribute(CMSOID.signingTimeAttribute) { try ASN1Time.serialize(signingTime, into: &$0) },
            try attribute(CMSOID.messageDigestAttribute) {
                try $0.serialize(ASN1OctetString(contentBytes: digest[...]))
            },
        ].sorted(by: derOrder)
        let body = attributes.flatMap { $0 }
        let set = DERRope(body).wrapped(0x31).joined()
        var implicit = set
        implicit[0] = 0xA0
        return EncodedAttributes(setEncoding: set, implicitEncoding: implicit)
    }

    /// DER `SET OF` order: by encoding, shorter-is-prefix first (X.690 §11.6).
    static func derOrder(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

    // MARK: - Verification

    /// Verifies a SignedData: every signer's digest and signature, signed attributes, and the signer certificate's
    /// path to `validator`'s anchors (validity at the signing time, revocation now, S/MIME signing usage).
    /// - Parameters:
    ///   - message: DER or BER ContentInfo.
    ///   - detachedContent: the content for a detached signature; must be `nil` when the content is attached.
    ///   - extraCertificates: certificates that may help build chains (beyond those in the message).
    public static func verify(
        _ message: ArraySlice<UInt8>,
        detachedContent: ArraySlice<UInt8>? = nil,
        validator: ChainValidator,
        extraCertificates: [Certificate] = [],
        now: Date,
        validity: SignerValidity = .atSigningTime
    ) async throws -> VerifiedContent {
        let parsed = try ParsedSignedData(message)
        let content: ArraySlice<UInt8>
        switch (parsed.content, detachedContent) {
        case (.some(let attached), nil): content = attached
        case (nil, .some(let detached)): content = detached
        case (nil, nil): throw CMSError(.contentMissing, "the signature is detached and no content was supplied")
        case (.some, .some): throw CMSError(.contentMissing, "the signature carries content; no detached content expected")
        }
        let verified = try await verifySigners(
            parsed, content: .bytes(content), validator: validator, extraCertificates: extraCertificates, now: now,
            validity: validity)
        return VerifiedContent(content: content, contentType: parsed.contentType, signers: verified)
    }

    /// Verifies every signer of `parsed` over `content` (bytes, or the digests of a streamed content): digest and
    /// signature algorithms, signed attributes, the signature, then the signer's path. Throws at the first failure.
    static func verifySigners(
        _ parsed: ParsedSignedData, content: ContentSource, validator: ChainValidator, extraCertificates: [Certificate],
        now: Date, validity: SignerValidity
    ) async throws -> [VerifiedSigner] {
        guard !parsed.signerInfos.isEmpty else { throw CMSError(.noSigner, "the SignedData has no signer") }
        var verified: [VerifiedSigner] = []
        var digests: [ASN1ObjectIdentifier: [UInt8]] = [:]
        for signer in parsed.signerInfos {
            let digestOID = signer.digestAlgorithm.algorithm
            guard [DigestAlgorithms.sha256, DigestAlgorithms.sha384, DigestAlgorithms.sha512].contains(digestOID) else {
                throw CMSError(.weakAlgorithm, "signatures with SHA-1 or MD5 digests are refused")
            }
            let signatureAlgorithm: Certificate.SignatureAlgorithm
            do {
                signatureAlgorithm = try SignatureAlgorithms.accepted(signer.signatureAlgorithm, digest: digestOID)
            } catch let error as PKIError { throw CMSError(.weakAlgorithm, error.message) }
            guard DigestAlgorithms.digest(for: signatureAlgorithm) == digestOID else {
                throw CMSError(.weakAlgorithm, "the digest and signature algorithms do not match")
            }
            guard
                let certificate = (parsed.certificates + extraCertificates).first(where: {
                    signer.reference.matches($0)
                })
            else {
                if parsed.weakCertificateCount > 0 {
                    throw CMSError(.weakAlgorithm, "the signer's certificate has an RSA key under 2048 bits")
                }
                throw CMSError(.signerNotFound, "the signer's certificate is not in the message")
            }
            if let rsa = _RSA.Signing.PublicKey(certificate.publicKey), rsa.keySizeInBits < 2048 {
                throw CMSError(.weakAlgorithm, "RSA signing keys under 2048 bits are refused")
            }
            if digests[digestOID] == nil { digests[digestOID] = try content.digest(digestOID) }
            let digest = digests[digestOID]!
            var signingTime: Date?
            if let attributes = signer.signedAttributes {
                guard let messageDigest = attributes.messageDigest, attributes.contentType == parsed.contentType else {
                    throw CMSError(.badSignedAttributes, "signed attributes lack message-digest or content-type")
                }
                guard constantTimeEqual(messageDigest, digest) else {
                    throw CMSError(.digestMismatch, "the content does not match the signed digest (content altered)")
                }
                guard
                    certificate.publicKey.isValidSignature(
                        signer.signature, for: attributes.setEncoding, signatureAlgorithm: signatureAlgorithm)
                else { throw CMSError(.badSignature, "the signature does not verify with the signer's key") }
                signingTime = attributes.signingTime
            } else {
                guard case .bytes(let bytes) = content else {
                    throw CMSError(.unsupported, "a signer without signed attributes cannot be verified over a streamed content")
                }
                guard certificate.publicKey.isValidSignature(signer.signature, for: bytes, signatureAlgorithm: signatureAlgorithm)
                else { throw CMSError(.badSignature, "the signature does not verify with the signer's key") }
            }
            if let time = signingTime, time > now.addingTimeInterval(300) {
                throw CMSError(.badSignedAttributes, "the signing time lies in the future")
            }
            let verdict = await validator.validate(
                certificate, intermediates: parsed.certificates + extraCertificates, usage: .smimeSigning,
                validityTime: validity == .now ? now : (signingTime ?? now), now: now)
            switch verdict {
            case .trusted(let chain):
                verified.append(VerifiedSigner(certificate: certificate, chain: chain, signingTime: signingTime))
            case .rejected(let error):
                throw CMSError(.signerRejected(error.kind), "the signer's certificate was refused: \(error.message)")
            }
        }
        return verified
    }
}

/// When a signer's certificate must be valid.
public enum SignerValidity: Sendable, Equatable {
    /// At the signing-time attribute (archived records: a signature made while the certificate was valid still
    /// verifies after it expires — non-repudiation). Revocation is checked now either way.
    case atSigningTime
    /// Now, whatever signing time the signer wrote (live requests: an expired certificate with a back-dated signing
    /// time is refused).
    case now
}

/// Message digests by OID.
enum Digests {
    static func compute(_ oid: ASN1ObjectIdentifier, _ content: ArraySlice<UInt8>) throws -> [UInt8] {
        switch oid {
        case DigestAlgorithms.sha256: return Array(SHA256.hash(data: content))
        case DigestAlgorithms.sha384: return Array(SHA384.hash(data: content))
        case DigestAlgorithms.sha512: return Array(SHA512.hash(data: content))
        default: throw CMSError(.weakAlgorithm, "the digest algorithm is refused")
        }
    }
}
