/// Generators of hostile inputs for the parsers' denial-of-service tests: each is small to send and was expensive to
/// read before its parser was bounded or made linear. All content is synthetic.
public enum HostileInputs {
    /// A CDA-shaped document whose elements are nested `depth` deep, each declaring `declarations` namespace
    /// prefixes, with `leaves` empty elements at the bottom in a prefix bound at the root. Resolving a prefix by
    /// searching every binding in scope costs `depth × declarations` per leaf: quadratic in the document's size.
    public static func xmlNamespaces(depth: Int, declarations: Int, leaves: Int) -> [UInt8] {
        var out = Array(#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:r="urn:example:r">"#.utf8)
        let declared = (0..<declarations).map { #" xmlns:p\#($0)="urn:example:p""# }.joined()
        for _ in 0..<depth { out += Array("<n\(declared)>".utf8) }
        let leaf = Array("<r:x/>".utf8)
        for _ in 0..<leaves { out += leaf }
        for _ in 0..<depth { out += Array("</n>".utf8) }
        out += Array("</ClinicalDocument>".utf8)
        return out
    }

    /// Elements with `attributes` attributes each (`count` of them, one after the other): duplicate-attribute
    /// checks by linear search cost `attributes²` per element.
    public static func xmlAttributes(elements count: Int, attributes: Int) -> [UInt8] {
        let attrs = (0..<attributes).map { #" a\#($0)="""# }.joined()
        var out = Array(#"<ClinicalDocument xmlns="urn:hl7-org:v3">"#.utf8)
        let element = Array("<e\(attrs)/>".utf8)
        for _ in 0..<count { out += element }
        out += Array("</ClinicalDocument>".utf8)
        return out
    }

    /// An S/MIME entity (application/pkcs7-mime, enveloped-data) preceded by `fields` tiny header fields.
    public static func mimeManyHeaders(fields: Int) -> [UInt8] {
        var out = Array("MIME-Version: 1.0\r\n".utf8)
        out.reserveCapacity(fields * 6 + 256)
        let field = Array("X: y\r\n".utf8)
        for _ in 0..<fields { out += field }
        out += smimeTail
        return out
    }

    /// An S/MIME entity whose first header field is folded over `lines` continuation lines of `width` bytes.
    public static func mimeFoldedHeader(lines: Int, width: Int) -> [UInt8] {
        var out = Array("MIME-Version: 1.0\r\nX-Long: a\r\n".utf8)
        out.reserveCapacity(lines * (width + 3) + 256)
        let line = [0x20] + [UInt8](repeating: 0x61, count: width) + [13, 10]
        for _ in 0..<lines { out += line }
        out += smimeTail
        return out
    }

    static let smimeTail = Array(
        "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQA=\r\n".utf8)

    /// A multipart/mixed payload whose one part carries `fields` header fields (or one field folded over `fields`
    /// lines when `folded`).
    public static func multipartManyHeaders(fields: Int, folded: Bool = false) -> [UInt8] {
        var out = Array("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n".utf8)
        let field = Array((folded ? " y\r\n" : "X: y\r\n").utf8)
        if folded { out += Array("X: y\r\n".utf8) }
        out.reserveCapacity(out.count + fields * field.count + 64)
        for _ in 0..<fields { out += field }
        out += Array("\r\nbody\r\n--b--\r\n".utf8)
        return out
    }

    /// An HL7 message of about `bytes` bytes whose PID segments are nothing but empty repetitions (9,999 per field,
    /// 999 fields per segment: within every per-level limit), each costing a node in the parsed tree.
    public static func hl7EmptyRepetitions(bytes: Int) -> [UInt8] {
        var out = Array("MSH|^~\\&|FUZZ|FUZZ|CADUCEUS|FUZZ|20260101000000||ADT^A01^ADT_A01|FUZZ1|P|2.5.1\r".utf8)
        out.reserveCapacity(bytes + 16)
        let field = [UInt8](repeating: 0x7E, count: 9_999)
        while out.count < bytes {
            out += Array("PID".utf8)
            for _ in 0..<999 where out.count < bytes {
                out.append(0x7C)
                out += field.prefix(max(0, bytes - out.count))
            }
            out.append(0x0D)
        }
        return out
    }

    /// An HL7 message with `count` segments, each under a different segment id (AAA, AAB, …; header ids skipped).
    public static func hl7DistinctSegmentIDs(count: Int) -> [UInt8] {
        var out = Array("MSH|^~\\&|FUZZ|FUZZ|CADUCEUS|FUZZ|20260101000000||ADT^A01^ADT_A01|FUZZ1|P|2.5.1\r".utf8)
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        var n = 0
        var emitted = 0
        while emitted < count, n < 26 * 26 * 26 {
            let id = [letters[n / 676], letters[(n / 26) % 26], letters[n % 26]]
            n += 1
            if ["MSH", "BHS", "FHS", "BTS", "FTS"].contains(String(decoding: id, as: UTF8.self)) { continue }
            out += id + Array("|1\r".utf8)
            emitted += 1
        }
        return out
    }
}
