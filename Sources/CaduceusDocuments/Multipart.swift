import CaduceusCore

/// One body part of a `multipart/mixed` payload (RFC 2046 §5.1): its headers and its bytes (binary transfer).
package struct MIMEPart: Sendable, Hashable {
    /// Header fields in order (name, value).
    package var headers: [(String, String)]
    /// The body, byte for byte.
    package var body: [UInt8]

    /// Creates a part.
    package init(headers: [(String, String)], body: [UInt8]) {
        self.headers = headers
        self.body = body
    }

    /// Creates a part with a content type and an id.
    package init(contentType: String, id: String, body: [UInt8]) {
        self.init(headers: [("Content-Type", contentType), ("Content-ID", "<\(id)>"), ("Content-Transfer-Encoding", "binary")], body: body)
    }

    /// The first header named `name` (case-insensitive).
    package func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The Content-ID without its angle brackets.
    package var contentID: String? {
        header("Content-ID").map { $0.trimmingCharacters(in: "<> ") }
    }

    /// The media type (lowercased, parameters dropped).
    package var mediaType: String {
        (header("Content-Type") ?? "text/plain").split(separator: ";").first.map { String($0).trimmingCharacters(in: " ").lowercased() } ?? ""
    }

    package static func == (a: MIMEPart, b: MIMEPart) -> Bool {
        a.body == b.body && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
    }

    package func hash(into hasher: inout Hasher) { hasher.combine(body) }
}

