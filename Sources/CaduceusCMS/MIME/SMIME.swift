public import CaduceusPKI
public import X509
public import struct Foundation.Date
import Foundation
import SwiftASN1
import CaduceusCore

/// S/MIME 4.0 (RFC 8551) messages over the CMS primitives: `application/pkcs7-mime` with `smime-type`
/// (signed-data, enveloped-data, authEnveloped-data), `multipart/signed` with `application/pkcs7-signature`, base64
/// transfer encoding; plus raw DER for the same operations. Sign-then-encrypt and decrypt-then-verify are one call.
public enum SMIME {
    /// The output form.
    public enum Format: Sendable {
        /// An S/MIME MIME entity (CRLF, base64).
        case smime
        /// Raw DER CMS ContentInfo.
        case der
    }

    /// How the content is put into the MIME entity that a `multipart/signed` message signs (RFC 8551 §3.1).
    ///
    /// What is signed is the canonical entity — its header fields and its body, every line ended by CRLF — and the
    /// signed part is written exactly so, which is what `openssl cms -verify` and mail clients digest in their default
    /// (canonicalising) mode, and what `openssl cms -verify -binary` digests too.
    public enum SignedEntityForm: Sendable, Hashable {
        /// ``text`` when the content is text (UTF-8 without NUL or control characters other than TAB, and every CR
        /// followed by LF), ``binary`` otherwise. The default.
        case automatic
        /// `text/plain; charset=…`: every line end (LF or CRLF) becomes CRLF, the canonical form of text (RFC 8551
        /// §3.1.1). Verification returns the text with CRLF line ends: LF-only text comes back with CRLF. Sent as
        /// `7bit` when it is ASCII in lines of at most 998 octets, as base64 otherwise (RFC 8551 §3.1.2: no 8-bit
        /// data in a signed part). Content that is not text is refused (`cms.unsupported`).
        case text
        /// `application/octet-stream` in base64: the canonical form is the content byte for byte, whatever its line
        /// ends (like `openssl cms -sign -binary`, but verifiable in the default mode too).
        case binary
    }

    /// Signs `content`. S/MIME form: `multipart/signed` when `detached` (the default, like `openssl cms -sign`),
    /// signing the canonical MIME entity built from `content` as `form` says (RFC 8551 §3.1.1); otherwise
    /// `application/pkcs7-mime; smime-type=signed-data` with the content byte for byte, as is the DER form.
    public static func sign(
        _ content: ArraySlice<UInt8>, signers: [Credential], detached: Bool = true, format: Format = .smime,
        form: SignedEntityForm = .automatic, signingTime: Date
    ) throws -> [UInt8] {
        guard format == .smime, detached else {
            let cms = try SignedData.sign(content, signers: signers, detached: detached, signingTime: signingTime)
            return format == .der ? cms : opaqueSignedEntity(cms)
        }
        let entity = try MIMEEntity.canonicalEntity(content, form: form)
        let cms = try SignedData.sign(entity[...], signers: signers, detached: true, signingTime: signingTime)
        let boundary = "----CADUCEUS" + Hex.encode(randomBytes(16))
        // The canonical entity is base64 or text without a line of its own starting with "--": no collision is
        // possible, but the check costs little and keeps the writer honest.
        guard !entity.starts(with: Array("--\(boundary)".utf8)),
            ByteSearch.firstRange(of: Array("\n--\(boundary)".utf8), in: entity[...]) == nil
        else { throw CMSError(.unsupported, "the content collides with the MIME boundary") }
        // The outer lines end with LF and the signed part with CRLF, as `openssl cms -sign` writes it: a reader in the
        // default mode turns each line end of the part into CRLF and one in binary mode keeps the CR and adds LF,
        // so both get the canonical entity back byte for byte; the LF before each delimiter belongs to the
        // delimiter (RFC 2046 §5.1.1). A mail system that turns every LF into CRLF changes nothing either.
        let lf: [UInt8] = [10]
        var body = Array("This is an S/MIME signed message\n\n--\(boundary)\n".utf8)
        body.append(contentsOf: entity)
        body.append(contentsOf: Array("\n--\(boundary)\n".utf8))
        body.append(
            contentsOf: MIMEEntity.render(
                headers: [
                    ("Content-Type", "application/pkcs7-signature; name=\"smime.p7s\""),
                    ("Content-Transfer-Encoding", "base64"),
                    ("Content-Disposition", "attachment; filename=\"smime.p7s\""),
                ], body: MIMEEntity.base64Lines(cms, eol: lf), eol: lf))
        body.append(contentsOf: Array("\n--\(boundary)--\n".utf8))
        let micalg = "sha-256"  // every Caduceus signer signs with SHA-256 (PrivateKeyMaterial.signatureAlgorithm)
        return MIMEEntity.render(
            headers: [
                ("MIME-Version", "1.0"),
                (
                    "Content-Type",
                    "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=\"\(micalg)\"; boundary=\"\(boundary)\""
                ),
            ], body: body, eol: lf)
    }

