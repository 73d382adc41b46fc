package import CaduceusDocuments
package import CaduceusPatientIndex
package import struct Foundation.Date
package import CaduceusPolicy
package import CaduceusStorage

/// `mpi.register`: a hospital registers one of its patients with the regional MPI.
package struct RegisterIdentityRequest: Codable, Sendable {
    package var identity: LocalIdentity
    package var demographics: Demographics
    package init(identity: LocalIdentity, demographics: Demographics) {
        self.identity = identity
        self.demographics = demographics
    }
}

/// The MPI's answer: the global id the identity is linked to.
package struct RegisterIdentityResponse: Codable, Sendable {
    package var patientId: PatientIdentifier
    package init(patientId: PatientIdentifier) { self.patientId = patientId }
}

/// `mpi.pdq`: demographics to search by.
package struct FindPatientsRequest: Codable, Sendable {
    package var criteria: Demographics
    package var limit: Int
    package init(criteria: Demographics, limit: Int = 20) {
        self.criteria = criteria
        self.limit = limit
    }
}

/// One PDQ match: the global id, the local ids linked to it, and the best record's demographics.
package struct PatientMatch: Codable, Sendable {
    package var patientId: PatientIdentifier
    package var identities: [LocalIdentity]
    package var demographics: Demographics
    package var weight: Double
    package init(patientId: PatientIdentifier, identities: [LocalIdentity], demographics: Demographics, weight: Double) {
        self.patientId = patientId
        self.identities = identities
        self.demographics = demographics
        self.weight = weight
    }
}

/// Entries, as a registry answers; a regional registry adds the consents on file for the entries' patients (without
/// their signed statements), so the asking node decides on the patient's consent as it stands now.
package struct EntriesResponse: Codable, Sendable {
    package var entries: [DocumentEntry]
    package var consents: [ConsentRecord]?
    /// For GetDocuments: a ``ReleaseBasis`` signed by the regional node (compact JWS), which the requesting node
    /// forwards with its retrieve so the repository decides for itself without another hop.
    package var release: String?
    package init(entries: [DocumentEntry], consents: [ConsentRecord]? = nil, release: String? = nil) {
        self.entries = entries
        self.consents = consents
        self.release = release
    }
}

/// What a repository needs to decide a release on its own (as an XCA responding gateway): the registry's entries for
/// the requested documents (global patient id, confidentiality, class) and the patients' consents on file, as the
/// regional registry states them, signed by it (`typ` ``ReleaseBasis/type``), valid for the freshness window.
package struct ReleaseBasis: Codable, Sendable {
    /// The JWS type.
    package static let type = "caduceus-release+jwt"
    /// Seconds since 1970 when the registry answered.
    package var iat: Int64
    /// The registry's entries.
    package var entries: [DocumentEntry]
    /// The consents on file for their patients.
    package var consents: [ConsentRecord]
    package init(iat: Int64, entries: [DocumentEntry], consents: [ConsentRecord]) {
        self.iat = iat
        self.entries = entries
        self.consents = consents
    }
}

/// `user.consent` and `consent.register`: a consent statement (compact JWS signed by a card), either a
/// ``ConsentDirective`` (`typ` ``ConsentStatement/directiveType``) or a ``ConsentRevocation``
/// (``ConsentStatement/revocationType``).
package struct ConsentStatement: Codable, Sendable {
    package static let directiveType = "caduceus-consent+jwt"
    package static let revocationType = "caduceus-consent-revocation+jwt"
    /// A statement the patient's home node makes for her: an ``AttestedConsent`` signed by the node.
    package static let attestedType = "caduceus-consent-attested+jwt"
    package var statement: String
    package init(statement: String) { self.statement = statement }
}

/// `user.consent` as a door sends it: a statement the card signed (the API, the CLI), or — at the portal, where the
/// browser uses the card for TLS only and cannot sign — the directive or revocation itself, which the patient's home
/// node attests (``AttestedConsent``).
package struct ConsentRequest: Codable, Sendable {
    /// A compact JWS signed by the card (``ConsentStatement``).
    package var statement: String?
    /// A directive to record (portal only): its id, patient and `issuedAt` are set by the node.
    package var directive: ConsentDirective?
    /// A revocation to apply (portal only): its patient and `issuedAt` are set by the node.
    package var revocation: ConsentRevocation?
    package init(statement: String? = nil, directive: ConsentDirective? = nil, revocation: ConsentRevocation? = nil) {
        self.statement = statement
        self.directive = directive
        self.revocation = revocation
    }
}

