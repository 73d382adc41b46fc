import CaduceusHL7
import CaduceusPatientIndex
import CaduceusStorage
import Foundation

extension HL7Receiver {
    /// The authority of a CX: its universal id when present, else its namespace id.
    static func authority(_ cx: CX) -> String {
        cx.assigningAuthority.universalID.isEmpty ? cx.assigningAuthority.namespaceID : cx.assigningAuthority.universalID
    }

    /// The first PID-3 identifier in a known domain. AE 101 when PID-3 is empty, AE 204 when no domain is known.
    func primaryIdentity(_ identifiers: [CX], segment: String, field: Int) throws(HL7Error) -> LocalIdentity {
        guard !identifiers.isEmpty else {
            throw HL7Error(.requiredFieldMissing, "\(segment)-\(field) is required", at: HL7Location(segment: segment, field: field))
        }
        for cx in identifiers where !cx.id.isEmpty && configuration.knownAuthorities.contains(Self.authority(cx)) {
            return LocalIdentity(id: cx.id, authority: Self.authority(cx))
        }
        throw HL7Error(
            .unknownKey, "\(segment)-\(field) names no assigning authority known to this node",
            at: HL7Location(segment: segment, field: field, repetition: 1, component: 4))
    }

    /// What a message will do, with every PHI value already sealed: built outside the write transaction so the
    /// serialised part of ingest is only look-ups, the MPI decision and inserts.
    struct Prepared: Sendable {
        enum Effect: Sendable {
            case upsert(LocalIdentity, Demographics, SealedPatient, SealedMPIRecord, PatientRecord)
            case merge(survivor: LocalIdentity, prior: LocalIdentity, Demographics, SealedPatient, SealedMPIRecord)
            case results(LocalIdentity, [Observation])
            case medications(LocalIdentity, [PatientRecord.ClinicalEntry])
        }
        let effect: Effect
        let message: SealedMessage

        /// The patient the message is about.
        var identity: LocalIdentity {
            switch effect {
            case .upsert(let i, _, _, _, _), .merge(let i, _, _, _, _), .results(let i, _), .medications(let i, _): return i
            }
        }
    }

    func prepare(_ message: HL7Message, raw: [UInt8], ack: [UInt8]) throws -> Prepared {
        let event = try message.msh.triggerEvent
        let controlID = try message.msh.controlID
        guard let pid = message.view(PIDSegment.self) else {
            throw HL7Error(.requiredFieldMissing, "a PID segment is required", at: HL7Location(segment: "PID", sequence: 1))
        }
        let identifiers = try pid.identifiers
        let identity = try primaryIdentity(identifiers, segment: "PID", field: 3)
        let cipher = store.cipher
        let effect: Prepared.Effect
        switch event {
        case "R01":
            effect = .results(identity, try observations(message))
        case "O11":
            var meds: [PatientRecord.ClinicalEntry] = []
            for rxe in message.views(RXESegment.self) {
                guard let code = try rxe.giveCode, !code.identifier.isEmpty else {
                    throw HL7Error(.requiredFieldMissing, "RXE-2 (give code) is required", at: HL7Location(segment: "RXE", field: 2))
                }
                let dose = [try rxe.amount, try rxe.units].filter { !$0.isEmpty }.joined(separator: " ")
                meds.append(PatientRecord.ClinicalEntry(
                    code: code.identifier, text: code.text, system: code.codingSystem, time: try rxe.start,
                    detail: [dose, try rxe.instructions].filter { !$0.isEmpty }.joined(separator: ", ")))
            }
            guard !meds.isEmpty else { throw HL7Error(.requiredFieldMissing, "an RDE^O11 carries at least one RXE", at: HL7Location(segment: "RXE")) }
            effect = .medications(identity, meds)
        case "A40":
            guard let mrg = message.view(MRGSegment.self) else {
                throw HL7Error(.requiredFieldMissing, "an MRG segment is required", at: HL7Location(segment: "MRG"))
            }
            let prior = try primaryIdentity(try mrg.priorIdentifiers, segment: "MRG", field: 1)
            guard prior != identity else {
                throw HL7Error(.badDataType, "MRG-1 and PID-3 name the same patient", at: HL7Location(segment: "MRG", field: 1))
            }
            let record = try patientRecord(pid, message, identity, identifiers, controlID)
            effect = .merge(
                survivor: identity, prior: prior, record.demographics, try cipher.seal(patient: record),
                try cipher.seal(mpiIdentity: identity, demographics: record.demographics))
        default:
            let names = try pid.names
            // A name is what exists of it: a given name alone (PID-5 `^Maria`, as EMRs send for newborns, mononyms
            // and unknown surnames) is registered and matched on it; only a name with neither part is refused.
            guard let name = names.first, !name.family.isEmpty || !name.given.isEmpty else {
                throw HL7Error(.requiredFieldMissing, "PID-5 needs a family or a given name", at: HL7Location(segment: "PID", field: 5, repetition: 1, component: 1))
            }
            let record = try patientRecord(pid, message, identity, identifiers, controlID)
            effect = .upsert(identity, record.demographics, try cipher.seal(patient: record), try cipher.seal(mpiIdentity: identity, demographics: record.demographics), record)
        }
        return Prepared(effect: effect, message: try cipher.seal(message: raw, ack: ack))
    }