    /// Verifies a signed message: multipart/signed, application/pkcs7-mime signed-data, PEM (`CMS`/`PKCS7`) or DER
    /// (attached, or detached with `detachedContent`).
    ///
    /// multipart/signed: the first part is verified byte for byte as it stands between its delimiters (the line end
    /// before a delimiter belongs to the delimiter). When that part is a MIME entity (a header block with a
    /// Content-Type, RFC 8551 §3.5 — what we and `openssl cms -sign` write), the content returned is its body with the
    /// transfer encoding (base64, quoted-printable, 7bit, 8bit, binary) removed, and ``VerifiedContent/mediaType``
    /// names it; a first part that is not one (raw bytes, as `openssl cms -sign -binary` signs a file without
    /// headers, or a Caduceus signature made before canonical signing) is returned as it is.
    public static func verify(
        _ message: ArraySlice<UInt8>, detachedContent: ArraySlice<UInt8>? = nil, validator: ChainValidator, now: Date,
        validity: SignerValidity = .atSigningTime
    ) async throws -> VerifiedContent {
        try requireNonEmpty(message)
        if isDER(message) {
            return try await SignedData.verify(message, detachedContent: detachedContent, validator: validator, now: now, validity: validity)
        }
        if isPEM(message) {
            return try await SignedData.verify(try pemCMS(message)[...], detachedContent: detachedContent, validator: validator, now: now, validity: validity)
        }
        let entity = try MIMEEntity.parse(message)
        switch entity.mediaType {
        case "multipart/signed":
            let (content, signaturePart) = try entity.splitSigned()
            guard ["application/pkcs7-signature", "application/x-pkcs7-signature"].contains(signaturePart.mediaType) else {
                throw CMSError(.mimeMalformed, "the second part of multipart/signed is not a PKCS#7 signature")
            }
            let cms = try signaturePart.decodedBody()
            let verified = try await SignedData.verify(cms[...], detachedContent: content, validator: validator, now: now)
            // Only what the signature covers is interpreted: the part's own header fields say how to read its body.
            guard let signedEntity = try? MIMEEntity.parse(content) else { return verified }
            return VerifiedContent(
                content: try signedEntity.decodedContent()[...], contentType: verified.contentType, signers: verified.signers,
                mediaType: signedEntity.mediaType)
        case "application/pkcs7-mime", "application/x-pkcs7-mime":
            let cms = try entity.decodedBody()
            return try await SignedData.verify(cms[...], detachedContent: detachedContent, validator: validator, now: now)
        default:
            throw CMSError(.mimeMalformed, "the message is not an S/MIME signed entity")
        }
    }

    /// Encrypts `content` to `recipients`: `application/pkcs7-mime; smime-type=authEnveloped-data` for GCM,
    /// `enveloped-data` for CBC, or DER.
    public static func encrypt(
        _ content: ArraySlice<UInt8>, recipients: [Certificate], cipher: ContentCipher = .aes256GCM,
        format: Format = .smime
    ) throws -> [UInt8] {
        let cms = try EnvelopedData.encrypt(content, recipients: recipients, cipher: cipher)
        return format == .der ? cms : envelopedEntity(cms, authenticated: cipher.isAuthenticated)
    }

    /// Decrypts an S/MIME or DER encrypted message.
    public static func decrypt(_ message: ArraySlice<UInt8>, credential: Credential) throws -> [UInt8] {
        try EnvelopedData.decrypt(try cmsBytes(message, expecting: ["enveloped-data", "authenveloped-data"]), credential: credential).content
    }

    /// Sign-then-encrypt (RFC 8551 §3.7): the content is signed (attached) by `signers`, and the signed object is
    /// encrypted to `recipients`. In S/MIME form the inner object is an `application/pkcs7-mime; smime-type=signed-data`
    /// entity; in DER form it is the SignedData ContentInfo itself.
    public static func seal(
        _ content: ArraySlice<UInt8>, signers: [Credential], recipients: [Certificate], cipher: ContentCipher = .aes256GCM,
        format: Format = .smime, signingTime: Date
    ) throws -> [UInt8] {
        try sealRope(
            consuming: Array(content), signers: signers, recipients: recipients, cipher: cipher, format: format,
            signingTime: signingTime
        ).joined()
    }

