import CaduceusPKI
import Crypto
import SwiftASN1

/// Reads exactly `count` bytes from `source` (fewer only at its end), without copying when one read suffices.
func readUpTo<S: ByteSource>(_ count: Int, from source: inout S) throws -> ArraySlice<UInt8> {
    guard count > 0 else { return [] }
    let first = try source.read(upTo: count)
    if first.count == count || first.isEmpty { return first }
    var out = Array(first)
    while out.count < count {
        let more = try source.read(upTo: count - out.count)
        if more.isEmpty { break }
        out.append(contentsOf: more)
    }
    return out[...]
}

/// `prefix ‖ middle ‖ suffix` as one source: a SignedData streamed from its frame and the content file.
struct ConcatenatedSource<Middle: ByteSource>: ByteSource {
    var prefix: ArraySlice<UInt8>
    var middle: Middle
    var middleDone = false
    var suffix: ArraySlice<UInt8>

    mutating func read(upTo maxCount: Int) throws -> ArraySlice<UInt8> {
        if !prefix.isEmpty {
            let piece = prefix.prefix(maxCount)
            prefix = prefix.dropFirst(piece.count)
            return piece
        }
        if !middleDone {
            let piece = try middle.read(upTo: maxCount)
            if !piece.isEmpty { return piece }
            middleDone = true
        }
        let piece = suffix.prefix(maxCount)
        suffix = suffix.dropFirst(piece.count)
        return piece
    }
}

/// The message digests CMS signers use (SHA-256, SHA-384, SHA-512), updated chunk by chunk.
struct StreamingDigests {
    private var sha256: SHA256?
    private var sha384: SHA384?
    private var sha512: SHA512?

    init(_ oids: [ASN1ObjectIdentifier]) {
        if oids.contains(DigestAlgorithms.sha256) { sha256 = SHA256() }
        if oids.contains(DigestAlgorithms.sha384) { sha384 = SHA384() }
        if oids.contains(DigestAlgorithms.sha512) { sha512 = SHA512() }
    }

    mutating func update(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { raw in
            sha256?.update(bufferPointer: raw)
            sha384?.update(bufferPointer: raw)
            sha512?.update(bufferPointer: raw)
        }
    }

    func finalize() -> [ASN1ObjectIdentifier: [UInt8]] {
        var out: [ASN1ObjectIdentifier: [UInt8]] = [:]
        if let sha256 { out[DigestAlgorithms.sha256] = Array(sha256.finalize()) }
        if let sha384 { out[DigestAlgorithms.sha384] = Array(sha384.finalize()) }
        if let sha512 { out[DigestAlgorithms.sha512] = Array(sha512.finalize()) }
        return out
    }
}
