package import CaduceusPKI
package import X509
package import SwiftASN1
package import struct Foundation.Date

/// Signers and content type of a streamed verification; the content went to the caller's sink.
package struct StreamVerification: Sendable {
    /// The encapsulated content type.
    package let contentType: ASN1ObjectIdentifier
    /// Every signer, in the order of the SignerInfos.
    package let signers: [VerifiedSigner]
}

/// The CMS operations over streams, in flat memory whatever the document's size: read, digest, cipher and write a
/// chunk (``StreamChunk/size``) at a time. Same formats, algorithms, policy and errors as ``SignedData``,
/// ``EnvelopedData`` and ``SMIME`` (DER form): the in-memory functions read what these write, and the reverse.
///
/// Output goes to a ``ByteSink`` while it is produced; when a function throws, what the sink received must be
/// discarded (``PendingFile`` renames a file into place only on ``PendingFile/commit()``). Decryption and verification
/// write content before it is authenticated, so the caller commits only once the function has returned.
package enum CMSStreaming {
    /// SignedData with the content attached (what ``SignedData/sign(_:signers:detached:signingTime:)`` writes with
    /// `detached: false`), in two passes over `input`: digest, then write.
    package static func sign<Sink: ByteSink>(
        _ input: InputFile, into sink: inout Sink, signers: [Credential], signingTime: Date
    ) throws {
        var first = try input.source()
        let (digests, length) = try SignedData.digestStream(&first, signers: signers)
        let (prefix, suffix) = try SignedData.streamFrame(length: length, digests: digests, signers: signers, signingTime: signingTime)
        var content = try input.source()
        try sink.write(prefix[...])
        var copied = 0
        while true {
            let chunk = try content.read(upTo: StreamChunk.size)
            if chunk.isEmpty { break }
            copied += chunk.count
            guard copied <= length else { break }
            try sink.write(chunk)
        }
        guard copied == length else { throw CMSError(.malformed, "the content changed while it was read") }
        try sink.write(suffix[...])
    }

    /// (Auth)EnvelopedData to `recipients` (what ``EnvelopedData/encrypt(_:recipients:cipher:contentType:)`` writes).
    package static func encrypt<Sink: ByteSink>(
        _ input: InputFile, into sink: inout Sink, recipients: [Certificate], cipher: ContentCipher = .aes256GCM
    ) throws {
        var source = try input.source()
        try EnvelopedData.encryptStream(length: input.size, from: &source, into: &sink, recipients: recipients, cipher: cipher)
    }

    /// Sign-then-encrypt in DER form (what ``SMIME/seal(_:signers:recipients:cipher:format:signingTime:)`` writes with
    /// `format: .der`): the content is digested in a first pass, then the SignedData is framed around it and encrypted
    /// as it is read again.
    package static func seal<Sink: ByteSink>(
        _ input: InputFile, into sink: inout Sink, signers: [Credential], recipients: [Certificate],
        cipher: ContentCipher = .aes256GCM, signingTime: Date
    ) throws {
        var first = try input.source()
        let (digests, length) = try SignedData.digestStream(&first, signers: signers)
        let (prefix, suffix) = try SignedData.streamFrame(length: length, digests: digests, signers: signers, signingTime: signingTime)
        var inner = ConcatenatedSource(prefix: prefix[...], middle: try input.source(), suffix: suffix[...])
        try EnvelopedData.encryptStream(
            length: prefix.count + length + suffix.count, from: &inner, into: &sink, recipients: recipients, cipher: cipher)
    }

    /// Decrypts a DER/BER (Auth)EnvelopedData, the plaintext to `sink`; returns the encapsulated content type once the
    /// tag has verified. Errors as ``EnvelopedData/decrypt(_:credential:authenticatedOnly:)``.
    @discardableResult
    package static func decrypt<Source: ByteSource, Sink: ByteSink>(
        _ source: Source, into sink: inout Sink, credential: Credential, authenticatedOnly: Bool = false
    ) throws -> ASN1ObjectIdentifier {
        var plaintext = try DecryptingSource(source, credential: credential, authenticatedOnly: authenticatedOnly)
        while true {
            let chunk = try plaintext.read(upTo: StreamChunk.size)
            if chunk.isEmpty { break }
            try sink.write(chunk)
        }
        try plaintext.finish()
        return plaintext.contentType
    }

    /// Verifies an attached DER/BER SignedData, the content to `sink`. Errors as
    /// ``SignedData/verify(_:detachedContent:validator:extraCertificates:now:validity:)``; a signer without signed
    /// attributes (whose signature covers the content itself) is ``CMSError/Code/unsupported`` here.
    package static func verify<Source: ByteSource, Sink: ByteSink>(
        _ source: Source, into sink: inout Sink, validator: ChainValidator, extraCertificates: [Certificate] = [],
        now: Date, validity: SignerValidity = .atSigningTime
    ) async throws -> StreamVerification {
        var reader = BERStreamReader(source)
        let (parsed, digests) = try SignedDataStream.read(&reader, contentInto: &sink)
        let signers = try await SignedData.verifySigners(
            parsed, content: .external(length: 0, digests: digests), validator: validator,
            extraCertificates: extraCertificates, now: now, validity: validity)
        return StreamVerification(contentType: parsed.contentType, signers: signers)
    }

    /// The parse step of ``verify(_:into:validator:extraCertificates:now:validity:)`` alone (no signature checked): the
    /// content to `sink`; returns the number of signers. For the fuzz target, which compares it with ``ParsedSignedData``.
    package static func parseSignedData<Source: ByteSource, Sink: ByteSink>(_ source: Source, contentInto sink: inout Sink) throws -> Int {
        var reader = BERStreamReader(source)
        return try SignedDataStream.read(&reader, contentInto: &sink).parsed.signerInfos.count
    }

    /// Decrypt-then-verify of a DER/BER envelope (what ``SMIME/open(_:credential:validator:now:)`` does): the
    /// plaintext SignedData is parsed as it is decrypted, its content digested and written to `sink`; then the GCM tag
    /// is checked, then every signer. A fault in the plaintext is reported only after the tag verified (otherwise the
    /// uniform ``CMSError/decryptionFailed``): a forged ciphertext learns nothing from how its plaintext fails to parse.
    /// A plaintext that is not DER (an S/MIME entity inside a DER envelope) is verified in memory after decryption.
    /// `authenticatedOnly` refuses AES-CBC before any key is used, as ``EnvelopedData/decrypt(_:credential:authenticatedOnly:)``.
    package static func open<Source: ByteSource, Sink: ByteSink>(
        _ source: Source, into sink: inout Sink, credential: Credential, validator: ChainValidator, now: Date,
        validity: SignerValidity = .atSigningTime, authenticatedOnly: Bool = false
    ) async throws -> StreamVerification {
        var reader = BERStreamReader(try DecryptingSource(source, credential: credential, authenticatedOnly: authenticatedOnly))
        let parsed: ParsedSignedData
        let digests: [ASN1ObjectIdentifier: [UInt8]]
        do {
            if try reader.peek() != 0x30 {
                var whole = ArrayByteSink()
                while true {
                    let chunk = try reader.readAvailable(upTo: StreamChunk.size)
                    if chunk.isEmpty { break }
                    try whole.write(chunk)
                }
                try reader.source.finish()
                let verified = try await SMIME.verify(whole.bytes[...], validator: validator, now: now, validity: validity)
                try sink.write(verified.content)
                return StreamVerification(contentType: verified.contentType, signers: verified.signers)
            }
            (parsed, digests) = try SignedDataStream.read(&reader, contentInto: &sink)
        } catch {
            // The tag decides first: a forged message gets the uniform failure, whatever its plaintext did.
            try reader.source.drain()
            try reader.source.finish()
            throw error
        }
        try reader.source.finish()
        let signers = try await SignedData.verifySigners(
            parsed, content: .external(length: 0, digests: digests), validator: validator, extraCertificates: [],
            now: now, validity: validity)
        return StreamVerification(contentType: parsed.contentType, signers: signers)
    }
}
