package import struct Foundation.Date

/// A patient identifier in the registry's terms: the id and its assigning authority (OID), as in an HL7 CX
/// (`id^^^&authority&ISO`) or a CDA `II` (`root` = authority, `extension` = id).
package struct PatientIdentifier: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The id.
    package var id: String
    /// The assigning authority's OID.
    package var authority: String
    /// Creates an identifier.
    package init(id: String, authority: String) {
        self.id = id
        self.authority = authority
    }
    /// The CX form used in XDS metadata: `id^^^&authority&ISO`.
    package var description: String { "\(id)^^^&\(authority)&ISO" }
    /// Parses the CX form (`id^^^&authority&ISO`); `nil` when either part is missing.
    package init?(cx: String) {
        let fields = cx.split(separator: "^", omittingEmptySubsequences: false)
        guard fields.count == 4, !fields[0].isEmpty else { return nil }
        let hd = fields[3].split(separator: "&", omittingEmptySubsequences: false)
        guard hd.count >= 2, !hd[1].isEmpty else { return nil }
        self.init(id: String(fields[0]), authority: String(hd[1]))
    }
}

/// A code from a coding scheme (XDS `ClassificationType` with its scheme and display name).
package struct Code: Sendable, Hashable, Codable {
    /// The code.
    package var code: String
    /// The coding scheme (OID or URN).
    package var scheme: String
    /// A display name.
    package var display: String
    /// Creates a code.
    package init(_ code: String, scheme: String, display: String = "") {
        self.code = code
        self.scheme = scheme
        self.display = display
    }
}

/// An entry's availability (ITI TF-3 §4.2.3.2.2): approved entries are found by default; deprecated ones only when
/// asked for. A replacement deprecates the entry it replaces in the same submission.
package enum AvailabilityStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// `urn:oasis:names:tc:ebxml-regrep:StatusType:Approved`.
    case approved = "Approved"
    /// `urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated`.
    case deprecated = "Deprecated"
}

/// XDS DocumentEntry metadata (ITI TF-3 §4.2.3.2): what the registry indexes and a consumer sees before it
/// retrieves. The registry holds only this; content stays in the source's repository.
package struct DocumentEntry: Sendable, Hashable, Codable {
    /// `entryUUID`: the registry object id (`urn:uuid:…`).
    package var entryUUID: String
    /// `uniqueId`: the document's globally unique id (CDA `root^extension`, DICOM SOP Instance UID).
    package var uniqueId: String
    /// `patientId`: the patient in the affinity domain (the global X-PID).
    package var patientId: PatientIdentifier
    /// `sourcePatientId`: the patient at the source (hospital MRN).
    package var sourcePatientId: PatientIdentifier
    /// `classCode`.
    package var classCode: Code
    /// `typeCode`.
    package var typeCode: Code
    /// `confidentialityCode` (HL7 Confidentiality N, R, V…).
    package var confidentialityCode: Code
    /// `formatCode` (C-CDA 2.1 structured body, DICOM instance).
    package var formatCode: Code
    /// `mimeType`.
    package var mimeType: String
    /// `hash`: SHA-256 of the content, lowercase hex (XDS 2019 allows SHA-256 through `hash` with its length).
    package var hash: String
    /// `size` in bytes.
    package var size: Int
    /// `creationTime`.
    package var creationTime: Date
    /// `serviceStartTime`, `serviceStopTime`.
    package var serviceStart: Date?
    /// See ``serviceStart``.
    package var serviceStop: Date?
    /// `title`.
    package var title: String
    /// `languageCode`.
    package var languageCode: String
    /// `author.authorPerson`.
    package var authorPerson: String
    /// `author.authorInstitution`.
    package var authorInstitution: String
    /// `repositoryUniqueId`: the node id of the repository holding the content.
    package var repositoryId: String
    /// `availabilityStatus`.
    package var status: AvailabilityStatus
    /// The uniqueId this entry replaces (RPLC association), if any.
    package var replaces: String?
    /// The submission set that registered the entry.
    package var submissionSetId: String
    /// `healthcareFacilityTypeCode`, when the document names the kind of facility (a CDA's encompassing encounter);
    /// nil otherwise (entries registered before it was read decode as nil).
    package var healthcareFacilityTypeCode: Code?

    /// Creates an entry.
    package init(entryUUID: String, uniqueId: String, patientId: PatientIdentifier, sourcePatientId: PatientIdentifier, classCode: Code, typeCode: Code, confidentialityCode: Code, formatCode: Code, mimeType: String, hash: String, size: Int, creationTime: Date, serviceStart: Date? = nil, serviceStop: Date? = nil, title: String, languageCode: String = "", authorPerson: String = "", authorInstitution: String = "", repositoryId: String, status: AvailabilityStatus = .approved, replaces: String? = nil, submissionSetId: String = "", healthcareFacilityTypeCode: Code? = nil) {
        self.entryUUID = entryUUID
        self.uniqueId = uniqueId
        self.patientId = patientId
        self.sourcePatientId = sourcePatientId
        self.classCode = classCode
        self.typeCode = typeCode
        self.confidentialityCode = confidentialityCode
        self.formatCode = formatCode
        self.mimeType = mimeType
        self.hash = hash
        self.size = size
        self.creationTime = creationTime
        self.serviceStart = serviceStart
        self.serviceStop = serviceStop
        self.title = title
        self.languageCode = languageCode
        self.authorPerson = authorPerson
        self.authorInstitution = authorInstitution
        self.repositoryId = repositoryId
        self.status = status
        self.replaces = replaces
        self.submissionSetId = submissionSetId
        self.healthcareFacilityTypeCode = healthcareFacilityTypeCode
    }
}

