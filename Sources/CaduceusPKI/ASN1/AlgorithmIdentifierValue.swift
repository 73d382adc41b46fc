public import SwiftASN1
public import X509

/// RFC 5280 §4.1.1.2 `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`, kept with its
/// parameters undecoded so CMS and PKCS#12 can interpret them per algorithm.
package struct AlgorithmIdentifierValue: DERImplicitlyTaggable, BERImplicitlyTaggable, Hashable, Sendable {
    package static var defaultIdentifier: ASN1Identifier { .sequence }

    package var algorithm: ASN1ObjectIdentifier
    package var parameters: ASN1Any?

    package init(algorithm: ASN1ObjectIdentifier, parameters: ASN1Any? = nil) {
        self.algorithm = algorithm
        self.parameters = parameters
    }

    /// With an explicit `NULL` parameter (RSA algorithms write it; RFC 4055 §2.1).
    package static func withNull(_ algorithm: ASN1ObjectIdentifier) -> AlgorithmIdentifierValue {
        AlgorithmIdentifierValue(algorithm: algorithm, parameters: try! ASN1Any(erasing: ASN1Null()))  // NULL always encodes
    }

    package init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let algorithm = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let parameters = nodes.next().map { ASN1Any(derEncoded: $0) }
            return AlgorithmIdentifierValue(algorithm: algorithm, parameters: parameters)
        }
    }

    package init(berEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try BER.sequence(node, identifier: identifier) { nodes in
            let algorithm = try ASN1ObjectIdentifier(berEncoded: &nodes)
            let parameters = nodes.next().map { ASN1Any(berEncoded: $0) }
            return AlgorithmIdentifierValue(algorithm: algorithm, parameters: parameters)
        }
    }

    package func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(algorithm)
            if let parameters { try coder.serialize(parameters) }
        }
    }

    /// The parameters as a parsed node (BER rules), or `nil` when absent.
    package func parametersNode() throws -> ASN1Node? {
        guard let parameters else { return nil }
        var serializer = DER.Serializer()
        try serializer.serialize(parameters)
        return try BER.parse(serializer.serializedBytes)
    }

    /// The parameters read as another AlgorithmIdentifier (OAEP's hash and MGF, MGF1's hash, ECDH's key wrap), or
    /// `nil` when absent.
    package func parametersAsAlgorithm() throws -> AlgorithmIdentifierValue? {
        try parametersNode().map { try AlgorithmIdentifierValue(berEncoded: $0) }
    }

    /// True when parameters are absent or an ASN.1 NULL.
    package var hasAbsentOrNullParameters: Bool {
        guard let parameters else { return true }
        return (try? ASN1Null(asn1Any: parameters)) != nil
    }
}

/// Signature algorithms the federation signs and accepts, by OID. SHA-1 and MD5 based ones are known only so that
/// they can be refused by name.
package enum SignatureAlgorithms {
    package static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    package static let ecdsaWithSHA384: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 3]
    package static let ecdsaWithSHA512: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 4]
    package static let sha256WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 11]
    package static let sha384WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 12]
    package static let sha512WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 13]
    package static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    package static let weak: Set<ASN1ObjectIdentifier> = [
        [1, 2, 840, 113549, 1, 1, 4],  // md5WithRSAEncryption
        [1, 2, 840, 113549, 1, 1, 5],  // sha1WithRSAEncryption
        [1, 2, 840, 10045, 4, 1],  // ecdsa-with-SHA1
        [1, 2, 840, 10040, 4, 3],  // dsa-with-sha1
    ]

    /// The identifier to write for a signature algorithm (RSA with NULL parameters, ECDSA without).
    package static func identifier(for algorithm: Certificate.SignatureAlgorithm) throws -> AlgorithmIdentifierValue {
        switch algorithm {
        case .ecdsaWithSHA256: return AlgorithmIdentifierValue(algorithm: ecdsaWithSHA256)
        case .ecdsaWithSHA384: return AlgorithmIdentifierValue(algorithm: ecdsaWithSHA384)
        case .ecdsaWithSHA512: return AlgorithmIdentifierValue(algorithm: ecdsaWithSHA512)
        case .sha256WithRSAEncryption: return .withNull(sha256WithRSA)
        case .sha384WithRSAEncryption: return .withNull(sha384WithRSA)
        case .sha512WithRSAEncryption: return .withNull(sha512WithRSA)
        default: throw PKIError(.weakAlgorithm, "the signature algorithm is not allowed by policy")
        }
    }

    /// The algorithm an identifier names, if the policy accepts it. `rsaEncryption` paired with a digest (as some
    /// CMS writers put in SignerInfo.signatureAlgorithm) is resolved through `digest`.
    package static func accepted(_ identifier: AlgorithmIdentifierValue, digest: ASN1ObjectIdentifier? = nil) throws
        -> Certificate.SignatureAlgorithm
    {
        switch identifier.algorithm {
        case ecdsaWithSHA256: return .ecdsaWithSHA256
        case ecdsaWithSHA384: return .ecdsaWithSHA384
        case ecdsaWithSHA512: return .ecdsaWithSHA512
        case sha256WithRSA: return .sha256WithRSAEncryption
        case sha384WithRSA: return .sha384WithRSAEncryption
        case sha512WithRSA: return .sha512WithRSAEncryption
        case rsaEncryption:
            switch digest {
            case DigestAlgorithms.sha256: return .sha256WithRSAEncryption
            case DigestAlgorithms.sha384: return .sha384WithRSAEncryption
            case DigestAlgorithms.sha512: return .sha512WithRSAEncryption
            default: throw PKIError(.weakAlgorithm, "RSA signature with a digest the policy refuses")
            }
        default:
            if weak.contains(identifier.algorithm) {
                throw PKIError(.weakAlgorithm, "signatures with SHA-1 or MD5 are refused")
            }
            throw PKIError(.weakAlgorithm, "the signature algorithm is not supported")
        }
    }
}

/// Digest algorithm identifiers (NIST, RFC 5754) and the refused legacy ones.
package enum DigestAlgorithms {
    package static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
    package static let sha384: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 2]
    package static let sha512: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 3]
    package static let sha1: ASN1ObjectIdentifier = [1, 3, 14, 3, 2, 26]
    package static let md5: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 5]

    /// The digest a signature algorithm uses.
    package static func digest(for algorithm: Certificate.SignatureAlgorithm) -> ASN1ObjectIdentifier {
        switch algorithm {
        case .ecdsaWithSHA384, .sha384WithRSAEncryption: return sha384
        case .ecdsaWithSHA512, .sha512WithRSAEncryption: return sha512
        default: return sha256
        }
    }
}

/// Access to the children of a constructed node.
package enum ASN1Children {
    /// The child nodes of a constructed node with the given tag.
    package static func of(_ node: ASN1Node, identifier: ASN1Identifier = .sequence) throws -> [ASN1Node] {
        guard node.identifier == identifier, case .constructed(let children) = node.content else {
            throw ASN1Error.unexpectedFieldType(node.identifier)
        }
        return Array(children)
    }
}
