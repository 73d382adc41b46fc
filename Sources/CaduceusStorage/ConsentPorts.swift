package import CaduceusPolicy
package import struct Foundation.Date

/// A break-glass (emergency override) sign-in as the node it was used at records it: who, which assertion, when it
/// started and ends, how often it was used, and its review by the privacy officer. The declared reason is kept only
/// at the node it was declared at (sealed at rest: free text may name the patient's condition).
package struct EmergencyAccess: Sendable, Hashable, Codable {
    /// The assertion's id (`jti`).
    package var id: String
    /// The person (card CN).
    package var subject: String
    package var role: String
    /// The node that issued the emergency sign-in.
    package var declaredAt: String
    /// The reason given (empty at nodes other than `declaredAt`).
    package var reason: String
    package var started: Date
    /// When the emergency sign-in lapses (access ends by itself then).
    package var expires: Date
    /// When it was ended early (sign-out).
    package var ended: Date?
    package var uses: Int
    package var lastUse: Date?
    package var reviewed: Date?
    package var reviewer: String?
    package var reviewNote: String?

    package init(id: String, subject: String, role: String, declaredAt: String, reason: String, started: Date, expires: Date) {
        self.id = id
        self.subject = subject
        self.role = role
        self.declaredAt = declaredAt
        self.reason = reason
        self.started = started
        self.expires = expires
        self.uses = 0
    }

    /// Whether access is still open at `time`.
    package func isOpen(at time: Date) -> Bool { ended == nil && time < expires }
}

/// Writes of the consent registry and the emergency-access review queue.
package protocol ConsentTransaction {
    /// Records a consent; `storage.conflict` if its id is already recorded.
    func saveConsent(_ record: ConsentRecord) throws(StorageError)
    /// A consent as it stands in this transaction.
    func consent(id: String) throws(StorageError) -> ConsentRecord?
    /// Marks a consent revoked (the first revocation stands); `false` if there is no such consent.
    func revokeConsent(id: String, at: Date, by: String, statement: String) throws(StorageError) -> Bool
    /// Records an emergency sign-in, or a use of one (creating the entry at a node that did not issue it).
    func noteEmergencyAccess(_ access: EmergencyAccess, useAt: Date?) throws(StorageError)
    /// Ends an emergency sign-in early (sign-out).
    func endEmergencyAccess(id: String, at: Date) throws(StorageError)
    /// One review-queue entry, in this unit of work.
    func emergencyAccess(id: String) throws(StorageError) -> EmergencyAccess?
    /// Records the privacy officer's review; `false` if there is no such entry.
    func reviewEmergencyAccess(id: String, reviewer: String, note: String, at: Date) throws(StorageError) -> Bool
}

/// Reads of the consent registry and the review queue.
package protocol ConsentReader {
    /// A patient's consents (by global id), oldest first.
    func consents(patientId: String) throws(StorageError) -> [ConsentRecord]
    func consent(id: String) throws(StorageError) -> ConsentRecord?
    /// Emergency accesses, newest first; `unreviewedOnly` gives the review queue.
    func emergencyAccesses(unreviewedOnly: Bool) throws(StorageError) -> [EmergencyAccess]
}
