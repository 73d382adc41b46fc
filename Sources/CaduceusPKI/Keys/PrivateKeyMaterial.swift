public import Crypto
public import CryptoExtras
public import X509
import SwiftASN1
import Foundation

/// A private key the PKI can sign with and a CMS recipient can decrypt with: P-256 or RSA (≥ 2048 bits) in memory, or a
/// P-256 key on a token (``ExternalP256Key``, e.g. PKCS#11) that never leaves it.
///
/// Serialised as PKCS#8 (`PRIVATE KEY`); SEC1 (`EC PRIVATE KEY`) and PKCS#1 (`RSA PRIVATE KEY`) are accepted on
/// input, so keys written by OpenSSL load as they are. A token key cannot be serialised (`pki.key-not-exportable`), nor
/// sign certificates or CRLs through swift-certificates (``certificateKey``): it signs CMS (``cmsSignature(for:)``),
/// JWS and TLS handshakes. `description` never shows key material.
public struct PrivateKeyMaterial: Sendable, CustomStringConvertible {
    /// The concrete key.
    public enum Backing: Sendable {
        /// A P-256 key.
        case p256(P256.Signing.PrivateKey)
        /// An RSA key.
        case rsa(_RSA.Signing.PrivateKey)
        /// A P-256 key held outside the process (a PKCS#11 token): it signs and derives there, and is never exported.
        case external(any ExternalP256Key)
    }

    /// The concrete key.
    public let backing: Backing

    /// For RSA: the same key as an OAEP decryption key, made once (parsing it per use cost more than the
    /// decryption itself).
    public var rsaDecryptionKey: _RSA.Encryption.PrivateKey? { rsaDecryption?.key }
    let rsaDecryption: RSADecryptionBox?

    /// Wraps a concrete key, refusing RSA keys under 2048 bits.
    public init(_ backing: Backing) throws {
        if case .rsa(let key) = backing, key.keySizeInBits < 2048 {
            throw PKIError(.weakAlgorithm, "RSA keys must be at least 2048 bits")
        }
        self.backing = backing
        if case .rsa(let key) = backing {
            rsaDecryption = RSADecryptionBox(key: try _RSA.Encryption.PrivateKey(derRepresentation: key.derRepresentation))
        } else {
            rsaDecryption = nil
        }
    }

    /// Generates a fresh key.
    public static func generate(_ algorithm: KeyAlgorithm) throws -> PrivateKeyMaterial {
        switch algorithm {
        case .p256: return try PrivateKeyMaterial(.p256(P256.Signing.PrivateKey()))
        case .rsa2048: return try PrivateKeyMaterial(.rsa(_RSA.Signing.PrivateKey(keySize: .bits2048)))
        case .rsa3072: return try PrivateKeyMaterial(.rsa(_RSA.Signing.PrivateKey(keySize: .bits3072)))
        }
    }

