import CZlib

/// A PNG encoder (ISO/IEC 15948, the W3C PNG specification) for the portal's previews: 8-bit greyscale (colour type 0)
/// or 8-bit RGB (colour type 2), no interlace, filter type 0 on every row, the image data deflated by the system's
/// zlib (RFC 1950) into one IDAT chunk. Chunks carry the CRC-32 of their type and data (§5.5).
package enum PNGEncoder {
    package struct Failure: Error {}

    /// The PNG of `samples` (`width × height × channels` bytes, rows top to bottom; channels 1 or 3).
    package static func encode(width: Int, height: Int, channels: Int, samples: [UInt8]) throws -> [UInt8] {
        guard width > 0, height > 0, width < 1 << 31, height < 1 << 31, channels == 1 || channels == 3,
            samples.count == width * height * channels
        else { throw Failure() }
        // Each row gets its filter-type byte (0: None) before its samples.
        let stride = width * channels
        var raw = [UInt8]()
        raw.reserveCapacity((stride + 1) * height)
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: samples[(y * stride)..<((y + 1) * stride)])
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = be32(UInt32(width)) + be32(UInt32(height))
        header += [8, channels == 1 ? 0 : 2, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace
        chunk("IHDR", header, into: &png)
        chunk("IDAT", try deflate(raw), into: &png)
        chunk("IEND", [], into: &png)
        return png
    }

    /// A zlib stream (RFC 1950: header, deflate, Adler-32) of `data`.
    static func deflate(_ data: [UInt8]) throws -> [UInt8] {
        var length = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let status = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { i in compress2(o.baseAddress, &length, i.baseAddress, uLong(data.count), 6) }
        }
        guard status == Z_OK else { throw Failure() }
        return Array(out.prefix(Int(length)))
    }

    static func chunk(_ type: String, _ data: [UInt8], into png: inout [UInt8]) {
        let typed = Array(type.utf8) + data
        png += be32(UInt32(data.count)) + typed
        let crc = typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        png += be32(UInt32(crc))
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
}