/// XDS SubmissionSet (ITI TF-3 §4.2.3.3): the unit a source registers, all or nothing.
package struct SubmissionSet: Sendable, Hashable, Codable {
    /// `uniqueId` of the submission set.
    package var uniqueId: String
    /// `sourceId`: the submitting node's id.
    package var sourceId: String
    /// `submissionTime`.
    package var submissionTime: Date
    /// `patientId`: every entry must be about this patient.
    package var patientId: PatientIdentifier
    /// The entries.
    package var entries: [DocumentEntry]

    /// Creates a submission set.
    package init(uniqueId: String, sourceId: String, submissionTime: Date, patientId: PatientIdentifier, entries: [DocumentEntry]) {
        self.uniqueId = uniqueId
        self.sourceId = sourceId
        self.submissionTime = submissionTime
        self.patientId = patientId
        self.entries = entries
    }

    /// Checks the registry's rules (ITI TF-3 §4.1): at least one entry, every entry about the set's patient, unique
    /// ids distinct within the set, hashes 64 hex digits, sizes non-negative, replacement targets not in the set.
    package func validate() throws(DocumentsError) {
        guard !entries.isEmpty else { throw DocumentsError(.invalidMetadata, "a submission set needs at least one entry") }
        guard !uniqueId.isEmpty, !sourceId.isEmpty else { throw DocumentsError(.invalidMetadata, "a submission set needs a uniqueId and a sourceId") }
        var seen = Set<String>()
        for e in entries {
            guard !e.uniqueId.isEmpty, !e.entryUUID.isEmpty else { throw DocumentsError(.invalidMetadata, "an entry needs a uniqueId and an entryUUID") }
            guard e.patientId == patientId else {
                throw DocumentsError(.patientMismatch, "every entry must name the submission set's patient")
            }
            guard seen.insert(e.uniqueId).inserted else {
                throw DocumentsError(.duplicateUniqueId, "a uniqueId appears twice in one submission set")
            }
            guard e.hash.count == 64, e.hash.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw DocumentsError(.invalidMetadata, "hash must be a SHA-256 in lowercase hex")
            }
            guard e.size >= 0 else { throw DocumentsError(.invalidMetadata, "size must not be negative") }
            guard e.status == .approved else { throw DocumentsError(.invalidMetadata, "new entries are submitted as Approved") }
            guard !e.repositoryId.isEmpty else { throw DocumentsError(.invalidMetadata, "an entry needs a repositoryUniqueId") }
        }
        for e in entries {
            if let r = e.replaces, seen.contains(r) {
                throw DocumentsError(.invalidMetadata, "an entry cannot replace another entry of the same submission")
            }
        }
    }
}

/// The stored queries a registry answers (ITI-18 FindDocuments and GetDocuments), as values.
package enum StoredQuery: Sendable, Hashable, Codable {
    /// FindDocuments (urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d) with its filters.
    case findDocuments(FindDocuments)
    /// GetDocuments (urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4) by unique id.
    case getDocuments(uniqueIds: [String])

    /// FindDocuments parameters: the patient is required; every other filter is optional and lists are ORed.
    package struct FindDocuments: Sendable, Hashable, Codable {
        /// `$XDSDocumentEntryPatientId`.
        package var patientId: PatientIdentifier
        /// `$XDSDocumentEntryClassCode`.
        package var classCodes: [String]
        /// `$XDSDocumentEntryTypeCode`.
        package var typeCodes: [String]
        /// `$XDSDocumentEntryConfidentialityCode`.
        package var confidentialityCodes: [String]
        /// `$XDSDocumentEntryCreationTimeFrom` (inclusive).
        package var createdFrom: Date?
        /// `$XDSDocumentEntryCreationTimeTo` (exclusive, as ITI TF-2a §3.18.4.1.2.3.6.1 says).
        package var createdTo: Date?
        /// `$XDSDocumentEntryStatus` (Approved when empty).
        package var statuses: [AvailabilityStatus]
        /// Creates the parameters.
        package init(patientId: PatientIdentifier, classCodes: [String] = [], typeCodes: [String] = [], confidentialityCodes: [String] = [], createdFrom: Date? = nil, createdTo: Date? = nil, statuses: [AvailabilityStatus] = [.approved]) {
            self.patientId = patientId
            self.classCodes = classCodes
            self.typeCodes = typeCodes
            self.confidentialityCodes = confidentialityCodes
            self.createdFrom = createdFrom
            self.createdTo = createdTo
            self.statuses = statuses
        }

        /// Whether `entry` satisfies every filter (the reference semantics storage adapters implement in SQL).
        package func matches(_ entry: DocumentEntry) -> Bool {
            entry.patientId == patientId
                && (classCodes.isEmpty || classCodes.contains(entry.classCode.code))
                && (typeCodes.isEmpty || typeCodes.contains(entry.typeCode.code))
                && (confidentialityCodes.isEmpty || confidentialityCodes.contains(entry.confidentialityCode.code))
                && (createdFrom.map { entry.creationTime >= $0 } ?? true)
                && (createdTo.map { entry.creationTime < $0 } ?? true)
                && (statuses.isEmpty ? entry.status == .approved : statuses.contains(entry.status))
        }
    }
}
