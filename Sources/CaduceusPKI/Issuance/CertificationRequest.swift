public import X509
import SwiftASN1

/// PKCS#10 certification requests (RFC 2986) signed with any ``PrivateKeyMaterial``, a key on a token included —
/// swift-certificates' own builder needs a key in memory. The request proves possession of the key to the CA
/// (``CertificateAuthority/checkProofOfPossession(_:)``).
public enum CertificationRequest {
    /// A request for `subject` with no attributes: `CertificationRequestInfo { version 0, subject, subjectPKInfo,
    /// attributes [0] {} }` (RFC 2986 §4.1) signed with `key`'s ``PrivateKeyMaterial/signatureAlgorithm``.
    public static func make(subject: DistinguishedName, key: PrivateKeyMaterial) throws -> CertificateSigningRequest {
        var info = DER.Serializer()
        try info.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(0)
            try s.serialize(subject)
            try s.serialize(key.publicKey)  // SubjectPublicKeyInfo
            // attributes [0] IMPLICIT SET OF Attribute, empty: a constructed A0 00.
            try s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { _ in }
        }
        let infoBytes = info.serializedBytes
        let signature = try key.cmsSignature(for: infoBytes)
        var request = DER.Serializer()
        try request.appendConstructedNode(identifier: .sequence) { s in
            s.serializeRawBytes(infoBytes[...])
            // RFC 5758 §3.2 (ECDSA: no parameters), RFC 4055 §5 (RSA: NULL parameters).
            try s.serialize(
                key.signatureAlgorithm == .ecdsaWithSHA256
                    ? AlgorithmIdentifierValue(algorithm: [1, 2, 840, 10045, 4, 3, 2])
                    : AlgorithmIdentifierValue.withNull([1, 2, 840, 113549, 1, 1, 11]))
            try s.serialize(ASN1BitString(bytes: signature[...]))
        }
        return try CertificateSigningRequest(derEncoded: request.serializedBytes)
    }
}
