public import struct Foundation.UUID

/// OIDs under the UUID arc (ITU-T X.667): `2.25.` followed by a random UUID as a decimal integer — globally unique
/// without registration. Used for document, submission-set and assigning-authority ids.
public enum UUIDOID {
    /// A fresh `2.25.…` OID.
    public static func make() -> String { "2.25." + decimal(UUID()) }

    /// The UUID's 128 bits as a decimal integer.
    public static func decimal(_ uuid: UUID) -> String {
        let u = uuid.uuid
        var n = [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
        var digits: [Character] = []
        while n.contains(where: { $0 != 0 }) {
            var rem = 0
            for i in n.indices {
                let v = rem * 256 + Int(n[i])
                n[i] = UInt8(v / 10)
                rem = v % 10
            }
            digits.append(Character(String(rem)))
        }
        return digits.isEmpty ? "0" : String(digits.reversed())
    }
}
