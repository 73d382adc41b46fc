public import CaduceusPKI
public import X509
public import SwiftASN1
import Foundation
import Crypto
import CryptoExtras
import CaduceusCore

/// CMS encryption to certificate holders: EnvelopedData (AES-CBC) and AuthEnvelopedData (AES-GCM), with a
/// RecipientInfo per recipient:
/// - RSA recipients: KeyTransRecipientInfo, RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 3560 / 8017);
/// - P-256 recipients: KeyAgreeRecipientInfo, ephemeral-static ECDH, dhSinglePass-stdDH-sha256kdf-scheme with AES key
///   wrap (RFC 5753 §3.1, RFC 3394) — what `openssl cms -keyopt ecdh_kdf_md:sha256` writes.
///
/// RSA PKCS#1 v1.5 key transport, DES, 3DES and RC2 are refused (``CMSError/Code/weakAlgorithm``) before any key
/// operation. Every failure after that is the single ``CMSError/decryptionFailed``.
public enum EnvelopedData {
    /// Encrypts `content` to every recipient. Returns a DER ContentInfo.
    public static func encrypt(
        _ content: ArraySlice<UInt8>, recipients: [Certificate], cipher: ContentCipher = .aes256GCM,
        contentType: ASN1ObjectIdentifier = CMSOID.data
    ) throws -> [UInt8] {
        try encryptRope(content, recipients: recipients, cipher: cipher, contentType: contentType).joined()
    }

    package static func encryptRope(
        _ content: ArraySlice<UInt8>, recipients: [Certificate], cipher: ContentCipher,
        contentType: ASN1ObjectIdentifier = CMSOID.data
    ) throws -> DERRope {
        guard !recipients.isEmpty else { throw CMSError(.recipientRejected, "at least one recipient is required") }
        let cek = SymmetricKey(size: cipher.keyLength == 32 ? .bits256 : .bits128)
        let infos = try recipients.map { try recipientInfo(for: $0, cek: cek, cipher: cipher) }
        return try assemble(content, cek: cek, recipientInfos: infos, cipher: cipher, contentType: contentType)
    }

    /// Encrypts `content` under `cek` and frames it with already built RecipientInfos (`isKeyTransport` decides the
    /// EnvelopedData version, RFC 5652 §6.1).
    static func assemble(
        _ content: ArraySlice<UInt8>, cek: SymmetricKey, recipientInfos: [(encoded: [UInt8], isKeyTransport: Bool)],
        cipher: ContentCipher, contentType: ASN1ObjectIdentifier
    ) throws -> DERRope {
        let ciphertext: [UInt8]
        var tag: [UInt8] = []
        let contentEncryption: AlgorithmIdentifierValue
        do {
            let parameters = try contentEncryptionParameters(cipher)
            contentEncryption = parameters.algorithm
            if cipher.isAuthenticated {
                (ciphertext, tag) = try ChunkedAES.gcmSeal(content, key: cek, nonce: parameters.nonceOrIV)
            } else {
                ciphertext = try ChunkedAES.cbcEncrypt(content, key: cek, iv: parameters.nonceOrIV)
            }
        } catch {
            throw CMSError(.unsupported, "the content could not be encrypted")
        }
        return try frame(
            ciphertext: DERRope(ciphertext), tag: tag, contentEncryption: contentEncryption,
            recipientInfos: recipientInfos, cipher: cipher, contentType: contentType)
    }

    /// A fresh nonce (GCM, RFC 5084 GCMParameters with a 16-byte ICV) or IV (CBC) and the AlgorithmIdentifier naming it.
    static func contentEncryptionParameters(_ cipher: ContentCipher) throws
        -> (algorithm: AlgorithmIdentifierValue, nonceOrIV: [UInt8])
    {
        if cipher.isAuthenticated {
            let nonce = randomBytes(12)
            var params = DER.Serializer()
            try params.appendConstructedNode(identifier: .sequence) { p in
                try p.serialize(ASN1OctetString(contentBytes: nonce[...]))
                try p.serialize(16)
            }
            return (
                AlgorithmIdentifierValue(
                    algorithm: cipher == .aes256GCM ? CMSOID.aes256GCM : CMSOID.aes128GCM,
                    parameters: try ASN1Any(derEncoded: params.serializedBytes)),
                nonce
            )
        }
        let iv = randomBytes(16)
        return (
            AlgorithmIdentifierValue(
                algorithm: cipher == .aes256CBC ? CMSOID.aes256CBC : CMSOID.aes128CBC,
                parameters: try ASN1Any(erasing: ASN1OctetString(contentBytes: iv[...]))),
            iv
        )
    }

