package import SwiftASN1
package import Foundation

/// A DER encoding kept as a list of byte buffers, so large content is framed without being copied: headers are
/// computed from lengths, the payload (an array slice, or the `Data` a cipher returned) is referenced. `joined()`
/// makes one contiguous buffer of exact size; `withParts` hands each part to a writer (a file descriptor, say).
package struct DERRope: Sendable {
    package enum Part: Sendable {
        case bytes(ArraySlice<UInt8>)
        case data(Data)
        var count: Int {
            switch self {
            case .bytes(let b): return b.count
            case .data(let d): return d.count
            }
        }
    }

    package private(set) var parts: [Part] = []
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

    package init(data: Data) { append(data: data) }

    package mutating func append(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        parts.append(.bytes(bytes))
        count += bytes.count
    }

    package mutating func append(data: Data) {
        guard !data.isEmpty else { return }
        parts.append(.data(data))
        count += data.count
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
        for part in parts {
            switch part {
            case .bytes(let b): out.append(contentsOf: b)
            case .data(let d): out.append(contentsOf: d)
            }
        }
        return out
    }

    /// Calls `body` with each part's bytes, in order.
    package func withParts(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        for part in parts {
            switch part {
            case .bytes(let b): try b.withUnsafeBytes(body)
            case .data(let d): try d.withUnsafeBytes(body)
            }
        }
    }
}
