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

/// A module's stable error code: a dotted string (`pki.revoked`). Each module declares its own `Code` type with
/// static members, so codes of different modules cannot be mixed up.
public protocol ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The code as text.
    var rawValue: String { get }
}

extension ErrorCode {
    /// The code as text.
    public var description: String { rawValue }
}

/// The shape every module error shares (STYLE.md §3): a typed code (`kind`), a PHI-free message, equality by code.
public protocol CodedError: CaduceusError, Equatable {
    /// The module's code type.
    associatedtype Code: ErrorCode
    /// What went wrong, as a code.
    var kind: Code { get }
}

extension CodedError {
    /// `kind` as text.
    public var code: String { kind.rawValue }

    /// Errors are equal when their codes are: messages may vary in detail.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.kind == rhs.kind }
}
