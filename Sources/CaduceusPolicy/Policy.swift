package import struct Foundation.Date
package import CaduceusCore
import Foundation

/// HL7 v3 Confidentiality codes, ordered from least to most restricted (U < L < M < N < R < V).
package enum Confidentiality: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case U, L, M, N, R, V
    package static func < (a: Confidentiality, b: Confidentiality) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Purposes of use (HL7 PurposeOfUse): treatment, emergency treatment (break-glass), payment, operations, research,
/// and a patient's request for her own record (PATRQT: asserted only with a patient card, on her own record only —
/// the services check the record is hers).
package enum PurposeOfUse: String, Sendable, Hashable, Codable, CaseIterable {
    case TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PATRQT
}

/// The patient's consent as it stands for this request (BPPC style), already resolved to one state.
package enum ConsentState: String, Sendable, Hashable, Codable, CaseIterable {
    /// No consent document on file: the affinity domain's default applies.
    case none
    /// The patient opted in to sharing.
    case optIn = "opt-in"
    /// The patient opted out of sharing.
    case optOut = "opt-out"
    /// The patient withheld this document (or its class).
    case documentDeny = "document-deny"
    /// A consent on file has expired: treated as no consent.
    case expired
    /// The patient revoked a consent: sharing stops.
    case revoked
}

/// What is asked: who, why, what.
package struct AccessRequest: Sendable, Hashable {
    package var role: String
    package var organization: String
    package var purpose: PurposeOfUse
    package var confidentiality: Confidentiality
    package var consent: ConsentState
    package init(role: String, organization: String = "", purpose: PurposeOfUse, confidentiality: Confidentiality, consent: ConsentState) {
        self.role = role
        self.organization = organization
        self.purpose = purpose
        self.confidentiality = confidentiality
        self.consent = consent
    }
}

/// A decision with the rules that made it and what the permit obliges.
package struct Decision: Sendable, Hashable {
    package enum Effect: String, Sendable, Hashable { case permit, deny }
    /// Permit or deny.
    package var effect: Effect
    /// Rule ids, in the order they applied (`role.purpose`, `role.ceiling`, `consent.opt-out`…).
    package var reasons: [String]
    /// Obligations of a permit: `audit`, `audit-emergency`, `notify-privacy-officer`.
    package var obligations: [String]
    package var isPermit: Bool { effect == .permit }
    /// Creates a decision.
    package init(effect: Effect, reasons: [String], obligations: [String]) {
        self.effect = effect
        self.reasons = reasons
        self.obligations = obligations
    }
}

