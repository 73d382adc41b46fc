/// What every Caduceus error exposes: a stable machine-readable code and a message free of PHI and key material.
///
/// Each module has one error struct conforming to this protocol (`PKIError`, `CMSError`, …). Equality is by code;
/// the message names the rule that was broken and never echoes request data.
public protocol CaduceusError: Error, CustomStringConvertible, Sendable {
    /// Stable code, e.g. `cms.decryption-failed`. Safe to log and to show to users; tests match on it.
    var code: String { get }
    /// One line naming the rule that was broken. Contains no PHI, no secrets, no stack trace.
    var message: String { get }
}

extension CaduceusError {
    /// `code: message`, the one-line form the CLI prints.
    public var description: String { "\(code): \(message)" }
}