    func apply(_ prepared: Prepared, controlID: String, tx: any StoreTransaction, now: Date) throws {
        switch prepared.effect {
        case .results(let identity, let observations):
            guard try tx.patient(identity) != nil else {
                throw HL7Error(.unknownKey, "PID-3 names a patient this node does not know", at: HL7Location(segment: "PID", field: 3, repetition: 1, component: 1))
            }
            try tx.addObservations(observations, for: identity, controlID: controlID, at: now)
        case .medications(let identity, let meds):
            guard var record = try tx.patient(identity) else {
                throw HL7Error(.unknownKey, "PID-3 names a patient this node does not know", at: HL7Location(segment: "PID", field: 3, repetition: 1, component: 1))
            }
            record.medications = (record.medications ?? []) + meds
            record.lastMessageControlID = controlID
            try tx.savePatient(try store.cipher.seal(patient: record), at: now)
        case .merge(let survivor, let prior, let demographics, let patient, let mpiRecord):
            try Self.checkCodes(demographics, identities: [(survivor, "PID", 3), (prior, "MRG", 1)], tx)
            guard try tx.patient(prior) != nil else {
                throw HL7Error(.unknownKey, "MRG-1 names a patient this node does not know", at: HL7Location(segment: "MRG", field: 1, repetition: 1, component: 1))
            }
            try tx.savePatient(patient, at: now)
            try tx.mergePatient(prior, into: survivor, at: now)
            _ = try mpi.register(survivor, demographics, sealed: mpiRecord, in: tx, actor: "hl7:" + controlID, at: now)
            _ = try mpi.merge(prior, into: survivor, in: tx, actor: "hl7:" + controlID, at: now)
        case .upsert(let identity, let demographics, let patient, let mpiRecord, let record):
            try Self.checkCodes(demographics, identities: [(identity, "PID", 3)], tx)
            // Medications accumulate across messages, and an ADT without AL1/DG1 keeps the lists it does not carry:
            // merge them from the stored record (resealing only then).
            if let old = try tx.patient(identity), old.medications != nil || (record.problems == nil && old.problems != nil) || (record.allergies == nil && old.allergies != nil) {
                var merged = record
                merged.medications = old.medications
                merged.problems = record.problems ?? old.problems
                merged.allergies = record.allergies ?? old.allergies
                try tx.savePatient(try store.cipher.seal(patient: merged), at: now)
            } else {
                try tx.savePatient(patient, at: now)
            }
            _ = try mpi.register(identity, demographics, sealed: mpiRecord, in: tx, actor: "hl7:" + controlID, at: now)
        }
    }

    /// The node's code tables as its administrators saved them (``CodeTableRules``: the newest version, read in this
    /// message's unit of work, so a save is in force from the next message): PID-8 must be a code of the
    /// administrative sex table (AE 102 at PID-8), and the patient ids the message files — PID-3's identity, MRG-1's
    /// on a merge — must be in a domain of the assigning-authority table (AE 204 at PID-3.4 / MRG-1.4, as an
    /// authority the receiver's configuration does not know). A table never saved is not enforced.
    static func checkCodes(_ demographics: Demographics, identities: [(LocalIdentity, String, Int)], _ tx: any StoreTransaction) throws {
        let rules = try CodeTableRules([.administrativeSex, .assigningAuthority]) { try tx.codeTable($0) }
        if let table = rules.refusing(demographics.sex, in: .administrativeSex) {
            throw HL7Error(.badDataType, "PID-8 is not a code of this node's administrative sex table (version \(table.version))", at: HL7Location(segment: "PID", field: 8))
        }
        for (identity, segment, field) in identities {
            if let table = rules.refusing(identity.authority, in: .assigningAuthority) {
                throw HL7Error(
                    .unknownKey, "\(segment)-\(field) names an assigning authority that is not in this node's assigning-authority table (version \(table.version))",
                    at: HL7Location(segment: segment, field: field, repetition: 1, component: 4))
            }
        }
    }

