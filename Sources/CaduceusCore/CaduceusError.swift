/// What every Caduceus error exposes: a stable machine-readable code and a message free of PHI and key material.
///
/// Each module has one error struct conforming to this protocol (`PKIError`, `CMSError`, …). Equality is by code;
/// the message names the rule that was broken and never echoes request data.
public protocol CaduceusError: Error, CustomStringConvertible, Sendable {
    /// Stable code, e.g. `cms.decryption-failed`. Safe to log and to show to users; tests match on it.
    var code: String { get }
    /// One line naming the rule that was broken. Contains no PHI, no secrets, no stack trace.
    var message: String { get }
    /// What kind of failure it is, for every door to map to its own wire form (HTTP status, HL7 ERR, …).
    var category: ErrorCategory { get }
}

/// The kinds of failure every door maps exhaustively (HTTP: 400, 401, 403, 404, 409, 413, 502, 500): a client's
/// mistake is never reported as a gateway error.
public enum ErrorCategory: String, Sendable, Codable, CaseIterable {
    /// The request is malformed or breaks a rule (bad input, refused algorithm, wrong route).
    case client
    /// Who is asking could not be established (signature, certificate, assertion).
    case unauthenticated
    /// Known, and not allowed (policy, consent, namespace).
    case forbidden
    /// What was asked for does not exist here.
    case notFound = "not-found"
    /// It clashes with what exists (duplicate id, replayed request, invalid transition).
    case conflict
    /// The request is larger than this door accepts.
    case tooLarge = "too-large"
    /// Another node failed or could not be reached.
    case upstream
    /// This node failed (storage, keys): retry later.
    case `internal`
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
    /// The code's category (most codes name a client's mistake; those that do not say so).
    var category: ErrorCategory { get }
}

extension ErrorCode {
    /// The code as text.
    public var description: String { rawValue }
    /// Unless a module says otherwise: the client's mistake.
    public var category: ErrorCategory { .client }
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
    /// `kind`'s category.
    public var category: ErrorCategory { kind.category }

    /// Errors are equal when their codes are: messages may vary in detail.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.kind == rhs.kind }
}
