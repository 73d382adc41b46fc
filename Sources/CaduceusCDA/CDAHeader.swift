package import CaduceusCore
package import struct Foundation.Date

/// The HL7 v3 namespace every CDA element lives in.
package let hl7v3Namespace = "urn:hl7-org:v3"

/// An HL7 v3 `II` (instance identifier): an OID or UUID root with an optional extension.
package struct InstanceIdentifier: Sendable, Hashable, Codable, CustomStringConvertible {
    /// OID or UUID.
    package var root: String
    /// The extension within the root, `""` when absent.
    package var `extension`: String
    /// Creates an identifier.
    package init(root: String, extension: String = "") {
        self.root = root
        self.extension = `extension`
    }
    /// The XDS form (ITI TF-3 §4.2.3.2.26): `root^extension`, or `root` alone.
    package var description: String { `extension`.isEmpty ? root : "\(root)^\(`extension`)" }

    /// Parses the XDS form.
    package init?(xds: String) {
        let parts = xds.split(separator: "^", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else { return nil }
        self.root = String(first)
        self.extension = parts.count > 1 ? String(parts[1]) : ""
    }
}

/// An HL7 v3 coded value (`CD`/`CE`): code, code system OID, display name.
package struct CodedValue: Sendable, Hashable, Codable {
    /// The code.
    package var code: String
    /// Its code system OID (LOINC is `2.16.840.1.113883.6.1`).
    package var codeSystem: String
    /// Human-readable name, `""` when absent.
    package var displayName: String
    /// Creates a value.
    package init(code: String, codeSystem: String, displayName: String = "") {
        self.code = code
        self.codeSystem = codeSystem
        self.displayName = displayName
    }
}

/// An HL7 `TS` timestamp (`YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]`) as written and as an instant.
package struct HL7Timestamp: Sendable, Hashable, Codable, Comparable {
    /// The value as written.
    package var value: String
    /// The instant, reading a missing time as midnight and a missing offset as UTC.
    package var date: Date

    /// Parses `value`; `nil` when it is not a TS.
    package init?(_ value: String) {
        let text = value.trimmingSpaces
        var digits = Substring(text)
        var offsetSeconds = 0
        if let sign = digits.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let zone = digits[digits.index(after: sign)...]
            guard zone.count == 4, let z = Int(zone) else { return nil }
            offsetSeconds = ((z / 100) * 3600 + (z % 100) * 60) * (digits[sign] == "-" ? -1 : 1)
            digits = digits[..<sign]
        }
        if let dot = digits.firstIndex(of: ".") { digits = digits[..<dot] }
        guard digits.count >= 4, digits.count <= 14, digits.count % 2 == 0, digits.allSatisfy(\.isASCIIDigit) else { return nil }
        let d = digits.utf8.map { Int($0) - 48 }
        func two(_ at: Int, _ fallback: Int) -> Int { at + 2 <= d.count ? d[at] * 10 + d[at + 1] : fallback }
        let year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
        let month = two(4, 1), day = two(6, 1), hour = two(8, 0), minute = two(10, 0), second = two(12, 0)
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.value = text
        self.date = Date(timeIntervalSince1970: Double(seconds))
    }

    /// Orders by instant.
    package static func < (lhs: HL7Timestamp, rhs: HL7Timestamp) -> Bool { lhs.date < rhs.date }
}

/// The patient named in `recordTarget`: PHI, so it travels wrapped in ``Sensitive``.
package struct CDAPatient: Sendable, Hashable, Codable {
    /// Given names in order.
    package var given: [String]
    /// Family name.
    package var family: String
    /// `birthTime/@value`.
    package var birthTime: String
    /// `administrativeGenderCode/@code`.
    package var gender: String
    /// Creates a patient.
    package init(given: [String], family: String, birthTime: String, gender: String) {
        self.given = given
        self.family = family
        self.birthTime = birthTime
        self.gender = gender
    }
}

/// A document author (`author/assignedAuthor`).
package struct CDAAuthor: Sendable, Hashable, Codable {
    /// `assignedAuthor/id` (an NPI for US clinicians).
    package var ids: [InstanceIdentifier]
    /// The person's name as `given family suffix`, `""` for a device author.
    package var person: String
    /// `representedOrganization/name`, `""` when absent.
    package var organization: String
    /// Creates an author.
    package init(ids: [InstanceIdentifier], person: String, organization: String) {
        self.ids = ids
        self.person = person
        self.organization = organization
    }
}

