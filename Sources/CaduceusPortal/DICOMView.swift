import CaduceusDICOM
import Foundation

/// A DICOM document as the portal shows it: the metadata our Part 10 reader takes from it and, where the pixel data
/// is native (uncompressed) and of a layout ``DICOMPreview`` renders, a preview of the first frame as a PNG served
/// from the document's opaque handle (through the gate again). Compressed transfer syntaxes say so: no preview.
package enum DICOMView {
    struct Rendered {
        let title: String
        let facts: [(label: String, value: String)]
        let html: String
    }

    static func render(_ bytes: [UInt8], handle: String) -> Rendered {
        let file: DICOMFile
        do { file = try DICOMFile(reading: bytes) } catch {
            return Rendered(
                title: "DICOM object", facts: [],
                html:
                    "<p class=\"notice\">This DICOM object could not be read (<code>\(escape(error.code))</code>: \(escape(error.message))).</p>"
            )
        }
        let p = file.pixels
        var facts: [(String, String)] = [
            ("Patient", file.patientName.replacingOccurrences(of: "^", with: " ").trimmed),
            ("Modality", file.modality), ("Study date", CDAView.date(file.studyDate)), ("Study", file.studyDescription),
            ("Accession number", file.accessionNumber), ("Object", sopClassName(file.sopClassUID)),
            ("Transfer syntax", transferSyntaxName(file.transferSyntaxUID)),
        ]
        if p.rows > 0 {
            facts.append(
                (
                    "Image",
                    "\(p.columns) × \(p.rows), \(p.bitsStored > 0 ? p.bitsStored : p.bitsAllocated)-bit \(p.photometricInterpretation)\(p.numberOfFrames > 1 ? ", \(p.numberOfFrames) frames" : "")"
                ))
        }
        if let c = p.windowCenter, let w = p.windowWidth {
            facts.append(("Window", "centre \(number(c)), width \(number(w))"))
        }
        if file.preamble == .executable {
            facts.append(
                (
                    "Warning",
                    "the file's preamble is an executable header (a polyglot): do not open it outside the portal"
                ))
        }
        let shown = facts.filter { !$0.1.isEmpty }
        var html: String
        do {
            _ = try DICOMPreview.firstFrame(of: bytes, file, maxSide: 1)
            html =
                "<figure class=\"dicom-preview\"><img src=\"/portal/documents/\(escape(handle))/preview\" alt=\"Preview of the first frame\" width=\"\(previewSize(p).0)\" height=\"\(previewSize(p).1)\">"
                + "<figcaption>First frame\(p.windowCenter != nil ? ", in the window the file names" : p.bitsAllocated == 16 ? ", stretched to its own range" : ""). A preview, not for diagnosis.</figcaption></figure>"
        } catch {
            html =
                "<p class=\"notice\" role=\"status\"><strong>No preview.</strong> \(escape(capitalised(error.message))).</p>"
        }
        let title =
            file.studyDescription.isEmpty
            ? (file.modality.isEmpty ? "DICOM image" : "\(file.modality) image") : file.studyDescription
        return Rendered(title: title, facts: shown.map { (label: $0.0, value: $0.1) }, html: html)
    }

    /// The PNG of the first frame (at most 512 pixels a side).
    package static func preview(_ bytes: [UInt8]) throws -> [UInt8] {
        let file = try DICOMFile(reading: bytes)
        let r = try DICOMPreview.firstFrame(of: bytes, file)
        return try PNGEncoder.encode(width: r.width, height: r.height, channels: r.channels, samples: r.samples)
    }

    static func previewSize(_ p: DICOMPixelModule) -> (Int, Int) {
        DICOMPreview.previewSize(columns: p.columns, rows: p.rows, maxSide: 512)
    }

    static func capitalised(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }

    static func number(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

    static func sopClassName(_ uid: String) -> String {
        switch uid {
        case "1.2.840.10008.5.1.4.1.1.2": return "CT Image"
        case "1.2.840.10008.5.1.4.1.1.4": return "MR Image"
        case "1.2.840.10008.5.1.4.1.1.7": return "Secondary Capture Image"
        case "1.2.840.10008.5.1.4.1.1.1": return "Computed Radiography Image"
        case "1.2.840.10008.5.1.4.1.1.1.1": return "Digital X-Ray Image"
        case "1.2.840.10008.5.1.4.1.1.6.1": return "Ultrasound Image"
        default: return uid
        }
    }

    static func transferSyntaxName(_ uid: String) -> String {
        switch uid {
        case "1.2.840.10008.1.2": return "Implicit VR Little Endian (uncompressed)"
        case "1.2.840.10008.1.2.1": return "Explicit VR Little Endian (uncompressed)"
        case "1.2.840.10008.1.2.2": return "Explicit VR Big Endian (uncompressed, retired)"
        case "1.2.840.10008.1.2.4.50": return "JPEG Baseline (compressed)"
        case "1.2.840.10008.1.2.4.70": return "JPEG Lossless (compressed)"
        case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91": return "JPEG 2000 (compressed)"
        case "1.2.840.10008.1.2.5": return "RLE Lossless (compressed)"
        default: return uid.hasPrefix("1.2.840.10008.1.2.4.") ? "\(uid) (compressed)" : uid
        }
    }
}
