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
/// patient the sender named (nil: no link — the clinician chooses one of this hospital's patients, or registers one).
package struct InboxTransfer: Codable, Sendable {
    package var transfer: TransferRecord
    /// Entries above the clinician's ceiling are not shown (only counted).
    package var withheld: Int
    package var linkedPatient: PatientIdentifier?
    /// Why the link could not be looked up (the regional MPI's error code), PHI-free; nil when it was.
    package var linkError: String?
    /// When no local patient is linked: the patient as the received document's header names her (CDA recordTarget),
    /// to prefill a registration, and the assigning authority her new MRN would be in. Nil otherwise.
    package var registration: NewLocalPatient?
    package init(transfer: TransferRecord, withheld: Int, linkedPatient: PatientIdentifier?, linkError: String? = nil, registration: NewLocalPatient? = nil) {
        self.transfer = transfer
        self.withheld = withheld
        self.linkedPatient = linkedPatient
        self.linkError = linkError
        self.registration = registration
    }
}

/// A patient to register at this hospital from the transfer inbox: her hospital id (MRN, typed by the clinician:
/// the EMR owns MRNs) in this hospital's assigning authority, and her demographics (prefilled from the received
/// document's header, corrected by the clinician). Registered as an ADT^A04 through the node's HL7 ingest.
package struct NewLocalPatient: Codable, Sendable, Hashable {
    /// The MRN (empty in a prefill).
    package var mrn: String
    /// The assigning authority (OID) of the MRN; set by the node, not by the form.
    package var authority: String
    package var family: String
    package var given: String
    /// `YYYYMMDD`, or empty when unknown.
    package var birthDate: String
    /// HL7 table 0001 (F, M, O, U…), or empty.
    package var sex: String
    package init(mrn: String = "", authority: String = "", family: String, given: String, birthDate: String = "", sex: String = "") {
        self.mrn = mrn
        self.authority = authority
        self.family = family
        self.given = given
        self.birthDate = birthDate
        self.sex = sex
    }
}

/// `user.transfer.accept`: file a received transfer's documents under a local patient — the one the regional MPI
/// links to the sender's patient, or (`localId`) the patient of this hospital's registry with that id, chosen by the
/// clinician, or (`register`) a new patient the clinician registers here first.
package struct TransferAcceptRequest: Codable, Sendable {
    package var transfer: String
    package var localId: String?
    package var register: NewLocalPatient?
    package init(transfer: String, localId: String? = nil, register: NewLocalPatient? = nil) {
        self.transfer = transfer
        self.localId = localId
        self.register = register
    }
}
