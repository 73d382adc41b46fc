@testable import CaduceusCMS
import CaduceusPKI
import CaduceusTestSupport
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

/// Records the largest read and write a streamed operation makes (the structural memory bound).
final class StreamProbe: @unchecked Sendable {
    var largestRead = 0
    var largestWrite = 0
    var written: [UInt8] = []
}

struct ProbedSource: ByteSource {
    var inner: ArrayByteSource
    let probe: StreamProbe
    mutating func read(upTo maxCount: Int) throws -> ArraySlice<UInt8> {
        probe.largestRead = max(probe.largestRead, maxCount)
        return try inner.read(upTo: maxCount)
    }
}

struct ProbedSink: ByteSink {
    let probe: StreamProbe
    mutating func write(_ bytes: ArraySlice<UInt8>) throws {
        probe.largestWrite = max(probe.largestWrite, bytes.count)
        probe.written.append(contentsOf: bytes)
    }
}

@Suite("Streamed CMS: flat memory, same bytes as the in-memory functions and openssl")
struct StreamingCMSTests {
    let pki: TestPKI
    let dir: TemporaryDirectory
    let sender: Credential
    let recipient: Credential
    let other: Credential

    init() throws {
        pki = try TestPKI()
        dir = try TemporaryDirectory()
        sender = try pki.credential(.node(dnsNames: ["node.hospital-a.test"]), name: "Hospital A Node")
        recipient = try pki.credential(.node(dnsNames: ["node.hospital-b.test"]), name: "Hospital B Node")
        other = try pki.credential(.node(dnsNames: ["other.hospital-b.test"]), name: "Other Node")
    }

    static let chunk = StreamChunk.size
    /// Around the chunk boundaries (of the content, and of the SignedData that wraps it), and empty.
    static let sizes = [0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk + 17]