/// The policy as data: which purposes each functional role may assert, the highest confidentiality each role may
/// see per purpose, the consent model of the affinity domain. Loaded from a versioned JSON file and validated.
package struct PolicySet: Sendable, Hashable, Codable {
    package struct RolePolicy: Sendable, Hashable, Codable {
        /// Highest confidentiality per permitted purpose (a purpose absent here is not permitted to the role).
        package var ceilings: [String: Confidentiality]
    }
    /// The policy file's version (changes are audited by version).
    package var version: String
    /// Roles by name.
    package var roles: [String: RolePolicy]
    /// Purposes permitted without any consent on file (the rest need an opt-in).
    package var permittedWithoutConsent: [PurposeOfUse]
    /// Purposes that override an opt-out or a revoked consent (break-glass), with obligations.
    package var overridesOptOut: [PurposeOfUse]
    /// Purposes that act on the requester's own record (PATRQT): her consents govern sharing with others, not her
    /// own reading, so they neither permit nor deny here (the role's ceiling and `neverReleased` still apply).
    package var ownRecordPurposes: [PurposeOfUse]?
    /// Confidentiality never released without explicit patient authorization.
    package var neverReleased: [Confidentiality]
    /// Functional roles that may record or revoke a patient's consent on the patient's behalf (a paper consent at
    /// registration); patients always may for themselves.
    package var consentRecorders: [String]?
    /// Functional roles that may read any patient's access report (a privacy officer); patients always may read their
    /// own.
    package var accessReportReaders: [String]?
    /// Functional roles that read and review a node's break-glass queue (a privacy officer).
    package var emergencyReviewers: [String]?
    /// Functional roles that keep a hospital's personnel registry (HR import, edits) — the admin station.
    package var personnelAdministrators: [String]?
    /// Functional roles that enrol, issue, block, unblock, report lost, terminate and renew cards — the card station.
    package var cardOfficers: [String]?
    /// Functional roles that approve or reject a card enrolment (never the person who enrolled it: four eyes).
    package var cardApprovers: [String]?
    /// Functional roles that may register a new patient at a hospital node themselves — the transfer inbox's
    /// "register one" when the regional MPI links no local patient (an EMR's ADT is the usual way). Absent: nobody.
    package var patientRegistrars: [String]?

    /// Reads and validates a policy file.
    package static func load(_ data: Data) throws(PolicyError) -> PolicySet {
        let set: PolicySet
        do { set = try JSONDecoder().decode(PolicySet.self, from: data) } catch {
            throw PolicyError("policy.invalid", "the policy file is not a valid policy set")
        }
        guard !set.version.isEmpty, !set.roles.isEmpty else { throw PolicyError("policy.invalid", "a policy set needs a version and at least one role") }
        for (_, r) in set.roles {
            for purpose in r.ceilings.keys where PurposeOfUse(rawValue: purpose) == nil {
                throw PolicyError("policy.invalid", "a role names an unknown purpose of use")
            }
        }
        return set
    }

    /// Reads and validates a policy file an administrator maintains. The file must not be writable by anyone but its
    /// owner (group or world write permission is refused, as sshd refuses a loose authorized_keys): policy is changed
    /// by an administrator, and each change is audited when the node loads it.
    package static func load(file path: String) throws(PolicyError) -> PolicySet {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let data = FileManager.default.contents(atPath: path) else {
            throw PolicyError("policy.invalid", "the policy file cannot be read")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o022 == 0 else {
            throw PolicyError("policy.unsafe-file", "the policy file is writable by others than its owner (only an administrator may change policy)")
        }
        return try load(data)
    }

    /// The shipped default (`Resources/default-policy.json`).
    package static func shippedDefault() throws(PolicyError) -> PolicySet {
        guard let url = Bundle.module.url(forResource: "default-policy", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            throw PolicyError("policy.invalid", "the shipped default policy is missing")
        }
        return try load(data)
    }
}

/// A policy error.
package struct PolicyError: CaduceusError {
    package let code: String
    package let message: String
    /// A policy or consent statement that breaks a rule: the client's (or the administrator's) mistake.
    package var category: ErrorCategory { .client }
    package init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The policy decision point: attributes in, decision out. Default deny (no rule permitting → deny); deny overrides
/// permit (any denying rule wins).
package struct PolicyDecisionPoint: Sendable {
    package let policy: PolicySet
    package init(policy: PolicySet) { self.policy = policy }

    package func decide(_ r: AccessRequest) -> Decision {
        var denies: [String] = []
        var permits: [String] = []
        var obligations = ["audit"]
        // Role and purpose.
        guard let role = policy.roles[r.role] else {
            return Decision(effect: .deny, reasons: ["role.unknown"], obligations: ["audit"])
        }
        if let ceiling = role.ceilings[r.purpose.rawValue] {
            if r.confidentiality <= ceiling { permits.append("role.\(r.purpose.rawValue).ceiling") } else { denies.append("role.above-ceiling") }
        } else {
            denies.append("role.purpose-not-permitted")
        }
        if policy.neverReleased.contains(r.confidentiality) { denies.append("confidentiality.never-released") }
        // Consent.
        let override = policy.overridesOptOut.contains(r.purpose)
        if policy.ownRecordPurposes?.contains(r.purpose) == true {
            permits.append("consent.own-record")
        } else {
        switch r.consent {
        case .optIn:
            permits.append("consent.opt-in")
        case .none, .expired:
            if policy.permittedWithoutConsent.contains(r.purpose) { permits.append("consent.default") } else { denies.append("consent.required") }
        case .optOut, .revoked:
            if override { permits.append("consent.emergency-override") } else { denies.append("consent.\(r.consent.rawValue)") }
        case .documentDeny:
            denies.append("consent.document-deny")
        }
        }
        if override {
            obligations += ["audit-emergency", "notify-privacy-officer"]
        }
        // Deny overrides; no permit means deny.
        if !denies.isEmpty { return Decision(effect: .deny, reasons: denies, obligations: ["audit"]) }
        if permits.isEmpty { return Decision(effect: .deny, reasons: ["default-deny"], obligations: ["audit"]) }
        return Decision(effect: .permit, reasons: permits, obligations: obligations)
    }
}
