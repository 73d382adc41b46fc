import Foundation

/// A minimal, strict MIME entity reader/writer for S/MIME (RFC 2045, RFC 8551 §3): headers (with folding), a body,
/// base64 transfer encoding and multipart/signed splitting. Accepts CRLF or LF line endings on input; writes CRLF.
///
/// The header block is bounded while it is read, before anything is decoded, decrypted or verified: at most
/// ``maxHeaderFields`` fields, ``maxHeaderFieldBytes`` per field (folded lines joined) and ``maxHeaderBlockBytes``
/// in all. Over a limit is `cms.mime-headers-too-large`.
package struct MIMEEntity {
    package var headers: [(name: String, value: String)]
    package var body: ArraySlice<UInt8>

    static let crlf: [UInt8] = [13, 10]

    /// Most header fields in one entity (RFC 8551 entities carry four or five).
    package static let maxHeaderFields = 100
    /// Largest header field, its folded continuation lines included.
    package static let maxHeaderFieldBytes = 8 << 10
    /// Largest header block, up to and including the empty line that ends it.
    package static let maxHeaderBlockBytes = 64 << 10

    package func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The media type, lower-cased, without parameters.
    package var mediaType: String {
        (header("Content-Type") ?? "text/plain").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? "text/plain"
    }

    /// A Content-Type parameter (quotes removed), case-insensitive name.
    package func contentTypeParameter(_ name: String) -> String? {
        guard let value = header("Content-Type") else { return nil }
        for part in value.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name.lowercased() else {
                continue
            }
            var v = pair[1].trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }

    /// Parses an entity: headers up to the first empty line, then the body.
    /// - Throws: `cms.mime-headers-too-large` past a header limit (checked before any line is decoded beyond it),
    ///   `cms.mime-malformed` for a header block that is not MIME.
    package static func parse(_ bytes: ArraySlice<UInt8>) throws -> MIMEEntity {
        var headers: [(String, String)] = []
        var index = bytes.startIndex
        // The header block may not run past this index (exclusive): a line end must be found before it.
        let blockEnd = bytes.startIndex + min(bytes.count, maxHeaderBlockBytes)
        var fieldBytes = 0  // bytes of the current field, continuation lines included
        while true {
            guard let lineEnd = bytes[index..<blockEnd].firstIndex(of: 10) else {
                if blockEnd < bytes.endIndex {
                    throw CMSError(.mimeHeadersTooLarge, "the MIME header block exceeds \(maxHeaderBlockBytes / 1024) KiB")
                }
                throw CMSError(.mimeMalformed, "the MIME headers are not terminated by an empty line")
            }
            var line = bytes[index..<lineEnd]
            if line.last == 13 { line = line.dropLast() }
            index = lineEnd + 1
            if line.isEmpty { break }
            let continuation = line.first == 32 || line.first == 9
            fieldBytes = continuation ? fieldBytes + line.count : line.count
            guard fieldBytes <= maxHeaderFieldBytes else {
                throw CMSError(.mimeHeadersTooLarge, "a MIME header field exceeds \(maxHeaderFieldBytes / 1024) KiB")
            }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw CMSError(.mimeMalformed, "a MIME header is not valid text")
            }
            if continuation {
                guard !headers.isEmpty else { throw CMSError(.mimeMalformed, "a MIME header continues nothing") }
                // Unfolding joins with one space; a blank continuation adds nothing (the value stays trimmed).
                let more = text.trimmingCharacters(in: .whitespaces)
                if !more.isEmpty { headers[headers.count - 1].1 += (headers[headers.count - 1].1.isEmpty ? "" : " ") + more }
                continue
            }
            guard let colon = text.firstIndex(of: ":") else {
                throw CMSError(.mimeMalformed, "a MIME header line has no colon")
            }
            guard headers.count < maxHeaderFields else {
                throw CMSError(.mimeHeadersTooLarge, "the MIME entity has more than \(maxHeaderFields) header fields")
            }
            headers.append((String(text[..<colon]), text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        guard headers.contains(where: { $0.0.caseInsensitiveCompare("Content-Type") == .orderedSame }) else {
            throw CMSError(.mimeMalformed, "the MIME entity has no Content-Type")
        }
        return MIMEEntity(headers: headers, body: bytes[index...])
    }

    /// The body with its Content-Transfer-Encoding removed (base64, 7bit, 8bit, binary).
    package func decodedBody() throws -> [UInt8] {
        switch (header("Content-Transfer-Encoding") ?? "7bit").lowercased() {
        case "base64":
            guard let data = Data(base64Encoded: Data(body), options: .ignoreUnknownCharacters) else {
                throw CMSError(.mimeMalformed, "the base64 body cannot be decoded")
            }
            return Array(data)
        case "7bit", "8bit", "binary":
            return Array(body)
        default:
            throw CMSError(.mimeMalformed, "the Content-Transfer-Encoding is not supported")
        }
    }

    /// The body of a signed part with its transfer encoding removed: ``decodedBody()`` plus quoted-printable (RFC 2045
    /// §6.7), which mail clients use for signed text.
    package func decodedContent() throws -> [UInt8] {
        guard (header("Content-Transfer-Encoding") ?? "").lowercased() == "quoted-printable" else { return try decodedBody() }
        return try Self.quotedPrintableDecoded(body)
    }

    /// Quoted-printable decoding: `=XX` is a byte, `=` at the end of a line a soft line break; everything else as is.
    static func quotedPrintableDecoded(_ bytes: ArraySlice<UInt8>) throws -> [UInt8] {
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: return b - 0x30
            case 0x41...0x46: return b - 0x41 + 10
            case 0x61...0x66: return b - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            guard b == UInt8(ascii: "=") else {
                out.append(b)
                i += 1
                continue
            }
            let rest = bytes[(i + 1)...]
            if rest.starts(with: [13, 10]) {
                i += 3
            } else if rest.first == 10 {
                i += 2
            } else if rest.count >= 2, let high = hex(rest[rest.startIndex]), let low = hex(rest[rest.startIndex + 1]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                throw CMSError(.mimeMalformed, "the quoted-printable body cannot be decoded")
            }
        }
        return out
    }

    /// The canonical MIME entity (RFC 8551 §3.1.1) a `multipart/signed` signs for `content`: header fields and
    /// body with CRLF line ends, the body in a 7-bit transfer encoding. Text keeps its characters with every line end
    /// made CRLF; anything else is base64 of the exact bytes. The entity ends with CRLF.
    package static func canonicalEntity(_ content: ArraySlice<UInt8>, form: SMIME.SignedEntityForm) throws -> [UInt8] {
        let isText = Self.isText(content)
        switch form {
        case .text where !isText:
            throw CMSError(.unsupported, "the content is not text (NUL, a control character, a CR without LF or invalid UTF-8): sign it as binary")
        case .binary, .automatic where !isText:
            return render(
                headers: [("Content-Type", "application/octet-stream"), ("Content-Transfer-Encoding", "base64")],
                body: base64Lines(content))
        case .text, .automatic:
            var text: [UInt8] = []
            text.reserveCapacity(content.count + content.count / 32 + 2)
            var ascii = true
            var longest = 0
            var line = 0
            var previous: UInt8 = 0
            for b in content {
                if b == 10 {
                    if previous != 13 { text.append(13) }
                    longest = max(longest, line)
                    line = 0
                } else if b != 13 {
                    line += 1
                }
                if b >= 0x80 { ascii = false }
                text.append(b)
                previous = b
            }
            longest = max(longest, line)
            let sevenBit = ascii && longest <= 998
            let charset = ascii ? "us-ascii" : "utf-8"
            return render(
                headers: [
                    ("Content-Type", "text/plain; charset=\(charset)"),
                    ("Content-Transfer-Encoding", sevenBit ? "7bit" : "base64"),
                ], body: sevenBit ? text : base64Lines(text))
        }
    }

    /// Whether `bytes` are text that survives canonicalisation unchanged but for its line ends: valid UTF-8, no NUL,
    /// no control character other than TAB, LF and a CR directly before LF, no DEL.
    static func isText(_ bytes: ArraySlice<UInt8>) -> Bool {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == 13 {
                guard i + 1 < bytes.endIndex, bytes[i + 1] == 10 else { return false }
            } else if (b < 0x20 && b != 9 && b != 10) || b == 0x7F {
                return false
            }
            i += 1
        }
        return String(validating: bytes, as: UTF8.self) != nil
    }

    /// multipart/signed: the first part's exact bytes (what was signed) and the signature part.
    package func splitSigned() throws -> (content: ArraySlice<UInt8>, signature: MIMEEntity) {
        guard let boundary = contentTypeParameter("boundary"), !boundary.isEmpty else {
            throw CMSError(.mimeMalformed, "multipart/signed without a boundary")
        }
        let delimiter = Array(("--" + boundary).utf8)
        var starts: [Int] = []  // index of each delimiter line start; only the first three are used
        var index = body.startIndex
        while index < body.endIndex, starts.count < 3 {
            let lineStart = index
            if body[lineStart...].starts(with: delimiter) { starts.append(lineStart) }
            guard let lf = body[index...].firstIndex(of: 10) else { break }
            index = lf + 1
        }
        guard starts.count >= 3 else { throw CMSError(.mimeMalformed, "multipart/signed needs two parts") }
        // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1). It is CRLF in a CRLF entity and
        // LF in an LF entity (OpenSSL's default): decide by how the delimiter lines themselves end, so that a CR that
        // ends the content (HL7 segments end in CR) is kept.
        let firstLineEnd = body[starts[0]...].firstIndex(of: 10) ?? starts[0]
        let crlfStyle = firstLineEnd > starts[0] && body[firstLineEnd - 1] == 13
        func partBody(from delimiterStart: Int, to nextDelimiter: Int) -> ArraySlice<UInt8> {
            let afterDelimiterLine = (body[delimiterStart...].firstIndex(of: 10) ?? delimiterStart) + 1
            var end = nextDelimiter
            if end > afterDelimiterLine, body[end - 1] == 10 { end -= 1 }
            if crlfStyle, end > afterDelimiterLine, body[end - 1] == 13 { end -= 1 }
            return body[afterDelimiterLine..<max(end, afterDelimiterLine)]
        }
        let content = partBody(from: starts[0], to: starts[1])
        let signature = try MIMEEntity.parse(partBody(from: starts[1], to: starts[2]))
        return (content, signature)
    }

    /// Writes headers, an empty line and the body, with CRLF (default) or LF line endings.
    static func render(headers: [(String, String)], body: [UInt8], eol: [UInt8] = crlf) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 512)
        for (name, value) in headers { out.append(contentsOf: Array("\(name): \(value)".utf8) + eol) }
        out.append(contentsOf: eol)
        out.append(contentsOf: body)
        return out
    }

    /// Base64 with 64-character lines, CRLF (default) or LF.
    static func base64Lines(_ bytes: some Collection<UInt8>, eol: [UInt8] = crlf) -> [UInt8] {
        let options: Data.Base64EncodingOptions =
            eol == crlf ? [.lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed] : [.lineLength64Characters, .endLineWithLineFeed]
        return Array(Data(bytes).base64EncodedData(options: options)) + eol
    }
}
