import CaduceusCMS
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

@Suite("SignedData against openssl cms")
struct SignedDataInteropTests {
    let pki: TestPKI
    let dir: TemporaryDirectory
    let rootPath: String
    let content = Array("MSH|^~\\&|SYNTHETIC|TEST\r\nPID|1||X-0001^^^TEST||DOE^JANE\r\nbinary:\u{0}\u{1}\u{ff}\n".utf8)

    init() throws {
        pki = try TestPKI()
        dir = try TemporaryDirectory()
        rootPath = try dir.write("root.pem", try PEM.encode([pki.root.certificate]))
    }

    @Test("our attached SignedData verifies with openssl cms -verify", arguments: [KeyAlgorithm.p256, .rsa2048])
    func oursVerifiesWithOpenSSL(key: KeyAlgorithm) throws {
        let signer = try pki.credential(.person(email: "dr.test@hospital-a.test"), name: "Dr Test", key: key)
        let cms = try SignedData.sign(content[...], signers: [signer], detached: false, signingTime: Date())
        let input = try dir.write("signed-\(key).der", Data(cms))
        let result = try ProcessRunner.openssl([
            "cms", "-verify", "-inform", "DER", "-in", input, "-CAfile", rootPath, "-binary",
        ])
        #expect(result.ok, "\(result.stderr)")
        #expect(Array(result.stdout) == content)
    }

    @Test("our multipart/signed (detached) and several signers verify with openssl")
    func detachedMultipleSigners() throws {
        let a = try pki.credential(.person(email: "a@hospital-a.test"), name: "Signer A")
        let b = try pki.credential(.node(dnsNames: ["node-b.hospital-a.test"]), name: "Node B", key: .rsa2048)
        let message = try SMIME.sign(content[...], signers: [a, b], detached: true, signingTime: Date())
        #expect(String(decoding: message.prefix(200), as: UTF8.self).contains("multipart/signed"))
        let input = try dir.write("multi.eml", Data(message))
        // The signed part is the canonical entity (base64: the content is binary); both openssl modes verify it and
        // write that entity, which decodes to the content.
        for mode in [[], ["-binary"]] {
            let result = try ProcessRunner.openssl(["cms", "-verify", "-in", input, "-CAfile", rootPath] + mode)
            #expect(result.ok, "\(result.stderr)")
            #expect(try MIMEEntity.parse(Array(result.stdout)[...]).decodedContent() == content)
        }
        let info = try ProcessRunner.openssl(["cms", "-cmsout", "-print", "-in", input, "-noout"])
        #expect(info.ok)
    }

    @Test("openssl's signatures verify with ours: DER attached, S/MIME detached, RSA and EC signers")
    func openSSLVerifiesWithOurs() async throws {
        let ec = try pki.credential(.person(email: "ec@hospital-a.test"), name: "EC Signer")
        let rsa = try pki.credential(.person(email: "rsa@hospital-a.test"), name: "RSA Signer", key: .rsa3072)
        let ecFiles = try dir.write(credential: ec, as: "ec")
        let rsaFiles = try dir.write(credential: rsa, as: "rsa")
        let chain = try dir.write("chain.pem", try PEM.encode(ec.chain))
        let contentPath = try dir.write("content.bin", Data(content))

        let der = try ProcessRunner.openssl([
            "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", contentPath, "-md", "sha256",
            "-signer", ecFiles.cert, "-inkey", ecFiles.key, "-signer", rsaFiles.cert, "-inkey", rsaFiles.key,
            "-certfile", chain,
        ])
        #expect(der.ok, "\(der.stderr)")
        let verified = try await SMIME.verify(Array(der.stdout)[...], validator: pki.validator(), now: Date())
        #expect(Array(verified.content) == content)
        #expect(verified.signers.count == 2)
        #expect(Set(verified.signers.map(\.certificate)) == [ec.certificate, rsa.certificate])

        let smime = try ProcessRunner.openssl([
            "cms", "-sign", "-binary", "-in", contentPath, "-signer", ecFiles.cert, "-inkey", ecFiles.key,
            "-certfile", chain,
        ])
        #expect(smime.ok, "\(smime.stderr)")
        let detached = try await SMIME.verify(Array(smime.stdout)[...], validator: pki.validator(), now: Date())
        #expect(Array(detached.content) == content)
    }

