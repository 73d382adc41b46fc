import CaduceusCore
import CaduceusDocuments
import CaduceusTestSupport
import Crypto
import Foundation
import Testing

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let python = root.appendingPathComponent(".venv/bin/python").path
let oracle = root.appendingPathComponent("scripts/oracles/mime_oracle.py").path

func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
    var x = seed
    return (0..<n).map { _ in x = x &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: x >> 33) }
}

@Suite("Multipart payloads")
struct MultipartTests {
    let parts = [
        MIMEPart(contentType: "application/json", id: "header", body: Array("{\"a\":1}".utf8)),
        MIMEPart(contentType: "application/dicom", id: "2.25.1", body: randomBytes(200_000, seed: 1)),
        MIMEPart(contentType: "text/xml", id: "2.25.2", body: Array("<x>\r\n--caduceus-fake boundary\r\n</x>\r\n".utf8)),
        MIMEPart(contentType: "text/plain", id: "empty", body: []),
    ]

    @Test("encode → decode is the identity, binary parts included, whatever the content holds")
    func roundTrip() throws {
        var n = 0
        let entity = Multipart.encode(parts) { n += 1; return String(format: "%032x", n) }
        let back = try Multipart.decode(entity)
        #expect(back.map(\.body) == parts.map(\.body))
        #expect(back.map(\.contentID) == ["header", "2.25.1", "2.25.2", "empty"])
        #expect(back.map(\.mediaType) == ["application/json", "application/dicom", "text/xml", "text/plain"])
    }

    @Test("a boundary that occurs in a part is never used")
    func boundaryCollision() throws {
        let colliding = MIMEPart(contentType: "text/plain", id: "c", body: Array("--caduceus-00000000000000000000000000000001 inside".utf8))
        var n = 0
        let entity = Multipart.encode([colliding]) { n += 1; return String(format: "%032x", n) }
        #expect(n == 2)
        #expect(try Multipart.decode(entity).first?.body == colliding.body)
    }

    @Test("Python's email package reads what we write, and we read what it writes")
    func pythonEmail() throws {
        let dir = try TemporaryDirectory()
        let ours = try dir.write("ours.mime", Data(Multipart.encode(parts) { Hex.encode(randomBytes(16, seed: 9)) }))
        let read = try ProcessRunner.run(python, [oracle, "read", ours])
        #expect(read.ok, "\(read.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: read.stdout) as? [[String: Any]])
        #expect(rows.map { $0["content_type"] as? String } == parts.map(\.mediaType))
        #expect(rows.map { $0["sha256"] as? String } == parts.map { Hex.encode(sha256($0.body)) })
        let theirs = dir.file("theirs.mime")
        #expect(try ProcessRunner.run(python, [oracle, "write", theirs]).ok)
        let decoded = try Multipart.decode(Array(try Data(contentsOf: URL(fileURLWithPath: theirs))))
        #expect(decoded.map(\.contentID) == ["header", "doc-1", "doc-2"])
        #expect(decoded[0].mediaType == "application/json")
        #expect(String(decoding: decoded[1].body, as: UTF8.self).contains("<ClinicalDocument>é"))
        #expect(String(decoding: decoded[2].body, as: UTF8.self).hasPrefix("second --part-- with dashes"))
    }

    @Test("malformed entities are refused with documents.malformed-payload", arguments: [
        "Content-Type: text/plain\r\n\r\nhello",
        "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n",
        "Content-Type: multipart/mixed; boundary=x\r\n\r\nno delimiter at all",
        "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nunterminated part",
        "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nno-colon-header\r\n\r\nbody\r\n--x--\r\n",
        "Content-Type: multipart/mixed; boundary=x",
    ])
    func malformed(text: String) {
        #expect(throws: DocumentsError.self) { try Multipart.decode(Array(text.utf8)) }
    }
}

func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

/// The header blocks of a payload and of each part are bounded as they are read (issue 11).
@Suite("Multipart header limits")
struct MultipartHeaderLimitTests {
    static func payload(partHeaders: String) -> [UInt8] {
        Array("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\(partHeaders)\r\nbody\r\n--b--\r\n".utf8)
    }

