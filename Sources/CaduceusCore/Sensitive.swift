/// A value that must never appear in logs, error messages or descriptions: PHI, passwords, key material.
///
/// `description` and `debugDescription` print `<redacted>`; the value is reachable only through
/// ``unsafeValue``, whose name makes every use stand out in review.
public struct Sensitive<Value: Sendable>: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The wrapped value. Read it only where it is needed for the operation itself.
    public let unsafeValue: Value

    /// Wraps a value.
    public init(_ value: Value) { self.unsafeValue = value }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }
}

extension Sensitive: Equatable where Value: Equatable {}
extension Sensitive: Hashable where Value: Hashable {}
