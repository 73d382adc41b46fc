package import SwiftASN1
import Foundation

/// A DER encoding kept as a list of byte slices, so large content is framed without being copied: headers are
/// computed from lengths, the payload slice is referenced. `joined()` makes one contiguous buffer of exact size;
/// `withParts` hands each part to a writer (a file descriptor, say).
package struct DERRope: Sendable {
    package private(set) var parts: [ArraySlice<UInt8>] = []
    package private(set) var count = 0

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
        parts.append(contentsOf: rope.parts)
        count += rope.count
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
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for part in parts { out.append(contentsOf: part) }
        return out
    }

    /// Calls `body` with each part's bytes, in order.
    package func withParts(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        for part in parts { try part.withUnsafeBytes(body) }
    }
}
