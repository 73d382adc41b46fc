public import CaduceusPKI
public import SwiftASN1
import X509
import Foundation
import Crypto
import CryptoExtras
import CaduceusCore

/// Decrypted CMS content.
public struct DecryptedContent: Sendable {
    /// The plaintext.
    public let content: [UInt8]
    /// The encrypted content's type (id-data, or id-signedData for sign-then-encrypt in DER form).
    public let contentType: ASN1ObjectIdentifier
}

extension EnvelopedData {
    /// Decrypts an EnvelopedData or AuthEnvelopedData (DER or BER) with `credential`.
    ///
    /// Structure errors are ``CMSError/Code/malformed``; refused algorithms ``CMSError/Code/weakAlgorithm``; every
    /// other failure — not a recipient, wrong key, corrupted key or content, failed tag — is the one uniform
    /// ``CMSError/decryptionFailed``. A failed key unwrap continues with a random key so that it costs the same as a
    /// successful one.
    ///
    /// With `authenticatedOnly`, unauthenticated content encryption (AES-CBC in EnvelopedData) is refused with
    /// ``CMSError/Code/weakAlgorithm`` before any key is touched: no padding oracle where only AES-GCM is expected.
    public static func decrypt(_ message: ArraySlice<UInt8>, credential: Credential, authenticatedOnly: Bool = false) throws -> DecryptedContent {
        let parsed = try ParsedEnvelope(message)
        let cipher = try parsed.cipher()
        if authenticatedOnly { try requireAuthenticated(cipher) }
        let cek = try contentKey(for: credential, among: parsed.recipientInfos, cipher: cipher)
        do {
            let plaintext: [UInt8]
            switch cipher {
            case .aes128GCM, .aes256GCM:
                guard let tag = parsed.mac, parsed.iv.count == 12, tag.count == 16 else { throw CMSError.decryptionFailed }
                if let aad = parsed.authenticatedAttributes {
                    // Rare (authAttrs present): the one-shot API, which copies.
                    let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: parsed.iv), ciphertext: parsed.ciphertext, tag: tag)
                    plaintext = Array(try AES.GCM.open(box, using: cek, authenticating: aad))
                } else {
                    plaintext = try ChunkedAES.gcmOpen(parsed.ciphertext, tag: tag, key: cek, nonce: Array(parsed.iv))
                }
            case .aes128CBC, .aes256CBC:
                guard parsed.iv.count == 16 else { throw CMSError.decryptionFailed }
                plaintext = try ChunkedAES.cbcDecrypt(parsed.ciphertext, key: cek, iv: Array(parsed.iv))
            }
            return DecryptedContent(content: plaintext, contentType: parsed.contentType)
        } catch {
            throw CMSError.decryptionFailed
        }
    }
}

extension EnvelopedData {
    static func requireAuthenticated(_ cipher: ContentCipher) throws {
        switch cipher {
        case .aes128GCM, .aes256GCM: break
        case .aes128CBC, .aes256CBC:
            throw CMSError(.weakAlgorithm, "unauthenticated content encryption (AES-CBC) is refused here: AES-GCM only")
        }
    }

    /// The content-encryption key `credential` unwraps from its RecipientInfo. Not a recipient: the uniform
    /// ``CMSError/decryptionFailed``; a refused algorithm: ``CMSError/Code/weakAlgorithm``; a failed unwrap: a random
    /// key of the right size (the content's tag or padding then fails, uniformly and at the same cost).
    static func contentKey(
        for credential: Credential, among recipientInfos: [ParsedEnvelope.RecipientInfo], cipher: ContentCipher
    ) throws -> SymmetricKey {
        guard let info = recipientInfos.first(where: { $0.reference.matches(credential.certificate) }) else {
            throw CMSError.decryptionFailed
        }
        try info.checkAlgorithm()
        do {
            let cek = try info.unwrap(with: credential.key)
            guard cek.bitCount == cipher.keyLength * 8 else { throw CMSError.decryptionFailed }
            return cek
        } catch {
            return SymmetricKey(size: cipher.keyLength == 32 ? .bits256 : .bits128)
        }
    }
}

