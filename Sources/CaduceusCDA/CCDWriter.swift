/// What goes into a generated Continuity of Care Document: the patient data a node holds.
package struct CCDContent: Sendable {
    /// A problem (HL7 v2 DG1, or an EMR's problem list): a SNOMED CT / ICD-10 code and onset.
    package struct Problem: Sendable, Hashable {
        package var code: CodedValue
        package var onset: String
        package var active: Bool
        package init(code: CodedValue, onset: String, active: Bool = true) {
            self.code = code
            self.onset = onset
            self.active = active
        }
    }
    /// A medication (RxNorm code, free-text dose instructions, start date).
    package struct Medication: Sendable, Hashable {
        package var code: CodedValue
        package var instructions: String
        package var start: String
        package var active: Bool
        package init(code: CodedValue, instructions: String, start: String, active: Bool = true) {
            self.code = code
            self.instructions = instructions
            self.start = start
            self.active = active
        }
    }
    /// An allergy or intolerance (HL7 v2 AL1): the substance, the reaction and its severity as text.
    package struct Allergy: Sendable, Hashable {
        package var substance: CodedValue
        package var reaction: String
        package var severity: String
        package init(substance: CodedValue, reaction: String, severity: String) {
            self.substance = substance
            self.reaction = reaction
            self.severity = severity
        }
    }
    /// A result (HL7 v2 OBX from ORU^R01): LOINC code, value (numeric with units, or text), time.
    package struct Result: Sendable, Hashable {
        package var code: CodedValue
        package var value: String
        package var units: String
        package var numeric: Bool
        package var observedAt: String
        package var status: String
        package init(code: CodedValue, value: String, units: String, numeric: Bool, observedAt: String, status: String) {
            self.code = code
            self.value = value
            self.units = units
            self.numeric = numeric
            self.observedAt = observedAt
            self.status = status
        }
    }

    /// The document's unique id.
    package var documentId: InstanceIdentifier
    /// Creation time (HL7 TS).
    package var effectiveTime: String
    /// Confidentiality (N, R, V).
    package var confidentiality: String
    /// The patient's identifiers (at least one).
    package var patientIds: [InstanceIdentifier]
    /// Name, birth date, gender.
    package var patient: CDAPatient
    /// The authoring system: its id, a name and its organisation.
    package var author: (id: InstanceIdentifier, name: String, organization: String)
    /// The custodian: the node's organisation.
    package var custodian: (id: InstanceIdentifier, name: String)
    package var problems: [Problem]
    package var medications: [Medication]
    package var allergies: [Allergy]
    package var results: [Result]

    /// Creates content.
    package init(documentId: InstanceIdentifier, effectiveTime: String, confidentiality: String = "N", patientIds: [InstanceIdentifier], patient: CDAPatient, author: (id: InstanceIdentifier, name: String, organization: String), custodian: (id: InstanceIdentifier, name: String), problems: [Problem] = [], medications: [Medication] = [], allergies: [Allergy] = [], results: [Result] = []) {
        self.documentId = documentId
        self.effectiveTime = effectiveTime
        self.confidentiality = confidentiality
        self.patientIds = patientIds
        self.patient = patient
        self.author = author
        self.custodian = custodian
        self.problems = problems
        self.medications = medications
        self.allergies = allergies
        self.results = results
    }
}

