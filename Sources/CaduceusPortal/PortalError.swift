package import CaduceusCore

/// The portal door's own refusals (before or around the gate); the gate's errors pass through as they are.
package struct PortalError: CaduceusError {
    /// A stable code (`portal.*`) and its category.
    package struct Code: Sendable, Equatable {
        package let rawValue: String
        package let category: ErrorCategory
        /// The connection presented no federation card.
        package static let noCard = Code(rawValue: "portal.no-card", category: .unauthenticated)
        /// A POST without this session's (or, before sign-in, this card's) form token.
        package static let csrf = Code(rawValue: "portal.csrf", category: .forbidden)
        /// The session cookie was opened with another certificate.
        package static let sessionNotYours = Code(rawValue: "portal.session-not-yours", category: .forbidden)
        /// No session: the page redirects to the entry page.
        package static let signInFirst = Code(rawValue: "portal.sign-in-first", category: .unauthenticated)
        /// A handle this session does not hold.
        package static let notFound = Code(rawValue: "portal.not-found", category: .notFound)
        /// A form the portal cannot take.
        package static let badRequest = Code(rawValue: "portal.bad-request", category: .client)
        /// The card station was asked to issue onto a token, and this node has no card encoder.
        package static let noCardEncoder = Code(rawValue: "portal.no-card-encoder", category: .notFound)
        /// Anything else (no detail shown).
        package static let `internal` = Code(rawValue: "portal.internal", category: .internal)
    }
    package let kind: Code
    package let message: String
    package var code: String { kind.rawValue }
    package var category: ErrorCategory { kind.category }
    package var description: String { "\(code): \(message)" }
    package init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