    /// Parses a PEM private key: PKCS#8, SEC1 or PKCS#1.
    public init(pemEncoded pem: String) throws {
        // A file may hold several blocks (OpenSSL's `pkcs12 -nodes` output, a key next to its certificate): take the
        // first private key.
        let keyTypes: Set<String> = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]
        guard let documents = try? PEMDocument.parseMultiple(pemString: pem), !documents.isEmpty else {
            throw PKIError(.malformed, "the private key is not a PEM document")
        }
        guard let document = documents.first(where: { keyTypes.contains($0.discriminator) }) else {
            throw PKIError(.malformed, "the PEM text holds no private key")
        }
        switch document.discriminator {
        case "PRIVATE KEY": try self.init(pkcs8DER: document.derBytes)
        case "EC PRIVATE KEY":
            do { try self.init(.p256(P256.Signing.PrivateKey(derRepresentation: document.derBytes))) } catch {
                throw PKIError(.unsupportedKey, "the EC private key is not a P-256 key")
            }
        case "RSA PRIVATE KEY":
            do { try self.init(.rsa(_RSA.Signing.PrivateKey(derRepresentation: document.derBytes))) } catch
                let e as PKIError { throw e } catch {
                throw PKIError.unparseableKey(document.derBytes)
            }
        case "ENCRYPTED PRIVATE KEY":
            throw PKIError(.unsupportedKey, "encrypted PEM keys are not read; use a PKCS#12 file with a password")
        default:
            throw PKIError(.malformed, "the PEM block is not a private key")
        }
    }

    /// Parses a PKCS#8 PrivateKeyInfo (RFC 5208).
    public init(pkcs8DER der: [UInt8]) throws {
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(derBytes: der) } catch {
            throw PKIError.unparseableKey(der)
        }
        try self.init(certificateKey: key)
    }

    /// Wraps a swift-certificates private key (P-256 or RSA only).
    public init(certificateKey key: Certificate.PrivateKey) throws {
        if let p256 = try? P256.Signing.PrivateKey(derRepresentation: Self.pkcs8(of: key)) {
            try self.init(.p256(p256))
        } else if let rsa = try? _RSA.Signing.PrivateKey(derRepresentation: Self.pkcs8(of: key)) {
            try self.init(.rsa(rsa))
        } else {
            throw PKIError(.unsupportedKey, "only P-256 and RSA keys are supported")
        }
    }

    private static func pkcs8(of key: Certificate.PrivateKey) throws -> [UInt8] {
        try key.serializeAsPEM().derBytes
    }

    /// PKCS#8 PrivateKeyInfo DER. Throws `pki.key-not-exportable` for a key on a token.
    public var pkcs8DER: [UInt8] {
        get throws {
            switch backing {
            case .p256(let k): return Array(k.derRepresentation)
            case .rsa(let k): return Array(k.pkcs8DERRepresentation)
            case .external: throw Self.notExportable
            }
        }
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Throws `pki.key-not-exportable` for a key on a token.
    public var pkcs8PEM: String {
        get throws { PEMDocument(type: "PRIVATE KEY", derBytes: try pkcs8DER).pemString + "\n" }
    }

    /// The key as swift-certificates uses it for signing (certificates, CRLs). A key on a token has none: it cannot
    /// be a CA key here (`pki.key-not-exportable`).
    public var certificateKey: Certificate.PrivateKey {
        get throws {
            switch backing {
            case .p256(let k): return Certificate.PrivateKey(k)
            case .rsa(let k): return Certificate.PrivateKey(k)
            case .external: throw Self.notExportable
            }
        }
    }

    /// Whether the key lives outside the process (a token).
    public var isExternal: Bool {
        if case .external = backing { return true }
        return false
    }

    private static var notExportable: PKIError {
        PKIError(.keyNotExportable, "the key is on a token: it cannot be exported or used outside the token's operations")
    }

    /// The matching public key.
    public var publicKey: Certificate.PublicKey {
        switch backing {
        case .p256(let k): return Certificate.PublicKey(k.publicKey)
        case .rsa(let k): return Certificate.PublicKey(k.publicKey)
        case .external(let k): return Certificate.PublicKey(k.publicKey)
        }
    }

    /// Signs `bytes` with ``signatureAlgorithm`` and returns the signature as CMS (RFC 5652 §5.3 SignatureValue) and
    /// X.509 carry it: a DER `Ecdsa-Sig-Value` for ECDSA (RFC 5480 §2.2 / RFC 5758 §3.2), the PKCS#1 v1.5 block for RSA.
    /// A token key hashes here and signs the digest on the token.
    public func cmsSignature(for bytes: [UInt8]) throws -> [UInt8] {
        switch backing {
        case .external(let k):
            return Array(try k.signature(forDigest: SHA256.hash(data: bytes)).derRepresentation)
        case .p256, .rsa:
            return try certificateKey.sign(bytes: bytes, signatureAlgorithm: signatureAlgorithm).rawRepresentation
        }
    }

    /// The signature algorithm this key signs certificates, CRLs and CMS with: ECDSA-SHA256 or RSA-SHA256 (PKCS#1 v1.5,
    /// as RFC 8551 and OpenSSL use by default).
    public var signatureAlgorithm: Certificate.SignatureAlgorithm {
        switch backing {
        case .p256, .external: return .ecdsaWithSHA256
        case .rsa: return .sha256WithRSAEncryption
        }
    }

    /// Which algorithm family this key is.
    public var algorithmName: String {
        switch backing {
        case .p256: return "P-256"
        case .rsa(let k): return "RSA-\(k.keySizeInBits)"
        case .external: return "P-256 (token)"
        }
    }

    public var description: String { "PrivateKeyMaterial(\(algorithmName), <redacted>)" }
}

/// `@unchecked Sendable`: swift-crypto does not mark `_RSA.Encryption.PrivateKey` Sendable, but it is an immutable
/// wrapper of a BoringSSL `RSA` object, whose private-key operations are safe to run concurrently (BoringSSL locks its
/// blinding and Montgomery caches) — the same object `_RSA.Signing.PrivateKey`, which is Sendable, wraps.
final class RSADecryptionBox: @unchecked Sendable {
    let key: _RSA.Encryption.PrivateKey
    init(key: _RSA.Encryption.PrivateKey) { self.key = key }
}
