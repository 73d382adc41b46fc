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
