import SwiftASN1
import X509
import CaduceusPKI
import CaduceusCore
import struct Foundation.Date

extension SignedData {
    /// The DER of an attached SignedData over a content of `length` bytes, around the content: `prefix ‖ content ‖
    /// suffix`. `digests` are the content's, for every algorithm in ``digestAlgorithms(of:)``.
    static func streamFrame(
        length: Int, digests: [ASN1ObjectIdentifier: [UInt8]], signers: [Credential], signingTime: Date,
        contentType: ASN1ObjectIdentifier = CMSOID.data
    ) throws -> (prefix: [UInt8], suffix: [UInt8]) {
        try signRope(
            .external(length: length, digests: digests), signers: signers, detached: false, signingTime: signingTime,
            contentType: contentType
        ).split()
    }

    /// Digests `source` to its end with every algorithm `signers` use; returns the digests and the length read.
    static func digestStream<Source: ByteSource>(_ source: inout Source, signers: [Credential]) throws
        -> (digests: [ASN1ObjectIdentifier: [UInt8]], length: Int)
    {
        var digests = StreamingDigests(digestAlgorithms(of: signers))
        var length = 0
        while true {
            let chunk = try source.read(upTo: StreamChunk.size)
            if chunk.isEmpty { break }
            digests.update(chunk)
            length += chunk.count
        }
        return (digests.finalize(), length)
    }
}

/// Reads an attached SignedData (DER, or BER as `openssl cms -sign -stream` writes it) from a stream: the content is
/// digested and handed to `sink` a chunk at a time, everything else — certificates, signer infos — is kept (bounded
/// by ``StreamChunk/elementLimit`` per element). Verifying is then ``SignedData/verifySigners`` with the digests.
enum SignedDataStream {
    static func read<Source: ByteSource, Sink: ByteSink>(
        _ reader: inout BERStreamReader<Source>, contentInto sink: inout Sink
    ) throws -> (parsed: ParsedSignedData, digests: [ASN1ObjectIdentifier: [UInt8]]) {
        do {
            let contentInfo = try reader.enter(0x30)
            guard try ASN1ObjectIdentifier(berEncoded: try BER.parse(try reader.readElement())) == CMSOID.signedData else {
                throw CMSError(.unsupported, "the message is not a CMS SignedData")
            }
            let explicit = try reader.enter(0xA0)
            let signedData = try reader.enter(0x30)
            guard try reader.nextTag(in: signedData) == 0x02 else { throw BERStreamReader<Source>.malformed() }
            _ = try reader.readElement()  // version
            let algorithms = try BER.parse(try reader.readElement()).children(.set).map {
                try AlgorithmIdentifierValue(berEncoded: $0).algorithm
            }
            var digests = StreamingDigests(algorithms)
            let encapsulated = try reader.enter(0x30)
            let contentType = try ASN1ObjectIdentifier(berEncoded: try BER.parse(try reader.readElement()))
            guard try reader.nextTag(in: encapsulated) == 0xA0 else {
                throw CMSError(.contentMissing, "the signature is detached and no content was supplied")
            }
            let wrapper = try reader.enter(0xA0)
            let octets = try reader.readHeader()
            guard octets.tag == 0x04 || octets.tag == 0x24 else { throw BERStreamReader<Source>.malformed() }
            try reader.beginOctets(octets)
            while let piece = try reader.nextOctets(upTo: StreamChunk.size) {
                digests.update(piece)
                try sink.write(piece)
            }
            try reader.close(wrapper)
            try reader.close(encapsulated)
            var certificates: [Certificate] = []
            var weak = 0
            if try reader.nextTag(in: signedData) == 0xA0 {
                (certificates, weak) = try ParsedSignedData.parseCertificates(try BER.parse(try reader.readElement()))
            }
            if try reader.nextTag(in: signedData) == 0xA1 { _ = try reader.readElement() }  // CRLs are not used
            let signerInfos = try BER.parse(try reader.readElement()).children(.set).map(ParsedSignedData.parseSignerInfo)
            try reader.close(signedData)
            try reader.close(explicit)
            try reader.close(contentInfo)
            guard try reader.peek() == nil else { throw CMSError(.malformed, "data follows the CMS message") }
            return (
                ParsedSignedData(
                    contentType: contentType, certificates: certificates, weakCertificateCount: weak, signerInfos: signerInfos),
                digests.finalize()
            )
        } catch let error as CMSError {
            throw error
        } catch let error as AtomicFile.WriteError {
            throw error
        } catch {
            throw CMSError(.malformed, "the message is not valid CMS SignedData (malformed or truncated)")
        }
    }
}
