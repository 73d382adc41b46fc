public import CaduceusDocuments
public import CaduceusPatientIndex
public import struct Foundation.Date
public import CaduceusPolicy
public import CaduceusStorage

/// `mpi.register`: a hospital registers one of its patients with the regional MPI.
public struct RegisterIdentityRequest: Codable, Sendable {
    public var identity: LocalIdentity
    public var demographics: Demographics
    public init(identity: LocalIdentity, demographics: Demographics) {
        self.identity = identity
        self.demographics = demographics
    }
}

/// The MPI's answer: the global id the identity is linked to.
public struct RegisterIdentityResponse: Codable, Sendable {
    public var patientId: PatientIdentifier
    public init(patientId: PatientIdentifier) { self.patientId = patientId }
}

/// `mpi.pdq`: demographics to search by.
public struct FindPatientsRequest: Codable, Sendable {
    public var criteria: Demographics
    public var limit: Int
    public init(criteria: Demographics, limit: Int = 20) {
        self.criteria = criteria
        self.limit = limit
    }
}

/// One PDQ match: the global id, the local ids linked to it, and the best record's demographics.
public struct PatientMatch: Codable, Sendable {
    public var patientId: PatientIdentifier
    public var identities: [LocalIdentity]
    public var demographics: Demographics
    public var weight: Double
    public init(patientId: PatientIdentifier, identities: [LocalIdentity], demographics: Demographics, weight: Double) {
        self.patientId = patientId
        self.identities = identities
        self.demographics = demographics
        self.weight = weight
    }
}

/// Entries, as a registry answers; a regional registry adds the consents on file for the entries' patients (without
/// their signed statements), so the asking node decides on the patient's consent as it stands now.
public struct EntriesResponse: Codable, Sendable {
    public var entries: [DocumentEntry]
    public var consents: [ConsentRecord]?
    /// For GetDocuments: a ``ReleaseBasis`` signed by the regional node (compact JWS), which the requesting node
    /// forwards with its retrieve so the repository decides for itself without another hop.
    public var release: String?
    public init(entries: [DocumentEntry], consents: [ConsentRecord]? = nil, release: String? = nil) {
        self.entries = entries
        self.consents = consents
        self.release = release
    }
}

/// What a repository needs to decide a release on its own (as an XCA responding gateway): the registry's entries for
/// the requested documents (global patient id, confidentiality, class) and the patients' consents on file, as the
/// regional registry states them, signed by it (`typ` ``ReleaseBasis/type``), valid for the freshness window.
public struct ReleaseBasis: Codable, Sendable {
    /// The JWS type.
    public static let type = "caduceus-release+jwt"
    /// Seconds since 1970 when the registry answered.
    public var iat: Int64
    /// The registry's entries.
    public var entries: [DocumentEntry]
    /// The consents on file for their patients.
    public var consents: [ConsentRecord]
    public init(iat: Int64, entries: [DocumentEntry], consents: [ConsentRecord]) {
        self.iat = iat
        self.entries = entries
        self.consents = consents
    }
}

/// `user.consent` and `consent.register`: a consent statement (compact JWS signed by a card), either a
/// ``ConsentDirective`` (`typ` ``ConsentStatement/directiveType``) or a ``ConsentRevocation``
/// (``ConsentStatement/revocationType``).
public struct ConsentStatement: Codable, Sendable {
    public static let directiveType = "caduceus-consent+jwt"
    public static let revocationType = "caduceus-consent-revocation+jwt"
    public var statement: String
    public init(statement: String) { self.statement = statement }
}

/// `user.consents` and `consent.query`: a patient (in any domain the MPI links), and whether the signed statements are
/// wanted (the patient's own view, or a consent recorder's).
public struct ConsentQuery: Codable, Sendable {
    public var patient: PatientIdentifier
    public var statements: Bool
    public init(patient: PatientIdentifier, statements: Bool = false) {
        self.patient = patient
        self.statements = statements
    }
}

