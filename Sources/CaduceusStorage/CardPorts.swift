package import struct Foundation.Date

/// A member of a hospital's staff as its personnel registry holds them (imported from HR, or entered at the admin
/// station): the source of staff card enrolment. Sealed at rest like every record naming a person.
package struct StaffMember: Sendable, Hashable, Codable {
    /// The HR employee number, unique at the hospital.
    package var id: String
    package var family: String
    package var given: String
    /// The organisation (the hospital's node id).
    package var organization: String
    package var department: String
    /// The functional roles the person may hold on a card (`physician`, `nurse`, `administrative`…).
    package var roles: [String]
    package var email: String
    /// `false` once the affiliation ended (terminated in HR): no card is issued to them, and their cards are revoked.
    package var active: Bool
    /// When the record last changed, and how (`hr-import`, `station`).
    package var updated: Date
    package var source: String

    /// Creates a record.
    package init(id: String, family: String, given: String, organization: String, department: String, roles: [String], email: String, active: Bool, updated: Date, source: String) {
        self.id = id
        self.family = family
        self.given = given
        self.organization = organization
        self.department = department
        self.roles = roles
        self.email = email
        self.active = active
        self.updated = updated
        self.source = source
    }

    /// The name as a card prints it (`Given Family`).
    package var displayName: String { [given, family].filter { !$0.isEmpty }.joined(separator: " ") }
}

/// Where a card is in its life (the card station's states). See `CardLifecycle` in CaduceusExchange for the moves.
package enum CardStatus: String, Sendable, Codable, CaseIterable {
    /// Enrolled: asked for, waiting for an administrator's approval.
    case requested
    /// Approved: may be issued.
    case approved
    /// Refused at approval (final).
    case rejected
    /// Issued and valid.
    case issued
    /// On hold (certificateHold): refused everywhere until unblocked.
    case blocked
    /// Reported lost: revoked (keyCompromise) for good; a replacement is issued under a new key.
    case lost
    /// Affiliation ended: revoked (affiliationChanged) for good.
    case terminated
    /// Renewed: revoked (superseded) once its successor was issued.
    case superseded
}

/// One step in a card's life, as the card record keeps it (the audit trail has the same step as an event).
package struct CardEvent: Sendable, Hashable, Codable {
    /// `enroll`, `approve`, `reject`, `issue`, `block`, `unblock`, `lost`, `terminate`, `renew`.
    package var action: String
    /// Who did it (the signed-in person's name, or `hr-import`).
    package var by: String
    package var at: Date
    /// Who acted, as a stable key (`staff:<employee id>` for a card of the registry, else `cn:<CN>`): four eyes
    /// compare these, not display names.
    package var actor: String?
    package init(action: String, by: String, at: Date, actor: String? = nil) {
        self.action = action
        self.by = by
        self.at = at
        self.actor = actor
    }
}

/// A smart card (or PKCS#12 "soft card") of a staff member or a patient, from enrolment to its end. Sealed at rest: a
/// patient card names the patient by their hospital identifier.
package struct CardRecord: Sendable, Hashable, Codable {
    /// A fresh id (UUID, lower case).
    package var id: String
    /// `staff` or `patient`.
    package var holderKind: String
    /// The staff member's employee number, or the patient's identifier as `id^^^&authority&ISO`.
    package var holder: String
    /// The card's common name: the staff member's name; for a patient, their identifier (never their name).
    package var commonName: String
    /// The functional role on a staff card (`""` for a patient card).
    package var role: String
    /// The home organisation (the issuing hospital's node id).
    package var organization: String
    package var status: CardStatus
    /// The certificate's serial (hex) once issued.
    package var serial: String?
    /// The issuing CA's subject, once issued.
    package var issuer: String?
    package var notAfter: Date?
    /// The card this one replaces (lost or renewed), and the card that replaced it.
    package var replaces: String?
    package var replacedBy: String?
    /// Where the key lives: `node-generated` (a PKCS#12 handed over once) or `holder` (a CSR from a token).
    package var keyOrigin: String?
    /// Every step, oldest first.
    package var history: [CardEvent]

    /// Creates an enrolment.
    package init(id: String, holderKind: String, holder: String, commonName: String, role: String, organization: String, status: CardStatus, history: [CardEvent]) {
        self.id = id
        self.holderKind = holderKind
        self.holder = holder
        self.commonName = commonName
        self.role = role
        self.organization = organization
        self.status = status
        self.history = history
    }
}

/// Writes of the personnel registry and the card registry.
package protocol CardTransaction {
    /// Adds or replaces a staff member (by id).
    func saveStaff(_ member: StaffMember) throws(StorageError)
    /// One staff member, in this unit of work.
    func staffMember(id: String) throws(StorageError) -> StaffMember?
    /// Adds or replaces a card record (by id).
    func saveCard(_ card: CardRecord) throws(StorageError)
    /// One card, in this unit of work.
    func card(id: String) throws(StorageError) -> CardRecord?
    /// Every card, in this unit of work (oldest enrolment first).
    func cards() throws(StorageError) -> [CardRecord]
}

/// Reads of the personnel registry and the card registry.
package protocol CardReader {
    /// Every staff member, by id.
    func staff() throws(StorageError) -> [StaffMember]
    func staffMember(id: String) throws(StorageError) -> StaffMember?
    /// Every card, oldest enrolment first.
    func cards() throws(StorageError) -> [CardRecord]
    func card(id: String) throws(StorageError) -> CardRecord?
}
