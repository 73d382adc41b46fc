public import X509
public import struct Foundation.Date
public import struct Foundation.TimeInterval
import CaduceusCore
import Foundation
import SwiftASN1

/// One CA's OCSP responder (RFC 6960), pure: given the CA's records (``CAStore/records()``) and its signer
/// (``CAStore/ocspSigner(now:renewBefore:)``: a delegated responder, §4.2.2.2), it answers a DER request with a DER
/// response. No I/O; the node hosting the CA serves it over HTTP (Appendix A).
///
/// For each certificate asked about: `good` when the CA issued that serial and has not revoked it; `revoked` with
/// the revocation time and reason (§2.2; certificateHold included); `unknown` when the CA never issued it (a serial
/// only reserved, or never recorded) or the CertID's issuer hashes are not this CA's (SHA-1, SHA-256, SHA-384 and
/// SHA-512 CertIDs are matched; any other hash algorithm answers `unknown`). thisUpdate is now, nextUpdate now plus
/// ``validity``; the request's nonce is echoed (RFC 8954). The response is signed over its ResponseData with the
/// signer's key (ECDSA-SHA256 or RSA-SHA256), names the signer by name (§4.2.2.3) and carries the signer and the CA's
/// chain so that a client holding only the root can verify it (`openssl ocsp -CAfile root.pem`).
///
/// A request that cannot be read is answered `malformedRequest` (unsigned, §4.2.1); a responder that cannot sign
/// answers `internalError`.
public struct OCSPResponder: Sendable {
    /// The CA whose certificates' status this responder gives.
    public let authority: Certificate
    /// Who signs.
    public let signer: OCSPSigner
    /// The certificates sent with each response: the signer (when delegated) and the CA's chain.
    public let certificates: [Certificate]
    /// How long an answer is fresh: nextUpdate = thisUpdate + validity.
    public let validity: TimeInterval
    let records: [String: CAStore.Record]

    /// A responder for `authority` (with `parents`, the chain above it), signing with `signer`, answering from
    /// `records`. `validity` (seconds, at least 1) is how far ahead nextUpdate is set.
    public init(authority: Certificate, parents: [Certificate], signer: OCSPSigner, records: [CAStore.Record], validity: TimeInterval = 600) {
        self.authority = authority
        self.signer = signer
        self.certificates = (signer.certificate == authority ? [] : [signer.certificate]) + [authority] + parents
        self.validity = max(1, validity)
        var table: [String: CAStore.Record] = [:]
        for record in records where record.status != "reserved" {
            table[Self.serialKey(Hex.decode(record.serial) ?? [])] = record
        }
        self.records = table
    }

    /// Whether any certificate `request` asks about names this responder's CA.
    public func serves(_ request: OCSPRequest) -> Bool {
        request.certificateIDs.contains { $0.names(issuer: authority) }
    }

    /// Answers a DER request: a DER response, always (malformedRequest for a request that cannot be read).
    public func respond(to der: [UInt8], now: Date) -> [UInt8] {
        guard let request = try? OCSPRequest(derEncoded: der) else { return OCSPResponse.unsuccessful(.malformedRequest) }
        return respond(to: request, now: now)
    }

    /// Answers a parsed request.
    public func respond(to request: OCSPRequest, now: Date) -> [UInt8] {
        do {
            let answers = request.certificateIDs.map { id in (id, status(of: id)) }
            return try sign(answers, nonce: request.nonce, now: now)
        } catch {
            return OCSPResponse.unsuccessful(.internalError)
        }
    }

    /// Answers a DER request with the responder, among `responders` (the CAs a node hosts), whose CA the request's
    /// first certificate names; with the first responder (every answer `unknown`) when none does; `unauthorized` when
    /// there is no responder at all (§2.3); `malformedRequest` when it cannot be read.
    public static func respond(to der: [UInt8], among responders: [OCSPResponder], now: Date) -> [UInt8] {
        guard let request = try? OCSPRequest(derEncoded: der) else { return OCSPResponse.unsuccessful(.malformedRequest) }
        guard let chosen = responders.first(where: { $0.serves(request) }) ?? responders.first else {
            return OCSPResponse.unsuccessful(.unauthorized)
        }
        return chosen.respond(to: request, now: now)
    }