/// An EnvelopedData / AuthEnvelopedData read from DER or BER.
package struct ParsedEnvelope {
    enum KeyEncryption {
        case keyTransport(AlgorithmIdentifierValue, encryptedKey: ArraySlice<UInt8>)
        case keyAgreement(
            AlgorithmIdentifierValue, originator: ArraySlice<UInt8>?, ukm: ArraySlice<UInt8>?,
            encryptedKey: ArraySlice<UInt8>)
    }

    struct RecipientInfo {
        let reference: CertificateReference
        let method: KeyEncryption

        func checkAlgorithm() throws {
            switch method {
            case .keyTransport(let algorithm, _):
                if algorithm.algorithm == CMSOID.rsaEncryption {
                    throw CMSError(
                        .weakAlgorithm, "RSA PKCS#1 v1.5 key transport is refused (use RSA-OAEP with SHA-256)")
                }
                guard algorithm.algorithm == CMSOID.rsaesOAEP, try ParsedEnvelope.isOAEPSHA256(algorithm) else {
                    throw CMSError(.weakAlgorithm, "RSA-OAEP must use SHA-256 and MGF1-SHA-256")
                }
            case .keyAgreement(let algorithm, let originator, _, _):
                guard algorithm.algorithm == CMSOID.ecdhStdSHA256KDF else {
                    throw CMSError(.weakAlgorithm, "ECDH must use dhSinglePass-stdDH-sha256kdf-scheme")
                }
                guard try ParsedEnvelope.wrapKeyLength(algorithm) != nil else {
                    throw CMSError(.weakAlgorithm, "ECDH key wrap must be AES key wrap")
                }
                guard originator != nil else {
                    throw CMSError(.unsupported, "ECDH recipients need an ephemeral originator key")
                }
            }
        }

        func unwrap(with key: PrivateKeyMaterial) throws -> SymmetricKey {
            switch (method, key.backing) {
            case (.keyTransport(_, let encryptedKey), .rsa(let signingKey)):
                let rsa = try key.rsaDecryptionKey ?? _RSA.Encryption.PrivateKey(derRepresentation: signingKey.derRepresentation)
                return SymmetricKey(data: try rsa.decrypt(encryptedKey, padding: .PKCS1_OAEP_SHA256))
            case (.keyAgreement(let algorithm, let originator?, let ukm, let encryptedKey), .p256(let signingKey)):
                let privateKey = try P256.KeyAgreement.PrivateKey(rawRepresentation: signingKey.rawRepresentation)
                let ephemeral = try P256.KeyAgreement.PublicKey(x963Representation: originator)
                let wrap = try ParsedEnvelope.wrapKeyLength(algorithm)!
                let kek = try EnvelopedData.ecdhKEK(
                    sharedSecret: try privateKey.sharedSecretFromKeyAgreement(with: ephemeral),
                    wrapAlgorithm: wrap.oid, wrapKeyLength: wrap.length, ukm: ukm)
                return try AES.KeyWrap.unwrap(encryptedKey, using: kek)
            case (.keyAgreement(let algorithm, let originator?, let ukm, let encryptedKey), .external(let tokenKey)):
                // The token derives Z (PKCS#11 CKM_ECDH1_DERIVE, no KDF); the X9.63 KDF and the unwrap run here.
                let ephemeral = try P256.KeyAgreement.PublicKey(x963Representation: originator)
                let wrap = try ParsedEnvelope.wrapKeyLength(algorithm)!
                let kek = try EnvelopedData.ecdhKEK(
                    sharedSecretBytes: try tokenKey.sharedSecret(with: ephemeral),
                    wrapAlgorithm: wrap.oid, wrapKeyLength: wrap.length, ukm: ukm)
                return try AES.KeyWrap.unwrap(encryptedKey, using: kek)
            default:
                throw CMSError.decryptionFailed
            }
        }
    }

    let contentType: ASN1ObjectIdentifier
    let recipientInfos: [RecipientInfo]
    let contentAlgorithm: AlgorithmIdentifierValue
    let iv: ArraySlice<UInt8>
    let ciphertext: ArraySlice<UInt8>
    let mac: ArraySlice<UInt8>?
    let authenticatedAttributes: [UInt8]?

    package init(_ bytes: ArraySlice<UInt8>) throws {
        do {
            let root = try BER.parse(bytes)
            let contentInfo = try root.children()
            guard contentInfo.count == 2 else { throw ASN1Error.invalidASN1Object(reason: "ContentInfo") }
            let type = try ASN1ObjectIdentifier(berEncoded: contentInfo[0])
            guard type == CMSOID.envelopedData || type == CMSOID.authEnvelopedData else {
                throw CMSError(.unsupported, "the message is not CMS EnvelopedData or AuthEnvelopedData")
            }
            let fields = try contentInfo[1].explicit(0).children()
            var index = 1  // skip version
            if index < fields.count, fields[index].isContext(0) { index += 1 }  // originatorInfo
            guard index + 1 < fields.count else { throw ASN1Error.invalidASN1Object(reason: "short EnvelopedData") }
            recipientInfos = try fields[index].children(.set).flatMap(Self.parseRecipientInfos)
            let eci = try fields[index + 1].children()
            guard eci.count == 3 else { throw ASN1Error.invalidASN1Object(reason: "no encrypted content") }
            contentType = try ASN1ObjectIdentifier(berEncoded: eci[0])
            contentAlgorithm = try AlgorithmIdentifierValue(berEncoded: eci[1])
            guard eci[2].isContext(0) else { throw ASN1Error.invalidASN1Object(reason: "encryptedContent") }
            ciphertext = try eci[2].octets()
            var rest = fields[(index + 2)...]
            if type == CMSOID.authEnvelopedData {
                if let first = rest.first, first.isContext(1) {
                    var aad = Array(first.encodedBytes)
                    aad[0] = 0x31
                    authenticatedAttributes = aad
                    rest = rest.dropFirst()
                } else {
                    authenticatedAttributes = nil
                }
                guard let macNode = rest.first else { throw ASN1Error.invalidASN1Object(reason: "no mac") }
                mac = try macNode.octets()
            } else {
                mac = nil
                authenticatedAttributes = nil
            }
            iv = try Self.iv(of: contentAlgorithm)
        } catch let error as CMSError {
            throw error
        } catch {
            throw CMSError(.malformed, "the message is not valid CMS EnvelopedData (malformed or truncated)")
        }
    }

    /// The checks decryption makes before any key is used: the content cipher, then each recipient's algorithms.
    package func checkAlgorithms() throws {
        _ = try cipher()
        for recipient in recipientInfos { try recipient.checkAlgorithm() }
    }

    func cipher() throws -> ContentCipher { try Self.cipher(of: contentAlgorithm) }

    static func cipher(of contentAlgorithm: AlgorithmIdentifierValue) throws -> ContentCipher {
        switch contentAlgorithm.algorithm {
        case CMSOID.aes256GCM: return .aes256GCM
        case CMSOID.aes128GCM: return .aes128GCM
        case CMSOID.aes256CBC: return .aes256CBC
        case CMSOID.aes128CBC: return .aes128CBC
        default:
            if CMSOID.weakCiphers.contains(contentAlgorithm.algorithm) {
                throw CMSError(.weakAlgorithm, "DES, 3DES and RC2 content encryption are refused")
            }
            throw CMSError(.unsupported, "the content-encryption algorithm is not supported")
        }
    }

    static func iv(of algorithm: AlgorithmIdentifierValue) throws -> ArraySlice<UInt8> {
        guard let node = try algorithm.parametersNode() else { return [] }
        if node.identifier == .octetString { return try node.octets() }  // CBC: IV
        if node.identifier == .sequence {  // GCMParameters { nonce, icvLen DEFAULT 12 }
            let parts = try node.children()
            guard let nonce = parts.first else { return [] }
            return try nonce.octets()
        }
        return []
    }

    /// The recipients one RecipientInfo names: one for a KTRI, one per RecipientEncryptedKey for a KARI (they share
    /// the originator key), none for KEKRI, PWRI and ORI, which are not for certificate holders.
    static func parseRecipientInfos(_ node: ASN1Node) throws -> [RecipientInfo] {
        if node.identifier == .sequence {
            let parts = try node.children()
            guard parts.count == 4 else { throw ASN1Error.invalidASN1Object(reason: "KTRI") }
            return [RecipientInfo(
                reference: try CertificateReference(node: parts[1]),
                method: .keyTransport(try AlgorithmIdentifierValue(berEncoded: parts[2]), encryptedKey: try parts[3].octets()))]
        }
        guard node.isContext(1) else { return [] }
        let parts = try node.anyChildren()
        guard parts.count >= 4 else { throw ASN1Error.invalidASN1Object(reason: "KARI") }
        var index = 1
        let originatorChoice = try parts[index].explicit(0)
        index += 1
        var originator: ArraySlice<UInt8>?
        if originatorChoice.isContext(1) {
            let key = try originatorChoice.anyChildren()
            guard key.count == 2 else { throw ASN1Error.invalidASN1Object(reason: "originatorKey") }
            originator = try ASN1BitString(berEncoded: key[1]).bytes
        }
        var ukm: ArraySlice<UInt8>?
        if parts[index].isContext(1) {
            ukm = try parts[index].explicit(1).octets()
            index += 1
        }
        guard index + 1 < parts.count else { throw ASN1Error.invalidASN1Object(reason: "KARI") }
        let algorithm = try AlgorithmIdentifierValue(berEncoded: parts[index])
        return try parts[index + 1].children().map { encryptedKey in
            let rek = try encryptedKey.children()
            guard rek.count == 2 else { throw ASN1Error.invalidASN1Object(reason: "RecipientEncryptedKey") }
            return RecipientInfo(
                reference: try CertificateReference(node: rek[0]),
                method: .keyAgreement(algorithm, originator: originator, ukm: ukm, encryptedKey: try rek[1].octets()))
        }
    }

    static func isOAEPSHA256(_ algorithm: AlgorithmIdentifierValue) throws -> Bool {
        guard let parameters = try algorithm.parametersNode() else { return false }  // defaults are SHA-1
        var hash: ASN1ObjectIdentifier?
        var mgfHash: ASN1ObjectIdentifier?
        for node in try parameters.children() {
            if node.isContext(0) {
                hash = try AlgorithmIdentifierValue(berEncoded: try node.explicit(0)).algorithm
            } else if node.isContext(1) {
                let mgf = try AlgorithmIdentifierValue(berEncoded: try node.explicit(1))
                guard mgf.algorithm == CMSOID.mgf1 else { return false }
                mgfHash = try mgf.parametersAsAlgorithm()?.algorithm
            } else if node.isContext(2) {
                return false  // a non-empty label is not supported
            }
        }
        return hash == CMSOID.sha256 && mgfHash == CMSOID.sha256
    }

    static func wrapKeyLength(_ algorithm: AlgorithmIdentifierValue) throws -> (oid: ASN1ObjectIdentifier, length: Int)? {
        guard let wrap = try algorithm.parametersAsAlgorithm()?.algorithm else { return nil }
        switch wrap {
        case CMSOID.aes128Wrap: return (wrap, 16)
        case CMSOID.aes192Wrap: return (wrap, 24)
        case CMSOID.aes256Wrap: return (wrap, 32)
        default: return nil
        }
    }
}