/// What a registry needs from a CDA R2 header (XDS DocumentEntry sources, ITI TF-3 §4.2.3.2 and the CDA→XDS
/// mapping of IHE PCC TF-2 §4.1).
package struct CDAHeader: Sendable {
    /// `ClinicalDocument/id`: the document's unique id.
    package var id: InstanceIdentifier
    /// `setId` and `versionNumber`: the version chain the document belongs to.
    package var setId: InstanceIdentifier?
    /// `versionNumber/@value`.
    package var versionNumber: Int?
    /// `templateId`s (C-CDA document templates).
    package var templateIds: [InstanceIdentifier]
    /// `code`: the LOINC document type (XDS typeCode).
    package var typeCode: CodedValue
    /// The XDS classCode derived from the type (see ``DocumentClass``).
    package var classCode: CodedValue
    /// `title`.
    package var title: String
    /// `effectiveTime`: when the document was created.
    package var effectiveTime: HL7Timestamp
    /// `confidentialityCode` (HL7 Confidentiality: N, R, V, …).
    package var confidentiality: CodedValue
    /// `languageCode/@code`, `""` when absent.
    package var languageCode: String
    /// `recordTarget/patientRole/id`: the patient's identifiers.
    package var patientIds: [InstanceIdentifier]
    /// Name, birth time and gender of the patient.
    package var patient: Sensitive<CDAPatient>
    /// The authors.
    package var authors: [CDAAuthor]
    /// `custodian/assignedCustodian/representedCustodianOrganization`: id and name.
    package var custodianIds: [InstanceIdentifier]
    /// Custodian organisation name.
    package var custodianName: String
    /// `documentationOf/serviceEvent/effectiveTime` low and high.
    package var serviceStart: HL7Timestamp?
    /// See ``serviceStart``.
    package var serviceStop: HL7Timestamp?
    /// `relatedDocument`: how this document relates to an earlier one (RPLC, APND, XFRM) and that one's id.
    package var parent: (relation: String, id: InstanceIdentifier)?
    /// `componentOf/encompassingEncounter/location/healthCareFacility/code`: the kind of facility the care was given
    /// in (XDS healthcareFacilityTypeCode, IHE PCC TF-2 §4.1.1), nil when the header names none.
    package var facilityType: CodedValue? = nil

    /// Reads a CDA R2 document's header.
    /// - Throws: ``CDAError``: the XML reader's codes, then `cda.not-cda` and `cda.missing-header`.
    package static func read(_ bytes: [UInt8], limits: XML.Limits = XML.Limits()) throws(CDAError) -> CDAHeader {
        try read(XML.parse(bytes, limits: limits))
    }

    /// Reads the header only: the document is parsed up to the root's `component` (the body, which CDA R2 puts after
    /// every header element), and the body is not read. For a repository filing a document it does not render, this
    /// is what metadata needs, at a cost that does not grow with the body (a 10 MB document's header reads as fast as a
    /// 10 KB one's).
    package static func readHeader(_ bytes: [UInt8], limits: XML.Limits = XML.Limits()) throws(CDAError) -> CDAHeader {
        try read(XML.parsePrefix(bytes, stoppingAt: XML.Name(hl7v3Namespace, "component"), limits: limits))
    }

    /// Reads the header from a parsed document.
    package static func read(_ root: XML.Element) throws(CDAError) -> CDAHeader {
        let v3 = hl7v3Namespace
        guard root.name == XML.Name(v3, "ClinicalDocument") else {
            throw CDAError(.notCDA, "the root element is not ClinicalDocument in the urn:hl7-org:v3 namespace")
        }
        func ii(_ e: XML.Element) -> InstanceIdentifier? {
            guard let r = e.attribute("root")?.trimmingSpaces, !r.isEmpty else { return nil }
            return InstanceIdentifier(root: r, extension: e.attribute("extension")?.trimmingSpaces ?? "")
        }
        func coded(_ e: XML.Element?) -> CodedValue? {
            guard let e, let c = e.attribute("code"), !c.isEmpty else { return nil }
            return CodedValue(code: c, codeSystem: e.attribute("codeSystem") ?? "", displayName: e.attribute("displayName") ?? "")
        }
        func required<T>(_ value: T?, _ what: String) throws(CDAError) -> T {
            guard let value else { throw CDAError(.missingHeader, "the header has no \(what)") }
            return value
        }
        let id = try required(root.child("id", namespace: v3).flatMap(ii), "id with a root")
        let type = try required(coded(root.child("code", namespace: v3)), "document type code")
        let effective = try required(root.child("effectiveTime", namespace: v3)?.attribute("value").flatMap(HL7Timestamp.init), "valid effectiveTime")
        let confidentiality = try required(coded(root.child("confidentialityCode", namespace: v3)), "confidentialityCode")
        let roles = root.children("recordTarget", namespace: v3).compactMap { $0.child("patientRole", namespace: v3) }
        let patientIds = roles.flatMap { $0.children("id", namespace: v3).compactMap(ii) }
        guard !patientIds.isEmpty else { throw CDAError(.missingHeader, "the header has no recordTarget/patientRole/id") }
        let patientElement = roles.first?.child("patient", namespace: v3)
        let name = patientElement?.child("name", namespace: v3)
        let patient = CDAPatient(
            given: name?.children("given", namespace: v3).map { $0.text.trimmingSpaces } ?? [],
            family: name?.child("family", namespace: v3)?.text.trimmingSpaces ?? "",
            birthTime: patientElement?.child("birthTime", namespace: v3)?.attribute("value") ?? "",
            gender: patientElement?.child("administrativeGenderCode", namespace: v3)?.attribute("code") ?? "")
        let authors = root.children("author", namespace: v3).compactMap { a -> CDAAuthor? in
            guard let assigned = a.child("assignedAuthor", namespace: v3) else { return nil }
            let person = assigned.child("assignedPerson", namespace: v3)?.child("name", namespace: v3).map { n in
                n.elements.filter { ["prefix", "given", "family", "suffix"].contains($0.name.local) }.map { $0.text.trimmingSpaces }.joined(separator: " ")
            } ?? ""
            return CDAAuthor(
                ids: assigned.children("id", namespace: v3).compactMap(ii), person: person,
                organization: assigned.child("representedOrganization", namespace: v3)?.child("name", namespace: v3)?.text.trimmingSpaces ?? "")
        }
        let custodian = root.child("custodian", namespace: v3)?.child("assignedCustodian", namespace: v3)?
            .child("representedCustodianOrganization", namespace: v3)
        let service = root.child("documentationOf", namespace: v3)?.child("serviceEvent", namespace: v3)?.child("effectiveTime", namespace: v3)
        var parent: (String, InstanceIdentifier)?
        if let related = root.child("relatedDocument", namespace: v3),
           let pid = related.child("parentDocument", namespace: v3)?.child("id", namespace: v3).flatMap(ii)
        {
            parent = (related.attribute("typeCode") ?? "", pid)
        }
        return CDAHeader(
            id: id,
            setId: root.child("setId", namespace: v3).flatMap(ii),
            versionNumber: root.child("versionNumber", namespace: v3)?.attribute("value").flatMap { Int($0) },
            templateIds: root.children("templateId", namespace: v3).compactMap(ii),
            typeCode: type,
            classCode: DocumentClass.classCode(forType: type),
            title: root.child("title", namespace: v3)?.text.trimmingSpaces ?? "",
            effectiveTime: effective,
            confidentiality: confidentiality,
            languageCode: root.child("languageCode", namespace: v3)?.attribute("code") ?? "",
            patientIds: patientIds,
            patient: Sensitive(patient),
            authors: authors,
            custodianIds: custodian?.children("id", namespace: v3).compactMap(ii) ?? [],
            custodianName: custodian?.child("name", namespace: v3)?.text.trimmingSpaces ?? "",
            serviceStart: service?.child("low", namespace: v3)?.attribute("value").flatMap(HL7Timestamp.init),
            serviceStop: service?.child("high", namespace: v3)?.attribute("value").flatMap(HL7Timestamp.init),
            parent: parent,
            facilityType: coded(
                root.child("componentOf", namespace: v3)?.child("encompassingEncounter", namespace: v3)?
                    .child("location", namespace: v3)?.child("healthCareFacility", namespace: v3)?.child("code", namespace: v3)))
    }
}