    @Test("openssl signing with SHA-1 is refused as a weak algorithm")
    func sha1Refused() async throws {
        let ec = try pki.credential(.person(email: "ec@hospital-a.test"), name: "EC Signer", key: .rsa2048)
        let files = try dir.write(credential: ec, as: "sha1")
        let contentPath = try dir.write("content1.bin", Data(content))
        let der = try ProcessRunner.openssl([
            "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", contentPath, "-md", "sha1",
            "-signer", files.cert, "-inkey", files.key,
        ])
        #expect(der.ok, "\(der.stderr)")
        await #expect(throws: CMSError(.weakAlgorithm, "")) {
            try await SMIME.verify(Array(der.stdout)[...], validator: pki.validator(), now: Date())
        }
    }

    /// Issue 13, item 4: openssl's default (canonicalising) mode — and `openssl smime`, which mail clients resemble —
    /// verifies our multipart/signed whatever the content's line ends: LF-only text, CRLF text, HL7 (bare CR) and
    /// binary. Text comes back with CRLF line ends (its canonical form); anything else byte for byte.
    static let dicomish: [UInt8] = {
        var bytes = [UInt8](repeating: 0, count: 128)
        bytes += Array("DICM".utf8)
        bytes += [0x02, 0x00, 0x10, 0x00, 0x55, 0x49, 0x0D, 0x0A, 0x0A, 0x0D, 0xFF, 0xFE, 0x1C, 0x0B]
        for i in 0..<4096 { bytes.append(UInt8(truncatingIfNeeded: i &* 31)) }
        return bytes
    }()

    static let canonicalCases: [(String, [UInt8])] = [
        ("lf-text", Array("Discharge summary\nLine two \twith a tab\n\nLast line\n".utf8)),
        ("crlf-text", Array("Discharge summary\r\nLine two\r\n".utf8)),
        ("utf8-no-final-newline", Array("Müller, José — Überweisung\nohne Zeilenende".utf8)),
        ("hl7-cr", Array("MSH|^~\\&|A|B\rPID|1||X-1^^^T||DOE^JANE\r".utf8)),
        ("dicom-ish", dicomish),
    ]

    @Test("openssl cms and smime verify our multipart/signed in their default mode; the content comes back", arguments: canonicalCases)
    func canonicalMultipartSigned(name: String, bytes: [UInt8]) async throws {
        let signer = try pki.credential(.person(email: "canon@hospital-a.test"), name: "Canon")
        let message = try SMIME.sign(bytes[...], signers: [signer], signingTime: Date())
        let input = try dir.write("canon-\(name).eml", Data(message))
        let isText = name.hasSuffix("text") || name.hasPrefix("utf8")
        let canonicalText = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
        for tool in [["cms", "-verify"], ["smime", "-verify"], ["cms", "-verify", "-binary"]] {
            let result = try ProcessRunner.openssl(tool + ["-in", input, "-CAfile", rootPath])
            #expect(result.ok, "\(tool) \(name): \(result.stderr)")
            let entity = try MIMEEntity.parse(Array(result.stdout)[...])
            #expect(try entity.decodedContent() == (isText ? canonicalText : bytes), "\(tool) \(name)")
        }
        if isText, bytes.allSatisfy({ $0 < 0x80 }) {
            // -text strips the text/plain header (it does not undo base64, which non-ASCII text is sent in): what a
            // mail client shows.
            let shown = try ProcessRunner.openssl(["cms", "-verify", "-text", "-in", input, "-CAfile", rootPath])
            #expect(shown.ok && Array(shown.stdout) == canonicalText)
        }
        let ours = try await SMIME.verify(message[...], validator: pki.validator(), now: Date())
        #expect(Array(ours.content) == (isText ? canonicalText : bytes))
        #expect(ours.mediaType == (isText ? "text/plain" : "application/octet-stream"))
        // Binary form on request: exact bytes for text too.
        let exact = try SMIME.sign(bytes[...], signers: [signer], form: .binary, signingTime: Date())
        #expect(Array(try await SMIME.verify(exact[...], validator: pki.validator(), now: Date()).content) == bytes)
        let exactPath = try dir.write("canon-\(name)-binary.eml", Data(exact))
        #expect(try ProcessRunner.openssl(["cms", "-verify", "-in", exactPath, "-CAfile", rootPath]).ok)
        // A mail system that turns every line end into CRLF changes nothing.
        let wire = Array(String(decoding: message, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
        #expect(Array(try await SMIME.verify(wire[...], validator: pki.validator(), now: Date()).content) == Array(ours.content))
        let wirePath = try dir.write("canon-\(name)-wire.eml", Data(wire))
        #expect(try ProcessRunner.openssl(["smime", "-verify", "-in", wirePath, "-CAfile", rootPath]).ok)
        // One changed byte of the signed part fails ours and openssl's.
        var tampered = message
        let at = try #require(ByteSearchTestHelper.index(of: Array("\r\n\r\n".utf8), in: tampered)) + 4
        tampered[at] = tampered[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        await #expect(throws: CMSError.self) { try await SMIME.verify(tampered[...], validator: pki.validator(), now: Date()) }
        let tamperedPath = try dir.write("canon-\(name)-tampered.eml", Data(tampered))
        #expect(!(try ProcessRunner.openssl(["cms", "-verify", "-in", tamperedPath, "-CAfile", rootPath]).ok))
    }

    @Test("openssl's default-mode signatures (raw text, -text, -binary) verify with ours")
    func openSSLDefaultModeVerifiesWithOurs() async throws {
        let ec = try pki.credential(.person(email: "ossl@hospital-a.test"), name: "OpenSSL Signer")
        let files = try dir.write(credential: ec, as: "ossl")
        let chain = try dir.write("ossl-chain.pem", try PEM.encode(ec.chain))
        let text = Array("line one\nline two\n".utf8)
        let path = try dir.write("ossl.txt", Data(text))
        for (flags, expected) in [([String](), Array("line one\r\nline two\r\n".utf8)), (["-text"], Array("line one\r\nline two\r\n".utf8)), (["-binary"], text)] {
            let signed = try ProcessRunner.openssl(["cms", "-sign", "-in", path, "-signer", files.cert, "-inkey", files.key, "-certfile", chain] + flags)
            #expect(signed.ok, "\(signed.stderr)")
            let verified = try await SMIME.verify(Array(signed.stdout)[...], validator: pki.validator(), now: Date())
            #expect(Array(verified.content) == expected, "\(flags)")
        }
    }
}

enum ByteSearchTestHelper {
    /// The index where the signed part's body starts: after the second empty line (the first ends the outer header).
    static func index(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        var found = 0
        var i = 0
        while i + needle.count <= bytes.count {
            if Array(bytes[i..<(i + needle.count)]) == needle {
                found += 1
                if found == 1 { return i }
            }
            i += 1
        }
        return nil
    }
}