/// A patient's consents, as the regional registry holds them.
public struct ConsentsResponse: Codable, Sendable {
    /// The patient's global id.
    public var patientId: PatientIdentifier
    public var consents: [ConsentRecord]
    public init(patientId: PatientIdentifier, consents: [ConsentRecord]) {
        self.patientId = patientId
        self.consents = consents
    }
}

/// `repository.retrieve` and `user.retrieve`: documents by unique id.
public struct RetrieveRequest: Codable, Sendable {
    public var uniqueIds: [String]
    /// Node to repository: the regional registry's signed ``ReleaseBasis`` for these documents.
    public var release: String?
    public init(uniqueIds: [String], release: String? = nil) {
        self.uniqueIds = uniqueIds
        self.release = release
    }
}

/// `user.submit`: the patient (in the hospital's domain) the attached documents are about.
public struct SubmitRequest: Codable, Sendable {
    public var patient: PatientIdentifier
    /// Overrides the documents' own confidentiality code.
    public var confidentiality: String?
    /// The unique id the (single) document replaces.
    public var replaces: String?
    public init(patient: PatientIdentifier, confidentiality: String? = nil, replaces: String? = nil) {
        self.patient = patient
        self.confidentiality = confidentiality
        self.replaces = replaces
    }
}

/// `transfer.push`: the entries of the attached documents; `user.transfer`: which documents go to which node.
public struct TransferRequest: Codable, Sendable {
    public var to: String
    public var uniqueIds: [String]
    public var entries: [DocumentEntry]
    public var reason: String
    public init(to: String, uniqueIds: [String], entries: [DocumentEntry] = [], reason: String = "") {
        self.to = to
        self.uniqueIds = uniqueIds
        self.entries = entries
        self.reason = reason
    }
}

/// The signed receipt a transfer's recipient returns (inside its signed reply envelope).
public struct TransferReceipt: Codable, Sendable {
    /// The request the receipt answers.
    public var requestId: String
    /// SHA-256 of the envelope as received (hex).
    public var envelopeSHA256: String
    /// The recipient node.
    public var receivedBy: String
    /// When it was stored.
    public var receivedAt: Date
    /// Each document stored: unique id and SHA-256.
    public var documents: [ReceiptLine]
    public struct ReceiptLine: Codable, Sendable, Hashable {
        public var uniqueId: String
        public var hash: String
        public init(uniqueId: String, hash: String) {
            self.uniqueId = uniqueId
            self.hash = hash
        }
    }
    public init(requestId: String, envelopeSHA256: String, receivedBy: String, receivedAt: Date, documents: [ReceiptLine]) {
        self.requestId = requestId
        self.envelopeSHA256 = envelopeSHA256
        self.receivedBy = receivedBy
        self.receivedAt = receivedAt
        self.documents = documents
    }
}

/// The answer to a user's retrieve: per document, who served it and who signed the envelope it came in.
public struct RetrieveResponse: Codable, Sendable {
    public var entries: [DocumentEntry]
    public var servedBy: [String: String]
    public init(entries: [DocumentEntry], servedBy: [String: String]) {
        self.entries = entries
        self.servedBy = servedBy
    }
}

/// `session.signin`: the purpose of use asserted; a reason is required for ETREAT (break-glass).
public struct SignInRequest: Codable, Sendable {
    public var purpose: String
    public var reason: String?
    public init(purpose: String, reason: String? = nil) {
        self.purpose = purpose
        self.reason = reason
    }
}

/// The signed assertion, and when it expires.
public struct SignInResponse: Codable, Sendable {
    public var assertion: String
    public var expires: Date
    public init(assertion: String, expires: Date) {
        self.assertion = assertion
        self.expires = expires
    }
}

