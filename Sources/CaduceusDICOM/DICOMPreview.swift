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
/// to at most `maxSide` pixels a side.
package enum DICOMPreview {
    /// The largest frame side the previewer reads.
    package static let maxFrameSide = 16_384

    package static func firstFrame(of bytes: [UInt8], _ file: DICOMFile, maxSide: Int = 512) throws(DICOMError) -> DICOMRaster {
        let p = file.pixels
        if p.encapsulated {
            throw DICOMError(.noPreview, "the pixel data is compressed (transfer syntax \(file.transferSyntaxUID)); no preview is rendered")
        }
        guard let data = p.nativePixelData else { throw DICOMError(.noPreview, "the file holds no pixel data") }
        guard p.rows > 0, p.columns > 0, p.rows <= maxFrameSide, p.columns <= maxFrameSide else {
            throw DICOMError(.noPreview, "the image size is missing or out of range")
        }
        let mono = p.photometricInterpretation == "MONOCHROME1" || p.photometricInterpretation == "MONOCHROME2"
        let pixels = p.rows * p.columns
        var grey: [UInt8]
        var channels = 1
        if mono, p.samplesPerPixel == 1, p.bitsAllocated == 8 || p.bitsAllocated == 16 {
            let bytesPerSample = p.bitsAllocated / 8
            guard data.count >= pixels * bytesPerSample else { throw DICOMError(.malformed, "the pixel data is shorter than one frame") }
            let stored = p.bitsStored > 0 && p.bitsStored <= p.bitsAllocated ? p.bitsStored : p.bitsAllocated
            let mask = (1 << stored) - 1
            var values = [Double](repeating: 0, count: pixels)
            let base = data.lowerBound
            for i in 0..<pixels {
                var raw: Int
                if bytesPerSample == 1 {
                    raw = Int(bytes[base + i])
                } else {
                    let a = Int(bytes[base + 2 * i]), b = Int(bytes[base + 2 * i + 1])
                    raw = p.bigEndian ? a << 8 | b : b << 8 | a
                }
                raw &= mask
                if p.pixelRepresentation == 1, raw & (1 << (stored - 1)) != 0 { raw -= 1 << stored }
                values[i] = Double(raw) * p.rescaleSlope + p.rescaleIntercept
            }
            grey = window(values, center: p.windowCenter, width: p.windowWidth, stretch: p.bitsAllocated == 16)
            if p.photometricInterpretation == "MONOCHROME1" { grey = grey.map { 255 - $0 } }
        } else if p.photometricInterpretation == "RGB", p.samplesPerPixel == 3, p.bitsAllocated == 8 {
            guard data.count >= pixels * 3 else { throw DICOMError(.malformed, "the pixel data is shorter than one frame") }
            channels = 3
            let base = data.lowerBound
            if p.planarConfiguration == 1 {
                grey = [UInt8](repeating: 0, count: pixels * 3)
                for i in 0..<pixels {
                    grey[3 * i] = bytes[base + i]
                    grey[3 * i + 1] = bytes[base + pixels + i]
                    grey[3 * i + 2] = bytes[base + 2 * pixels + i]
                }
            } else {
                grey = Array(bytes[base..<(base + pixels * 3)])
            }
        } else {
            throw DICOMError(.noPreview, "the previewer renders 8/16-bit monochrome and 8-bit RGB only")
        }
        return reduce(DICOMRaster(width: p.columns, height: p.rows, channels: channels, samples: grey), maxSide: maxSide)
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

    /// Nearest-neighbour reduction to at most `maxSide` a side (never enlarged).
    static func reduce(_ r: DICOMRaster, maxSide: Int) -> DICOMRaster {
        let side = max(r.width, r.height)
        guard maxSide > 0, side > maxSide else { return r }
        let w = max(1, r.width * maxSide / side), h = max(1, r.height * maxSide / side)
        var out = [UInt8](repeating: 0, count: w * h * r.channels)
        for y in 0..<h {
            let sy = y * r.height / h
            for x in 0..<w {
                let sx = x * r.width / w
                for c in 0..<r.channels { out[(y * w + x) * r.channels + c] = r.samples[(sy * r.width + sx) * r.channels + c] }
            }
        }
        return DICOMRaster(width: w, height: h, channels: r.channels, samples: out)
    }
}