    /// ``seal(_:signers:recipients:cipher:format:signingTime:)`` taking ownership of the content and returning the
    /// encoding as parts: the content is released once signed, the signed object once encrypted, and the ciphertext is
    /// not copied again — about twice the document size in memory at the peak.
    package static func sealRope(
        consuming content: consuming [UInt8], signers: [Credential], recipients: [Certificate], cipher: ContentCipher,
        format: Format, signingTime: Date
    ) throws -> DERRope {
        // The signed rope references the content; it must not outlive this expression, or the content stays alive.
        let innerDER = try SignedData.signRope(content[...], signers: signers, detached: false, signingTime: signingTime)
            .joined()
        _ = consume content
        let inner = format == .der ? innerDER : opaqueSignedEntity(innerDER)
        let rope = try EnvelopedData.encryptRope(inner[...], recipients: recipients, cipher: cipher)
        return format == .der ? rope : DERRope(envelopedEntity(rope.joined(), authenticated: cipher.isAuthenticated))
    }

    /// Decrypt-then-verify: decrypts with `credential`, then verifies the signed object inside (S/MIME entity or DER)
    /// against `validator`. Returns the content and its signers.
    public static func open(
        _ message: ArraySlice<UInt8>, credential: Credential, validator: ChainValidator, now: Date
    ) async throws -> VerifiedContent {
        let inner = try decrypt(message, credential: credential)
        return try await verify(inner[...], validator: validator, now: now)
    }

    /// A DER ContentInfo as PEM (`-----BEGIN CMS-----`, 64-character lines, a final LF), as `openssl cms -outform PEM`
    /// writes it.
    public static func pem(_ der: [UInt8]) -> [UInt8] {
        Array(PEMDocument(type: "CMS", derBytes: der).pemString.utf8) + [10]
    }

    // MARK: - helpers

    static func isDER(_ bytes: ArraySlice<UInt8>) -> Bool { bytes.first == 0x30 }

    static func isPEM(_ bytes: ArraySlice<UInt8>) -> Bool { bytes.starts(with: Array("-----BEGIN".utf8)) }

    /// The DER inside a PEM `CMS` or `PKCS7` block.
    static func pemCMS(_ message: ArraySlice<UInt8>) throws -> [UInt8] {
        guard let text = String(validating: message, as: UTF8.self), let document = try? PEMDocument(pemString: text),
            ["CMS", "PKCS7"].contains(document.discriminator)
        else { throw CMSError(.malformed, "the PEM CMS block cannot be decoded") }
        return document.derBytes
    }

    static func requireNonEmpty(_ bytes: ArraySlice<UInt8>) throws {
        guard !bytes.isEmpty else { throw CMSError(.malformed, "the message is empty") }
    }

    /// CMS bytes from DER, PEM (`CMS`/`PKCS7`) or an application/pkcs7-mime entity.
    package static func cmsBytes(_ message: ArraySlice<UInt8>, expecting types: [String]) throws -> ArraySlice<UInt8> {
        try requireNonEmpty(message)
        if isDER(message) { return message }
        if isPEM(message) { return try pemCMS(message)[...] }
        let entity = try MIMEEntity.parse(message)
        guard ["application/pkcs7-mime", "application/x-pkcs7-mime"].contains(entity.mediaType) else {
            throw CMSError(.mimeMalformed, "the message is not an application/pkcs7-mime entity")
        }
        if let smimeType = entity.contentTypeParameter("smime-type")?.lowercased(), !types.contains(smimeType) {
            throw CMSError(.mimeMalformed, "the smime-type parameter does not fit the operation")
        }
        return try entity.decodedBody()[...]
    }

    static func opaqueSignedEntity(_ cms: [UInt8]) -> [UInt8] {
        MIMEEntity.render(
            headers: [
                ("MIME-Version", "1.0"),
                ("Content-Disposition", "attachment; filename=\"smime.p7m\""),
                ("Content-Type", "application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\""),
                ("Content-Transfer-Encoding", "base64"),
            ], body: MIMEEntity.base64Lines(cms))
    }

    static func envelopedEntity(_ cms: [UInt8], authenticated: Bool) -> [UInt8] {
        MIMEEntity.render(
            headers: [
                ("MIME-Version", "1.0"),
                ("Content-Disposition", "attachment; filename=\"smime.p7m\""),
                (
                    "Content-Type",
                    "application/pkcs7-mime; smime-type=\(authenticated ? "authEnveloped-data" : "enveloped-data"); name=\"smime.p7m\""
                ),
                ("Content-Transfer-Encoding", "base64"),
            ], body: MIMEEntity.base64Lines(cms))
    }
}
