import CaduceusPKI
import X509
import Crypto
import CryptoExtras
import SwiftASN1

extension EnvelopedData {
    /// Encrypts the `length` bytes of `source` to `recipients`, writing the DER ContentInfo to `sink` a chunk at a
    /// time: the lengths are known up front, the ciphertext follows the header, the GCM tag ends the encoding.
    /// On a throw, what `sink` received must be discarded.
    static func encryptStream<Source: ByteSource, Sink: ByteSink>(
        length: Int, from source: inout Source, into sink: inout Sink, recipients: [Certificate], cipher: ContentCipher,
        contentType: ASN1ObjectIdentifier = CMSOID.data
    ) throws {
        guard !recipients.isEmpty else { throw CMSError(.recipientRejected, "at least one recipient is required") }
        let cek = SymmetricKey(size: cipher.keyLength == 32 ? .bits256 : .bits128)
        let infos = try recipients.map { try recipientInfo(for: $0, cek: cek, cipher: cipher) }
        let parameters: (algorithm: AlgorithmIdentifierValue, nonceOrIV: [UInt8])
        do { parameters = try contentEncryptionParameters(cipher) } catch {
            throw CMSError(.unsupported, "the content could not be encrypted")
        }
        var ciphertext = DERRope()
        ciphertext.appendExternal(length: cipher.isAuthenticated ? length : (length / 16 + 1) * 16)
        let (prefix, suffix) = try frame(
            ciphertext: ciphertext, tag: [UInt8](repeating: 0, count: 16), contentEncryption: parameters.algorithm,
            recipientInfos: infos, cipher: cipher, contentType: contentType
        ).split()
        try sink.write(prefix[...])
        var remaining = length
        func next() throws -> ArraySlice<UInt8> {
            let chunk = try readUpTo(min(StreamChunk.size, remaining), from: &source)
            guard chunk.count == min(StreamChunk.size, remaining) else {
                throw CMSError(.malformed, "the content ended before its announced length (changed while read)")
            }
            remaining -= chunk.count
            return chunk
        }
        if cipher.isAuthenticated {
            var gcm = try GCMStream(key: cek, nonce: parameters.nonceOrIV)
            while remaining > 0 { try sink.write(try gcm.seal(try next())[...]) }
            var trailer = suffix
            trailer.replaceSubrange((trailer.count - 16)..., with: try gcm.tag())
            try sink.write(trailer[...])
        } else {
            var cbc = try CBCStream(key: cek, iv: parameters.nonceOrIV)
            repeat {
                let chunk = try next()
                try sink.write(try cbc.encrypt(chunk, last: remaining == 0)[...])
            } while remaining > 0
            try sink.write(suffix[...])
        }
        guard try source.read(upTo: 1).isEmpty else {
            throw CMSError(.malformed, "the content is longer than its announced length (changed while read)")
        }
    }
}

/// The plaintext of an (Auth)EnvelopedData read from a stream, as a ``ByteSource``: the headers are parsed and the
/// content key unwrapped when it is made; each read decrypts the next chunk. The plaintext is unauthenticated until
/// ``finish()`` returns: read to the end, then call it; it reads the rest of the envelope and checks the GCM tag.
/// Every failure to decrypt — not a recipient, wrong key, failed tag, bad padding — is the uniform
/// ``CMSError/decryptionFailed``; a broken envelope structure is ``CMSError/Code/malformed``.
struct DecryptingSource<Source: ByteSource>: ByteSource {
    private var reader: BERStreamReader<Source>
    private let frames: (contentInfo: BERStreamReader<Source>.Frame, explicit: BERStreamReader<Source>.Frame,
        envelope: BERStreamReader<Source>.Frame, eci: BERStreamReader<Source>.Frame)
    private let authenticated: Bool
    /// The encapsulated content type (id-data, or id-signedData).
    let contentType: ASN1ObjectIdentifier
    private var gcm: GCMStream?
    private var cbc: CBCStream?
    private var lookahead: [UInt8]?
    private var ciphertextSeen = 0
    private var output: ArraySlice<UInt8> = []
    private var contentDone = false
    private var outcome: Result<Void, any Error>?

