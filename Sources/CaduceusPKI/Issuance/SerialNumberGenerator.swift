public import X509

/// Certificate serial numbers: 127 random bits (RFC 5280 §4.1.2.2 allows 20 octets; CA/B requires ≥ 64 bits of
/// entropy), always positive, never zero. Uniqueness per CA is enforced by ``CAStore``, which records every serial
/// before the certificate carrying it exists.
public enum SerialNumberGenerator {
    /// A fresh random serial.
    public static func random<R: RandomNumberGenerator>(using rng: inout R) -> Certificate.SerialNumber {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[0] &= 0x7f  // positive
        if bytes[0] == 0 { bytes[0] = 0x01 }  // minimal DER and full length: ≥ 120 bits of randomness remain
        return Certificate.SerialNumber(bytes: bytes[...])
    }

    /// A fresh random serial from the system generator.
    public static func random() -> Certificate.SerialNumber {
        var rng = SystemRandomNumberGenerator()
        return random(using: &rng)
    }
}
