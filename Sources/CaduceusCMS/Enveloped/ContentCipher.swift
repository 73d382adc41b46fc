/// Content-encryption algorithms. GCM variants produce AuthEnvelopedData (RFC 5083/5084); CBC variants produce
/// EnvelopedData (RFC 3565). AES-256-GCM is the default.
public enum ContentCipher: String, Sendable, CaseIterable {
    case aes256GCM = "aes-256-gcm"
    case aes128GCM = "aes-128-gcm"
    case aes256CBC = "aes-256-cbc"
    case aes128CBC = "aes-128-cbc"

    var keyLength: Int {
        switch self {
        case .aes256GCM, .aes256CBC: return 32
        case .aes128GCM, .aes128CBC: return 16
        }
    }

    /// Whether the cipher is authenticated (AuthEnvelopedData).
    public var isAuthenticated: Bool { self == .aes256GCM || self == .aes128GCM }
}