/// The payload of a consent statement a patient made at her home node's portal (`typ`
/// ``ConsentStatement/attestedType``), signed by that node: "the holder of this card, authenticated by it in the TLS
/// handshake of a portal session (whose assertion this node issued), asked for this". The regional registry takes it
/// only from the node the card names as its home organisation (the card's O, bound to its issuing CA), validates the
/// card itself (chain, namespace, revocation, now), and then applies exactly the rules of a statement the card signed.
/// A home node can therefore speak for its own patients only — as it already can by issuing their cards.
package struct AttestedConsent: Codable, Sendable {
    /// Exactly one of `directive` and `revocation`.
    package var directive: ConsentDirective?
    package var revocation: ConsentRevocation?
    /// The card, leaf first, with the CA certificates that issued it (base64 DER), as the node validated it.
    package var card: [String]
    /// The door the patient used (`portal`).
    package var door: String
    /// The consent registry it is addressed to (the regional node's id): another registry refuses it.
    package var registry: String
    /// The `jti` of the portal session's sign-in assertion (what the node's trail names the session by).
    package var session: String
    /// When the node attested it.
    package var attestedAt: Date
    package init(directive: ConsentDirective?, revocation: ConsentRevocation?, card: [String], door: String, registry: String, session: String, attestedAt: Date) {
        self.registry = registry
        self.directive = directive
        self.revocation = revocation
        self.card = card
        self.door = door
        self.session = session
        self.attestedAt = attestedAt
    }
}

/// `user.consents` and `consent.query`: a patient (in any domain the MPI links), and whether the signed statements are
/// wanted (the patient's own view, or a consent recorder's).
package struct ConsentQuery: Codable, Sendable {
    package var patient: PatientIdentifier
    package var statements: Bool
    package init(patient: PatientIdentifier, statements: Bool = false) {
        self.patient = patient
        self.statements = statements
    }
}

/// A patient's consents, as the regional registry holds them.
package struct ConsentsResponse: Codable, Sendable {
    /// The patient's global id.
    package var patientId: PatientIdentifier
    package var consents: [ConsentRecord]
    package init(patientId: PatientIdentifier, consents: [ConsentRecord]) {
        self.patientId = patientId
        self.consents = consents
    }
}

/// `repository.retrieve` and `user.retrieve`: documents by unique id.
package struct RetrieveRequest: Codable, Sendable {
    package var uniqueIds: [String]
    /// Node to repository: the regional registry's signed ``ReleaseBasis`` for these documents.
    package var release: String?
    package init(uniqueIds: [String], release: String? = nil) {
        self.uniqueIds = uniqueIds
        self.release = release
    }
}

/// `user.submit`: the patient (in the hospital's domain) the attached documents are about.
package struct SubmitRequest: Codable, Sendable {
    package var patient: PatientIdentifier
    /// Overrides the documents' own confidentiality code.
    package var confidentiality: String?
    /// The unique id the (single) document replaces.
    package var replaces: String?
    package init(patient: PatientIdentifier, confidentiality: String? = nil, replaces: String? = nil) {
        self.patient = patient
        self.confidentiality = confidentiality
        self.replaces = replaces
    }
}

/// `transfer.push`: the entries of the attached documents; `user.transfer`: which documents go to which node.
package struct TransferRequest: Codable, Sendable {
    package var to: String
    package var uniqueIds: [String]
    package var entries: [DocumentEntry]
    package var reason: String
    /// The person who sent it, as the sending node names them (nil: the node on its own).
    package var sentBy: String?
    package init(to: String, uniqueIds: [String], entries: [DocumentEntry] = [], reason: String = "", sentBy: String? = nil) {
        self.to = to
        self.uniqueIds = uniqueIds
        self.entries = entries
        self.reason = reason
        self.sentBy = sentBy
    }
}

/// The signed receipt a transfer's recipient returns (inside its signed reply envelope).
package struct TransferReceipt: Codable, Sendable {
    /// The request the receipt answers.
    package var requestId: String
    /// SHA-256 of the envelope as received (hex).
    package var envelopeSHA256: String
    /// The recipient node.
    package var receivedBy: String
    /// When it was stored.
    package var receivedAt: Date
    /// Each document stored: unique id and SHA-256.
    package var documents: [ReceiptLine]
    package struct ReceiptLine: Codable, Sendable, Hashable {
        package var uniqueId: String
        package var hash: String
        package init(uniqueId: String, hash: String) {
            self.uniqueId = uniqueId
            self.hash = hash
        }
    }
    package init(requestId: String, envelopeSHA256: String, receivedBy: String, receivedAt: Date, documents: [ReceiptLine]) {
        self.requestId = requestId
        self.envelopeSHA256 = envelopeSHA256
        self.receivedBy = receivedBy
        self.receivedAt = receivedAt
        self.documents = documents
    }
}

