/// An 8-bit image ready to encode: `channels` samples per pixel (1: grey, 3: RGB), rows top to bottom.
package struct DICOMRaster: Sendable, Hashable {
    package let width: Int
    package let height: Int
    package let channels: Int
    package let samples: [UInt8]
}

/// The first frame of native (uncompressed) pixel data as an 8-bit raster, for a preview: monochrome with 8 or 16
/// bits allocated (signed or not; the modality rescale of PS3.3 C.11.1, then the VOI window of C.11.2.1.2 when the
/// file names one — else the frame's own range for 16-bit data), and 8-bit RGB (interleaved or by plane).
/// `MONOCHROME1` is inverted. Compressed (encapsulated) data, palette colour, YBR and other layouts are refused with
/// `dicom.no-preview`, whose message says why; nothing is guessed. Large frames are reduced (nearest neighbour)
/// to at most `maxSide` pixels a side before anything is computed: a 16-bit frame without a window is stretched to
/// the range of the samples shown.
package enum DICOMPreview {
    /// The largest frame side the previewer reads.
    package static let maxFrameSide = 16_384

    package static func firstFrame(of bytes: [UInt8], _ file: DICOMFile, maxSide: Int = 512) throws(DICOMError)
        -> DICOMRaster
    {
        let p = file.pixels
        if p.encapsulated {
            throw DICOMError(
                .noPreview,
                "the pixel data is compressed (transfer syntax \(file.transferSyntaxUID)); no preview is rendered")
        }
        guard let data = p.nativePixelData else { throw DICOMError(.noPreview, "the file holds no pixel data") }
        guard p.rows > 0, p.columns > 0, p.rows <= maxFrameSide, p.columns <= maxFrameSide else {
            throw DICOMError(.noPreview, "the image size is missing or out of range")
        }
        let mono = p.photometricInterpretation == "MONOCHROME1" || p.photometricInterpretation == "MONOCHROME2"
        let pixels = p.rows * p.columns
        // The preview's size first, and each of its pixels sampled from the frame (nearest neighbour): the work and
        // memory are bounded by the preview, not by the frame.
        let (w, h) = previewSize(columns: p.columns, rows: p.rows, maxSide: maxSide)
        let sources = (0..<(w * h)).map { i in (i / w) * p.rows / h * p.columns + (i % w) * p.columns / w }
        let base = data.lowerBound
        var samples: [UInt8]
        var channels = 1
        if mono, p.samplesPerPixel == 1, p.bitsAllocated == 8 || p.bitsAllocated == 16 {
            let bytesPerSample = p.bitsAllocated / 8
            guard data.count >= pixels * bytesPerSample else {
                throw DICOMError(.malformed, "the pixel data is shorter than one frame")
            }
            let stored = p.bitsStored > 0 && p.bitsStored <= p.bitsAllocated ? p.bitsStored : p.bitsAllocated
            let mask = (1 << stored) - 1
            let values = sources.map { i -> Double in
                var raw: Int
                if bytesPerSample == 1 {
                    raw = Int(bytes[base + i])
                } else {
                    let a = Int(bytes[base + 2 * i]), b = Int(bytes[base + 2 * i + 1])
                    raw = p.bigEndian ? a << 8 | b : b << 8 | a
                }
                raw &= mask
                if p.pixelRepresentation == 1, raw & (1 << (stored - 1)) != 0 { raw -= 1 << stored }
                return Double(raw) * p.rescaleSlope + p.rescaleIntercept
            }
            samples = window(values, center: p.windowCenter, width: p.windowWidth, stretch: p.bitsAllocated == 16)
            if p.photometricInterpretation == "MONOCHROME1" { samples = samples.map { 255 - $0 } }
        } else if p.photometricInterpretation == "RGB", p.samplesPerPixel == 3, p.bitsAllocated == 8 {
            guard data.count >= pixels * 3 else {
                throw DICOMError(.malformed, "the pixel data is shorter than one frame")
            }
            channels = 3
            samples = [UInt8](repeating: 0, count: w * h * 3)
            for (o, i) in sources.enumerated() {
                for c in 0..<3 {
                    samples[3 * o + c] =
                        p.planarConfiguration == 1 ? bytes[base + c * pixels + i] : bytes[base + 3 * i + c]
                }
            }
        } else {
            throw DICOMError(.noPreview, "the previewer renders 8/16-bit monochrome and 8-bit RGB only")
        }
        return DICOMRaster(width: w, height: h, channels: channels, samples: samples)
    }

    /// The preview's size: the frame's, reduced to at most `maxSide` a side keeping its aspect (never enlarged).
    package static func previewSize(columns: Int, rows: Int, maxSide: Int) -> (Int, Int) {
        let side = max(columns, rows)
        guard maxSide > 0, side > maxSide else { return (columns, rows) }
        return (max(1, columns * maxSide / side), max(1, rows * maxSide / side))
    }

    /// The VOI linear function of PS3.3 C.11.2.1.2.1 to 0…255; without a usable window, the values' own range when
    /// `stretch` (16-bit data), else the values as they are (clamped).
    static func window(_ values: [Double], center: Double?, width: Double?, stretch: Bool) -> [UInt8] {
        if let c = center, let w = width, w >= 1 {
            let low = c - 0.5 - (w - 1) / 2, high = c - 0.5 + (w - 1) / 2
            return values.map { x in
                if x <= low { return 0 }
                if x > high { return 255 }
                return UInt8(max(0, min(255, (((x - (c - 0.5)) / (w - 1)) + 0.5) * 255)))
            }
        }
        if stretch, let lo = values.min(), let hi = values.max(), hi > lo {
            return values.map { UInt8(max(0, min(255, ($0 - lo) / (hi - lo) * 255))) }
        }
        return values.map { UInt8(max(0, min(255, $0))) }
    }
}
