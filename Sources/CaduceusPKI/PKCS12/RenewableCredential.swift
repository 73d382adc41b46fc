public import X509
public import Foundation
import Synchronization

/// A node's own credential while it runs: the one it signs with and presents in TLS (``current``), replaced in place
/// when its certificate is renewed, and the credentials it replaced, kept for decryption until their certificates
/// expire or for ``retention`` seconds, whichever comes first — a peer that looked the node up before the renewal
/// still encrypts to the old certificate for a few minutes (directory entries are cached 300 s).
///
/// Readers take ``current`` at the moment they use it (a TLS handshake, an envelope), so a renewal reaches every
/// door without a restart; ``generation`` grows with each replacement, for those who cache something derived from it.
public final class RenewableCredential: Sendable {
    struct State: Sendable {
        var current: Credential
        var previous: [(credential: Credential, until: Date)]
        var generation: Int
    }

    let state: Mutex<State>

    /// How long a replaced credential still decrypts (seconds).
    public let retention: TimeInterval

    /// Holds `credential`; replaced ones decrypt for `retention` seconds (default one hour).
    public init(_ credential: Credential, retention: TimeInterval = 3600) {
        state = Mutex(State(current: credential, previous: [], generation: 0))
        self.retention = retention
    }

    /// The credential to sign with and to present.
    public var current: Credential { state.withLock { $0.current } }

    /// How many times the credential was replaced.
    public var generation: Int { state.withLock { $0.generation } }

    /// Every credential that may decrypt what was sealed to this node: the current one first, then the replaced ones
    /// still inside their retention and validity at `now`.
    public func decryptors(at now: Date = Date()) -> [Credential] {
        state.withLock { s in [s.current] + s.previous.filter { $0.until > now }.map(\.credential) }
    }

    /// Puts `credential` in place; the one it replaces decrypts on until its certificate expires.
    /// - Throws: ``PKIError`` `profileViolation` when the new certificate does not name the same subject.
    public func replace(with credential: Credential, now: Date = Date()) throws {
        try state.withLock { s in
            guard credential.certificate.subject == s.current.certificate.subject else {
                throw PKIError(.profileViolation, "a renewed credential names the same subject as the one it replaces")
            }
            let until = min(now.addingTimeInterval(retention), s.current.certificate.notValidAfter)
            s.previous = ([(s.current, until)] + s.previous).filter { $0.until > now }
            s.current = credential
            s.generation += 1
        }
    }
}
