package import struct Foundation.Date

/// A patient's consent directive (BPPC in spirit): permit or deny sharing, for every organisation or one, for every
/// document or one document or one class of documents, between validity dates. It is the payload of a consent
/// statement signed by the patient's card (or by staff recording a paper consent on the patient's behalf).
package struct ConsentDirective: Sendable, Hashable, Codable {
    package enum Decision: String, Sendable, Hashable, Codable {
        /// Opt in: sharing is permitted (for purposes that need consent, too).
        case permit
        /// Opt out (general) or withhold (document/class-specific).
        case deny
    }
    /// Unique id of the directive (a UUID, chosen by the signer).
    package var id: String
    /// The patient, as a CX identifier in any domain the federation's MPI knows (`id^^^&authority&ISO`).
    package var patient: String
    package var decision: Decision
    /// The organisation (node id) it applies to; `nil`: every organisation.
    package var organization: String?
    /// One document it applies to (unique id); `nil`: every document.
    package var documentId: String?
    /// One class of documents it applies to (XDS classCode code, e.g. LOINC `34133-9`); `nil`: every class.
    package var classCode: String?
    package var validFrom: Date
    package var validUntil: Date?
    /// When the signer made the statement.
    package var issuedAt: Date

    package init(id: String, patient: String, decision: Decision, organization: String? = nil, documentId: String? = nil, classCode: String? = nil, validFrom: Date, validUntil: Date? = nil, issuedAt: Date) {
        self.id = id
        self.patient = patient
        self.decision = decision
        self.organization = organization
        self.documentId = documentId
        self.classCode = classCode
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.issuedAt = issuedAt
    }

    /// Whether it is about particular documents (a document or class) rather than sharing in general.
    package var isSpecific: Bool { documentId != nil || classCode != nil }

    /// The rules a directive must satisfy to be recorded.
    package func validate() throws(PolicyError) {
        guard !id.isEmpty, id.count <= 64 else { throw PolicyError("consent.invalid", "a consent directive needs an id of at most 64 characters") }
        guard !patient.isEmpty else { throw PolicyError("consent.invalid", "a consent directive names its patient") }
        if let validUntil, validUntil <= validFrom { throw PolicyError("consent.invalid", "a consent's validity must end after it starts") }
        if isSpecific, decision == .permit {
            throw PolicyError("consent.invalid", "a document- or class-specific consent can only withhold (sharing in general is opted into)")
        }
    }
}

/// A patient's revocation of a directive they (or staff on their behalf) recorded earlier.
package struct ConsentRevocation: Sendable, Hashable, Codable {
    /// The directive revoked.
    package var consentId: String
    /// The patient (as in the directive, or any identifier of the same person).
    package var patient: String
    package var issuedAt: Date
    package init(consentId: String, patient: String, issuedAt: Date) {
        self.consentId = consentId
        self.patient = patient
        self.issuedAt = issuedAt
    }
}

/// A directive as the regional consent registry holds it: who signed it, when it was recorded and where, and its
/// revocation. The signed statements (compact JWS) travel only to the patient's own view.
package struct ConsentRecord: Sendable, Hashable, Codable {
    package var directive: ConsentDirective
    /// The patient's federation-wide (global) id, `id^^^&authority&ISO`.
    package var patientId: String
    /// The signer's certificate CN.
    package var signedBy: String
    /// The node the statement was made at.
    package var recordedAt: String
    /// The patient's home node, when it attested a statement the patient made at its portal (the card could not
    /// sign in the browser); nil when the card signed it.
    package var attestedBy: String?
    /// When the registry recorded it.
    package var recordedTime: Date
    package var revokedTime: Date?
    package var revokedBy: String?
    /// The signed statement and revocation (compact JWS), when the reader may see them.
    package var statement: String?
    package var revocationStatement: String?

    package init(directive: ConsentDirective, patientId: String, signedBy: String, recordedAt: String, recordedTime: Date, revokedTime: Date? = nil, revokedBy: String? = nil, statement: String? = nil, revocationStatement: String? = nil, attestedBy: String? = nil) {
        self.attestedBy = attestedBy
        self.directive = directive
        self.patientId = patientId
        self.signedBy = signedBy
        self.recordedAt = recordedAt
        self.recordedTime = recordedTime
        self.revokedTime = revokedTime
        self.revokedBy = revokedBy
        self.statement = statement
        self.revocationStatement = revocationStatement
    }

    /// The record without its signed statements (what a policy enforcement point needs).
    package var summary: ConsentRecord {
        var s = self
        s.statement = nil
        s.revocationStatement = nil
        return s
    }

    /// Whether it is in force at `time`: not revoked, and `validFrom <= time < validUntil`.
    package func isActive(at time: Date) -> Bool {
        revokedTime == nil && directive.validFrom <= time && (directive.validUntil.map { time < $0 } ?? true)
    }
}

/// Resolves a patient's consent records to the one ``ConsentState`` the decision point weighs for one request.
///
/// - A document- or class-specific withholding in force for the document (and the organisation, when it names one)
///   gives `document-deny`.
/// - Otherwise the general directives (no document, no class) decide, in two tiers: those naming the requesting
///   organisation, then those naming none. The first tier with a statement in force decides, its newest statement in
///   force (by `issuedAt`, then recording time) winning: `opt-in` or `opt-out` — an inactive statement never masks an
///   active one, in its tier or below. When no statement is in force, the first tier's newest says why:
///   revoked → `revoked` for an opt-in (sharing stops), no consent for an opt-out (the default restored); lapsed
///   (`validUntil` passed) → `expired`. Not yet valid: ignored.
package enum ConsentResolver {
    package static func state(_ records: [ConsentRecord], organization: String, documentId: String, classCode: String, at time: Date) -> ConsentState {
        let applicable = records.filter { r in
            let d = r.directive
            return (d.organization == nil || d.organization == organization)
                && (d.documentId == nil || d.documentId == documentId)
                && (d.classCode == nil || d.classCode == classCode)
                && d.validFrom <= time
        }
        if applicable.contains(where: { $0.directive.isSpecific && $0.directive.decision == .deny && $0.isActive(at: time) }) {
            return .documentDeny
        }
        let general = applicable.filter { !$0.directive.isSpecific }
        // Two tiers, the requesting organisation's own directives first; in each the latest statement wins. A tier
        // whose latest statement is no longer in force (revoked, lapsed) never masks a lower tier's statement in force.
        let tiers = [general.filter { $0.directive.organization != nil }, general.filter { $0.directive.organization == nil }]
        func newest(_ records: [ConsentRecord]) -> ConsentRecord? {
            records.max(by: { ($0.directive.issuedAt, $0.recordedTime) < ($1.directive.issuedAt, $1.recordedTime) })
        }
        // The newest statement in force of the first tier that has one (an older statement still in force is not
        // undone by a newer one that lapsed or was revoked: "deny A", then "permit A until T", is "deny A" after T).
        for tier in tiers {
            if let inForce = newest(tier.filter { $0.isActive(at: time) }) {
                return inForce.directive.decision == .permit ? .optIn : .optOut
            }
        }
        guard let first = tiers.compactMap(newest).first else { return .none }
        if first.revokedTime != nil { return first.directive.decision == .permit ? .revoked : .none }
        return .expired
    }
}
