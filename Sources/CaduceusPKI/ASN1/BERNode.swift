public import SwiftASN1

extension ASN1Node {
    /// Children of a constructed node, requiring the given tag.
    package func children(_ identifier: ASN1Identifier = .sequence) throws -> [ASN1Node] {
        try ASN1Children.of(self, identifier: identifier)
    }

    /// Children of a constructed node whatever its tag.
    package func anyChildren() throws -> [ASN1Node] {
        guard case .constructed(let nodes) = content else { throw ASN1Error.unexpectedFieldType(identifier) }
        return Array(nodes)
    }

    /// The bytes of an OCTET STRING under this node's own tag (primitive or BER-constructed).
    package func octets() throws -> ArraySlice<UInt8> {
        try ASN1OctetString(berEncoded: self, withIdentifier: identifier).bytes
    }

    /// The single child inside an explicit context tag `[n]`.
    package func explicit(_ tag: UInt) throws -> ASN1Node {
        guard identifier == ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific) else {
            throw ASN1Error.unexpectedFieldType(identifier)
        }
        let inner = try anyChildren()
        guard inner.count == 1 else { throw ASN1Error.invalidASN1Object(reason: "explicit tag holds one value") }
        return inner[0]
    }

    /// Whether this node is a context-specific tag `[n]`.
    package func isContext(_ tag: UInt) -> Bool {
        identifier == ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific)
    }
}

extension Array where Element == ASN1Node {
    /// Element `index` of a constructed node's children, or a thrown ASN.1 error when the structure is shorter than
    /// its format requires — a hostile or truncated encoding must be refused, never trap on a subscript.
    package func node(_ index: Int) throws -> ASN1Node {
        guard index >= 0, index < count else { throw ASN1Error.invalidASN1Object(reason: "a required field is missing") }
        return self[index]
    }
}

extension ASN1Identifier {
    /// Context-specific tag `[n]`.
    package static func context(_ tag: UInt) -> ASN1Identifier {
        ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific)
    }
}

/// Compares two byte sequences in time independent of where they differ.
package func constantTimeEqual<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
