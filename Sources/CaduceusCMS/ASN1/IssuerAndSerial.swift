import SwiftASN1
import X509
import CaduceusPKI

/// RFC 5652 §10.2.4 IssuerAndSerialNumber, and the `[0]` SubjectKeyIdentifier alternative, as used to name signers
/// and recipients.
enum CertificateReference: Equatable {
    case issuerAndSerial(DistinguishedName, Certificate.SerialNumber)
    case subjectKeyIdentifier(ArraySlice<UInt8>)

    init(node: ASN1Node) throws {
        if node.identifier == .sequence {
            let parts = try node.children()
            guard parts.count == 2 else { throw ASN1Error.invalidASN1Object(reason: "IssuerAndSerialNumber") }
            let issuer = try DistinguishedName(derEncoded: parts[0])
            let serial = try ArraySlice<UInt8>(berEncoded: parts[1])
            self = .issuerAndSerial(issuer, Certificate.SerialNumber(bytes: serial))
        } else if node.isContext(0) {
            if case .primitive(let bytes) = node.content {
                self = .subjectKeyIdentifier(bytes)  // [0] IMPLICIT SubjectKeyIdentifier (SignerInfo, KTRI)
            } else {
                // [0] IMPLICIT RecipientKeyIdentifier { subjectKeyIdentifier, date OPTIONAL, other OPTIONAL } (KARI)
                let parts = try node.anyChildren()
                guard let first = parts.first else { throw ASN1Error.invalidASN1Object(reason: "rKeyId") }
                self = .subjectKeyIdentifier(try first.octets())
            }
        } else {
            throw ASN1Error.unexpectedFieldType(node.identifier)
        }
    }

    static func issuerAndSerialBytes(of certificate: Certificate) throws -> [UInt8] {
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(certificate.issuer)
            try c.serialize(certificate.serialNumber.bytes)
        }
        return s.serializedBytes
    }

    func matches(_ certificate: Certificate) -> Bool {
        switch self {
        case .issuerAndSerial(let issuer, let serial):
            return certificate.issuer == issuer && certificate.serialNumber == serial
        case .subjectKeyIdentifier(let ski):
            guard let own = try? certificate.extensions.subjectKeyIdentifier else { return false }
            return own.keyIdentifier == ski
        }
    }
}
