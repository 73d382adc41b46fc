package import CaduceusDocuments
package import Foundation

/// Which way a push transfer went, as this node saw it.
package enum TransferDirection: String, Sendable, Hashable, Codable {
    /// Received from another hospital (the inbox).
    case received
    /// Sent by a clinician of this hospital.
    case sent
}

/// A push transfer (DESIGN §2, flow 4) as a hospital node keeps it: in the inbox until a clinician accepts it, which
/// files its documents under a local patient. Sealed at rest: the entries name the patient.
package struct TransferRecord: Sendable, Hashable, Codable {
    /// The transfer's request id (the sender's envelope request id): unique per transfer.
    package var id: String
    /// Received or sent.
    package var direction: TransferDirection
    /// The other hospital: the sender of a received transfer, the recipient of a sent one.
    package var peer: String
    /// When it was received or sent.
    package var at: Date
    /// The sender's stated reason (referral, transfer of care), free text.
    package var reason: String
    /// The person who sent it, as the sending node names them (empty when a node sent it on its own).
    package var sentBy: String
    /// The documents' metadata as the sender described them (the patient as the sender named her).
    package var entries: [DocumentEntry]
    /// Its acceptance (nil: still in the inbox; always nil for a sent transfer).
    package var accepted: TransferAcceptance?

    /// Creates a record.
    package init(
        id: String, direction: TransferDirection, peer: String, at: Date, reason: String, sentBy: String,
        entries: [DocumentEntry], accepted: TransferAcceptance? = nil
    ) {
        self.id = id
        self.direction = direction
        self.peer = peer
        self.at = at
        self.reason = reason
        self.sentBy = sentBy
        self.entries = entries
        self.accepted = accepted
    }
}

/// How a received transfer was accepted: under which local patient, by whom, when.
package struct TransferAcceptance: Sendable, Hashable, Codable {
    /// The local patient the documents are filed under (an identity of this hospital's registry).
    package var patient: PatientIdentifier
    /// Who accepted it (the clinician's name as their assertion gives it).
    package var by: String
    /// When.
    package var at: Date
    /// Creates an acceptance.
    package init(patient: PatientIdentifier, by: String, at: Date) {
        self.patient = patient
        self.by = by
        self.at = at
    }
}

/// Writes of the transfer inbox and outbox.
package protocol TransferTransaction {
    /// Keeps a transfer. Refused with `storage.conflict` if a transfer with its id and direction is kept already.
    func saveTransfer(_ record: TransferRecord) throws(StorageError)
    /// Marks a received transfer accepted; returns it as it now stands. Refused with `storage.not-found` for no such
    /// received transfer, `storage.conflict` when it was accepted already (a second acceptance changes nothing).
    func acceptTransfer(id: String, _ acceptance: TransferAcceptance) throws(StorageError) -> TransferRecord
}

/// Reads of the transfer inbox and outbox.
package protocol TransferReader {
    /// Transfers of one direction, newest first, at most `limit`.
    func transfers(_ direction: TransferDirection, limit: Int) throws(StorageError) -> [TransferRecord]
    /// One transfer.
    func transfer(id: String, _ direction: TransferDirection) throws(StorageError) -> TransferRecord?
}
