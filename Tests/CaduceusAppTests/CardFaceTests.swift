import CaduceusPortal
import Foundation
import Testing

@Suite("The card face as a PDF")
struct CardFaceTests {
    let fields = CardFace.Fields(organization: "node.hospital-b", name: "Ngozi Okafor", role: "Nurse", number: "1A2B 3C4D", expires: "01 Dec 2027", issuer: "Hospital B CA")

    @Test("a well-formed PDF 1.4: every xref offset points at its object, startxref at the table, one ID-1 page with the holder's fields")
    func structure() throws {
        let bytes = CardFace.pdf(fields)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("%PDF-1.4\n") && text.hasSuffix("%%EOF\n"))
        let start = try #require(text.range(of: "startxref\n", options: .backwards))
        let xref = try #require(Int(text[start.upperBound...].prefix { $0.isNumber }))
        #expect(Array(bytes[xref..<xref + 4]) == Array("xref".utf8))
        let table = String(decoding: bytes[xref...], as: UTF8.self).split(separator: "\n")
        let count = try #require(Int(table[1].split(separator: " ")[1]))
        #expect(count == 8)
        for i in 1..<count {
            let offset = try #require(Int(table[2 + i].prefix(10)))
            #expect(Array(bytes[offset..<offset + "\(i) 0 obj".utf8.count]) == Array("\(i) 0 obj".utf8), "object \(i)")
        }
        #expect(text.contains("/MediaBox [0 0 242.65 153.01]"), "ID-1: 85.60 x 53.98 mm")
        for field in ["(Ngozi Okafor)", "(Nurse)", "(1A2B 3C4D)", "(01 Dec 2027)", "(node.hospital-b)", "(PHOTO)"] {
            #expect(text.contains(field), "\(field)")
        }
        let length = try #require(text.range(of: "/Length ")).upperBound
        let declared = try #require(Int(text[length...].prefix { $0.isNumber }))
        let stream = try #require(text.range(of: "stream\n")), end = try #require(text.range(of: "endstream"))
        #expect(text[stream.upperBound..<end.lowerBound].utf8.count == declared, "the content stream's /Length")
    }

    @Test("hostile text cannot break out of a string: parentheses and backslashes escaped, anything outside printable ASCII printed as ?")
    func escaping() {
        var f = fields
        f.name = "Eve) Tj /F2 99 Tf (x\\"
        f.role = "Zoë\u{0}\n"
        let text = String(decoding: CardFace.pdf(f), as: UTF8.self)
        #expect(text.contains("(Eve\\) Tj /F2 99 Tf \\(x\\\\)"))
        #expect(text.contains("(Zo???)"))
    }
}