/// The answer to a user's retrieve: per document, who served it and who signed the envelope it came in.
package struct RetrieveResponse: Codable, Sendable {
    package var entries: [DocumentEntry]
    package var servedBy: [String: String]
    package init(entries: [DocumentEntry], servedBy: [String: String]) {
        self.entries = entries
        self.servedBy = servedBy
    }
}

/// `session.signin`: the purpose of use asserted; a reason is required for ETREAT (break-glass).
package struct SignInRequest: Codable, Sendable {
    package var purpose: String
    package var reason: String?
    package init(purpose: String, reason: String? = nil) {
        self.purpose = purpose
        self.reason = reason
    }
}

/// The signed assertion, and when it expires.
package struct SignInResponse: Codable, Sendable {
    package var assertion: String
    package var expires: Date
    package init(assertion: String, expires: Date) {
        self.assertion = assertion
        self.expires = expires
    }
}

/// `audit.position`: how much of the asking node's audit trail the regional repository holds, and where it listens
/// for the rest (RFC 5425 syslog over TLS).
package struct AuditPosition: Codable, Sendable, Hashable {
    /// The last record held (0: none).
    package var sequence: UInt64
    /// Its hash (hex; the genesis hash when none).
    package var hash: String
    /// The last checkpoint held (0: none).
    package var checkpoint: UInt64
    package var syslogHost: String
    package var syslogPort: Int
    package init(sequence: UInt64, hash: String, checkpoint: UInt64, syslogHost: String, syslogPort: Int) {
        self.sequence = sequence
        self.hash = hash
        self.checkpoint = checkpoint
        self.syslogHost = syslogHost
        self.syslogPort = syslogPort
    }
}

/// `user.accessreport` and `audit.report`: the patient whose record's accesses are wanted.
package struct AccessReportRequest: Codable, Sendable {
    package var patient: PatientIdentifier
    package init(patient: PatientIdentifier) { self.patient = patient }
}

/// `audit.events`: every identifier of one patient (global and local), as the regional MPI links them.
package struct AccessEventsRequest: Codable, Sendable {
    package var identifiers: [PatientIdentifier]
    package init(identifiers: [PatientIdentifier]) { self.identifiers = identifiers }
}