/// `audit.position`: how much of the asking node's audit trail the regional repository holds, and where it listens
/// for the rest (RFC 5425 syslog over TLS).
public struct AuditPosition: Codable, Sendable, Hashable {
    /// The last record held (0: none).
    public var sequence: UInt64
    /// Its hash (hex; the genesis hash when none).
    public var hash: String
    /// The last checkpoint held (0: none).
    public var checkpoint: UInt64
    public var syslogHost: String
    public var syslogPort: Int
    public init(sequence: UInt64, hash: String, checkpoint: UInt64, syslogHost: String, syslogPort: Int) {
        self.sequence = sequence
        self.hash = hash
        self.checkpoint = checkpoint
        self.syslogHost = syslogHost
        self.syslogPort = syslogPort
    }
}

/// `user.accessreport` and `audit.report`: the patient whose record's accesses are wanted.
public struct AccessReportRequest: Codable, Sendable {
    public var patient: PatientIdentifier
    public init(patient: PatientIdentifier) { self.patient = patient }
}

/// `audit.events`: every identifier of one patient (global and local), as the regional MPI links them.
public struct AccessEventsRequest: Codable, Sendable {
    public var identifiers: [PatientIdentifier]
    public init(identifiers: [PatientIdentifier]) { self.identifiers = identifiers }
}

/// One access to a patient's record, as a node's audit trail recorded it.
public struct AccessReportEntry: Codable, Sendable, Hashable {
    public var time: Date
    /// The node whose trail holds the event.
    public var node: String
    /// Who (a card's CN, "patient" for the patient themselves, or a node id for node-to-node operations).
    public var who: String
    /// Their functional role (or certificate kind).
    public var role: String
    public var purpose: String
    /// The operation (`user.retrieve`, `registry.query`, `ADT^A04`…) and its DICOM event id.
    public var action: String
    public var event: String
    /// `ok`, or the refusal's code.
    public var outcome: String
    /// Break-glass (an emergency override).
    public var emergency: Bool
    /// Documents touched (unique ids).
    public var documents: [String]
    /// The policy rules that decided (`permit:consent.opt-in`, `deny:consent.revoked`…).
    public var rules: [String]
    public init(time: Date, node: String, who: String, role: String, purpose: String, action: String, event: String, outcome: String, emergency: Bool, documents: [String], rules: [String] = []) {
        self.time = time
        self.node = node
        self.who = who
        self.role = role
        self.purpose = purpose
        self.action = action
        self.event = event
        self.outcome = outcome
        self.emergency = emergency
        self.documents = documents
        self.rules = rules
    }
}

/// A patient's access report across the federation: every event naming any of their identifiers at every node that
/// answered, oldest first, and the nodes that did not answer.
public struct AccessReport: Codable, Sendable {
    public var patientId: PatientIdentifier
    public var entries: [AccessReportEntry]
    public var unavailable: [String]
    public init(patientId: PatientIdentifier, entries: [AccessReportEntry], unavailable: [String]) {
        self.patientId = patientId
        self.entries = entries
        self.unavailable = unavailable
    }
}

/// `session.revoke`: an assertion signed out at a node, by id, and when it would have expired.
public struct SessionRevocation: Codable, Sendable {
    public var jti: String
    public var expires: Int64
    /// The signed-out assertion itself: the receiving node checks that the sender issued it (a node ends only the
    /// sessions it issued).
    public var assertion: String?
    public init(jti: String, expires: Int64, assertion: String? = nil) {
        self.jti = jti
        self.expires = expires
        self.assertion = assertion
    }
}

/// `user.emergencies`: the review queue (unreviewed entries only, or all).
public struct EmergencyQueueRequest: Codable, Sendable {
    public var unreviewedOnly: Bool
    public init(unreviewedOnly: Bool = true) { self.unreviewedOnly = unreviewedOnly }
}

/// `user.emergency.review`: the finding on one emergency access (its assertion id).
public struct EmergencyReviewRequest: Codable, Sendable {
    public var id: String
    public var note: String
    public init(id: String, note: String) {
        self.id = id
        self.note = note
    }
}