/// The shipped mapping from a C-CDA document type (LOINC) to an XDS classCode: the LOINC Document Ontology's
/// kind of document (Summary, Note, Report, Plan), as many affinity domains configure it. Unknown types keep their
/// own code as class.
package enum DocumentClass {
    /// LOINC system OID.
    package static let loinc = "2.16.840.1.113883.6.1"
    /// The coding scheme of the classes this table yields.
    package static let classScheme = "urn:caduceus:document-class"
    static let table: [String: (String, String)] = [
        "34133-9": ("Summary", "Summary of episode note"), "18842-5": ("Summary", "Discharge summary"),
        "11488-4": ("Note", "Consult note"), "34117-2": ("Note", "History and physical note"),
        "11504-8": ("Note", "Surgical operation note"), "28570-0": ("Note", "Procedure note"),
        "11506-3": ("Note", "Progress note"), "34111-5": ("Note", "Emergency department note"),
        "18748-4": ("Report", "Diagnostic imaging study"), "18761-7": ("Note", "Transfer summary note"),
        "52521-2": ("Plan", "Overall plan of care"), "18776-5": ("Plan", "Plan of care note"),
        "57016-8": ("Consent", "Privacy policy acknowledgment"),
    ]

    /// Every class this table yields, once each (the codes a document-class table starts from), with "Imaging",
    /// the class a repository gives DICOM instances.
    package static var classes: [String] { Array(Set(table.values.map(\.0))).sorted() + ["Imaging"] }

    /// The LOINC document types this table knows, with their names.
    package static var types: [(code: String, display: String)] { table.map { ($0.key, $0.value.1) }.sorted { $0.code < $1.code } }

    /// The classCode for a type code.
    package static func classCode(forType type: CodedValue) -> CodedValue {
        if type.codeSystem == loinc || type.codeSystem.isEmpty, let (cls, _) = table[type.code] {
            return CodedValue(code: cls, codeSystem: classScheme, displayName: cls)
        }
        return type
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