    /// The status of the certificate `id` names.
    func status(of id: OCSPCertificateID) -> OCSPCertificateStatus {
        guard id.names(issuer: authority), let record = records[Self.serialKey(id.serialNumber.bytes)] else { return .unknown }
        switch record.status {
        case "issued": return .good
        case "revoked":
            return .revoked(time: record.revokedAt ?? Date(timeIntervalSince1970: 0), reason: record.reason.flatMap(RevocationReason.init(rawValue:)))
        default: return .unknown
        }
    }

    /// Builds and signs the BasicOCSPResponse and wraps it in a successful OCSPResponse.
    func sign(_ answers: [(OCSPCertificateID, OCSPCertificateStatus)], nonce: [UInt8]?, now: Date) throws -> [UInt8] {
        let thisUpdate = try OCSPResponse.generalizedTime(now)
        let nextUpdate = try OCSPResponse.generalizedTime(now.addingTimeInterval(validity))
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { data in
            // version v1 is the DEFAULT: not written (DER).
            try data.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) { name in
                try name.serialize(signer.certificate.subject)
            }
            try data.serialize(thisUpdate)  // producedAt
            try data.appendConstructedNode(identifier: .sequence) { list in
                for (id, status) in answers {
                    try list.appendConstructedNode(identifier: .sequence) { single in
                        try id.serialize(into: &single)
                        switch status {
                        case .good:
                            single.appendPrimitiveNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { _ in }
                        case .unknown:
                            single.appendPrimitiveNode(identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)) { _ in }
                        case .revoked(let time, let reason):
                            try single.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) { info in
                                try info.serialize(try OCSPResponse.generalizedTime(time))
                                if let reason, reason != .unspecified {
                                    try info.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { tagged in
                                        tagged.appendPrimitiveNode(identifier: .enumerated) { $0.append(UInt8(reason.rawValue)) }
                                    }
                                }
                            }
                        }
                        try single.serialize(thisUpdate)
                        try single.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { tagged in
                            try tagged.serialize(nextUpdate)
                        }
                    }
                }
            }
            if let nonce {
                try data.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) { explicit in
                    try explicit.appendConstructedNode(identifier: .sequence) { extensions in
                        try OCSPRequest.serializeExtension(CaduceusOID.ocspNonce, nonce, into: &extensions)
                    }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let algorithm = try SignatureAlgorithms.identifier(for: signer.key.signatureAlgorithm)
        let signature = try signer.key.certificateKey.sign(bytes: tbsBytes, signatureAlgorithm: signer.key.signatureAlgorithm)
        var basic = DER.Serializer()
        try basic.appendConstructedNode(identifier: .sequence) { b in
            b.serializeRawBytes(tbsBytes)
            try b.serialize(algorithm)
            try b.serialize(ASN1BitString(bytes: signature.rawRepresentation[...]))
            try b.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { explicit in
                try explicit.appendConstructedNode(identifier: .sequence) { list in
                    for certificate in certificates { try list.serialize(certificate) }
                }
            }
        }
        var response = DER.Serializer()
        try response.appendConstructedNode(identifier: .sequence) { r in
            r.appendPrimitiveNode(identifier: .enumerated) { $0.append(UInt8(OCSPResponse.Status.successful.rawValue)) }
            try r.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { explicit in
                try explicit.appendConstructedNode(identifier: .sequence) { bytes in
                    try bytes.serialize(CaduceusOID.ocspBasic)
                    try bytes.serialize(ASN1OctetString(contentBytes: basic.serializedBytes[...]))
                }
            }
        }
        return response.serializedBytes
    }

    static func serialKey(_ bytes: some Collection<UInt8>) -> String {
        Hex.encode(OCSPCertificateID.canonical(Certificate.SerialNumber(bytes: ArraySlice(bytes))))
    }
}
