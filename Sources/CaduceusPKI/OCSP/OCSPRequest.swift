public import X509
import SwiftASN1

/// An OCSP request (RFC 6960 §4.1.1): the certificates asked about and the requester's nonce — read from outside bytes
/// by the responder (bounded), or made by our client.
///
/// ```
/// OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
/// TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT GeneralName OPTIONAL,
///                            requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
/// Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
/// ```
///
/// A request's signature is not required by our responder, and is not checked (§4.1.2 leaves it optional; the answer
/// is public). Unknown non-critical extensions are ignored; an unknown critical one makes the request malformed.
public struct OCSPRequest: Sendable {
    /// The largest request read (DER bytes): a request for ``maxCertificates`` certificates with a nonce and a
    /// requestor name fits many times over.
    public static let maxSize = 16 << 10
    /// The most certificates one request may ask about.
    public static let maxCertificates = 16
    /// The longest nonce extension value echoed (RFC 8954 §2.1: a nonce of 1 to 32 octets, inside an OCTET STRING).
    public static let maxNonceSize = 64

    /// The certificates asked about, in order.
    public let certificateIDs: [OCSPCertificateID]
    /// The id-pkix-ocsp-nonce extension's value (extnValue, as sent), which a response must echo byte for byte.
    public let nonce: [UInt8]?
    /// The request's DER.
    public let derEncoded: [UInt8]

    /// Reads a DER request.
    /// - Throws: `pki.malformed` (not DER of the shape above, over ``maxSize`` bytes, no certificate or more than
    ///   ``maxCertificates``, a version other than v1, a nonce over ``maxNonceSize`` bytes, an unknown critical
    ///   extension).
    public init(derEncoded bytes: [UInt8]) throws(PKIError) {
        guard bytes.count <= Self.maxSize else { throw PKIError(.malformed, "the OCSP request is larger than a responder reads") }
        do {
            let root = try DER.parse(bytes)
            var ids: [OCSPCertificateID] = []
            var nonce: [UInt8]?
            try DER.sequence(root, identifier: .sequence) { nodes in
                guard let tbs = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no tbsRequest") }
                // optionalSignature [0]: tolerated, not checked.
                if let signature = nodes.next(), signature.identifier != ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                    throw ASN1Error.invalidASN1Object(reason: "unexpected field after tbsRequest")
                }
                try DER.sequence(tbs, identifier: .sequence) { fields in
                    var next = fields.next()
                    if let n = next, n.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                        let version = try DER.explicitlyTagged(n, tagNumber: 0, tagClass: .contextSpecific) { try Int(derEncoded: $0) }
                        guard version == 0 else { throw ASN1Error.invalidASN1Object(reason: "version") }
                        next = fields.next()
                    }
                    if let n = next, n.identifier == ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific) {
                        next = fields.next()  // requestorName: not used
                    }
                    guard let list = next else { throw ASN1Error.invalidASN1Object(reason: "no requestList") }
                    for request in try ASN1Children.of(list) {
                        guard ids.count < Self.maxCertificates else { throw PKIError(.malformed, "the OCSP request asks about too many certificates") }
                        try DER.sequence(request, identifier: .sequence) { parts in
                            guard let certID = parts.next() else { throw ASN1Error.invalidASN1Object(reason: "no CertID") }
                            ids.append(try OCSPCertificateID(derEncoded: certID))
                            if let extensions = parts.next() {
                                for (_, critical, _) in try Self.extensions(extensions, tag: 0) where critical {
                                    throw PKIError(.malformed, "the OCSP request carries an unknown critical extension")
                                }
                            }
                        }
                    }
                    if let n = fields.next() {
                        for (oid, critical, value) in try Self.extensions(n, tag: 2) {
                            if oid == CaduceusOID.ocspNonce {
                                guard (1...Self.maxNonceSize).contains(value.count) else {
                                    throw PKIError(.malformed, "the OCSP request's nonce is empty or too long (RFC 8954 §2.1)")
                                }
                                nonce = value
                            } else if critical {
                                throw PKIError(.malformed, "the OCSP request carries an unknown critical extension")
                            }
                        }
                    }
                    if fields.next() != nil { throw ASN1Error.invalidASN1Object(reason: "trailing fields") }
                }
            }
            guard !ids.isEmpty else { throw PKIError(.malformed, "the OCSP request asks about no certificate") }
            certificateIDs = ids
            self.nonce = nonce
            derEncoded = bytes
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.malformed, "the OCSP request is not a valid DER OCSPRequest (RFC 6960 §4.1.1)")
        }
    }

    /// Makes an unsigned request for `certificateIDs` with the nonce extension value `nonce` (when given).
    public init(certificateIDs: [OCSPCertificateID], nonce: [UInt8]?) throws {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { request in
            try request.appendConstructedNode(identifier: .sequence) { tbs in
                try tbs.appendConstructedNode(identifier: .sequence) { list in
                    for id in certificateIDs {
                        try list.appendConstructedNode(identifier: .sequence) { single in try id.serialize(into: &single) }
                    }
                }
                if let nonce {
                    try tbs.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)) { explicit in
                        try explicit.appendConstructedNode(identifier: .sequence) { extensions in
                            try Self.serializeExtension(CaduceusOID.ocspNonce, nonce, into: &extensions)
                        }
                    }
                }
            }
        }
        try self.init(derEncoded: serializer.serializedBytes)
    }

    /// A request for `certificate`, issued by `issuer`, with a fresh random nonce (RFC 8954: 32 octets in an OCTET
    /// STRING) and a SHA-256 CertID.
    public static func make(for certificate: Certificate, issuer: Certificate, hash: OCSPCertificateID.HashAlgorithm = .sha256) throws -> OCSPRequest {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var nonce = DER.Serializer()
        try nonce.serialize(ASN1OctetString(contentBytes: random[...]))
        let id = try OCSPCertificateID(serialNumber: certificate.serialNumber, issuer: issuer, hash: hash)
        return try OCSPRequest(certificateIDs: [id], nonce: nonce.serializedBytes)
    }

    /// The extensions inside an explicit `[tag]` (oid, critical, extnValue).
    static func extensions(_ node: ASN1Node, tag: UInt) throws -> [(ASN1ObjectIdentifier, Bool, [UInt8])] {
        try DER.explicitlyTagged(node, tagNumber: tag, tagClass: .contextSpecific) { inner in
            let list = try ASN1Children.of(inner)
            guard list.count <= 16 else { throw ASN1Error.invalidASN1Object(reason: "too many extensions") }
            return try list.map(CertificateRevocationList.parseExtension)
        }
    }

    static func serializeExtension(_ oid: ASN1ObjectIdentifier, _ value: [UInt8], into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { e in
            try e.serialize(oid)
            try e.serialize(ASN1OctetString(contentBytes: value[...]))
        }
    }
}
