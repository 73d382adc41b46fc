public import X509
public import SwiftASN1
public import struct Foundation.Date
import Foundation

/// An X.509 v2 certificate revocation list (RFC 5280 §5): written by ``CertificateAuthority/makeCRL``, read from DER
/// or PEM (ours or OpenSSL's), and checked by ``ChainValidator``.
public struct CertificateRevocationList: Sendable {
    /// One revoked certificate.
    public struct Entry: Sendable, Equatable {
        /// The revoked certificate's serial.
        public let serialNumber: Certificate.SerialNumber
        /// When it was revoked.
        public let revocationDate: Date
        /// Why, when the CRL says (RFC 5280 §5.3.1; absent means unspecified).
        public let reason: RevocationReason?

        /// Creates an entry.
        public init(serialNumber: Certificate.SerialNumber, revocationDate: Date, reason: RevocationReason?) {
            self.serialNumber = serialNumber
            self.revocationDate = revocationDate
            self.reason = reason
        }
    }

    /// The CRL issuer's name.
    public let issuer: DistinguishedName
    /// When this CRL was issued.
    public let thisUpdate: Date
    /// When the next CRL will be issued; a CRL past it is stale.
    public let nextUpdate: Date?
    /// The cRLNumber extension (RFC 5280 §5.2.3), big-endian, if present.
    public let crlNumber: [UInt8]?
    /// Revoked certificates.
    public let entries: [Entry]
    /// The complete DER encoding.
    public let derEncoded: [UInt8]

    let tbsBytes: ArraySlice<UInt8>
    let signatureAlgorithm: AlgorithmIdentifierValue
    let signatureBytes: ArraySlice<UInt8>

