public import Crypto

/// A P-256 private key held outside this process — on a PKCS#11 token, a smart card or an HSM — that signs and agrees
/// keys where it lives and is never exported. `CaduceusPKCS11` provides one (`PKCS11TokenKey`); wrapped in
/// ``PrivateKeyMaterial/Backing/external(_:)`` it signs CMS, JWS and TLS handshakes and decrypts CMS key agreement
/// recipients like a key in memory.
///
/// Implementations must be safe to call from several tasks at once (a token session serialises its own operations),
/// and their errors must carry no key material, PIN or content.
public protocol ExternalP256Key: Sendable {
    /// The public half, read from the token.
    var publicKey: P256.Signing.PublicKey { get }
    /// Where the key lives, for messages and listings (a token label and key id): never key material or a PIN.
    var location: String { get }
    /// ECDSA over a SHA-256 digest the caller computed (PKCS#11 `CKM_ECDSA` signs exactly the digest it is given;
    /// FIPS 186-4 §6.4).
    func signature(forDigest digest: SHA256Digest) throws -> P256.Signing.ECDSASignature
    /// Elliptic-curve Diffie–Hellman with `peer` (SEC 1 §3.3.1, cofactor 1 for P-256): the shared secret Z, the
    /// x-coordinate of the product, 32 bytes — what the X9.63 KDF of RFC 5753 takes.
    func sharedSecret(with peer: P256.KeyAgreement.PublicKey) throws -> [UInt8]
}
