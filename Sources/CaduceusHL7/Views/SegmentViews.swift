/// MSH — Message header (§2.14.9).
public struct MSHSegment: HL7SegmentView {
    /// `MSH`.
    public static let segmentID = "MSH"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// MSH-3 sending application.
    public var sendingApplication: HD? { get throws(HL7Error) { try all(3) { r, d throws(HL7Error) in try r.hd(d) }.first } }
    /// MSH-4 sending facility.
    public var sendingFacility: HD? { get throws(HL7Error) { try all(4) { r, d throws(HL7Error) in try r.hd(d) }.first } }
    /// MSH-5 receiving application.
    public var receivingApplication: HD? { get throws(HL7Error) { try all(5) { r, d throws(HL7Error) in try r.hd(d) }.first } }
    /// MSH-6 receiving facility.
    public var receivingFacility: HD? { get throws(HL7Error) { try all(6) { r, d throws(HL7Error) in try r.hd(d) }.first } }
    /// MSH-7 date/time of message.
    public var dateTime: String { get throws(HL7Error) { try string(7) } }
    /// MSH-9.1 message code (`ADT`).
    public var messageCode: String { get throws(HL7Error) { try string(9, 1) } }
    /// MSH-9.2 trigger event (`A01`).
    public var triggerEvent: String { get throws(HL7Error) { try string(9, 2) } }
    /// MSH-9.3 message structure (`ADT_A01`).
    public var messageStructure: String { get throws(HL7Error) { try string(9, 3) } }
    /// MSH-10 message control id.
    public var controlID: String { get throws(HL7Error) { try string(10) } }
    /// MSH-11 processing id (`P`, `D`, `T`).
    public var processingID: String { get throws(HL7Error) { try string(11) } }
    /// MSH-12 version id (`2.5.1`).
    public var versionID: String { get throws(HL7Error) { try string(12) } }
    /// MSH-15 accept acknowledgment type (`AL`, `NE`, `ER`, `SU`); non-empty means enhanced mode.
    public var acceptAcknowledgmentType: String { get throws(HL7Error) { try string(15) } }
    /// MSH-16 application acknowledgment type.
    public var applicationAcknowledgmentType: String { get throws(HL7Error) { try string(16) } }
    /// MSH-18 character set.
    public var characterSet: String { get throws(HL7Error) { try string(18) } }
}

/// EVN — Event type (§3.4.1).
public struct EVNSegment: HL7SegmentView {
    /// `EVN`.
    public static let segmentID = "EVN"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// EVN-1 event type code.
    public var eventTypeCode: String { get throws(HL7Error) { try string(1) } }
    /// EVN-2 recorded date/time.
    public var recordedDateTime: String { get throws(HL7Error) { try string(2) } }
}

/// PID — Patient identification (§3.4.2).
public struct PIDSegment: HL7SegmentView {
    /// `PID`.
    public static let segmentID = "PID"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// PID-3 patient identifier list.
    public var identifiers: [CX] { get throws(HL7Error) { try all(3) { r, d throws(HL7Error) in try r.cx(d) } } }
    /// PID-5 patient names.
    public var names: [XPN] { get throws(HL7Error) { try all(5) { r, d throws(HL7Error) in try r.xpn(d) } } }
    /// PID-6 mother's maiden name.
    public var mothersMaidenName: [XPN] { get throws(HL7Error) { try all(6) { r, d throws(HL7Error) in try r.xpn(d) } } }
    /// PID-7 date/time of birth.
    public var birthDate: String { get throws(HL7Error) { try string(7) } }
    /// PID-8 administrative sex.
    public var sex: String { get throws(HL7Error) { try string(8) } }
    /// PID-11 patient addresses.
    public var addresses: [XAD] { get throws(HL7Error) { try all(11) { r, d throws(HL7Error) in try r.xad(d) } } }
    /// PID-13 phone numbers, home.
    public var homePhones: [XTN] { get throws(HL7Error) { try all(13) { r, d throws(HL7Error) in try r.xtn(d) } } }
    /// PID-14 phone numbers, business.
    public var businessPhones: [XTN] { get throws(HL7Error) { try all(14) { r, d throws(HL7Error) in try r.xtn(d) } } }
    /// PID-18 patient account number.
    public var accountNumber: CX? { get throws(HL7Error) { try all(18) { r, d throws(HL7Error) in try r.cx(d) }.first } }
    /// PID-30 patient death indicator.
    public var deathIndicator: String { get throws(HL7Error) { try string(30) } }
}