    init(_ source: Source, credential: Credential, authenticatedOnly: Bool = false) throws {
        var reader = BERStreamReader(source)
        let contentType: ASN1ObjectIdentifier
        let cipher: ContentCipher
        let key: SymmetricKey
        let iv: [UInt8]
        let recipientInfos: [ParsedEnvelope.RecipientInfo]
        do {
            let contentInfo = try reader.enter(0x30)
            let type = try ASN1ObjectIdentifier(berEncoded: try BER.parse(try reader.readElement()))
            guard type == CMSOID.envelopedData || type == CMSOID.authEnvelopedData else {
                throw CMSError(.unsupported, "the message is not CMS EnvelopedData or AuthEnvelopedData")
            }
            authenticated = type == CMSOID.authEnvelopedData
            let explicit = try reader.enter(0xA0)
            let envelope = try reader.enter(0x30)
            _ = try reader.readElement()  // version
            if try reader.nextTag(in: envelope) == 0xA0 { _ = try reader.readElement() }  // originatorInfo
            let infosNode = try BER.parse(try reader.readElement())
            recipientInfos = try infosNode.children(.set).flatMap(ParsedEnvelope.parseRecipientInfos)
            let eci = try reader.enter(0x30)
            contentType = try ASN1ObjectIdentifier(berEncoded: try BER.parse(try reader.readElement()))
            let algorithm = try AlgorithmIdentifierValue(berEncoded: try BER.parse(try reader.readElement()))
            iv = Array(try ParsedEnvelope.iv(of: algorithm))
            let content = try reader.readHeader()
            guard content.tag == 0x80 || content.tag == 0xA0 else { throw BERStreamReader<Source>.malformed() }
            try reader.beginOctets(content)
            frames = (contentInfo, explicit, envelope, eci)
            cipher = try ParsedEnvelope.cipher(of: algorithm)
            guard cipher.isAuthenticated == authenticated else {
                throw CMSError(.malformed, "the content-encryption algorithm does not fit the content type")
            }
        } catch let error as CMSError {
            throw error
        } catch {
            throw CMSError(.malformed, "the message is not valid CMS EnvelopedData (malformed or truncated)")
        }
        if authenticatedOnly { try EnvelopedData.requireAuthenticated(cipher) }
        key = try EnvelopedData.contentKey(for: credential, among: recipientInfos, cipher: cipher)
        self.reader = reader
        self.contentType = contentType
        do {
            if cipher.isAuthenticated { gcm = try GCMStream(key: key, nonce: iv) } else { cbc = try CBCStream(key: key, iv: iv) }
        } catch {
            throw CMSError.decryptionFailed
        }
    }

    mutating func read(upTo maxCount: Int) throws -> ArraySlice<UInt8> {
        while output.isEmpty {
            if contentDone { return [] }
            try refill()
        }
        let piece = output.prefix(maxCount)
        output = output.dropFirst(piece.count)
        return piece
    }

    /// Up to one chunk of ciphertext; empty at the end of the encrypted content.
    private mutating func gather() throws -> [UInt8] {
        var chunk: [UInt8] = []
        while chunk.count < StreamChunk.size, let piece = try reader.nextOctets(upTo: StreamChunk.size - chunk.count) {
            if chunk.isEmpty && piece.count == StreamChunk.size { return Array(piece) }
            chunk.append(contentsOf: piece)
        }
        ciphertextSeen += chunk.count
        return chunk
    }

    private mutating func refill() throws {
        if gcm != nil {
            let chunk = try gather()
            if chunk.isEmpty { contentDone = true; return }
            output = try gcm!.open(chunk[...])[...]
            return
        }
        let current = try lookahead ?? gather()
        if current.isEmpty {
            contentDone = true
            guard ciphertextSeen > 0 else { throw CMSError.decryptionFailed }
            return
        }
        let next = try gather()
        do {
            output = try cbc!.decrypt(current[...], last: next.isEmpty)[...]
        } catch {
            throw CMSError.decryptionFailed
        }
        lookahead = next
        if next.isEmpty { contentDone = true }
    }

    /// Reads and discards the rest of the plaintext.
    mutating func drain() throws {
        while !(try read(upTo: StreamChunk.size)).isEmpty {}
    }

    /// Reads the rest of the envelope (authAttrs, mac, unprotected attributes, the closing of every element, the end of
    /// the input) and checks the tag. Call after the plaintext was read to its end.
    /// Called again, it gives the first call's outcome.
    mutating func finish() throws {
        precondition(contentDone && output.isEmpty)
        if let outcome { return try outcome.get() }
        do {
            try finishOnce()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
            throw error
        }
    }

    private mutating func finishOnce() throws {
        var additionalData: [UInt8] = []
        var mac: [UInt8]?
        do {
            try reader.close(frames.eci)
            if authenticated {
                if try reader.nextTag(in: frames.envelope) == 0xA1 {
                    additionalData = try reader.readElement()
                    additionalData[0] = 0x31  // the MAC covers the DER SET OF encoding (RFC 5083 §2.1)
                }
                let node = try BER.parse(try reader.readElement())
                guard node.identifier == .octetString else { throw BERStreamReader<Source>.malformed() }
                mac = Array(try node.octets())
            }
            while try reader.nextTag(in: frames.envelope) != nil { _ = try reader.readElement() }  // (un)protected attributes
            try reader.close(frames.envelope)
            try reader.close(frames.explicit)
            try reader.close(frames.contentInfo)
            guard try reader.peek() == nil else { throw CMSError(.malformed, "data follows the CMS message") }
        } catch let error as CMSError {
            throw error
        } catch {
            throw CMSError(.malformed, "the message is not valid CMS EnvelopedData (malformed or truncated)")
        }
        if let gcm {
            let expected: [UInt8]
            do { expected = try gcm.tag(additionalData: additionalData) } catch { throw CMSError.decryptionFailed }
            guard let mac, mac.count == 16, constantTimeEqual(expected, mac) else { throw CMSError.decryptionFailed }
        }
    }
}
