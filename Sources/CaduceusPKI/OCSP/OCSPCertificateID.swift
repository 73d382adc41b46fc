public import X509
public import SwiftASN1
import Crypto
import Foundation

/// RFC 6960 §4.1.1 `CertID`: which certificate an OCSP request asks about and a response answers for — the hash of its
/// issuer's name and of its issuer's public key, and its serial number.
///
/// ```
/// CertID ::= SEQUENCE {
///     hashAlgorithm   AlgorithmIdentifier,
///     issuerNameHash  OCTET STRING, -- hash of the issuer's DN (DER)
///     issuerKeyHash   OCTET STRING, -- hash of the issuer's public key (the BIT STRING's value)
///     serialNumber    CertificateSerialNumber }
/// ```
///
/// SHA-1 is accepted here although the federation refuses it for signatures: it is the hash RFC 5019 §2.1.1 makes
/// every OCSP client send (OpenSSL's default) and in a CertID it only names a certificate — a collision would name
/// another certificate of the same issuer, whose status is still the responder's to say. We send SHA-256.
public struct OCSPCertificateID: Sendable, Hashable {
    /// The hash algorithms a CertID may use here.
    public enum HashAlgorithm: Sendable, Hashable, CaseIterable {
        /// SHA-1 (OpenSSL's default CertID hash; RFC 5019 §2.1.1).
        case sha1
        /// SHA-256 (what our client sends).
        case sha256
        /// SHA-384.
        case sha384
        /// SHA-512.
        case sha512

        /// The algorithm's OID.
        public var oid: ASN1ObjectIdentifier {
            switch self {
            case .sha1: return DigestAlgorithms.sha1
            case .sha256: return DigestAlgorithms.sha256
            case .sha384: return DigestAlgorithms.sha384
            case .sha512: return DigestAlgorithms.sha512
            }
        }

        init?(oid: ASN1ObjectIdentifier) {
            guard let match = Self.allCases.first(where: { $0.oid == oid }) else { return nil }
            self = match
        }

        func digest(_ bytes: some DataProtocol) -> [UInt8] {
            switch self {
            case .sha1: return Array(Insecure.SHA1.hash(data: bytes))
            case .sha256: return Array(SHA256.hash(data: bytes))
            case .sha384: return Array(SHA384.hash(data: bytes))
            case .sha512: return Array(SHA512.hash(data: bytes))
            }
        }
    }

    /// The hash algorithm's OID as the CertID names it.
    public let hashAlgorithmOID: ASN1ObjectIdentifier
    /// The hash of the issuer's distinguished name.
    public let issuerNameHash: [UInt8]
    /// The hash of the issuer's public key.
    public let issuerKeyHash: [UInt8]
    /// The certificate's serial number.
    public let serialNumber: Certificate.SerialNumber

    /// The hash algorithm, when it is one this side computes (else the CertID matches no issuer).
    public var hashAlgorithm: HashAlgorithm? { HashAlgorithm(oid: hashAlgorithmOID) }

    /// The CertID of the certificate with `serialNumber` issued by the CA certificate `issuer`.
    public init(serialNumber: Certificate.SerialNumber, issuer: Certificate, hash: HashAlgorithm = .sha256) throws {
        hashAlgorithmOID = hash.oid
        issuerNameHash = hash.digest(try Self.nameDER(issuer.subject))
        issuerKeyHash = hash.digest(try Self.publicKeyBits(issuer.publicKey))
        self.serialNumber = serialNumber
    }

    init(hashAlgorithmOID: ASN1ObjectIdentifier, issuerNameHash: [UInt8], issuerKeyHash: [UInt8], serialNumber: Certificate.SerialNumber) {
        self.hashAlgorithmOID = hashAlgorithmOID
        self.issuerNameHash = issuerNameHash
        self.issuerKeyHash = issuerKeyHash
        self.serialNumber = serialNumber
    }

    /// Whether this CertID names `issuer` (its name and key hashes, under the CertID's own hash algorithm).
    public func names(issuer: Certificate) -> Bool {
        guard let hash = hashAlgorithm, let name = try? Self.nameDER(issuer.subject),
            let key = try? Self.publicKeyBits(issuer.publicKey)
        else { return false }
        return hash.digest(name) == issuerNameHash && hash.digest(key) == issuerKeyHash
    }

    /// Whether two CertIDs name the same certificate: same algorithm, hashes and serial (the algorithm's parameters,
    /// NULL or absent, do not matter; nor do leading zero bytes of the serial).
    public func sameCertificate(as other: OCSPCertificateID) -> Bool {
        hashAlgorithmOID == other.hashAlgorithmOID && issuerNameHash == other.issuerNameHash
            && issuerKeyHash == other.issuerKeyHash && Self.canonical(serialNumber) == Self.canonical(other.serialNumber)
    }

    /// A serial's bytes without leading zero bytes (DER keeps one before a high bit; the value is the same).
    static func canonical(_ serial: Certificate.SerialNumber) -> ArraySlice<UInt8> {
        let bytes = ArraySlice(serial.bytes)
        let trimmed = bytes.drop { $0 == 0 }
        return trimmed.isEmpty ? [0] : trimmed
    }

    /// Reads a CertID.
    init(derEncoded node: ASN1Node) throws {
        self = try DER.sequence(node, identifier: .sequence) { nodes in
            let algorithm = try AlgorithmIdentifierValue(derEncoded: &nodes)
            let nameHash = try ASN1OctetString(derEncoded: &nodes)
            let keyHash = try ASN1OctetString(derEncoded: &nodes)
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            guard nameHash.bytes.count <= 64, keyHash.bytes.count <= 64, serial.count <= 64 else {
                throw ASN1Error.invalidASN1Object(reason: "CertID field too long")
            }
            return OCSPCertificateID(
                hashAlgorithmOID: algorithm.algorithm, issuerNameHash: Array(nameHash.bytes),
                issuerKeyHash: Array(keyHash.bytes), serialNumber: Certificate.SerialNumber(bytes: serial))
        }
    }

    /// Writes the CertID (the hash algorithm with NULL parameters, as OpenSSL writes it).
    func serialize(into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(AlgorithmIdentifierValue.withNull(hashAlgorithmOID))
            try c.serialize(ASN1OctetString(contentBytes: issuerNameHash[...]))
            try c.serialize(ASN1OctetString(contentBytes: issuerKeyHash[...]))
            try c.serialize(serialNumber.bytes)
        }
    }

    /// The DER of a name.
    static func nameDER(_ name: DistinguishedName) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(name)
        return serializer.serializedBytes
    }

    /// The value of the subjectPublicKey BIT STRING (RFC 6960 §4.1.1: without tag, length and unused-bits count).
    static func publicKeyBits(_ key: Certificate.PublicKey) throws -> ArraySlice<UInt8> {
        var serializer = DER.Serializer()
        try serializer.serialize(key)
        let spki = try DER.parse(serializer.serializedBytes)
        let children = try ASN1Children.of(spki)
        guard children.count == 2 else { throw ASN1Error.invalidASN1Object(reason: "SubjectPublicKeyInfo") }
        return try ASN1BitString(derEncoded: children[1]).bytes
    }
}