/// PD1 — Patient additional demographic (§3.4.10).
public struct PD1Segment: HL7SegmentView {
    /// `PD1`.
    public static let segmentID = "PD1"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// PD1-3 patient primary facility (organisation name).
    public var primaryFacility: String { get throws(HL7Error) { try string(3) } }
    /// PD1-4 primary care provider (family name component).
    public var primaryCareProvider: String { get throws(HL7Error) { try string(4, 2) } }
}

/// NK1 — Next of kin / associated parties (§3.4.5).
public struct NK1Segment: HL7SegmentView {
    /// `NK1`.
    public static let segmentID = "NK1"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// NK1-2 name.
    public var names: [XPN] { get throws(HL7Error) { try all(2) { r, d throws(HL7Error) in try r.xpn(d) } } }
    /// NK1-3 relationship.
    public var relationship: CWE? { get throws(HL7Error) { try all(3) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// NK1-4 address.
    public var addresses: [XAD] { get throws(HL7Error) { try all(4) { r, d throws(HL7Error) in try r.xad(d) } } }
    /// NK1-5 phone number.
    public var phones: [XTN] { get throws(HL7Error) { try all(5) { r, d throws(HL7Error) in try r.xtn(d) } } }
    /// NK1-7 contact role (`C` emergency contact, `N` next of kin…).
    public var contactRole: CWE? { get throws(HL7Error) { try all(7) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
}

/// PV1 — Patient visit (§3.4.3).
public struct PV1Segment: HL7SegmentView {
    /// `PV1`.
    public static let segmentID = "PV1"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// PV1-2 patient class.
    public var patientClass: String { get throws(HL7Error) { try string(2) } }
    /// PV1-3 assigned patient location (point of care).
    public var assignedLocation: String { get throws(HL7Error) { try string(3) } }
    /// PV1-7 attending doctor (family name).
    public var attendingDoctor: String { get throws(HL7Error) { try string(7, 2) } }
    /// PV1-19 visit number.
    public var visitNumber: CX? { get throws(HL7Error) { try all(19) { r, d throws(HL7Error) in try r.cx(d) }.first } }
    /// PV1-44 admit date/time.
    public var admitDateTime: String { get throws(HL7Error) { try string(44) } }
}

/// MRG — Merge patient information (§3.4.9).
public struct MRGSegment: HL7SegmentView {
    /// `MRG`.
    public static let segmentID = "MRG"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// MRG-1 prior patient identifier list.
    public var priorIdentifiers: [CX] { get throws(HL7Error) { try all(1) { r, d throws(HL7Error) in try r.cx(d) } } }
}

/// OBR — Observation request (§4.5.3).
public struct OBRSegment: HL7SegmentView {
    /// `OBR`.
    public static let segmentID = "OBR"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// OBR-2 placer order number.
    public var placerOrderNumber: String { get throws(HL7Error) { try string(2) } }
    /// OBR-3 filler order number.
    public var fillerOrderNumber: String { get throws(HL7Error) { try string(3) } }
    /// OBR-4 universal service identifier.
    public var universalServiceID: CWE? { get throws(HL7Error) { try all(4) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// OBR-7 observation date/time.
    public var observationDateTime: String { get throws(HL7Error) { try string(7) } }
    /// OBR-25 result status.
    public var resultStatus: String { get throws(HL7Error) { try string(25) } }
}

/// OBX — Observation/result (§7.4.2).
public struct OBXSegment: HL7SegmentView {
    /// `OBX`.
    public static let segmentID = "OBX"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// OBX-1 set id.
    public var setID: String { get throws(HL7Error) { try string(1) } }
    /// OBX-2 value type (`NM`, `ST`, `ED`…).
    public var valueType: String { get throws(HL7Error) { try string(2) } }
    /// OBX-3 observation identifier.
    public var observationIdentifier: CWE? { get throws(HL7Error) { try all(3) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// OBX-4 observation sub-id.
    public var subID: String { get throws(HL7Error) { try string(4) } }
    /// OBX-6 units.
    public var units: CWE? { get throws(HL7Error) { try all(6) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// OBX-7 references range.
    public var referencesRange: String { get throws(HL7Error) { try string(7) } }
    /// OBX-8 abnormal flags.
    public var abnormalFlags: String { get throws(HL7Error) { try string(8) } }
    /// OBX-11 observation result status.
    public var resultStatus: String { get throws(HL7Error) { try string(11) } }
    /// OBX-14 date/time of the observation.
    public var observationDateTime: String { get throws(HL7Error) { try string(14) } }
}

/// NTE — Notes and comments (§2.15.10).
public struct NTESegment: HL7SegmentView {
    /// `NTE`.
    public static let segmentID = "NTE"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// NTE-1 set id.
    public var setID: String { get throws(HL7Error) { try string(1) } }
    /// NTE-2 source of comment.
    public var sourceOfComment: String { get throws(HL7Error) { try string(2) } }
}

/// IN1 — Insurance (§6.5.6).
public struct IN1Segment: HL7SegmentView {
    /// `IN1`.
    public static let segmentID = "IN1"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// IN1-1 set id.
    public var setID: String { get throws(HL7Error) { try string(1) } }
    /// IN1-2 insurance plan id.
    public var planID: CWE? { get throws(HL7Error) { try all(2) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// IN1-3 insurance company id.
    public var companyID: CX? { get throws(HL7Error) { try all(3) { r, d throws(HL7Error) in try r.cx(d) }.first } }
    /// IN1-4 insurance company name.
    public var companyName: String { get throws(HL7Error) { try string(4) } }
    /// IN1-8 group number.
    public var groupNumber: String { get throws(HL7Error) { try string(8) } }
    /// IN1-16 name of insured.
    public var insuredNames: [XPN] { get throws(HL7Error) { try all(16) { r, d throws(HL7Error) in try r.xpn(d) } } }
    /// IN1-36 policy number.
    public var policyNumber: String { get throws(HL7Error) { try string(36) } }
}

/// QPD — Query parameter definition (§5.5.4).
public struct QPDSegment: HL7SegmentView {
    /// `QPD`.
    public static let segmentID = "QPD"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// QPD-1 message query name (`IHE PIX Query`, `IHE PDQ Query`).
    public var messageQueryName: CWE? { get throws(HL7Error) { try all(1) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// QPD-2 query tag.
    public var queryTag: String { get throws(HL7Error) { try string(2) } }
}

/// RCP — Response control parameter (§5.5.6).
public struct RCPSegment: HL7SegmentView {
    /// `RCP`.
    public static let segmentID = "RCP"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// RCP-1 query priority (`I` immediate).
    public var queryPriority: String { get throws(HL7Error) { try string(1) } }
    /// RCP-2.1 quantity limited request (number).
    public var quantityLimit: String { get throws(HL7Error) { try string(2) } }
    /// RCP-2.2 units (`RD` records).
    public var quantityUnits: String { get throws(HL7Error) { try string(2, 2) } }
}

/// MSA — Message acknowledgment (§2.14.8).
public struct MSASegment: HL7SegmentView {
    /// `MSA`.
    public static let segmentID = "MSA"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// MSA-1 acknowledgment code (AA/AE/AR, CA/CE/CR).
    public var acknowledgmentCode: String { get throws(HL7Error) { try string(1) } }
    /// MSA-2 message control id being acknowledged.
    public var controlID: String { get throws(HL7Error) { try string(2) } }
    /// MSA-3 text message (deprecated; ERR carries detail).
    public var textMessage: String { get throws(HL7Error) { try string(3) } }
}

/// ERR — Error (§2.14.5).
public struct ERRSegment: HL7SegmentView {
    /// `ERR`.
    public static let segmentID = "ERR"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }

    /// ERR-2.1 segment id of the error location.
    public var errorLocationSegment: String { get throws(HL7Error) { try string(2) } }
    /// ERR-2.3 field position.
    public var errorLocationField: String { get throws(HL7Error) { try string(2, 3) } }
    /// ERR-3.1 HL7 error code (table 0357).
    public var errorCode: String { get throws(HL7Error) { try string(3) } }
    /// ERR-3.2 error code text.
    public var errorText: String { get throws(HL7Error) { try string(3, 2) } }
    /// ERR-4 severity (`E`, `W`, `I`).
    public var severity: String { get throws(HL7Error) { try string(4) } }
}
extension OBXSegment {
    /// OBX-5 observation value, every repetition, first component decoded (for `ED` the base64 data is component 5).
    public var values: [String] {
        get throws(HL7Error) {
            let component = (try valueType) == "ED" ? 5 : 1
            var out: [String] = []
            for r in segment[5].repetitions { out.append(try r[component][subcomponent: 1].value(dialect)) }
            return out
        }
    }
}

extension NTESegment {
    /// NTE-3 comment lines.
    public var comments: [String] {
        get throws(HL7Error) {
            var out: [String] = []
            for r in segment[3].repetitions { out.append(try r[1][subcomponent: 1].value(dialect)) }
            return out
        }
    }
}

extension QPDSegment {
    /// QPD-3 and later: the query's parameters as repetitions of field 3 + n (PIX: QPD-3 the person id, QPD-4 what
    /// domains to return; PDQ: QPD-3 `@PID.5.1.1^SMITH~@PID.7^19700101`).
    public func parameter(_ n: Int) -> [HL7Repetition] { repetitions(2 + n) }
}

extension ERRSegment {
    /// ERR-2 as a location.
    public var location: HL7Location? {
        get throws(HL7Error) {
            let id = try errorLocationSegment
            guard !id.isEmpty else { return nil }
            return HL7Location(
                segment: id, sequence: Int(try string(2, 2)) ?? 1, field: Int(try string(2, 3)) ?? 0,
                repetition: Int(try string(2, 4)) ?? 0, component: Int(try string(2, 5)) ?? 0)
        }
    }
}

/// AL1 — Patient allergy information (§3.4.6).
public struct AL1Segment: HL7SegmentView {
    /// `AL1`.
    public static let segmentID = "AL1"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }
    /// AL1-2 allergen type (`DA` drug, `FA` food, `EA` environmental…).
    public var allergenType: CWE? { get throws(HL7Error) { try all(2) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// AL1-3 allergen code.
    public var allergen: CWE? { get throws(HL7Error) { try all(3) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// AL1-4 severity (`SV` severe, `MO` moderate, `MI` mild).
    public var severity: CWE? { get throws(HL7Error) { try all(4) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// AL1-5 reactions.
    public var reactions: [String] { get throws(HL7Error) { try all(5) { r, d throws(HL7Error) in let c = try r.cwe(d); return c.text.isEmpty ? c.identifier : c.text } } }
}

/// DG1 — Diagnosis (§6.5.2).
public struct DG1Segment: HL7SegmentView {
    /// `DG1`.
    public static let segmentID = "DG1"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }
    /// DG1-3 diagnosis code (ICD-10, SNOMED CT…).
    public var diagnosis: CWE? { get throws(HL7Error) { try all(3) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// DG1-5 diagnosis date/time.
    public var diagnosedAt: String { get throws(HL7Error) { try string(5) } }
    /// DG1-6 diagnosis type (`A` admitting, `W` working, `F` final).
    public var type: String { get throws(HL7Error) { try string(6) } }
}

/// RXE — Pharmacy/treatment encoded order (§4.14.4).
public struct RXESegment: HL7SegmentView {
    /// `RXE`.
    public static let segmentID = "RXE"
    /// The segment.
    public let segment: HL7Segment
    /// Its dialect.
    public let dialect: HL7Dialect
    /// Wraps a segment.
    public init(_ segment: HL7Segment, _ dialect: HL7Dialect) {
        self.segment = segment
        self.dialect = dialect
    }
    /// RXE-1.4 start date/time (quantity/timing).
    public var start: String { get throws(HL7Error) { try string(1, 4) } }
    /// RXE-2 give code (RxNorm, NDC…).
    public var giveCode: CWE? { get throws(HL7Error) { try all(2) { r, d throws(HL7Error) in try r.cwe(d) }.first } }
    /// RXE-3 minimum give amount.
    public var amount: String { get throws(HL7Error) { try string(3) } }
    /// RXE-5.1 give units.
    public var units: String { get throws(HL7Error) { try string(5) } }
    /// RXE-7 provider's administration instructions (text of the first repetition).
    public var instructions: String { get throws(HL7Error) { try all(7) { r, d throws(HL7Error) in try r.cwe(d).text }.first ?? "" } }
}