    func patientRecord(_ pid: PIDSegment, _ message: HL7Message, _ identity: LocalIdentity, _ identifiers: [CX], _ controlID: String) throws -> PatientRecord {
        let names = try pid.names
        let address = try pid.addresses.first
        let phone = try pid.homePhones.first
        let birth = try pid.birthDate
        guard birth.isEmpty || (birth.count >= 8 && birth.prefix(8).allSatisfy(\.isNumber)) else {
            throw HL7Error(.badDataType, "PID-7 is not a date (YYYYMMDD)", at: HL7Location(segment: "PID", field: 7))
        }
        let demographics = Demographics(
            family: names.first?.family ?? "", given: names.first?.given ?? "", middle: names.first?.middle ?? "",
            birthDate: String(birth.prefix(8)), sex: try pid.sex, street: address?.street ?? "", city: address?.city ?? "",
            postalCode: address?.postalCode ?? "", phone: phone?.number ?? "")
        var contacts: [PatientRecord.Contact] = []
        for nk1 in message.views(NK1Segment.self) {
            let n = try nk1.names.first
            contacts.append(PatientRecord.Contact(
                name: [n?.family ?? "", n?.given ?? ""].joined(separator: "^"), relationship: try nk1.relationship?.identifier ?? "",
                role: try nk1.contactRole?.identifier ?? "", phone: try nk1.phones.first?.number ?? ""))
        }
        var insurance: [PatientRecord.Insurance] = []
        for in1 in message.views(IN1Segment.self) {
            insurance.append(PatientRecord.Insurance(
                plan: try in1.planID?.identifier ?? "", company: try in1.companyName, policyNumber: try in1.policyNumber,
                groupNumber: try in1.groupNumber))
        }
        var problems: [PatientRecord.ClinicalEntry] = []
        for dg1 in message.views(DG1Segment.self) {
            guard let code = try dg1.diagnosis, !code.identifier.isEmpty else { continue }
            problems.append(PatientRecord.ClinicalEntry(code: code.identifier, text: code.text, system: code.codingSystem, time: try dg1.diagnosedAt, detail: try dg1.type))
        }
        var allergies: [PatientRecord.ClinicalEntry] = []
        for al1 in message.views(AL1Segment.self) {
            guard let code = try al1.allergen, !code.identifier.isEmpty || !code.text.isEmpty else { continue }
            allergies.append(PatientRecord.ClinicalEntry(
                code: code.identifier, text: code.text, system: code.codingSystem, detail: try al1.reactions.joined(separator: ", "),
                severity: try al1.severity?.identifier ?? ""))
        }
        var record = PatientRecord(
            identity: identity,
            identifiers: identifiers.filter { !$0.id.isEmpty }.map { LocalIdentity(id: $0.id, authority: Self.authority($0)) },
            demographics: demographics, otherNames: names.dropFirst().map { $0.family + "^" + $0.given },
            contacts: contacts, insurance: insurance, primaryCareProvider: try message.view(PD1Segment.self)?.primaryCareProvider ?? "",
            lastMessageControlID: controlID)
        record.problems = problems.isEmpty ? nil : problems
        record.allergies = allergies.isEmpty ? nil : allergies
        return record
    }

    func observations(_ message: HL7Message) throws -> [Observation] {
        var out: [Observation] = []
        var order = ""
        for segment in message.segments {
            switch segment.id {
            case "OBR": order = try OBRSegment(segment, message.dialect).universalServiceID?.identifier ?? ""
            case "OBX":
                let obx = OBXSegment(segment, message.dialect)
                let id = try obx.observationIdentifier
                out.append(Observation(
                    code: id?.identifier ?? "", codeSystem: id?.codingSystem ?? "", text: id?.text ?? "", valueType: try obx.valueType,
                    values: try obx.values, units: try obx.units?.identifier ?? "", status: try obx.resultStatus,
                    observedAt: try obx.observationDateTime, orderCode: order))
            default: continue
            }
        }
        return out
    }
}
