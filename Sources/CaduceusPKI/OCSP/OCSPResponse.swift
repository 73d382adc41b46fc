public import X509
public import SwiftASN1
public import struct Foundation.Date
import Foundation

/// A certificate's status as an OCSP response gives it (RFC 6960 §2.2, `CertStatus`).
public enum OCSPCertificateStatus: Sendable, Equatable {
    /// Not revoked (as far as the responder knows: the CA issued it and has not revoked it).
    case good
    /// Revoked at `time` for `reason` (absent: unspecified). certificateHold is a revocation until lifted.
    case revoked(time: Date, reason: RevocationReason?)
    /// The responder does not know the certificate: not one its CA issued, or another CA's.
    case unknown
}

/// An OCSP response (RFC 6960 §4.2.1), read from DER (ours or OpenSSL's) or written by ``OCSPResponder``.
///
/// ```
/// OCSPResponse      ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
/// ResponseBytes     ::= SEQUENCE { responseType OBJECT IDENTIFIER (id-pkix-ocsp-basic), response OCTET STRING }
/// BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm AlgorithmIdentifier,
///                                  signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ResponseData      ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, responderID ResponderID,
///                                  producedAt GeneralizedTime, responses SEQUENCE OF SingleResponse,
///                                  responseExtensions [1] EXPLICIT Extensions OPTIONAL }
/// ResponderID       ::= CHOICE { byName [1] Name, byKey [2] KeyHash }
/// SingleResponse    ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate GeneralizedTime,
///                                  nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL,
///                                  singleExtensions [1] EXPLICIT Extensions OPTIONAL }
/// CertStatus        ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }
/// RevokedInfo       ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
/// ```
public struct OCSPResponse: Sendable {
    /// RFC 6960 §4.2.1 `OCSPResponseStatus`. Only `successful` carries a (signed) answer; the others are unsigned.
    public enum Status: Int, Sendable {
        /// A signed answer follows.
        case successful = 0
        /// The request could not be read.
        case malformedRequest = 1
        /// The responder failed.
        case internalError = 2
        /// Try again later.
        case tryLater = 3
        /// The responder wants signed requests.
        case sigRequired = 5
        /// The responder cannot answer authoritatively for this CA.
        case unauthorized = 6
    }

    /// How a response names its signer (RFC 6960 §4.2.2.3).
    public enum ResponderID: Sendable, Equatable {
        /// The signer's subject name.
        case byName(DistinguishedName)
        /// The SHA-1 of the signer's public key (the BIT STRING's value).
        case byKey([UInt8])
    }

    /// One certificate's answer.
    public struct SingleResponse: Sendable {
        /// Which certificate it answers for.
        public let certificateID: OCSPCertificateID
        /// Its status.
        public let status: OCSPCertificateStatus
        /// When the status was known to be correct.
        public let thisUpdate: Date
        /// When newer status will be available (absent: at any time).
        public let nextUpdate: Date?
    }

    /// The signed part of a successful response.
    public struct Basic: Sendable {
        /// The signer.
        public let responderID: ResponderID
        /// When the response was signed.
        public let producedAt: Date
        /// The answers.
        public let responses: [SingleResponse]
        /// The id-pkix-ocsp-nonce extension's value, as the responder echoed it.
        public let nonce: [UInt8]?
        /// Certificates sent to help verify the signature (a delegated responder and its chain).
        public let certificates: [Certificate]
        let tbsBytes: ArraySlice<UInt8>
        let signatureAlgorithm: AlgorithmIdentifierValue
        let signature: ArraySlice<UInt8>
    }

    /// The largest response read.
    public static let maxSize = 64 << 10
    /// The most answers read from one response.
    public static let maxResponses = 16
    /// The media type of a DER response (RFC 6960 Appendix A.2).
    public static let mediaType = "application/ocsp-response"

    /// The response status.
    public let status: Status
    /// The signed answer (successful responses only).
    public let basic: Basic?
    /// The response's DER.
    public let derEncoded: [UInt8]