    func random(_ count: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 8) {
            let r = rng.next()
            for j in 0..<min(8, count - i) { bytes[i + j] = UInt8(truncatingIfNeeded: r >> (8 * j)) }
        }
        return bytes
    }

    func inputFile(_ name: String, _ bytes: [UInt8]) throws -> InputFile {
        try #require(InputFile(path: try dir.write(name, Data(bytes))))
    }

    func sealed(_ content: [UInt8], name: String, cipher: ContentCipher = .aes256GCM) throws -> [UInt8] {
        var sink = ArrayByteSink()
        try CMSStreaming.seal(
            try inputFile(name, content), into: &sink, signers: [sender], recipients: [recipient.certificate], cipher: cipher,
            signingTime: Date())
        return sink.bytes
    }

    func open(_ message: [UInt8], credential: Credential? = nil, probe: StreamProbe = StreamProbe()) async throws -> [UInt8] {
        var sink = ProbedSink(probe: probe)
        let result = try await CMSStreaming.open(
            ProbedSource(inner: ArrayByteSource(message), probe: probe), into: &sink, credential: credential ?? recipient,
            validator: pki.validator(), now: Date())
        #expect(result.signers.map(\.certificate) == [sender.certificate])
        return probe.written
    }

    // MARK: GCM in chunks

    @Test("GCM in chunks equals swift-crypto's one-shot GCM, with and without additional data", arguments: [0, 1, 15, 16, 17, chunk - 1, chunk, chunk + 1, 3 * chunk + 5])
    func gcmStream(size: Int) throws {
        let plaintext = random(size)
        let key = SymmetricKey(size: .bits256)
        let nonce = random(12)
        for aad in [[UInt8](), random(37)] {
            var sealer = try GCMStream(key: key, nonce: nonce)
            var ciphertext: [UInt8] = []
            for start in stride(from: 0, to: size, by: Self.chunk) {
                ciphertext += try sealer.seal(plaintext[start..<min(size, start + Self.chunk)])
            }
            let reference = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(data: nonce), authenticating: aad)
            #expect(ciphertext == Array(reference.ciphertext))
            if aad.isEmpty { #expect(try sealer.tag() == Array(reference.tag)) }
            var opener = try GCMStream(key: key, nonce: nonce)
            var opened: [UInt8] = []
            for start in stride(from: 0, to: size, by: Self.chunk) {
                opened += try opener.open(ciphertext[start..<min(size, start + Self.chunk)])
            }
            #expect(opened == plaintext)
            #expect(try opener.tag(additionalData: aad) == Array(reference.tag))
        }
    }

    // MARK: Round trips

    @Test("seal then open, streamed both ways and against the in-memory functions", arguments: sizes)
    func roundTrip(size: Int) async throws {
        let content = random(size)
        let message = try sealed(content, name: "doc-\(size)")
        let probe = StreamProbe()
        #expect(try await open(message, probe: probe) == content)
        // Flat memory, structurally: no read from the message and no write of content larger than a chunk.
        #expect(probe.largestRead <= Self.chunk && probe.largestWrite <= Self.chunk)
        // The in-memory reader opens what the stream wrote, and the stream opens what the in-memory writer wrote.
        let inMemory = try await SMIME.open(message[...], credential: recipient, validator: pki.validator(), now: Date())
        #expect(Array(inMemory.content) == content)
        let theirs = try SMIME.seal(content[...], signers: [sender], recipients: [recipient.certificate], format: .der, signingTime: Date())
        #expect(try await open(theirs) == content)
    }

    @Test("sign, verify, encrypt and decrypt on their own, for every cipher, empty and around a chunk",
          arguments: ContentCipher.allCases, [0, chunk - 16, chunk, chunk + 33])
    func singleOperations(cipher: ContentCipher, size: Int) async throws {
        let content = random(size)
        var signed = ArrayByteSink()
        try CMSStreaming.sign(try inputFile("sign-\(cipher.rawValue)-\(size)", content), into: &signed, signers: [sender], signingTime: Date())
        #expect(Array(try await SignedData.verify(signed.bytes[...], validator: pki.validator(), now: Date()).content) == content)
        let inMemorySigned = try SignedData.sign(content[...], signers: [sender], detached: false, signingTime: Date())
        var verified = ArrayByteSink()
        let verification = try await CMSStreaming.verify(
            ArrayByteSource(inMemorySigned), into: &verified, validator: pki.validator(), now: Date())
        #expect(verified.bytes == content && verification.signers.count == 1)

        var encrypted = ArrayByteSink()
        try CMSStreaming.encrypt(
            try inputFile("enc-\(cipher.rawValue)-\(size)", content), into: &encrypted, recipients: [recipient.certificate], cipher: cipher)
        #expect(try EnvelopedData.decrypt(encrypted.bytes[...], credential: recipient).content == content)
        for message in [encrypted.bytes, try EnvelopedData.encrypt(content[...], recipients: [recipient.certificate], cipher: cipher)] {
            var decrypted = ArrayByteSink()
            try CMSStreaming.decrypt(ArrayByteSource(message), into: &decrypted, credential: recipient)
            #expect(decrypted.bytes == content)
        }
    }

    // MARK: openssl, both directions

    @Test("openssl cms decrypts and verifies what we stream, in its default mode")
    func opensslReadsOurs() throws {
        let content = random(2 * Self.chunk + 5)
        let sealedPath = try dir.write("ours.p7m", Data(try sealed(content, name: "ossl-doc")))
        let files = try dir.write(credential: recipient, as: "recipient")
        let root = try dir.write("root.pem", try PEM.encode([pki.root.certificate]))
        let decrypted = try ProcessRunner.openssl(["cms", "-decrypt", "-inform", "DER", "-in", sealedPath, "-recip", files.cert, "-inkey", files.key, "-out", dir.file("inner.der")])
        #expect(decrypted.ok, "\(decrypted.stderr)")
        let verified = try ProcessRunner.openssl(["cms", "-verify", "-inform", "DER", "-in", dir.file("inner.der"), "-CAfile", root, "-out", dir.file("ossl.out")])
        #expect(verified.ok, "\(verified.stderr)")
        #expect(Array(try dir.read("ossl.out")) == content)
        // Encryption alone, every cipher.
        for cipher in ContentCipher.allCases {
            var encrypted = ArrayByteSink()
            try CMSStreaming.encrypt(
                try inputFile("ossl-enc-\(cipher.rawValue)", content), into: &encrypted, recipients: [recipient.certificate],
                cipher: cipher)
            let path = try dir.write("ours-\(cipher.rawValue).p7m", Data(encrypted.bytes))
            let out = try ProcessRunner.openssl(["cms", "-decrypt", "-inform", "DER", "-in", path, "-recip", files.cert, "-inkey", files.key, "-out", dir.file("dec-\(cipher.rawValue)")])
            #expect(out.ok, "\(cipher): \(out.stderr)")
            #expect(Array(try dir.read("dec-\(cipher.rawValue)")) == content, "\(cipher)")
        }
    }

    @Test("we open what openssl -stream writes (indefinite-length BER, constructed OCTET STRINGs) and its DER", arguments: [true, false])
    func weReadOpenSSL(stream: Bool) async throws {
        let content = random(Self.chunk + 4099)
        let contentPath = try dir.write("o-doc-\(stream)", Data(content))
        let senderFiles = try dir.write(credential: sender, as: "o-sender")
        let recipientFiles = try dir.write(credential: recipient, as: "o-recipient")
        let cas = try dir.write("o-cas.pem", try PEM.encode(sender.chain))
        let streamFlag = stream ? ["-stream"] : []
        let signed = try ProcessRunner.openssl(
            ["cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", contentPath, "-signer", senderFiles.cert, "-inkey", senderFiles.key, "-certfile", cas, "-out", dir.file("o-signed-\(stream).der")] + streamFlag)
        #expect(signed.ok, "\(signed.stderr)")
        let encrypted = try ProcessRunner.openssl(
            ["cms", "-encrypt", "-binary", "-outform", "DER", "-aes-256-gcm", "-in", dir.file("o-signed-\(stream).der"), "-recip", recipientFiles.cert, "-keyopt", "ecdh_kdf_md:sha256", "-out", dir.file("o-sealed-\(stream).der")] + streamFlag)
        #expect(encrypted.ok, "\(encrypted.stderr)")
        let signedBytes = Array(try dir.read("o-signed-\(stream).der"))
        let message = Array(try dir.read("o-sealed-\(stream).der"))
        #expect((message[1] == 0x80) == stream, "openssl -stream writes indefinite lengths")
        #expect(try await open(message) == content)
        var verified = ArrayByteSink()
        _ = try await CMSStreaming.verify(ArrayByteSource(signedBytes), into: &verified, validator: pki.validator(), now: Date())
        #expect(verified.bytes == content)
        // Encryption alone with AES-CBC (EnvelopedData), streamed by openssl or not.
        let cbc = try ProcessRunner.openssl(
            ["cms", "-encrypt", "-binary", "-outform", "DER", "-aes-256-cbc", "-in", contentPath, "-recip", recipientFiles.cert, "-keyopt", "ecdh_kdf_md:sha256", "-out", dir.file("o-cbc-\(stream).der")] + streamFlag)
        #expect(cbc.ok, "\(cbc.stderr)")
        var decrypted = ArrayByteSink()
        try CMSStreaming.decrypt(ArrayByteSource(Array(try dir.read("o-cbc-\(stream).der"))), into: &decrypted, credential: recipient)
        #expect(decrypted.bytes == content)
    }

    // MARK: Refusals

    @Test("a changed ciphertext byte, tag byte or signature byte is refused; the uniform error for the first two")
    func tampering() async throws {
        let content = random(Self.chunk + 100)
        let message = try sealed(content, name: "tamper")
        // First ciphertext byte: the plaintext's SignedData header no longer parses; still the uniform failure.
        let start = try ciphertextStart(message)
        for index in [start, start + Self.chunk / 2, message.count - 1] {
            var bad = message
            bad[index] ^= 0x01
            await #expect(throws: CMSError.decryptionFailed) { _ = try await open(bad) }
        }
        // A wrong recipient: the same uniform failure.
        await #expect(throws: CMSError.decryptionFailed) { _ = try await open(message, credential: other) }
        // Truncated: malformed.
        await #expect(throws: CMSError(.malformed, "")) { _ = try await open(Array(message.dropLast(5))) }
        // The signature: sign in-memory, break the signature's last byte, encrypt: the tag holds, the signature not.
        var signed = try SignedData.sign(content[...], signers: [sender], detached: false, signingTime: Date())
        signed[signed.count - 1] ^= 0x01
        let resealed = try EnvelopedData.encrypt(signed[...], recipients: [recipient.certificate])
        await #expect(throws: CMSError(.badSignature, "")) { _ = try await open(resealed) }
        // The content: the digest no longer matches.
        var altered = try SignedData.sign(content[...], signers: [sender], detached: false, signingTime: Date())
        altered[altered.count / 2] ^= 0x01
        await #expect(throws: CMSError(.digestMismatch, "")) {
            _ = try await open(try EnvelopedData.encrypt(altered[...], recipients: [recipient.certificate]))
        }
    }

    @Test("a failed open leaves no output file: the pending file is renamed into place only on commit")
    func nothingWrittenOnFailure() async throws {
        let message = try sealed(random(3 * Self.chunk), name: "pending")
        var bad = message
        bad[bad.count - 3] ^= 0x01  // inside the tag
        let out = dir.file("opened.bin")
        do {
            let pending = try PendingFile(path: out)
            var sink = pending.sink
            do {
                _ = try await CMSStreaming.open(
                    ArrayByteSource(bad), into: &sink, credential: recipient, validator: pki.validator(), now: Date())
                Issue.record("a tampered tag was accepted")
            } catch let error as CMSError {
                #expect(error == CMSError.decryptionFailed)
            }
            #expect(sink.bytesWritten > 0, "the content was streamed to the pending file before the tag was checked")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.contains("opened") }
        #expect(left.isEmpty, "\(left)")
    }

    @Test("the element limit bounds what is buffered besides the content")
    func elementLimit() async throws {
        // A SignedData whose certificate set claims more than the limit is refused before it is read.
        var huge: [UInt8] = [0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF] + (try DERRope(serializing: CMSOID.signedData).joined())
        huge += [0xA0, 0x84, 0x7F, 0, 0, 0, 0x30, 0x84, 0x7F, 0, 0, 0]
        huge += [0x02, 0x01, 0x01, 0x31, 0x84, 0x10, 0, 0, 0]
        await #expect(throws: CMSError(.malformed, "")) {
            var sink = ArrayByteSink()
            _ = try await CMSStreaming.verify(ArrayByteSource(huge), into: &sink, validator: pki.validator(), now: Date())
        }
    }

    /// Where the ciphertext starts in a DER envelope we wrote (after the `80 len` header of encryptedContent).
    func ciphertextStart(_ message: [UInt8]) throws -> Int {
        let node = try BER.parse(message)
        let eci = try node.children()[1].explicit(0).children()[2].children()
        let content = eci[2]
        return content.encodedBytes.startIndex + (content.encodedBytes.count - (try content.octets().count))
    }
}
