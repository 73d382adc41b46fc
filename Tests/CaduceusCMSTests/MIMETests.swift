import CaduceusCMS
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing

@Suite("S/MIME entities")
struct MIMETests {
    let pki: TestPKI
    let signer: Credential
    init() throws {
        pki = try TestPKI()
        signer = try pki.credential(.person(email: "mime@hospital-a.test"), name: "MIME")
    }

    /// A CRLF-style multipart/signed (RFC 2046): the CRLF before each delimiter belongs to the delimiter; a CR that
    /// ends the content itself is kept.
    @Test(arguments: ["MSH|^~\\&|A\rPID|1\r", "text without final newline", "ends with LF\n"])
    func crlfMultipartSigned(content: String) async throws {
        let bytes = Array(content.utf8)
        let cms = try SignedData.sign(bytes[...], signers: [signer], detached: true, signingTime: Date())
        let signature = Data(cms).base64EncodedString(options: [.lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let message = "MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n micalg=sha-256; boundary=\"b1\"\r\n\r\n--b1\r\n"
            + content + "\r\n--b1\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + signature + "\r\n--b1--\r\n"
        let verified = try await SMIME.verify(Array(message.utf8)[...], validator: pki.validator(), now: Date())
        #expect(Array(verified.content) == bytes)
    }

    @Test func ourMultipartKeepsTrailingCarriageReturn() async throws {
        let bytes = Array("OBX|1|TX|||text\r".utf8)
        let message = try SMIME.sign(bytes[...], signers: [signer], signingTime: Date())
        let verified = try await SMIME.verify(message[...], validator: pki.validator(), now: Date())
        #expect(Array(verified.content) == bytes)
    }

    @Test func malformedEntities() async throws {
        let cases = [
            "Content-Type: multipart/signed\r\n\r\nno boundary",
            "Content-Type: multipart/signed; boundary=x\r\n\r\n--x\r\nonly one part\r\n--x--\r\n",
            "no headers at all",
            "Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx",
        ]
        for text in cases {
            await #expect(throws: CMSError(.mimeMalformed, "")) {
                try await SMIME.verify(Array(text.utf8)[...], validator: pki.validator(), now: Date())
            }
        }
        let enveloped = try SMIME.encrypt(Array("x".utf8)[...], recipients: [signer.certificate])
        // An encrypted entity given to verify: its smime-type is checked before anything is decoded.
        await #expect(throws: CMSError.self) { try await SMIME.verify(enveloped[...], validator: pki.validator(), now: Date()) }
        #expect(throws: CMSError(.mimeMalformed, "")) {
            try SMIME.decrypt(Array("Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMAA=".utf8)[...], credential: signer)
        }
    }
}

/// The header block of an S/MIME entity is bounded before anything is decoded or decrypted (issue 11: a 64 MiB
/// entity of tiny header lines had cost 640 MB).
@Suite("S/MIME header limits")
struct MIMEHeaderLimitTests {
    static let tail = "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMAA=\r\n"

    static func code(_ text: [UInt8]) -> String? {
        do {
            _ = try MIMEEntity.parse(text[...])
            return nil
        } catch let error as CMSError {
            return error.code
        } catch {
            return "other"
        }
    }

    @Test("at the limits an entity is read; one field, one byte or one line more is cms.mime-headers-too-large")
    func limits() {
        let fields = MIMEEntity.maxHeaderFields
        let atLimit = String(repeating: "X: y\r\n", count: fields - 1) + Self.tail.replacingOccurrences(of: "Content-Transfer-Encoding: base64\r\n", with: "")
        #expect(Self.code(Array(atLimit.utf8)) == nil)
        let over = String(repeating: "X: y\r\n", count: fields) + Self.tail
        #expect(Self.code(Array(over.utf8)) == "cms.mime-headers-too-large")

        let name = "X-Long: "
        let longest = name + String(repeating: "a", count: MIMEEntity.maxHeaderFieldBytes - name.utf8.count)
        #expect(Self.code(Array((longest + "\r\n" + Self.tail).utf8)) == nil)
        #expect(Self.code(Array((longest + "a\r\n" + Self.tail).utf8)) == "cms.mime-headers-too-large")

        // Folding does not escape the field limit: continuation lines count toward their field.
        let folded = "X-Folded: a\r\n" + String(repeating: " " + String(repeating: "b", count: 1000) + "\r\n", count: 9) + Self.tail
        #expect(Self.code(Array(folded.utf8)) == "cms.mime-headers-too-large")

        // Nor do many fields under both other limits escape the block limit; a block with no line end at all is
        // refused after 64 KiB, however long the input.
        let wide = (0..<90).map { "X-\($0): " + String(repeating: "c", count: 800) + "\r\n" }.joined() + Self.tail
        #expect(Self.code(Array(wide.utf8)) == "cms.mime-headers-too-large")
        #expect(Self.code([UInt8](repeating: 0x41, count: 1 << 20)) == "cms.mime-headers-too-large")
        #expect(Self.code(Array("X: no line end".utf8)) == "cms.mime-malformed")
    }

    @Test("decrypt and verify refuse an oversized header block with the header code, naming the rule and no content")
    func refusedBeforeDecryption() async throws {
        let pki = try TestPKI()
        let card = try pki.credential(.person(email: "limits@hospital-a.test"), name: "Limits")
        let hostile = Array((String(repeating: "X-Secret-4711: y\r\n", count: 5_000) + Self.tail).utf8)
        do {
            _ = try SMIME.decrypt(hostile[...], credential: card)
            Issue.record("accepted")
        } catch let error as CMSError {
            #expect(error.code == "cms.mime-headers-too-large")
            #expect(error.message.contains("100 header fields"))
            #expect(!error.message.contains("4711"))
        }
        await #expect(throws: CMSError(.mimeHeadersTooLarge, "")) {
            try await SMIME.verify(hostile[...], validator: pki.validator(), now: Date())
        }
    }
}

@Suite("multipart/signed splitting")
struct MultipartSignedSplitTests {
    /// Splitting read every line of the body and kept the position of every delimiter line, though only the first
    /// three are used: 16 MiB of `--b` lines cost 4 s and 35 MB more. It now stops at the third; what follows the
    /// close delimiter (the epilogue) is not looked at.
    @Test("only the first three delimiter lines are used: an epilogue of delimiter lines changes nothing")
    func epilogueIgnored() async throws {
        let pki = try TestPKI()
        let signer = try pki.credential(.person(email: "split@hospital-a.test"), name: "Split")
        let content = Array("MSH|^~\\&|A\rPID|1\r".utf8)
        let cms = try SignedData.sign(content[...], signers: [signer], detached: true, signingTime: Date())
        let signature = Data(cms).base64EncodedString(options: [.lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let message = "MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"b1\"\r\n\r\n--b1\r\n"
            + String(decoding: content, as: UTF8.self) + "\r\n--b1\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + signature + "\r\n--b1--\r\n" + String(repeating: "--b1\r\n", count: 10_000)
        let verified = try await SMIME.verify(Array(message.utf8)[...], validator: pki.validator(), now: Date())
        #expect(Array(verified.content) == content)
    }
}