    static func code(_ bytes: [UInt8]) -> String? {
        do {
            _ = try Multipart.decode(bytes)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("fields, field size and block size are capped with documents.too-large; at the limits a part is read")
    func limits() {
        #expect(Self.code(Self.payload(partHeaders: String(repeating: "X: y\r\n", count: Multipart.maxHeaderFields))) == nil)
        #expect(Self.code(Self.payload(partHeaders: String(repeating: "X: y\r\n", count: Multipart.maxHeaderFields + 1))) == "documents.too-large")
        let longest = "X: " + String(repeating: "a", count: Multipart.maxHeaderFieldBytes - 3)
        #expect(Self.code(Self.payload(partHeaders: longest + "\r\n")) == nil)
        #expect(Self.code(Self.payload(partHeaders: longest + "a\r\n")) == "documents.too-large")
        let folded = "X: a\r\n" + String(repeating: " " + String(repeating: "b", count: 1000) + "\r\n", count: 9)
        #expect(Self.code(Self.payload(partHeaders: folded)) == "documents.too-large")
        let wide = (0..<90).map { "X-\($0): " + String(repeating: "c", count: 800) + "\r\n" }.joined()
        #expect(Self.code(Self.payload(partHeaders: wide)) == "documents.too-large")
        // The entity's own header block too, and one that never ends is refused after 64 KiB.
        let entity = Array((String(repeating: "X: y\r\n", count: 200) + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\n").utf8)
        #expect(Self.code(entity) == "documents.too-large")
        #expect(Self.code([UInt8](repeating: 0x41, count: 1 << 20)) == "documents.too-large")
    }

    @Test("the refusal names the rule and carries no header content")
    func message() {
        do {
            _ = try Multipart.decode(Self.payload(partHeaders: String(repeating: "X-Patient: JANE DOE\r\n", count: 500)))
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("100 fields"))
            #expect(!error.message.contains("JANE"))
        }
    }
}

@Suite("Multipart boundaries")
struct MultipartBoundaryTests {
    /// Found by the multipart fuzz target: a header field holding the first boundary tried made the encoding
    /// unreadable (the header line read as a delimiter). Kept as Fuzz/Crashes/multipart/boundary-in-header.
    @Test("a boundary that occurs in a header field is never used")
    func boundaryInHeader() throws {
        let parts = [
            MIMEPart(headers: [("Content-Type", "text/plain"), ("--caduceus-first", "x")], body: Array("a".utf8)),
            MIMEPart(headers: [("Content-Type", "text/plain"), ("X-Note", "see --caduceus-first and on")], body: Array("b".utf8)),
        ]
        var candidates = ["first", "second"]
        let encoded = Multipart.encode(parts) { candidates.removeFirst() }
        #expect(candidates.isEmpty, "the colliding boundary was skipped")
        #expect(try Multipart.decode(encoded) == parts)
    }
}

@Suite("Multipart header unfolding")
struct MultipartUnfoldingTests {
    /// Found by the multipart fuzz target: a blank continuation line left a trailing space in the value (and a
    /// continuation of an empty value a leading one), so decode → encode → decode changed the header. Kept as
    /// Fuzz/Crashes/multipart/blank-continuation.
    @Test("unfolded values are trimmed: blank continuations add nothing, an empty value takes no leading space")
    func blankContinuation() throws {
        let text = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-A: a\r\n \r\n\t\r\nX-B:\r\n folded\r\nX-C: c\r\n d\r\n\r\nbody\r\n--b--\r\n"
        let parts = try Multipart.decode(Array(text.utf8))
        #expect(parts[0].headers.map { "\($0.0)=\($0.1)" } == ["X-A=a", "X-B=folded", "X-C=c d"])
        #expect(try Multipart.decode(Multipart.encode(parts) { "z" }) == parts)
    }
}

@Suite("Multipart header text")
struct MultipartHeaderTextTests {
    /// Found by the multipart fuzz target (kept in Fuzz/Crashes/multipart/combining-mark-value): values were trimmed
    /// as Characters, and the space after the colon joined with a combining mark opening the value into one grapheme
    /// cluster that was not trimmed — the value read back with a leading space.
    @Test("a value opening with a combining mark reads back unchanged")
    func combiningMark() throws {
        let parts = [MIMEPart(headers: [("Content-Type", "text/plain"), ("X-Note", "\u{0301}accent \u{0730}")], body: Array("a".utf8))]
        #expect(try Multipart.decode(Multipart.encode(parts) { "z" }) == parts)
    }

    /// Found reading the encoder while fixing the above: CR and LF were filtered out of values as Characters, which
    /// keeps "\r\n" (one grapheme cluster), so a value holding it wrote a header line of its own.
    @Test("a value holding CR LF cannot add a header line")
    func noHeaderInjection() throws {
        let parts = [MIMEPart(headers: [("Content-Type", "text/plain"), ("Content-ID", "<a\r\nX-Injected: 1>")], body: Array("a".utf8))]
        let decoded = try Multipart.decode(Multipart.encode(parts) { "z" })
        #expect(decoded[0].headers.count == 2)
        #expect(decoded[0].header("X-Injected") == nil)
        #expect(decoded[0].contentID == "aX-Injected: 1")
    }
}