    /// Reads a DER response.
    /// - Throws: `pki.ocsp-invalid` when it is not one.
    public init(derEncoded bytes: [UInt8]) throws(PKIError) {
        guard bytes.count <= Self.maxSize else { throw PKIError(.ocspInvalid, "the OCSP response is larger than a client reads") }
        do {
            let root = try DER.parse(bytes)
            var status = Status.internalError
            var basic: Basic?
            try DER.sequence(root, identifier: .sequence) { nodes in
                guard let statusNode = nodes.next(), statusNode.identifier == .enumerated,
                    case .primitive(let content) = statusNode.content, content.count == 1,
                    let parsed = Status(rawValue: Int(content.first!))
                else { throw ASN1Error.invalidASN1Object(reason: "responseStatus") }
                status = parsed
                if let bytesNode = nodes.next() {
                    guard status == .successful else { throw ASN1Error.invalidASN1Object(reason: "bytes in an unsuccessful response") }
                    basic = try DER.explicitlyTagged(bytesNode, tagNumber: 0, tagClass: .contextSpecific) { inner in
                        try DER.sequence(inner, identifier: .sequence) { fields in
                            let type = try ASN1ObjectIdentifier(derEncoded: &fields)
                            guard type == CaduceusOID.ocspBasic else { throw ASN1Error.invalidASN1Object(reason: "responseType") }
                            let octets = try ASN1OctetString(derEncoded: &fields)
                            return try Self.parseBasic(Array(octets.bytes))
                        }
                    }
                }
                if nodes.next() != nil { throw ASN1Error.invalidASN1Object(reason: "trailing fields") }
            }
            guard (status == .successful) == (basic != nil) else { throw ASN1Error.invalidASN1Object(reason: "status and bytes disagree") }
            self.status = status
            self.basic = basic
            self.derEncoded = bytes
        } catch {
            throw PKIError(.ocspInvalid, "the OCSP response is not a valid DER OCSPResponse (RFC 6960 §4.2.1)")
        }
    }

    /// An unsigned response carrying only an unsuccessful `status` (RFC 6960 §4.2.1).
    public static func unsuccessful(_ status: Status) -> [UInt8] {
        precondition(status != .successful, "a successful response carries a signed answer")
        return [0x30, 0x03, 0x0a, 0x01, UInt8(status.rawValue)]
    }

    private static func parseBasic(_ bytes: [UInt8]) throws -> Basic {
        let root = try DER.parse(bytes)
        return try DER.sequence(root, identifier: .sequence) { nodes in
            guard let tbs = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no tbsResponseData") }
            let algorithm = try AlgorithmIdentifierValue(derEncoded: &nodes)
            let signature = try ASN1BitString(derEncoded: &nodes)
            var certificates: [Certificate] = []
            if let certs = nodes.next() {
                certificates = try DER.explicitlyTagged(certs, tagNumber: 0, tagClass: .contextSpecific) { inner in
                    let list = try ASN1Children.of(inner)
                    guard list.count <= 8 else { throw ASN1Error.invalidASN1Object(reason: "too many certificates") }
                    return try list.map { try Certificate(derEncoded: $0) }
                }
            }
            let (responder, producedAt, responses, nonce) = try parseResponseData(tbs)
            return Basic(
                responderID: responder, producedAt: producedAt, responses: responses, nonce: nonce, certificates: certificates,
                tbsBytes: tbs.encodedBytes, signatureAlgorithm: algorithm, signature: signature.bytes)
        }
    }

