package import CaduceusStorage
package import CaduceusPKI

/// The card station's moves (MIX's card lifecycle), as a pure table: where a card may go from where it is, and what
/// the issuing CA must do. The service applies the CA action, then records the new status; a move the table does not
/// allow is refused with `exchange.invalid-transition` and changes nothing.
///
/// ```
/// requested ──approve──▶ approved ──issue──▶ issued ◀──unblock── blocked
///     │                                        │ │ │ └──block──────▲ │
///     └──reject──▶ rejected                    │ │ └─renew─▶ superseded (successor issued, old revoked: superseded)
///                                              │ └──lost────▶ lost (revoked: keyCompromise; replacement issued)
///                    issued/blocked ──terminate─▶ terminated (revoked: affiliationChanged, for good)
/// ```
package enum CardLifecycle {
    /// A move.
    package enum Action: String, Sendable, Codable, CaseIterable {
        case approve, reject, issue, block, unblock, lost, terminate, renew
    }

    /// What the issuing CA does for a move.
    package enum AuthorityAction: Sendable, Equatable {
        /// Nothing (approval, rejection).
        case none
        /// Issue a certificate for the card.
        case issue
        /// Revoke with this reason (a hold for `block`).
        case revoke(RevocationReason)
        /// Lift the hold.
        case releaseHold
    }

    /// Where `action` takes a card in `status`, and what the CA must do; nil when the move is not allowed.
    package static func move(_ status: CardStatus, _ action: Action) -> (CardStatus, AuthorityAction)? {
        switch (status, action) {
        case (.requested, .approve): return (.approved, .none)
        case (.requested, .reject): return (.rejected, .none)
        case (.approved, .issue): return (.issued, .issue)
        case (.issued, .block): return (.blocked, .revoke(.certificateHold))
        case (.blocked, .unblock): return (.issued, .releaseHold)
        case (.issued, .lost), (.blocked, .lost): return (.lost, .revoke(.keyCompromise))
        case (.issued, .terminate), (.blocked, .terminate): return (.terminated, .revoke(.affiliationChanged))
        // Renewal: the successor is issued first; the old card is then revoked as superseded.
        case (.issued, .renew): return (.superseded, .revoke(.superseded))
        // An enrolment not yet issued can be withdrawn when the affiliation ends.
        case (.requested, .terminate), (.approved, .terminate): return (.terminated, .none)
        default: return nil
        }
    }

    /// Whether a card in `status` is out for good (no move leads anywhere but nowhere).
    package static func isFinal(_ status: CardStatus) -> Bool {
        Action.allCases.allSatisfy { move(status, $0) == nil }
    }
}
