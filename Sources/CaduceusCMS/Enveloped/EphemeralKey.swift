import CaduceusPKI
import Crypto

/// A fresh P-256 key-agreement key for one envelope (ephemeral-static ECDH, RFC 5753 §3.1.1).
///
/// swift-crypto's generating initialiser runs BoringSSL's FIPS pairwise-consistency check on every key it makes (an
/// ECDSA signature and its verification, about 90 µs, once per envelope sealed). The same distribution comes without
/// that check from 32 bytes of kernel randomness taken as the scalar: BoringSSL refuses a scalar outside [1, n−1]
/// (probability about 2⁻³²), and another is drawn — rejection sampling, so the key stays uniform. The algorithm and
/// the wire format are unchanged.
func ephemeralAgreementKey() -> P256.KeyAgreement.PrivateKey {
    // 64 draws all out of range has probability 2⁻²⁰⁴⁸: a failure that persists is a broken generator, not chance.
    for _ in 0..<64 {
        var scalar = randomBytes(32)
        defer { scalar.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        if let key = try? P256.KeyAgreement.PrivateKey(rawRepresentation: scalar) { return key }
    }
    fatalError("no valid P-256 scalar from the kernel's generator in 64 draws")
}
