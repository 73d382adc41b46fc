import Foundation

/// A card's printable face as a one-page PDF (ISO 32000-1, PDF 1.4) the node writes itself: an ID-1 card
/// (ISO/IEC 7810: 85.60 × 53.98 mm) with the organisation's band, the holder's name, the role (or, on a patient card,
/// "Patient card" and the card number — MIX prints no patient name the node does not hold), the organisation, a
/// photo placeholder, the card number and its expiry. Text in the standard Helvetica fonts (WinAnsi; anything else
/// printed as `?`), no image, no script, no external reference.
package enum CardFace {
    /// What the face prints.
    package struct Fields: Sendable {
        package var organization: String
        package var name: String
        package var role: String
        package var number: String
        package var expires: String
        package var issuer: String
        package init(organization: String, name: String, role: String, number: String, expires: String, issuer: String) {
            self.organization = organization
            self.name = name
            self.role = role
            self.number = number
            self.expires = expires
            self.issuer = issuer
        }
    }

    /// Card size in points (1 pt = 1/72 in).
    static let width = 242.65, height = 153.01

    /// The face as a complete PDF file.
    package static func pdf(_ f: Fields) -> [UInt8] {
        var content = ""
        func text(_ s: String, x: Double, y: Double, size: Double, bold: Bool = false, gray: Double? = nil, white: Bool = false) {
            let color = white ? "1 1 1 rg" : gray.map { "\($0) g" } ?? "0.11 0.15 0.2 rg"
            content += "BT \(color) /\(bold ? "F2" : "F1") \(fmt(size)) Tf \(fmt(x)) \(fmt(y)) Td (\(escape(s))) Tj ET\n"
        }
        // Card outline and the organisation's band.
        content += "0.06 0.37 0.42 rg 0 \(fmt(height - 34)) \(fmt(width)) 34 re f\n"
        content += "0.85 0.88 0.91 RG 0.8 w 0.4 0.4 \(fmt(width - 0.8)) \(fmt(height - 0.8)) re S\n"
        text("CADUCEUS", x: 12, y: height - 16, size: 10, bold: true, white: true)
        text(clip(f.organization, 40), x: 12, y: height - 27, size: 7, white: true)
        text("HEALTH INFORMATION EXCHANGE", x: width - 118, y: height - 16, size: 5.5, white: true)
        // Photo placeholder.
        content += "0.93 0.95 0.96 rg 12 24 58 74 re f 0.6 0.65 0.7 RG 0.6 w 12 24 58 74 re S\n"
        content += "0.6 0.65 0.7 RG 0.8 w 22 34 m 60 88 l S 60 34 m 22 88 l S\n"
        text("PHOTO", x: 27, y: 58, size: 7, bold: true, gray: 0.45)
        // Holder.
        text(clip(f.name, 30), x: 80, y: 88, size: 11, bold: true)
        text(clip(f.role, 36), x: 80, y: 76, size: 8)
        text("Card number", x: 80, y: 58, size: 5.5, gray: 0.4)
        text(clip(f.number, 40), x: 80, y: 50, size: 7, bold: true)
        text("Valid until", x: 80, y: 36, size: 5.5, gray: 0.4)
        text(clip(f.expires, 30), x: 80, y: 28, size: 7, bold: true)
        text(clip("Issued by " + f.issuer, 70), x: 12, y: 10, size: 5, gray: 0.45)

        var objects: [String] = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 \(fmt(width)) \(fmt(height))] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        ]
        objects.append("<< /Length \(content.utf8.count) >>\nstream\n\(content)endstream")
        objects.append("<< /Title (\(escape("Card " + f.number))) /Producer (Caduceus) >>")
        var out = "%PDF-1.4\n%\u{E2}\u{E3}\u{CF}\u{D3}\n"
        var bytes = Array(out.utf8)
        var offsets: [Int] = []
        for (i, body) in objects.enumerated() {
            offsets.append(bytes.count)
            bytes += Array("\(i + 1) 0 obj\n\(body)\nendobj\n".utf8)
        }
        let xref = bytes.count
        out = "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for o in offsets { out += String(repeating: "0", count: 10 - String(o).count) + String(o) + " 00000 n \n" }
        out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R /Info \(objects.count) 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return bytes + Array(out.utf8)
    }

    static func fmt(_ v: Double) -> String { String(format: "%.2f", v) }

    static func clip(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "..." }

    /// A PDF literal string's content: printable ASCII only (others become `?`), with `\`, `(` and `)` escaped.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\\", "(", ")": out += "\\" + String(u)
            case " "..."~": out.unicodeScalars.append(u)
            default: out += "?"
            }
        }
        return out
    }
}