/// The payload inside every exchange envelope: a MIME `multipart/mixed` entity whose first part is JSON metadata and
/// whose other parts are documents (CDA, DICOM), carried in binary (RFC 2045 §2.9: the envelope is 8-bit clean).
package enum Multipart {
    /// Encodes `parts` as a complete MIME entity (with its own `Content-Type` header), choosing a boundary that
    /// occurs in no part: neither in a body nor in a header field (a header line holding `--boundary` would read as a
    /// delimiter).
    package static func encode(_ parts: [MIMEPart], randomHex: () -> String) -> [UInt8] {
        let headerText = parts.map { part in Array(part.headers.map { "\($0.0): \($0.1)\n" }.joined().utf8) }
        func occurs(_ boundary: String) -> Bool {
            let needle = Array(boundary.utf8)
            return parts.contains { ByteSearch.contains(needle, in: $0.body) } || headerText.contains { ByteSearch.contains(needle, in: $0) }
        }
        var boundary = "caduceus-" + randomHex()
        while occurs(boundary) {
            boundary = "caduceus-" + randomHex()
        }
        var out = Array("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"\(boundary)\"\r\n\r\n".utf8)
        out.reserveCapacity(out.count + parts.reduce(0) { $0 + $1.body.count + 256 })
        for part in parts {
            out += Array("--\(boundary)\r\n".utf8)
            for (name, value) in part.headers {
                // CR and LF are dropped byte by byte: filtering Characters would keep "\r\n", a single grapheme
                // cluster, and a value holding it would start a header line of its own.
                out += name.utf8.filter { $0 != 13 && $0 != 10 } + [58, 32] + value.utf8.filter { $0 != 13 && $0 != 10 } + [13, 10]
            }
            out += [13, 10]
            out += part.body
            out += [13, 10]
        }
        out += Array("--\(boundary)--\r\n".utf8)
        return out
    }

    /// Decodes a `multipart/mixed` entity written by ``encode(_:randomHex:)`` or by any RFC 2046 writer.
    /// - Throws: `documents.malformed-payload` when headers, boundary or delimiters are missing or broken.
    package static func decode(_ entity: [UInt8], maxParts: Int = 1000) throws(DocumentsError) -> [MIMEPart] {
        let (headers, bodyStart) = try parseHeaders(entity[...])
        guard let contentType = headers.first(where: { $0.0.lowercased() == "content-type" })?.1,
              contentType.lowercased().hasPrefix("multipart/"),
              let boundary = parameter("boundary", in: contentType), !boundary.isEmpty, boundary.utf8.count <= 70
        else { throw DocumentsError(.malformedPayload, "the payload is not a multipart entity with a boundary") }
        let delimiter = Array("--\(boundary)".utf8)
        let body = entity[bodyStart...]
        // The first delimiter may open the body or follow a preamble line.
        guard var cursor = firstDelimiter(delimiter, in: body) else {
            throw DocumentsError(.malformedPayload, "the multipart body has no delimiter")
        }
        var parts: [MIMEPart] = []
        while true {
            var after = cursor + delimiter.count
            if entity[after...].starts(with: [45, 45]) { break }  // close delimiter
            // Skip transport padding and the line break after the delimiter.
            while after < entity.endIndex, entity[after] == 32 || entity[after] == 9 { after += 1 }
            if entity[after...].starts(with: [13, 10]) { after += 2 } else if entity[after...].starts(with: [10]) { after += 1 } else {
                throw DocumentsError(.malformedPayload, "a delimiter line carries extra text")
            }
            let crlfDelimiter = [13, 10] + delimiter
            guard let next = ByteSearch.firstRange(of: crlfDelimiter, in: entity[after...]) else {
                throw DocumentsError(.malformedPayload, "a body part is not closed by a delimiter")
            }
            let (partHeaders, partBody) = try parseHeaders(entity[after..<next.lowerBound])
            parts.append(MIMEPart(headers: partHeaders, body: Array(entity[partBody..<next.lowerBound])))
            guard parts.count <= maxParts else { throw DocumentsError(.tooLarge, "more than \(maxParts) body parts") }
            cursor = next.lowerBound + 2
        }
        return parts
    }

    static func firstDelimiter(_ delimiter: [UInt8], in body: ArraySlice<UInt8>) -> Int? {
        if body.starts(with: delimiter) { return body.startIndex }
        return ByteSearch.firstRange(of: [13, 10] + delimiter, in: body).map { $0.lowerBound + 2 }
    }

    /// Most header fields in one header block (the entity's, or a body part's).
    package static let maxHeaderFields = 100
    /// Largest header field, its folded continuation lines included.
    package static let maxHeaderFieldBytes = 8 << 10
    /// Largest header block, up to and including the blank line that ends it.
    package static let maxHeaderBlockBytes = 64 << 10

    /// Header lines up to the blank line; returns them and where the body starts. Folded lines are joined.
    /// The block is bounded as it is read (``maxHeaderFields``, ``maxHeaderFieldBytes``, ``maxHeaderBlockBytes``):
    /// past a limit is `documents.too-large`, before any line beyond it is looked at.
    static func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(DocumentsError) -> ([(String, String)], Int) {
        var headers: [(String, String)] = []
        var i = bytes.startIndex
        let blockEnd = bytes.startIndex + min(bytes.count, maxHeaderBlockBytes)
        var fieldBytes = 0  // bytes of the current field, continuation lines included
        while true {
            guard let eol = bytes[i..<blockEnd].firstIndex(of: 10) else {
                if blockEnd < bytes.endIndex {
                    throw DocumentsError(.tooLarge, "a MIME header block exceeds \(maxHeaderBlockBytes / 1024) KiB")
                }
                throw DocumentsError(.malformedPayload, "the header block is not terminated by a blank line")
            }
            var line = bytes[i..<eol]
            if line.last == 13 { line = line.dropLast() }
            i = eol + 1
            if line.isEmpty { return (headers, i) }
            let continuation = line.first == 32 || line.first == 9
            fieldBytes = continuation ? fieldBytes + line.count : line.count
            guard fieldBytes <= maxHeaderFieldBytes else {
                throw DocumentsError(.tooLarge, "a MIME header field exceeds \(maxHeaderFieldBytes / 1024) KiB")
            }
            if continuation, !headers.isEmpty {
                // Unfolding joins with one space; a blank continuation adds nothing (the value stays trimmed).
                let more = String(decoding: trimmedBlanks(line), as: UTF8.self)
                if !more.isEmpty { headers[headers.count - 1].1 += (headers[headers.count - 1].1.isEmpty ? "" : " ") + more }
                continue
            }
            guard let colon = line.firstIndex(of: 58), colon > line.startIndex else {
                throw DocumentsError(.malformedPayload, "a header line has no field name")
            }
            guard headers.count < maxHeaderFields else {
                throw DocumentsError(.tooLarge, "a MIME header block has more than \(maxHeaderFields) fields")
            }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            let value = String(decoding: trimmedBlanks(line[(colon + 1)...]), as: UTF8.self)
            headers.append((name, value))
        }
    }

    /// `bytes` without leading and trailing spaces and tabs. Trimmed as bytes, before decoding: trimming Characters
    /// would keep a space that a combining mark after it joins into one grapheme cluster.
    static func trimmedBlanks(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = bytes
        while let f = s.first, f == 32 || f == 9 { s.removeFirst() }
        while let l = s.last, l == 32 || l == 9 { s.removeLast() }
        return s
    }

    /// A parameter of a structured header value (`name=value` or `name="value"`).
    package static func parameter(_ name: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let kv = piece.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingCharacters(in: " ").lowercased() == name else { continue }
            return kv[1].trimmingCharacters(in: " \"")
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
