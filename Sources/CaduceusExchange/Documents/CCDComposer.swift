public import CaduceusPatientIndex
public import CaduceusStorage
public import struct Foundation.Date
import Foundation
import CaduceusCDA
import CaduceusDocuments
import CaduceusCore

/// Generates a C-CDA 2.1 CCD from what a hospital node holds about a patient: the demographics from ADT and the
/// results from ORU (OBX). Problems, medications and allergies sections are written with the node's data when it
/// has any and as "no information" otherwise (the HL7 feed does not yet carry DG1/AL1/RXE into the store).
public enum CCDComposer {
    /// The CCD for `identity`, authored by this node.
    /// - Throws: `exchange.unknown-patient` when the node holds no such patient; `cda.invalid-content`.
    public static func compose(for identity: LocalIdentity, store: any CaduceusStore, nodeId: String, organization: String, now: Date) async throws -> [UInt8] {
        let (record, observations) = try await store.read { r in (try r.patient(identity), try r.observations(for: identity)) }
        guard let record else { throw ExchangeError(.unknownPatient, "this node holds no patient with this identity") }
        let d = record.demographics
        let results = observations.map { o in
            CCDContent.Result(
                code: CodedValue(code: o.code, codeSystem: o.codeSystem == "LN" || o.codeSystem.isEmpty ? "2.16.840.1.113883.6.1" : o.codeSystem, displayName: o.text),
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
            results: results)
        return try CCDWriter.write(content)
    }

    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func p(_ n: Int?, _ w: Int) -> String { let s = String(n ?? 0); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return p(c.year, 4) + p(c.month, 2) + p(c.day, 2) + p(c.hour, 2) + p(c.minute, 2) + p(c.second, 2) + "+0000"
    }
}
