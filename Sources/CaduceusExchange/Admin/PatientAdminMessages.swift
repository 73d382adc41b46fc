package import CaduceusDocuments
package import CaduceusPatientIndex
package import CaduceusStorage
package import Foundation

/// `admin.patients`: search the patients this hospital node holds by demographics, or open one (with the regional
/// MPI's links). Criteria travel in the body, never in a URL.
package struct AdminPatientsRequest: Codable, Sendable {
    /// Search criteria (family or given name prefix, birth date, sex, or a local id); nil when opening one patient.
    package var criteria: Demographics?
    /// A local id to search for (matches any PID-3 identifier's id).
    package var localId: String?
    /// The patient to open.
    package var patient: LocalIdentity?
    package init(criteria: Demographics? = nil, localId: String? = nil, patient: LocalIdentity? = nil) {
        self.criteria = criteria
        self.localId = localId
        self.patient = patient
    }
}

/// The answer to `admin.patients`.
package struct AdminPatientsResponse: Codable, Sendable {
    /// Matches of a search (at most ``PatientAdminService/maxResults``), or the one patient opened.
    package var patients: [AdminPatient]
    /// The patient opened, as the node stores it.
    package var record: PatientRecord?
    /// The regional MPI's links of the patient opened (nil: not asked, or the MPI did not answer).
    package var links: MPILinks?
    /// Why the links are missing, PHI-free (the MPI's error code).
    package var linksUnavailable: String?
    /// Whether the search stopped at the bound (more may match).
    package var truncated: Bool
    package init(
        patients: [AdminPatient], record: PatientRecord? = nil, links: MPILinks? = nil, linksUnavailable: String? = nil,
        truncated: Bool = false
    ) {
        self.patients = patients
        self.record = record
        self.links = links
        self.linksUnavailable = linksUnavailable
        self.truncated = truncated
    }
}

/// One patient of the hospital's registry as a list shows it.
package struct AdminPatient: Codable, Sendable, Hashable {
    package var identity: LocalIdentity
    package var demographics: Demographics
    package init(identity: LocalIdentity, demographics: Demographics) {
        self.identity = identity
        self.demographics = demographics
    }
}

/// `mpi.pix` between nodes: the links of one identity.
package struct MPILinksRequest: Codable, Sendable {
    package var identity: LocalIdentity
    package init(identity: LocalIdentity) { self.identity = identity }
}

/// The regional MPI's links of an identity: its global id and the identities linked to it (all of them when the
/// caller vouches for the identity asked about; otherwise only the caller's own), with the MPI's history of it.
package struct MPILinks: Codable, Sendable, Hashable {
    package var patientId: PatientIdentifier
    package var identities: [LocalIdentity]
    /// The MPI's history of the record asked about (link, relink, merge, review: from which global id to which, by
    /// whom), oldest first; empty when the caller does not vouch for the identity.
    package var history: [Event]
    package struct Event: Codable, Sendable, Hashable {
        package var action: String
        package var from: String?
        package var to: String?
        package var actor: String
        package init(action: String, from: String?, to: String?, actor: String) {
            self.action = action
            self.from = from
            self.to = to
            self.actor = actor
        }
    }
    package init(patientId: PatientIdentifier, identities: [LocalIdentity], history: [Event] = []) {
        self.patientId = patientId
        self.identities = identities
        self.history = history
    }
}

/// `admin.mpi.review` / `mpi.review`: the possible matches of the regional MPI's review queue that involve the
/// asking hospital's assigning authorities.
package struct MPIReviewRequest: Codable, Sendable {
    package init() {}
}

/// One possible match: the registered record and its candidate, with the demographics the MPI holds for each.
package struct MPIReviewItem: Codable, Sendable, Hashable {
    package var id: Int64
    package var weight: Double
    package var reason: String
    package var record: Side
    package var candidate: Side
    package struct Side: Codable, Sendable, Hashable {
        package var identity: LocalIdentity
        package var demographics: Demographics
        package var patientId: String
        package init(identity: LocalIdentity, demographics: Demographics, patientId: String) {
            self.identity = identity
            self.demographics = demographics
            self.patientId = patientId
        }
    }
    package init(id: Int64, weight: Double, reason: String, record: Side, candidate: Side) {
        self.id = id
        self.weight = weight
        self.reason = reason
        self.record = record
        self.candidate = candidate
    }
}

/// `admin.mpi.decide` / `mpi.decide`: accept (link the two records as one person) or reject (different people,
/// never queued again) one possible match.
package struct MPIDecisionRequest: Codable, Sendable {
    package enum Decision: String, Codable, Sendable { case accept, reject }
    package var review: Int64
    package var decision: Decision
    package init(review: Int64, decision: Decision) {
        self.review = review
        self.decision = decision
    }
}

/// The answer to a decision: what the MPI changed.
package struct MPIDecisionResponse: Codable, Sendable {
    package var review: Int64
    package var decision: MPIDecisionRequest.Decision
    /// Records moved to another person (accept).
    package var relinked: Int
    package init(review: Int64, decision: MPIDecisionRequest.Decision, relinked: Int) {
        self.review = review
        self.decision = decision
        self.relinked = relinked
    }
}
