public import struct Foundation.Date

/// The source of "now" for every validity, expiry and signing-time decision. Injected so tests can fix time.
public protocol WallClock: Sendable {
    /// The current instant.
    func now() -> Date
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    /// Creates the system clock.
    public init() {}
    /// `Date()`.
    public func now() -> Date { Date() }
}