/// One access to a patient's record, as a node's audit trail recorded it.
package struct AccessReportEntry: Codable, Sendable, Hashable {
    package var time: Date
    /// The node whose trail holds the event.
    package var node: String
    /// Who (a card's CN, "patient" for the patient themselves, or a node id for node-to-node operations).
    package var who: String
    /// Their functional role (or certificate kind).
    package var role: String
    package var purpose: String
    /// The operation (`user.retrieve`, `registry.query`, `ADT^A04`…) and its DICOM event id.
    package var action: String
    package var event: String
    /// `ok`, or the refusal's code.
    package var outcome: String
    /// Break-glass (an emergency override).
    package var emergency: Bool
    /// Documents touched (unique ids).
    package var documents: [String]
    /// The policy rules that decided (`permit:consent.opt-in`, `deny:consent.revoked`…).
    package var rules: [String]
    package init(time: Date, node: String, who: String, role: String, purpose: String, action: String, event: String, outcome: String, emergency: Bool, documents: [String], rules: [String] = []) {
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
package struct AccessReport: Codable, Sendable {
    package var patientId: PatientIdentifier
    package var entries: [AccessReportEntry]
    package var unavailable: [String]
    package init(patientId: PatientIdentifier, entries: [AccessReportEntry], unavailable: [String]) {
        self.patientId = patientId
        self.entries = entries
        self.unavailable = unavailable
    }
}

/// `session.revoke`: an assertion signed out at a node, by id, and when it would have expired.
package struct SessionRevocation: Codable, Sendable {
    package var jti: String
    package var expires: Int64
    /// The signed-out assertion itself: the receiving node checks that the sender issued it (a node ends only the
    /// sessions it issued).
    package var assertion: String?
    package init(jti: String, expires: Int64, assertion: String? = nil) {
        self.jti = jti
        self.expires = expires
        self.assertion = assertion
    }
}

/// `user.emergencies`: the review queue (unreviewed entries only, or all).
package struct EmergencyQueueRequest: Codable, Sendable {
    package var unreviewedOnly: Bool
    package init(unreviewedOnly: Bool = true) { self.unreviewedOnly = unreviewedOnly }
}

/// `user.emergency.review`: the finding on one emergency access (its assertion id).
package struct EmergencyReviewRequest: Codable, Sendable {
    package var id: String
    package var note: String
    package init(id: String, note: String) {
        self.id = id
        self.note = note
    }
}

/// `user.audit.search` and `user.audit.export`: a privacy officer's search of this node's audit trail. The patient
/// travels in the (signed, POSTed) body only, never in a URL; the node looks it up by its pseudonym.
package struct AuditSearchRequest: Codable, Sendable {
    /// Outcomes a search can ask for.
    package enum Outcome: String, Codable, Sendable {
        /// Only successful events.
        case success
        /// Only refusals and failures (any non-zero outcome).
        case failure
    }
    package var patient: PatientIdentifier?
    /// The requestor's user id (a card's CN, a node id).
    package var user: String?
    /// A DICOM event id code (`110112` Query, `110113` Security Alert, …).
    package var eventID: String?
    package var outcome: Outcome?
    /// From (inclusive) and to (exclusive).
    package var from: Date?
    package var to: Date?
    /// At most this many rows (1…5000).
    package var limit: Int
    /// Whether to add the 14-day summary and the recent alerts (the console's landing view).
    package var summary: Bool
    package init(patient: PatientIdentifier? = nil, user: String? = nil, eventID: String? = nil, outcome: Outcome? = nil, from: Date? = nil, to: Date? = nil, limit: Int = 200, summary: Bool = false) {
        self.patient = patient
        self.user = user
        self.eventID = eventID
        self.outcome = outcome
        self.from = from
        self.to = to
        self.limit = limit
        self.summary = summary
    }
}

/// One event of the trail as a search shows it: no PHI (patients by this node's pseudonym only).
package struct AuditSearchRow: Codable, Sendable, Equatable {
    package var sequence: UInt64
    package var time: Date
    /// The DICOM event id (code and display).
    package var eventID: String
    package var event: String
    /// The operation or message type (the first event type), and the integrity-alarm kind when it is one.
    package var operation: String
    /// 0 success, 4 minor, 8 serious, 12 major failure.
    package var outcome: Int
    package var errorCode: String
    package var user: String
    package var role: String
    package var purpose: String
    /// A break-glass (emergency override) event.
    package var emergency: Bool
    /// The patients the event names, as this node's pseudonyms.
    package var patients: [String]
    /// A Security Alert about the trail's own integrity (`caduceus-audit` event type).
    package var integrity: Bool
}

/// Events and refusals (non-zero outcomes) on one UTC day.
package struct AuditDay: Codable, Sendable, Equatable {
    package var day: Date
    package var events: Int
    package var refusals: Int
}

/// A burst: one requestor refused (or failing to sign in) at least ``AuditSearchService/burstSize`` times within
/// ``AuditSearchService/burstWindow`` seconds — someone probing, or a misconfigured client.
package struct AuditBurst: Codable, Sendable, Equatable {
    /// The requestor as the trail names it (a card's CN, a node, an interface).
    package var user: String
    /// The first and last refusal of the burst.
    package var from: Date
    package var to: Date
    /// How many refusals it holds.
    package var count: Int
    /// The most frequent error code among them, and whether any was a failed sign-in.
    package var errorCode: String
    package var signIn: Bool
}

/// The answer to a search: the rows, newest first; with `summary`, the last 14 days and the recent alerts.
package struct AuditSearchResponse: Codable, Sendable {
    package var rows: [AuditSearchRow]
    /// Whether more events matched than `limit`.
    package var truncated: Bool
    /// The searched patient's pseudonym, when a patient was searched (to mark her in the rows).
    package var patientPseudonym: String?
    package var days: [AuditDay]
    /// Security Alerts (break-glass, refusals for revocation status, integrity alarms), newest first.
    package var alerts: [AuditSearchRow]
    /// Bursts of refusals or failed sign-ins in the last 14 days, newest first (with `summary`).
    package var bursts: [AuditBurst]? = nil
}