    private static func parseResponseData(_ node: ASN1Node) throws -> (ResponderID, Date, [SingleResponse], [UInt8]?) {
        try DER.sequence(node, identifier: .sequence) { nodes in
            var next = nodes.next()
            if let n = next, n.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                let version = try DER.explicitlyTagged(n, tagNumber: 0, tagClass: .contextSpecific) { try Int(derEncoded: $0) }
                guard version == 0 else { throw ASN1Error.invalidASN1Object(reason: "version") }
                next = nodes.next()
            }
            guard let responderNode = next else { throw ASN1Error.invalidASN1Object(reason: "no responderID") }
            let responder: ResponderID
            switch responderNode.identifier {
            case ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific):
                responder = .byName(try DER.explicitlyTagged(responderNode, tagNumber: 1, tagClass: .contextSpecific) { try DistinguishedName(derEncoded: $0) })
            case ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific):
                responder = .byKey(try DER.explicitlyTagged(responderNode, tagNumber: 2, tagClass: .contextSpecific) { Array(try ASN1OctetString(derEncoded: $0).bytes) })
            default:
                throw ASN1Error.invalidASN1Object(reason: "responderID")
            }
            let producedAt = try Self.date(try GeneralizedTime(derEncoded: &nodes))
            guard let list = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no responses") }
            let singles = try ASN1Children.of(list)
            guard singles.count <= maxResponses else { throw ASN1Error.invalidASN1Object(reason: "too many responses") }
            let responses = try singles.map(parseSingle)
            var nonce: [UInt8]?
            if let extensions = nodes.next() {
                for (oid, critical, value) in try OCSPRequest.extensions(extensions, tag: 1) {
                    if oid == CaduceusOID.ocspNonce { nonce = value } else if critical {
                        throw ASN1Error.invalidASN1Object(reason: "unknown critical extension")
                    }
                }
            }
            if nodes.next() != nil { throw ASN1Error.invalidASN1Object(reason: "trailing fields") }
            return (responder, producedAt, responses, nonce)
        }
    }

    private static func parseSingle(_ node: ASN1Node) throws -> SingleResponse {
        try DER.sequence(node, identifier: .sequence) { nodes in
            guard let idNode = nodes.next(), let statusNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "SingleResponse") }
            let id = try OCSPCertificateID(derEncoded: idNode)
            let status: OCSPCertificateStatus
            switch statusNode.identifier {
            case ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific):
                _ = try ASN1Null(derEncoded: statusNode, withIdentifier: statusNode.identifier)
                status = .good
            case ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific):
                _ = try ASN1Null(derEncoded: statusNode, withIdentifier: statusNode.identifier)
                status = .unknown
            case ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific):
                status = try DER.sequence(statusNode, identifier: statusNode.identifier) { fields in
                    let time = try Self.date(try GeneralizedTime(derEncoded: &fields))
                    var reason: RevocationReason?
                    if let reasonNode = fields.next() {
                        reason = try DER.explicitlyTagged(reasonNode, tagNumber: 0, tagClass: .contextSpecific) { inner in
                            guard inner.identifier == .enumerated, case .primitive(let content) = inner.content, content.count == 1 else {
                                throw ASN1Error.invalidASN1Object(reason: "revocationReason")
                            }
                            return RevocationReason(rawValue: Int(content.first!))
                        }
                    }
                    return .revoked(time: time, reason: reason)
                }
            default:
                throw ASN1Error.invalidASN1Object(reason: "certStatus")
            }
            let thisUpdate = try Self.date(try GeneralizedTime(derEncoded: &nodes))
            var nextUpdate: Date?
            var next = nodes.next()
            if let n = next, n.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                nextUpdate = try DER.explicitlyTagged(n, tagNumber: 0, tagClass: .contextSpecific) { try Self.date(try GeneralizedTime(derEncoded: $0)) }
                next = nodes.next()
            }
            if let n = next {
                for (_, critical, _) in try OCSPRequest.extensions(n, tag: 1) where critical {
                    throw ASN1Error.invalidASN1Object(reason: "unknown critical extension")
                }
            }
            return SingleResponse(certificateID: id, status: status, thisUpdate: thisUpdate, nextUpdate: nextUpdate)
        }
    }

    /// A GeneralizedTime as a date (fractions of a second dropped).
    static func date(_ time: GeneralizedTime) throws -> Date {
        var c = DateComponents()
        c.timeZone = TimeZone(identifier: "UTC")
        (c.year, c.month, c.day, c.hour, c.minute, c.second) = (time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: c) else { throw ASN1Error.invalidASN1Object(reason: "bad time") }
        return date
    }

    /// A date as a GeneralizedTime, to the second (RFC 5280 §4.1.2.5.2: no fractional seconds).
    static func generalizedTime(_ date: Date) throws -> GeneralizedTime {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return try GeneralizedTime(year: c.year!, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!, seconds: c.second!, fractionalSeconds: 0)
    }
}