    /// The (Auth)EnvelopedData ContentInfo around `ciphertext` (bytes, or an external part of known length) and, for
    /// GCM, the 16-byte `tag` — the last bytes of the encoding, so a streamed writer appends it at the end.
    static func frame(
        ciphertext: DERRope, tag: [UInt8], contentEncryption: AlgorithmIdentifierValue,
        recipientInfos: [(encoded: [UInt8], isKeyTransport: Bool)], cipher: ContentCipher,
        contentType: ASN1ObjectIdentifier
    ) throws -> DERRope {
        let allKeyTransport = recipientInfos.allSatisfy(\.isKeyTransport)
        var infosSet = DERRope()
        for info in recipientInfos.map(\.encoded).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            infosSet.append(info[...])
        }
        var body = DERRope()
        let version: UInt8 = cipher.isAuthenticated ? 0 : (allKeyTransport ? 0 : 2)
        body.append([0x02, 0x01, version][...])
        body.append(infosSet.wrapped(0x31))
        var eci = try DERRope(serializing: contentType)
        eci.append(try DERRope(serializing: contentEncryption))
        eci.append(ciphertext.wrapped(0x80))
        body.append(eci.wrapped(0x30))
        if cipher.isAuthenticated { body.append(DERRope(tag).wrapped(0x04)) }
        var contentInfo = try DERRope(
            serializing: cipher.isAuthenticated ? CMSOID.authEnvelopedData : CMSOID.envelopedData)
        contentInfo.append(body.wrapped(0x30).wrapped(0xA0))
        return contentInfo.wrapped(0x30)
    }

    static func recipientInfo(for recipient: Certificate, cek: SymmetricKey, cipher: ContentCipher) throws
        -> (encoded: [UInt8], isKeyTransport: Bool)
    {
        if let usage = try? recipient.extensions.keyUsage {
            let isRSA = _RSA.Signing.PublicKey(recipient.publicKey) != nil
            guard isRSA ? usage.keyEncipherment : usage.keyAgreement else {
                throw CMSError(.recipientRejected, "a recipient certificate's key usage does not allow encryption to it")
            }
        }
        let reference = try CertificateReference.issuerAndSerialBytes(of: recipient)
        if let rsaSigning = _RSA.Signing.PublicKey(recipient.publicKey) {
            guard rsaSigning.keySizeInBits >= 2048 else {
                throw CMSError(.weakAlgorithm, "RSA recipient keys under 2048 bits are refused")
            }
            let rsa = try _RSA.Encryption.PublicKey(derRepresentation: rsaSigning.derRepresentation)
            let encryptedKey = try cek.withUnsafeBytes { try rsa.encrypt(Array($0), padding: .PKCS1_OAEP_SHA256) }
            var s = DER.Serializer()
            try s.appendConstructedNode(identifier: .sequence) { c in
                try c.serialize(0)
                c.serializeRawBytes(reference)
                try c.serialize(oaepSHA256Identifier())
                try c.serialize(ASN1OctetString(contentBytes: Array(encryptedKey)[...]))
            }
            return (s.serializedBytes, true)
        }
        if P256.Signing.PublicKey(recipient.publicKey) != nil {
            return (try keyAgreeRecipientInfo(for: [recipient], cek: cek, cipher: cipher), false)
        }
        throw CMSError(.recipientRejected, "recipients must hold an RSA (≥ 2048 bits) or P-256 key")
    }

    /// One KeyAgreeRecipientInfo (RFC 5753 §3.1.1) for P-256 recipients: a fresh ephemeral key, and per recipient a
    /// RecipientEncryptedKey holding the content key wrapped under the KEK from ECDH with that recipient. `encrypt`
    /// writes one per recipient, as OpenSSL does; several recipients may share one.
    static func keyAgreeRecipientInfo(for recipients: [Certificate], cek: SymmetricKey, cipher: ContentCipher) throws -> [UInt8] {
        let ephemeral = ephemeralAgreementKey()
        let wrap = wrapAlgorithm(forKeyLength: cipher.keyLength)
        var encryptedKeys: [(reference: [UInt8], wrapped: [UInt8])] = []
        for recipient in recipients {
            guard let p256 = P256.Signing.PublicKey(recipient.publicKey) else {
                throw CMSError(.recipientRejected, "key agreement needs a P-256 recipient key")
            }
            let recipientKey = try P256.KeyAgreement.PublicKey(x963Representation: p256.x963Representation)
            let kek = try ecdhKEK(
                sharedSecret: try ephemeral.sharedSecretFromKeyAgreement(with: recipientKey),
                wrapAlgorithm: wrap.oid, wrapKeyLength: wrap.length, ukm: nil)
            encryptedKeys.append(
                (try CertificateReference.issuerAndSerialBytes(of: recipient), Array(try AES.KeyWrap.wrap(cek, using: kek))))
        }
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .context(1)) { c in
            try c.serialize(3)
            try c.appendConstructedNode(identifier: .context(0)) { originator in
                try originator.appendConstructedNode(identifier: .context(1)) { key in
                    try key.serialize(AlgorithmIdentifierValue(algorithm: CMSOID.ecPublicKey))
                    try key.serialize(ASN1BitString(bytes: Array(ephemeral.publicKey.x963Representation)[...]))
                }
            }
            try c.serialize(
                AlgorithmIdentifierValue(
                    algorithm: CMSOID.ecdhStdSHA256KDF,
                    parameters: try ASN1Any(erasing: AlgorithmIdentifierValue(algorithm: wrap.oid))))
            try c.appendConstructedNode(identifier: .sequence) { keys in
                for encrypted in encryptedKeys {
                    try keys.appendConstructedNode(identifier: .sequence) { rek in
                        rek.serializeRawBytes(encrypted.reference)
                        try rek.serialize(ASN1OctetString(contentBytes: encrypted.wrapped[...]))
                    }
                }
            }
        }
        return s.serializedBytes
    }

    static func oaepSHA256Identifier() throws -> AlgorithmIdentifierValue {
        var params = DER.Serializer()
        try params.appendConstructedNode(identifier: .sequence) { p in
            try p.appendConstructedNode(identifier: .context(0)) { h in
                try h.serialize(AlgorithmIdentifierValue(algorithm: CMSOID.sha256))
            }
            try p.appendConstructedNode(identifier: .context(1)) { m in
                try m.serialize(
                    AlgorithmIdentifierValue(
                        algorithm: CMSOID.mgf1,
                        parameters: try ASN1Any(erasing: AlgorithmIdentifierValue(algorithm: CMSOID.sha256))))
            }
        }
        return AlgorithmIdentifierValue(algorithm: CMSOID.rsaesOAEP, parameters: try ASN1Any(derEncoded: params.serializedBytes))
    }

    static func wrapAlgorithm(forKeyLength length: Int) -> (oid: ASN1ObjectIdentifier, length: Int) {
        switch length {
        case 16: return (CMSOID.aes128Wrap, 16)
        case 24: return (CMSOID.aes192Wrap, 24)
        default: return (CMSOID.aes256Wrap, 32)
        }
    }

    /// RFC 5753 §7.2: KEK = ANSI X9.63 KDF(SHA-256, Z, DER(ECC-CMS-SharedInfo)).
    static func ecdhKEK(
        sharedSecret: SharedSecret, wrapAlgorithm: ASN1ObjectIdentifier, wrapKeyLength: Int, ukm: ArraySlice<UInt8>?
    ) throws -> SymmetricKey {
        let info = try eccCMSSharedInfo(wrapAlgorithm: wrapAlgorithm, wrapKeyLength: wrapKeyLength, ukm: ukm)
        return sharedSecret.x963DerivedSymmetricKey(using: SHA256.self, sharedInfo: info, outputByteCount: wrapKeyLength)
    }

    /// The same KEK from a shared secret Z given as bytes (derived on a token): ANSI X9.63 KDF with SHA-256 (SEC 1
    /// §3.6.1: SHA-256(Z ‖ counter ‖ SharedInfo), counter from 1, big-endian), as RFC 5753 §7.2 specifies.
    static func ecdhKEK(
        sharedSecretBytes z: [UInt8], wrapAlgorithm: ASN1ObjectIdentifier, wrapKeyLength: Int, ukm: ArraySlice<UInt8>?
    ) throws -> SymmetricKey {
        let info = try eccCMSSharedInfo(wrapAlgorithm: wrapAlgorithm, wrapKeyLength: wrapKeyLength, ukm: ukm)
        var output: [UInt8] = []
        var counter: UInt32 = 1
        while output.count < wrapKeyLength {
            var hash = SHA256()
            hash.update(data: z)
            hash.update(data: [UInt8(counter >> 24), UInt8((counter >> 16) & 0xff), UInt8((counter >> 8) & 0xff), UInt8(counter & 0xff)])
            hash.update(data: info)
            output += hash.finalize()
            counter += 1
        }
        return SymmetricKey(data: output.prefix(wrapKeyLength))
    }

    /// ECC-CMS-SharedInfo (RFC 5753 §7.2): the wrap algorithm, the optional ukm, the KEK length in bits.
    private static func eccCMSSharedInfo(
        wrapAlgorithm: ASN1ObjectIdentifier, wrapKeyLength: Int, ukm: ArraySlice<UInt8>?
    ) throws -> [UInt8] {
        var info = DER.Serializer()
        try info.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(AlgorithmIdentifierValue(algorithm: wrapAlgorithm))
            if let ukm {
                try s.appendConstructedNode(identifier: .context(0)) { try $0.serialize(ASN1OctetString(contentBytes: ukm)) }
            }
            try s.appendConstructedNode(identifier: .context(2)) { e in
                let bits = UInt32(wrapKeyLength * 8)
                try e.serialize(
                    ASN1OctetString(contentBytes: [UInt8(bits >> 24), UInt8((bits >> 16) & 0xff), UInt8((bits >> 8) & 0xff), UInt8(bits & 0xff)][...]))
            }
        }
        return info.serializedBytes
    }
}
