import CaduceusCore
import CaduceusDICOM
import CaduceusPortal
import CaduceusTestSupport
import Foundation
import Testing

private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// An independent PNG reader (Python's standard library: struct, zlib): checks the signature, every chunk's CRC-32,
/// IHDR, inflates the IDAT stream, undoes filter type 0 and prints the samples (hex) with the width, height and
/// colour type.
private let pngReader = """
    import binascii, struct, sys, zlib
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'signature'
    pos, idat, ihdr, types = 8, b'', None, []
    while pos < len(data):
        n, = struct.unpack('>I', data[pos:pos + 4]); kind = data[pos + 4:pos + 8]; body = data[pos + 8:pos + 8 + n]
        crc, = struct.unpack('>I', data[pos + 8 + n:pos + 12 + n])
        assert zlib.crc32(kind + body) & 0xffffffff == crc, 'crc of ' + kind.decode()
        types.append(kind.decode())
        if kind == b'IHDR': ihdr = struct.unpack('>IIBBBBB', body)
        if kind == b'IDAT': idat += body
        pos += 12 + n
    assert types[0] == 'IHDR' and types[-1] == 'IEND', types
    w, h, depth, colour, comp, filt, inter = ihdr
    assert depth == 8 and comp == 0 and filt == 0 and inter == 0
    channels = {0: 1, 2: 3}[colour]
    raw = zlib.decompress(idat)
    stride = w * channels
    out = b''
    for y in range(h):
        row = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        assert row[0] == 0, 'filter type'
        out += row[1:]
    print(w, h, colour, binascii.hexlify(out).decode())
    """

@Suite("PNG encoder (portal previews)")
struct PNGEncoderTests {
    @Test(
        "greyscale and RGB images read back sample for sample by an independent reader (CRCs, IHDR, zlib stream)",
        arguments: [1, 3])
    func roundTrip(_ channels: Int) throws {
        let (w, h) = (37, 19)
        let samples = (0..<(w * h * channels)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 5) }
        let png = try PNGEncoder.encode(width: w, height: h, channels: channels, samples: samples)
        let dir = try TemporaryDirectory()
        let path = try dir.write("image.png", Data(png))
        let script = try dir.write("read_png.py", pngReader)
        let run = try ProcessRunner.run(repo.appendingPathComponent(".venv/bin/python").path, [script, path])
        try #require(run.ok, "\(run.stderr)")
        #expect(
            run.text.trimmingCharacters(in: .whitespacesAndNewlines)
                == "\(w) \(h) \(channels == 1 ? 0 : 2) \(Hex.encode(samples))")
        #expect(png.count < w * h * channels + 200, "deflated")
    }

    @Test("bad dimensions or a sample count that does not fit are refused")
    func refused() {
        #expect(throws: PNGEncoder.Failure.self) {
            try PNGEncoder.encode(width: 0, height: 1, channels: 1, samples: [])
        }
        #expect(throws: PNGEncoder.Failure.self) {
            try PNGEncoder.encode(width: 2, height: 2, channels: 1, samples: [1, 2, 3])
        }
        #expect(throws: PNGEncoder.Failure.self) {
            try PNGEncoder.encode(width: 1, height: 1, channels: 2, samples: [1, 2])
        }
    }
}
