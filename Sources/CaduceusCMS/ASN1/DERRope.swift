package import SwiftASN1
import Foundation

/// A DER encoding kept as a list of byte slices, so large content is framed without being copied: headers are
/// computed from lengths, the payload slice is referenced. `joined()` makes one contiguous buffer of exact size;
/// `withParts` hands each part to a writer (a file descriptor, say).
///
/// A rope may hold one *external* part: bytes counted in every length but not held here (a document streamed from a
/// file). Such a rope is only written through ``split()``: the bytes before the external part, and those after it.
package struct DERRope: Sendable {
    package private(set) var parts: [ArraySlice<UInt8>] = []
    package private(set) var count = 0
    /// The slot in `parts` (an empty slice) standing for the external part, and its length.
    private var external: (index: Int, count: Int)?

    package init() {}
    package init(_ bytes: ArraySlice<UInt8>) { append(bytes) }
    package init(_ bytes: [UInt8]) { append(bytes[...]) }

    /// A DER-serialisable value, encoded.
    package init(serializing value: some DERSerializable) throws {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        self.init(serializer.serializedBytes)
    }

    package mutating func append(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        parts.append(bytes)
        count += bytes.count
    }


    package mutating func append(_ rope: DERRope) {
        if let inner = rope.external {
            precondition(external == nil, "a DERRope holds one external part at most")
            external = (parts.count + inner.index, inner.count)
        }
        parts.append(contentsOf: rope.parts)
        count += rope.count
    }

    /// Counts `length` bytes that are not held here (streamed by the caller between the two halves of ``split()``).
    package mutating func appendExternal(length: Int) {
        precondition(external == nil, "a DERRope holds one external part at most")
        external = (parts.count, length)
        parts.append([])
        count += length
    }

    /// The encoding before the external part and after it.
    package func split() -> (prefix: [UInt8], suffix: [UInt8]) {
        guard let external else { return (joined(), []) }
        var prefix: [UInt8] = []
        var suffix: [UInt8] = []
        for part in parts[..<external.index] { prefix.append(contentsOf: part) }
        for part in parts[(external.index + 1)...] { suffix.append(contentsOf: part) }
        return (prefix, suffix)
    }

    /// `tag || length || self`.
    package func wrapped(_ tag: UInt8) -> DERRope {
        var out = DERRope(Self.header(tag: tag, length: count))
        out.append(self)
        return out
    }

    package static func header(tag: UInt8, length: Int) -> [UInt8] {
        if length < 0x80 { return [tag, UInt8(length)] }
        var bytes: [UInt8] = []
        var n = length
        while n > 0 { bytes.insert(UInt8(n & 0xff), at: 0); n >>= 8 }
        return [tag, 0x80 | UInt8(bytes.count)] + bytes
    }

    /// One contiguous buffer.
    package func joined() -> [UInt8] {
        precondition(external == nil, "a DERRope with an external part is written through split()")
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for part in parts { out.append(contentsOf: part) }
        return out
    }

    /// Calls `body` with each part's bytes, in order.
    package func withParts(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        precondition(external == nil, "a DERRope with an external part is written through split()")
        for part in parts { try part.withUnsafeBytes(body) }
    }
}
