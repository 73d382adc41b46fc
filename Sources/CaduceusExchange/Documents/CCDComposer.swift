package import CaduceusPatientIndex
package import CaduceusStorage
package import struct Foundation.Date
import Foundation
import CaduceusCDA
import CaduceusDocuments
import CaduceusCore

/// Generates a C-CDA 2.1 CCD from what a hospital node holds about a patient: the demographics from ADT and the
/// results from ORU (OBX), the problems (DG1) and allergies (AL1) of the last ADT that carried them, and medication
/// orders (RXE from RDE^O11). Sections without data are written as "no information" with nullFlavor entries.
package enum CCDComposer {
    /// The CCD for `identity`, authored by this node.
    /// - Throws: `exchange.unknown-patient` when the node holds no such patient; `cda.invalid-content`.
    package static func compose(for identity: LocalIdentity, store: any CaduceusStore, nodeId: String, organization: String, now: Date) async throws -> [UInt8] {
        let (record, observations) = try await store.read { r in (try r.patient(identity), try r.observations(for: identity)) }
        guard let record else { throw ExchangeError(.unknownPatient, "this node holds no patient with this identity") }
        let d = record.demographics
        let results = observations.map { o in
            CCDContent.Result(
                code: CodedValue(code: o.code, codeSystem: o.codeSystem.isEmpty ? "2.16.840.1.113883.6.1" : codeSystemOID(o.codeSystem), displayName: o.text),
                value: o.values.joined(separator: " "), units: o.units, numeric: o.valueType == "NM", observedAt: o.observedAt, status: o.status)
        }
        let stamp = timestamp(now)
        let content = CCDContent(
            documentId: InstanceIdentifier(root: UUIDOID.make()),
            effectiveTime: stamp,
            patientIds: record.identifiers.map { InstanceIdentifier(root: $0.authority, extension: $0.id) },
            patient: CDAPatient(given: [d.given, d.middle].filter { !$0.isEmpty }, family: d.family, birthTime: d.birthDate, gender: d.sex == "U" ? "UN" : d.sex),
            author: (InstanceIdentifier(root: "2.25.0", extension: nodeId), "Caduceus", organization),
            custodian: (InstanceIdentifier(root: "2.25.0", extension: nodeId), organization),
            problems: (record.problems ?? []).map {
                CCDContent.Problem(code: CodedValue(code: $0.code, codeSystem: codeSystemOID($0.system), displayName: $0.text), onset: $0.time)
            },
            medications: (record.medications ?? []).map {
                CCDContent.Medication(code: CodedValue(code: $0.code, codeSystem: codeSystemOID($0.system), displayName: $0.text), instructions: $0.detail, start: $0.time)
            },
            allergies: (record.allergies ?? []).map {
                CCDContent.Allergy(substance: CodedValue(code: $0.code, codeSystem: codeSystemOID($0.system), displayName: $0.text), reaction: $0.detail, severity: severityText($0.severity))
            },
            results: results)
        return try CCDWriter.write(content)
    }

    /// HL7 v2 coding-system names (table 0396) to the OIDs CDA uses; unknown names pass through as they are.
    static func codeSystemOID(_ name: String) -> String {
        switch name.uppercased() {
        case "LN", "LOINC": return "2.16.840.1.113883.6.1"
        case "SCT", "SNM", "SNOMED", "SNOMEDCT": return "2.16.840.1.113883.6.96"
        case "I10", "ICD10", "ICD10CM", "I10C": return "2.16.840.1.113883.6.90"
        case "I9", "I9C", "ICD9": return "2.16.840.1.113883.6.103"
        case "RXNORM", "RXN": return "2.16.840.1.113883.6.88"
        case "NDC": return "2.16.840.1.113883.6.69"
        case "CVX": return "2.16.840.1.113883.12.292"
        case "UNII": return "2.16.840.1.113883.4.9"
        default: return name
        }
    }

    static func severityText(_ code: String) -> String {
        switch code.uppercased() {
        case "SV": return "Severe"
        case "MO": return "Moderate"
        case "MI": return "Mild"
        default: return code
        }
    }

    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func p(_ n: Int?, _ w: Int) -> String { let s = String(n ?? 0); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return p(c.year, 4) + p(c.month, 2) + p(c.day, 2) + p(c.hour, 2) + p(c.minute, 2) + p(c.second, 2) + "+0000"
    }
}
