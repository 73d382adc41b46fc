package import CaduceusDocuments
package import CaduceusStorage
package import Foundation

/// `user.transfers`: the transfers this hospital received (the inbox, newest first) and sent.
package struct TransfersRequest: Codable, Sendable {
    package var limit: Int
    package init(limit: Int = 50) { self.limit = limit }
}

/// The answer to `user.transfers`.
package struct TransfersResponse: Codable, Sendable {
    package var received: [InboxTransfer]
    package var sent: [TransferRecord]
    package init(received: [InboxTransfer], sent: [TransferRecord]) {
        self.received = received
        self.sent = sent
    }
}

/// A received transfer with where accepting it would file it: the local patient the regional MPI links to the
/// patient the sender named (nil: no link — the clinician chooses one of this hospital's patients).
package struct InboxTransfer: Codable, Sendable {
    package var transfer: TransferRecord
    /// Entries above the clinician's ceiling are not shown (only counted).
    package var withheld: Int
    package var linkedPatient: PatientIdentifier?
    /// Why the link could not be looked up (the regional MPI's error code), PHI-free; nil when it was.
    package var linkError: String?
    package init(transfer: TransferRecord, withheld: Int, linkedPatient: PatientIdentifier?, linkError: String? = nil) {
        self.transfer = transfer
        self.withheld = withheld
        self.linkedPatient = linkedPatient
        self.linkError = linkError
    }
}

/// `user.transfer.accept`: file a received transfer's documents under a local patient — the one the regional MPI
/// links to the sender's patient, or (`localId`) the patient of this hospital's registry with that id, chosen by the
/// clinician.
package struct TransferAcceptRequest: Codable, Sendable {
    package var transfer: String
    package var localId: String?
    package init(transfer: String, localId: String? = nil) {
        self.transfer = transfer
        self.localId = localId
    }
}
