#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fast search for a byte string in a byte buffer (`memchr` + `memcmp`). The generic `firstRange(of:)` from Foundation walks
/// element by element through protocol witnesses and allocates; on a 10 MB document that was most of an exchange's
/// time.
public enum ByteSearch {
    /// The range of the first occurrence of `needle` in `haystack`, in `haystack`'s indices.
    public static func firstRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Range<Int>? {
        guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty ? haystack.startIndex..<haystack.startIndex : nil }
        return haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n -> Range<Int>? in
                // memchr for the first byte, memcmp for the rest (memmem is a GNU extension Glibc's module hides).
                let base = h.baseAddress!, first = Int32(n[0])
                var offset = 0
                let last = h.count - n.count
                while offset <= last {
                    guard let hit = memchr(base + offset, first, last - offset + 1) else { return nil }
                    let at = UnsafeRawPointer(hit) - base
                    if memcmp(base + at, n.baseAddress!, n.count) == 0 {
                        return (haystack.startIndex + at)..<(haystack.startIndex + at + needle.count)
                    }
                    offset = at + 1
                }
                return nil
            }
        }
    }

    /// Whether `needle` occurs in `haystack`.
    public static func contains(_ needle: [UInt8], in haystack: [UInt8]) -> Bool { firstRange(of: needle, in: haystack[...]) != nil }
}