/// Writes a C-CDA R2.1 Continuity of Care Document (template 2.16.840.1.113883.10.20.22.1.2, extension 2015-08-01)
/// with the problems, medications, allergies and results sections (entries required), valid against the CDA R2
/// schema with SDTC extensions. Empty sections carry a "no information" narrative and a nullFlavor entry.
package enum CCDWriter {
    static let loinc = "2.16.840.1.113883.6.1"
    static let snomed = "2.16.840.1.113883.6.96"
    static let actStatus = "2.16.840.1.113883.5.14"

    /// The document as UTF-8 XML.
    /// - Throws: `cda.invalid-content` when the content cannot make a valid document (no patient id, bad times).
    package static func write(_ c: CCDContent) throws(CDAError) -> [UInt8] {
        guard !c.patientIds.isEmpty else { throw CDAError(.invalidContent, "a CCD needs at least one patient id") }
        guard HL7Timestamp(c.effectiveTime) != nil else { throw CDAError(.invalidContent, "effectiveTime is not an HL7 timestamp") }
        guard ["N", "R", "V", "L", "M", "U"].contains(c.confidentiality) else {
            throw CDAError(.invalidContent, "confidentiality is not an HL7 Confidentiality code")
        }
        var w = XMLWriter()
        w.start("ClinicalDocument", ["xmlns": hl7v3Namespace, "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "xmlns:sdtc": "urn:hl7-org:sdtc"])
        w.empty("realmCode", ["code": "US"])
        w.empty("typeId", ["root": "2.16.840.1.113883.1.3", "extension": "POCD_HD000040"])
        w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.1.1", "extension": "2015-08-01"])
        w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.1.2", "extension": "2015-08-01"])
        id(&w, c.documentId)
        w.empty("code", ["code": "34133-9", "displayName": "Summary of episode note", "codeSystem": loinc, "codeSystemName": "LOINC"])
        w.element("title", text: "Continuity of Care Document")
        w.empty("effectiveTime", ["value": c.effectiveTime])
        w.empty("confidentialityCode", ["code": c.confidentiality, "codeSystem": "2.16.840.1.113883.5.25"])
        w.empty("languageCode", ["code": "en-US"])
        w.within("recordTarget") { w in
            w.within("patientRole") { w in
                for pid in c.patientIds { id(&w, pid) }
                w.within("patient") { w in
                    w.within("name", ["use": "L"]) { w in
                        for g in c.patient.given where !g.isEmpty { w.element("given", text: g) }
                        w.element("family", text: c.patient.family)
                    }
                    if ["M", "F", "UN"].contains(c.patient.gender) {
                        w.empty("administrativeGenderCode", ["code": c.patient.gender, "codeSystem": "2.16.840.1.113883.5.1"])
                    } else {
                        w.empty("administrativeGenderCode", ["nullFlavor": "UNK"])
                    }
                    time(&w, "birthTime", c.patient.birthTime)
                }
            }
        }
        w.within("author") { w in
            w.empty("time", ["value": c.effectiveTime])
            w.within("assignedAuthor") { w in
                id(&w, c.author.id)
                w.within("assignedAuthoringDevice") { w in
                    w.element("softwareName", text: c.author.name)
                }
                w.within("representedOrganization") { w in
                    w.element("name", text: c.author.organization)
                }
            }
        }
        w.within("custodian") { w in
            w.within("assignedCustodian") { w in
                w.within("representedCustodianOrganization") { w in
                    id(&w, c.custodian.id)
                    w.element("name", text: c.custodian.name)
                }
            }
        }
        w.within("documentationOf") { w in
            w.within("serviceEvent", ["classCode": "PCPR"]) { w in
                w.within("effectiveTime") { w in
                    let earliest = (c.problems.map(\.onset) + c.medications.map(\.start) + c.results.map(\.observedAt))
                        .compactMap(HL7Timestamp.init).min()
                    w.empty("low", ["value": earliest?.value ?? c.effectiveTime])
                    w.empty("high", ["value": c.effectiveTime])
                }
            }
        }
        w.within("component") { w in
            w.within("structuredBody") { w in
                allergies(&w, c)
                medications(&w, c)
                problems(&w, c)
                results(&w, c)
            }
        }
        w.end()
        return Array(w.output.utf8)
    }

    static func id(_ w: inout XMLWriter, _ ii: InstanceIdentifier) {
        if isUID(ii.root) {
            w.empty("id", ["root": ii.root, "extension": ii.extension.isEmpty ? nil : ii.extension])
        } else {
            // A root that is no OID, UUID or RUID (a bare namespace name) cannot be written as one.
            w.empty("id", ["nullFlavor": "UNK", "extension": ii.extension.isEmpty ? nil : ii.extension])
        }
    }

    /// Whether `s` is an HL7 v3 `uid`: an OID, a UUID or an RUID (CDA datatypes-base `uid`).
    static func isUID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard let first = u.first else { return false }
        func digit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func alpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        // OID: [0-2](\.(0|[1-9][0-9]*))*
        if first >= 48 && first <= 50, u.count == 1 || u[1] == 46 {
            let arcs = s.split(separator: ".", omittingEmptySubsequences: false)
            if arcs.dropFirst().allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(digit) && ($0 == "0" || $0.first != "0") }) { return true }
        }
        // UUID: 8-4-4-4-12 alphanumerics.
        let groups = s.split(separator: "-", omittingEmptySubsequences: false)
        if groups.map(\.count) == [8, 4, 4, 4, 12], groups.allSatisfy({ $0.utf8.allSatisfy { digit($0) || alpha($0) } }) { return true }
        // RUID: [A-Za-z][A-Za-z0-9-]*
        return alpha(first) && u.allSatisfy { digit($0) || alpha($0) || $0 == 45 }
    }

    static func entryId(_ w: inout XMLWriter, _ c: CCDContent, _ kind: String, _ n: Int) {
        let base = c.documentId.extension.isEmpty ? "" : c.documentId.extension + "."
        w.empty("id", ["root": c.documentId.root, "extension": "\(base)\(kind).\(n)"])
    }

    static func time(_ w: inout XMLWriter, _ name: String, _ value: String) {
        if HL7Timestamp(value) != nil { w.empty(name, ["value": value]) } else { w.empty(name, ["nullFlavor": "UNK"]) }
    }

    static func code(_ w: inout XMLWriter, _ name: String, _ v: CodedValue, type: String? = nil) {
        if v.code.isEmpty || !isUID(v.codeSystem) || v.code.contains(where: \.isWhitespace) {
            w.within(name, ["xsi:type": type, "nullFlavor": "OTH"]) { w in
                if !v.displayName.isEmpty { w.element("originalText", text: v.displayName) }
            }
        } else {
            w.empty(name, ["xsi:type": type, "code": v.code, "codeSystem": v.codeSystem, "displayName": v.displayName.isEmpty ? nil : v.displayName])
        }
    }

    static func section(_ w: inout XMLWriter, template: String, code: String, title: String, headers: [String], rows: [[String]], empty: String, entries: (inout XMLWriter) -> Void) {
        w.within("component") { w in
            w.within("section") { w in
                w.empty("templateId", ["root": template])
                w.empty("templateId", ["root": template, "extension": "2015-08-01"])
                w.empty("code", ["code": code, "codeSystem": loinc, "codeSystemName": "LOINC"])
                w.element("title", text: title)
                w.within("text") { w in
                    if rows.isEmpty {
                        w.element("paragraph", text: empty)
                    } else {
                        w.within("table", ["border": "1", "width": "100%"]) { w in
                            w.within("thead") { w in w.within("tr") { w in for h in headers { w.element("th", text: h) } } }
                            w.within("tbody") { w in
                                for r in rows { w.within("tr") { w in for cell in r { w.element("td", text: cell) } } }
                            }
                        }
                    }
                }
                entries(&w)
            }
        }
    }

    static func allergies(_ w: inout XMLWriter, _ c: CCDContent) {
        section(&w, template: "2.16.840.1.113883.10.20.22.2.6.1", code: "48765-2", title: "Allergies and Intolerances",
                headers: ["Substance", "Reaction", "Severity"], rows: c.allergies.map { [$0.substance.displayName.isEmpty ? $0.substance.code : $0.substance.displayName, $0.reaction, $0.severity] },
                empty: "No known allergies") { w in
            let items = c.allergies.isEmpty ? [nil] : c.allergies.map(Optional.some)
            for (n, a) in items.enumerated() {
                w.within("entry", ["typeCode": "DRIV"]) { w in
                    w.within("act", ["classCode": "ACT", "moodCode": "EVN"]) { w in
                        w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.30", "extension": "2015-08-01"])
                        entryId(&w, c, "allergy-act", n + 1)
                        w.empty("code", ["code": "CONC", "codeSystem": "2.16.840.1.113883.5.6"])
                        w.empty("statusCode", ["code": "active"])
                        w.within("effectiveTime") { w in w.empty("low", ["nullFlavor": "UNK"]) }
                        w.within("entryRelationship", ["typeCode": "SUBJ"]) { w in
                            w.within("observation", ["classCode": "OBS", "moodCode": "EVN", "negationInd": a == nil ? "true" : nil]) { w in
                                w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.7", "extension": "2014-06-09"])
                                entryId(&w, c, "allergy", n + 1)
                                w.empty("code", ["code": "ASSERTION", "codeSystem": "2.16.840.1.113883.5.4"])
                                w.empty("statusCode", ["code": "completed"])
                                w.within("effectiveTime") { w in w.empty("low", ["nullFlavor": "UNK"]) }
                                w.empty("value", ["xsi:type": "CD", "code": "419199007", "displayName": "Allergy to substance", "codeSystem": snomed])
                                w.within("participant", ["typeCode": "CSM"]) { w in
                                    w.within("participantRole", ["classCode": "MANU"]) { w in
                                        w.within("playingEntity", ["classCode": "MMAT"]) { w in
                                            if let a { code(&w, "code", a.substance) } else { w.empty("code", ["nullFlavor": "NA"]) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func medications(_ w: inout XMLWriter, _ c: CCDContent) {
        section(&w, template: "2.16.840.1.113883.10.20.22.2.1.1", code: "10160-0", title: "Medications",
                headers: ["Medication", "Instructions", "Start", "Status"],
                rows: c.medications.map { [$0.code.displayName.isEmpty ? $0.code.code : $0.code.displayName, $0.instructions, $0.start, $0.active ? "Active" : "Completed"] },
                empty: "No medication information") { w in
            if c.medications.isEmpty {
                w.within("entry") { w in
                    w.within("substanceAdministration", ["classCode": "SBADM", "moodCode": "EVN", "nullFlavor": "NI"]) { w in
                        w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.16", "extension": "2014-06-09"])
                        entryId(&w, c, "medication", 1)
                        w.empty("statusCode", ["code": "active"])
                        w.within("effectiveTime", ["xsi:type": "IVL_TS"]) { w in w.empty("low", ["nullFlavor": "NI"]) }
                        w.within("consumable") { w in
                            w.within("manufacturedProduct", ["classCode": "MANU"]) { w in
                                w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.23", "extension": "2014-06-09"])
                                w.within("manufacturedMaterial") { w in w.empty("code", ["nullFlavor": "NI"]) }
                            }
                        }
                    }
                }
            }
            for (n, m) in c.medications.enumerated() {
                w.within("entry", ["typeCode": "DRIV"]) { w in
                    w.within("substanceAdministration", ["classCode": "SBADM", "moodCode": "EVN"]) { w in
                        w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.16", "extension": "2014-06-09"])
                        entryId(&w, c, "medication", n + 1)
                        if !m.instructions.isEmpty { w.element("text", text: m.instructions) }
                        w.empty("statusCode", ["code": m.active ? "active" : "completed"])
                        w.within("effectiveTime", ["xsi:type": "IVL_TS"]) { w in time(&w, "low", m.start) }
                        w.within("consumable") { w in
                            w.within("manufacturedProduct", ["classCode": "MANU"]) { w in
                                w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.23", "extension": "2014-06-09"])
                                w.within("manufacturedMaterial") { w in code(&w, "code", m.code) }
                            }
                        }
                    }
                }
            }
        }
    }

    static func problems(_ w: inout XMLWriter, _ c: CCDContent) {
        section(&w, template: "2.16.840.1.113883.10.20.22.2.5.1", code: "11450-4", title: "Problems",
                headers: ["Problem", "Onset", "Status"],
                rows: c.problems.map { [$0.code.displayName.isEmpty ? $0.code.code : $0.code.displayName, $0.onset, $0.active ? "Active" : "Resolved"] },
                empty: "No known problems") { w in
            let items = c.problems.isEmpty ? [nil] : c.problems.map(Optional.some)
            for (n, p) in items.enumerated() {
                w.within("entry", ["typeCode": "DRIV"]) { w in
                    w.within("act", ["classCode": "ACT", "moodCode": "EVN"]) { w in
                        w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.3", "extension": "2015-08-01"])
                        entryId(&w, c, "problem-act", n + 1)
                        w.empty("code", ["code": "CONC", "codeSystem": "2.16.840.1.113883.5.6"])
                        w.empty("statusCode", ["code": (p?.active ?? true) ? "active" : "completed"])
                        w.within("effectiveTime") { w in time(&w, "low", p?.onset ?? "") }
                        w.within("entryRelationship", ["typeCode": "SUBJ"]) { w in
                            w.within("observation", ["classCode": "OBS", "moodCode": "EVN", "negationInd": p == nil ? "true" : nil]) { w in
                                w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.4", "extension": "2015-08-01"])
                                entryId(&w, c, "problem", n + 1)
                                w.empty("code", ["code": "55607006", "displayName": "Problem", "codeSystem": snomed])
                                w.empty("statusCode", ["code": "completed"])
                                w.within("effectiveTime") { w in time(&w, "low", p?.onset ?? "") }
                                if let p { code(&w, "value", p.code, type: "CD") } else {
                                    w.empty("value", ["xsi:type": "CD", "code": "55607006", "displayName": "Problem", "codeSystem": snomed])
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func results(_ w: inout XMLWriter, _ c: CCDContent) {
        section(&w, template: "2.16.840.1.113883.10.20.22.2.3.1", code: "30954-2", title: "Results",
                headers: ["Test", "Value", "Units", "Time"],
                rows: c.results.map { [$0.code.displayName.isEmpty ? $0.code.code : $0.code.displayName, $0.value, $0.units, $0.observedAt] },
                empty: "No results") { w in
            if c.results.isEmpty {
                w.within("entry") { w in
                    w.within("organizer", ["classCode": "BATTERY", "moodCode": "EVN", "nullFlavor": "NI"]) { w in
                        w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.1", "extension": "2015-08-01"])
                        entryId(&w, c, "results", 1)
                        w.empty("code", ["nullFlavor": "NI"])
                        w.empty("statusCode", ["code": "completed"])
                        w.within("component") { w in
                            w.within("observation", ["classCode": "OBS", "moodCode": "EVN", "nullFlavor": "NI"]) { w in
                                w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.2", "extension": "2015-08-01"])
                                entryId(&w, c, "result", 1)
                                w.empty("code", ["nullFlavor": "NI"])
                                w.empty("statusCode", ["code": "completed"])
                            }
                        }
                    }
                }
                return
            }
            w.within("entry", ["typeCode": "DRIV"]) { w in
                w.within("organizer", ["classCode": "BATTERY", "moodCode": "EVN"]) { w in
                    w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.1", "extension": "2015-08-01"])
                    entryId(&w, c, "results", 1)
                    w.empty("code", ["code": "26436-6", "displayName": "Laboratory studies", "codeSystem": loinc])
                    w.empty("statusCode", ["code": "completed"])
                    for (n, r) in c.results.enumerated() {
                        w.within("component") { w in
                            w.within("observation", ["classCode": "OBS", "moodCode": "EVN"]) { w in
                                w.empty("templateId", ["root": "2.16.840.1.113883.10.20.22.4.2", "extension": "2015-08-01"])
                                entryId(&w, c, "result", n + 1)
                                code(&w, "code", r.code)
                                w.empty("statusCode", ["code": ["C", "X", "D"].contains(r.status) ? "aborted" : (["P", "I", "R"].contains(r.status) ? "active" : "completed")])
                                time(&w, "effectiveTime", r.observedAt)
                                if r.numeric, Double(r.value) != nil {
                                    let unit = r.units.isEmpty || r.units.contains(where: \.isWhitespace) ? "1" : r.units
                                    w.empty("value", ["xsi:type": "PQ", "value": r.value, "unit": unit])
                                } else {
                                    w.element("value", ["xsi:type": "ST"], text: r.value)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
