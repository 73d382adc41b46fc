package import CaduceusStorage
package import CaduceusDocuments
package import CaduceusPKI
package import Foundation
package import X509

/// The CA a hospital node issues its cards from (a CA it hosts; its files stay where they are). The composition root
/// wraps a ``CAStore`` and the node's revocation publisher; tests may use a store directly.
package protocol CardAuthority: Sendable {
    /// What the CA may vouch for (organisations, patient domains, roles).
    func namespace() throws -> IssuerNamespace
    /// Issues a certificate; returns it with the chain above it (below the trust anchor).
    func issue(profile: IssuanceProfile, subject: DistinguishedName, publicKey: Certificate.PublicKey, now: Date) throws -> (certificate: Certificate, chain: [Certificate])
    /// Revokes (a hold for `certificateHold`).
    func revoke(serial: Certificate.SerialNumber, reason: RevocationReason, now: Date) throws
    /// Lifts a hold.
    func releaseHold(serial: Certificate.SerialNumber) throws
    /// Makes the CA's new revocation list and hands it to this node's trust and to every other node now (before the
    /// operation answers), instead of at the publisher's next look.
    func publish() async
}

/// `staff.import`: an HR export (CSV, see ``PersonnelImport``).
package struct StaffImportRequest: Codable, Sendable {
    package var csv: String
    package init(csv: String) { self.csv = csv }
}

/// What an import changed.
package struct StaffImportResponse: Codable, Sendable, Equatable {
    package var added: Int
    package var updated: Int
    package var unchanged: Int
    /// Staff whose affiliation the file ended.
    package var deactivated: Int
    /// Cards revoked because their holder's affiliation ended.
    package var cardsTerminated: Int
    package init(added: Int, updated: Int, unchanged: Int, deactivated: Int, cardsTerminated: Int) {
        self.added = added
        self.updated = updated
        self.unchanged = unchanged
        self.deactivated = deactivated
        self.cardsTerminated = cardsTerminated
    }
}

/// `staff.list`.
package struct StaffListRequest: Codable, Sendable {
    /// Include staff whose affiliation ended.
    package var includeInactive: Bool
    package init(includeInactive: Bool = false) { self.includeInactive = includeInactive }
}

/// `card.enroll`: a card for a staff member (from the personnel registry, in one of their roles) or for a patient
/// (from this hospital's patient registry).
package struct CardEnrollRequest: Codable, Sendable {
    package var staffId: String?
    package var role: String?
    package var patient: PatientIdentifier?
    package init(staffId: String, role: String) {
        self.staffId = staffId
        self.role = role
    }
    package init(patient: PatientIdentifier) { self.patient = patient }
}

/// `card.action`: a move of the card lifecycle (``CardLifecycle/Action``). `issue`, `lost` and `renew` make a
/// certificate: for the public key of `csr` (PKCS#10 PEM, from a token) when given, else for a key the node generates
/// and hands over once as a PKCS#12 under a one-time password.
///
/// With `check`, the service decides whether this person may make this move on this card now (role, organisation,
/// four eyes, the lifecycle, an active holder), audits that question, and changes nothing: what a card station with
/// an encoder asks before it touches a token.
package struct CardActionRequest: Codable, Sendable {
    package var card: String
    package var action: CardLifecycle.Action
    package var csr: String?
    package var check: Bool?
    package init(card: String, action: CardLifecycle.Action, csr: String? = nil, check: Bool = false) {
        self.card = card
        self.action = action
        self.csr = csr
        self.check = check ? true : nil
    }
}

/// A card as issued: the certificate with its chain, and (when the node made the key) the PKCS#12 and its one-time
/// password, shown once and kept nowhere; for a patient card, the emergency data set signed by this node.
package struct IssuedCard: Codable, Sendable {
    /// The card's certificate and the chain above it, PEM.
    package var certificateChain: String
    package var pkcs12: Data?
    package var password: String?
    /// CMS SignedData (DER) over the ``EmergencyDataSet`` JSON: the data object of a patient card.
    package var emergencyDataSet: Data?
}

/// The answer to `card.action`: the card as it now stands, what was issued, and the replacement (lost, renew).
package struct CardActionResponse: Codable, Sendable {
    package var card: CardRecord
    package var issued: IssuedCard?
    package var replacement: CardRecord?
}

/// `card.list`: the cards of this node's registry, one card, or the cards of one holder.
package struct CardListRequest: Codable, Sendable {
    package var card: String?
    package var staffId: String?
    package init(card: String? = nil, staffId: String? = nil) {
        self.card = card
        self.staffId = staffId
    }
}