    /// Parses a DER CRL.
    public init(derEncoded bytes: [UInt8]) throws {
        do {
            let root = try DER.parse(bytes)
            var parsed: (ArraySlice<UInt8>, AlgorithmIdentifierValue, ArraySlice<UInt8>)?
            var fields:
                (DistinguishedName, Date, Date?, [UInt8]?, [Entry])?
            try DER.sequence(root, identifier: .sequence) { nodes in
                guard let tbsNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no tbs") }
                let alg = try AlgorithmIdentifierValue(derEncoded: &nodes)
                let sig = try ASN1BitString(derEncoded: &nodes)
                parsed = (tbsNode.encodedBytes, alg, sig.bytes)
                fields = try Self.parseTBS(tbsNode)
            }
            guard let parsed, let fields else { throw ASN1Error.invalidASN1Object(reason: "empty") }
            (tbsBytes, signatureAlgorithm, signatureBytes) = parsed
            (issuer, thisUpdate, nextUpdate, crlNumber, entries) = fields
            derEncoded = bytes
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.malformed, "the CRL is not a valid DER CertificateList")
        }
    }

    /// Parses a PEM (`X509 CRL`) or DER CRL.
    public init(pemOrDER bytes: [UInt8]) throws {
        if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN X509 CRL-----") {
            guard let document = try? PEMDocument(pemString: text) else {
                throw PKIError(.malformed, "the CRL PEM block could not be decoded")
            }
            try self.init(derEncoded: document.derBytes)
        } else {
            try self.init(derEncoded: bytes)
        }
    }

    /// PEM form (`-----BEGIN X509 CRL-----`).
    public var pemEncoded: String { PEMDocument(type: "X509 CRL", derBytes: derEncoded).pemString + "\n" }

    private static func parseTBS(_ node: ASN1Node) throws -> (DistinguishedName, Date, Date?, [UInt8]?, [Entry]) {
        try DER.sequence(node, identifier: .sequence) { nodes in
            var next = nodes.next()
            if let n = next, n.identifier == .integer {
                let version = try Int(derEncoded: n)
                guard version == 1 else { throw ASN1Error.invalidASN1Object(reason: "version") }
                next = nodes.next()
            }
            guard let algNode = next else { throw ASN1Error.invalidASN1Object(reason: "no alg") }
            _ = try AlgorithmIdentifierValue(derEncoded: algNode)
            let issuer = try DistinguishedName(derEncoded: &nodes)
            guard let thisNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no thisUpdate") }
            let thisUpdate = try ASN1Time.parse(thisNode)
            var nextUpdate: Date?
            var entries: [Entry] = []
            var crlNumber: [UInt8]?
            next = nodes.next()
            if let n = next, n.identifier == .utcTime || n.identifier == .generalizedTime {
                nextUpdate = try ASN1Time.parse(n)
                next = nodes.next()
            }
            if let n = next, n.identifier == .sequence {
                entries = try ASN1Children.of(n).map(parseEntry)
                next = nodes.next()
            }
            if let n = next, n.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                try DER.explicitlyTagged(n, tagNumber: 0, tagClass: .contextSpecific) { inner in
                    for ext in try ASN1Children.of(inner) {
                        let (oid, critical, value) = try parseExtension(ext)
                        if oid == CaduceusOID.crlNumber {
                            crlNumber = Array(try ArraySlice<UInt8>(derEncoded: value[...]))
                        } else if critical && oid != CaduceusOID.authorityKeyIdentifier {
                            throw PKIError(.crlInvalid, "the CRL carries an unknown critical extension")
                        }
                    }
                }
            }
            return (issuer, thisUpdate, nextUpdate, crlNumber, entries)
        }
    }

    private static func parseEntry(_ node: ASN1Node) throws -> Entry {
        try DER.sequence(node, identifier: .sequence) { nodes in
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            guard let timeNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no date") }
            let date = try ASN1Time.parse(timeNode)
            var reason: RevocationReason?
            if let extsNode = nodes.next() {
                for ext in try ASN1Children.of(extsNode) {
                    let (oid, _, value) = try parseExtension(ext)
                    if oid == CaduceusOID.crlReason {
                        let enumerated = try DER.parse(value)
                        guard enumerated.identifier == .enumerated, case .primitive(let content) = enumerated.content,
                            content.count == 1
                        else { throw ASN1Error.invalidASN1Object(reason: "reason") }
                        reason = RevocationReason(rawValue: Int(content.first!))
                    }
                }
            }
            return Entry(serialNumber: Certificate.SerialNumber(bytes: serial), revocationDate: date, reason: reason)
        }
    }

    /// One X.509 `Extension` (RFC 5280 §4.1): `(extnID, critical, extnValue)`; CRLs, CRL entries and OCSP share it.
    static func parseExtension(_ node: ASN1Node) throws -> (ASN1ObjectIdentifier, Bool, [UInt8]) {
        try DER.sequence(node, identifier: .sequence) { nodes in
            let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
            var critical = false
            var next = nodes.next()
            if let n = next, n.identifier == .boolean {
                critical = try Bool(derEncoded: n)
                next = nodes.next()
            }
            guard let valueNode = next else { throw ASN1Error.invalidASN1Object(reason: "no value") }
            return (oid, critical, Array(try ASN1OctetString(derEncoded: valueNode).bytes))
        }
    }

    /// The entry for `serial`, if the certificate is revoked.
    public func entry(for serial: Certificate.SerialNumber) -> Entry? {
        entries.first { $0.serialNumber == serial }
    }

    /// Whether `issuer` signed this CRL: names match, the key verifies the signature, the algorithm is acceptable and
    /// (when the issuer has a keyUsage extension) cRLSign is set.
    public func isSigned(by issuer: Certificate) -> Bool {
        guard issuer.subject == self.issuer else { return false }
        if let usage = try? issuer.extensions.keyUsage, !usage.cRLSign { return false }
        guard let algorithm = try? SignatureAlgorithms.accepted(signatureAlgorithm) else { return false }
        return issuer.publicKey.isValidSignature(signatureBytes, for: tbsBytes, signatureAlgorithm: algorithm)
    }

    /// Builds and signs a v2 CRL for `authority`.
    public static func make(
        authority: CertificateAuthority,
        entries: [Entry],
        crlNumber: UInt64,
        thisUpdate: Date,
        nextUpdate: Date
    ) throws -> CertificateRevocationList {
        let algorithm = try SignatureAlgorithms.identifier(for: authority.key.signatureAlgorithm)
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(1)  // v2
            try c.serialize(algorithm)
            try c.serialize(authority.certificate.subject)
            try ASN1Time.serialize(thisUpdate, into: &c)
            try ASN1Time.serialize(nextUpdate, into: &c)
            if !entries.isEmpty {
                try c.appendConstructedNode(identifier: .sequence) { list in
                    for entry in entries {
                        try list.appendConstructedNode(identifier: .sequence) { e in
                            try e.serialize(entry.serialNumber.bytes)
                            try ASN1Time.serialize(entry.revocationDate, into: &e)
                            if let reason = entry.reason, reason != .unspecified {
                                try e.appendConstructedNode(identifier: .sequence) { exts in
                                    var value = DER.Serializer()
                                    value.appendPrimitiveNode(identifier: .enumerated) {
                                        $0.append(UInt8(reason.rawValue))
                                    }
                                    try Self.serializeExtension(
                                        CaduceusOID.crlReason, value.serializedBytes, into: &exts)
                                }
                            }
                        }
                    }
                }
            }
            try c.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) {
                explicit in
                try explicit.appendConstructedNode(identifier: .sequence) { exts in
                    let aki = try Certificate.Extension(
                        AuthorityKeyIdentifier(
                            keyIdentifier: SubjectKeyIdentifier(hash: authority.certificate.publicKey).keyIdentifier),
                        critical: false)
                    try Self.serializeExtension(aki.oid, Array(aki.value), into: &exts)
                    var number = DER.Serializer()
                    try number.serialize(crlNumber)
                    try Self.serializeExtension(CaduceusOID.crlNumber, number.serializedBytes, into: &exts)
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try authority.key.certificateKey.sign(
            bytes: tbsBytes, signatureAlgorithm: authority.key.signatureAlgorithm)
        var full = DER.Serializer()
        try full.appendConstructedNode(identifier: .sequence) { c in
            c.serializeRawBytes(tbsBytes)
            try c.serialize(algorithm)
            try c.serialize(ASN1BitString(bytes: signature.rawRepresentation[...]))
        }
        return try CertificateRevocationList(derEncoded: full.serializedBytes)
    }

    private static func serializeExtension(_ oid: ASN1ObjectIdentifier, _ value: [UInt8], into c: inout DER.Serializer)
        throws
    {
        try c.appendConstructedNode(identifier: .sequence) { e in
            try e.serialize(oid)
            try e.serialize(ASN1OctetString(contentBytes: value[...]))
        }
    }
}
