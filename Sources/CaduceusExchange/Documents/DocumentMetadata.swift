package import CaduceusDocuments
package import struct Foundation.Date
import Foundation
import CaduceusCDA
import CaduceusDICOM
import CaduceusCore
import CaduceusStorage

/// Builds XDS DocumentEntry metadata from a document's own content (the CDA header, the DICOM data set), so
/// metadata and content cannot disagree, and checks the document is about the patient the submitter named.
package enum DocumentMetadata {
    /// `text/xml` (CDA) and `application/dicom` are what the repository stores.
    package static let cdaMimeType = "text/xml"
    /// See ``cdaMimeType``.
    package static let dicomMimeType = "application/dicom"

    /// The entry for `content`.
    /// - Parameters:
    ///   - sourcePatient: the patient the submitter says the document is about (an MRN in the hospital's domain).
    ///   - confidentiality: overrides the document's own code when given (DICOM files carry none; default N).
    /// - Throws: `cda.*` / `dicom.*` for unreadable content, `documents.patient-mismatch` when the document is about
    ///   someone else, `documents.unsupported-format` for other MIME types.
    package static func entry(for content: [UInt8], mimeType: String, sourcePatient: PatientIdentifier, repositoryId: String, confidentiality: String? = nil, replaces: String? = nil, now: Date) throws -> DocumentEntry {
        let hash = DocumentIntegrity.sha256(content)
        let entryUUID = "urn:uuid:" + UUID().uuidString.lowercased()
        switch mimeType {
        case cdaMimeType, "application/xml", "application/hl7-cda+xml":
            let h = try CDAHeader.readHeader(content)
            guard h.patientIds.contains(where: { $0.root == sourcePatient.authority && $0.extension == sourcePatient.id }) else {
                throw DocumentsError(.patientMismatch, "the CDA recordTarget does not name the submitted patient")
            }
            let conf = confidentiality ?? h.confidentiality.code
            let isCCD = h.templateIds.contains { $0.root == "2.16.840.1.113883.10.20.22.1.2" }
            return DocumentEntry(
                entryUUID: entryUUID, uniqueId: h.id.description, patientId: sourcePatient, sourcePatientId: sourcePatient,
                classCode: Code(h.classCode.code, scheme: h.classCode.codeSystem, display: h.classCode.displayName),
                typeCode: Code(h.typeCode.code, scheme: h.typeCode.codeSystem, display: h.typeCode.displayName),
                confidentialityCode: Code(conf, scheme: "2.16.840.1.113883.5.25"),
                formatCode: isCCD
                    ? Code("urn:hl7-org:sdwg:ccda-structuredBody:2.1", scheme: "1.3.6.1.4.1.19376.1.2.3", display: "C-CDA R2.1 structured body")
                    : Code("urn:ihe:iti:xds:2017:mimeTypeSufficient", scheme: "1.3.6.1.4.1.19376.1.2.3", display: "CDA R2"),
                mimeType: cdaMimeType, hash: hash, size: content.count, creationTime: h.effectiveTime.date,
                serviceStart: h.serviceStart?.date, serviceStop: h.serviceStop?.date, title: h.title,
                languageCode: h.languageCode, authorPerson: h.authors.first?.person ?? "",
                authorInstitution: h.authors.first?.organization.isEmpty == false ? h.authors.first!.organization : h.custodianName,
                repositoryId: repositoryId, replaces: replaces,
                healthcareFacilityTypeCode: h.facilityType.map { Code($0.code, scheme: $0.codeSystem, display: $0.displayName) })
        case dicomMimeType:
            let d = try DICOMFile(reading: content)
            guard d.patientID == sourcePatient.id else {
                throw DocumentsError(.patientMismatch, "the DICOM Patient ID does not name the submitted patient")
            }
            let created = HL7Timestamp(d.studyDate)?.date ?? now
            return DocumentEntry(
                entryUUID: entryUUID, uniqueId: d.sopInstanceUID, patientId: sourcePatient, sourcePatientId: sourcePatient,
                classCode: Code("Imaging", scheme: DocumentClass.classScheme, display: "Imaging"),
                typeCode: Code(d.modality.isEmpty ? "OT" : d.modality, scheme: "1.2.840.10008.2.16.4", display: "DICOM modality"),
                confidentialityCode: Code(confidentiality ?? "N", scheme: "2.16.840.1.113883.5.25"),
                formatCode: Code(d.sopClassUID, scheme: "1.2.840.10008.2.6.1", display: "DICOM SOP class"),
                mimeType: dicomMimeType, hash: hash, size: content.count, creationTime: created,
                title: d.studyDescription.isEmpty ? "DICOM \(d.modality) instance" : d.studyDescription,
                repositoryId: repositoryId, replaces: replaces)
        default:
            throw DocumentsError(.unsupportedFormat, "only CDA (text/xml) and DICOM (application/dicom) documents are stored")
        }
    }
}
