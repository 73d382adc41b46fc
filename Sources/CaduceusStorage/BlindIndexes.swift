package import CaduceusAudit
package import CaduceusDocuments
package import Foundation
import CaduceusCore

// The keyed look-ups every storage adapter files rows under (SQLite today, the in-memory test store, PostgreSQL
// later): defined once here so that what a store holds — and what a filter must be turned into — is the same
// whichever adapter holds it.

extension PHICipher {
    /// The blind index a registry files a patient's entries under.
    package func registryPatientIndex(_ p: PatientIdentifier) -> Data {
        blindIndex(p.authority + "\u{1}" + p.id, domain: "registry.patient")
    }

    /// The blind index a consent is filed under (the patient's global id, CX form).
    package func consentPatientIndex(_ patientId: String) -> Data {
        blindIndex(patientId, domain: "consents.patient")
    }

    /// The pseudonym a patient identifier (CX) is audited under at this node: an HMAC blind index, so the trail
    /// holds no identifier in clear yet a patient's events can still be found.
    package func auditPseudonym(_ cx: String) -> String {
        "pseudonym:" + Hex.encode(blindIndex(cx, domain: "audit.patient").prefix(16))
    }

    /// `m` with its patient objects replaced by pseudonyms.
    package func pseudonymized(_ m: AuditMessage) -> AuditMessage {
        var m = m
        m.objects = m.objects.map { o in
            guard o.typeCode == 1, o.role == 1, !o.id.hasPrefix("pseudonym:") else { return o }
            return AuditObject(typeCode: 1, role: 1, idType: AuditCode("pseudonym", system: "caduceus-audit", display: "Patient pseudonym"), id: auditPseudonym(o.id))
        }
        return m
    }
}
