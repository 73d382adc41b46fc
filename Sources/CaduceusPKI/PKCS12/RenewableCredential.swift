public import X509
public import Foundation
import Synchronization

/// A node's own credential while it runs: the one it signs with and presents in TLS (``current``), replaced in place
/// when its certificate is renewed, and the credentials it replaced, kept for decryption until their certificates
/// expire — a peer that looked the node up before the renewal still encrypts to the old certificate.
///
/// Readers take ``current`` at the moment they use it (a TLS handshake, an envelope), so a renewal reaches every
/// door without a restart; ``generation`` grows with each replacement, for those who cache something derived from it.
public final class RenewableCredential: Sendable {
    struct State: Sendable {
        var current: Credential
        var previous: [Credential]
        var generation: Int
    }

    let state: Mutex<State>

    /// Holds `credential`.
    public init(_ credential: Credential) {
        state = Mutex(State(current: credential, previous: [], generation: 0))
    }

    /// The credential to sign with and to present.
    public var current: Credential { state.withLock { $0.current } }

    /// How many times the credential was replaced.
    public var generation: Int { state.withLock { $0.generation } }

    /// Every credential that may decrypt what was sealed to this node: the current one first, then the replaced ones
    /// whose certificates have not expired at `now`.
    public func decryptors(at now: Date = Date()) -> [Credential] {
        state.withLock { s in [s.current] + s.previous.filter { $0.certificate.notValidAfter > now } }
    }

    /// Puts `credential` in place; the one it replaces decrypts on until its certificate expires.
    /// - Throws: ``PKIError`` `profileViolation` when the new certificate does not name the same subject.
    public func replace(with credential: Credential, now: Date = Date()) throws {
        try state.withLock { s in
            guard credential.certificate.subject == s.current.certificate.subject else {
                throw PKIError(.profileViolation, "a renewed credential names the same subject as the one it replaces")
            }
            s.previous = ([s.current] + s.previous).filter { $0.certificate.notValidAfter > now }
            s.current = credential
            s.generation += 1
        }
    }
}
