/// The key types the federation issues for. P-256 is the default; RSA on request for legacy peers.
public enum KeyAlgorithm: String, CaseIterable, Sendable, Codable {
    /// ECDSA / ECDH on NIST P-256 (secp256r1).
    case p256
    /// RSA with a 2048-bit modulus.
    case rsa2048
    /// RSA with a 3072-bit modulus.
    case rsa3072
}
