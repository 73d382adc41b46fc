package import struct Foundation.Date
package import struct Foundation.Data
import Foundation

/// The code tables a node validates incoming data with, kept by its administrators at the admin station. Each save
/// is a new version (append-only: the old versions stay readable, so what a message was checked against can be
/// told afterwards); the newest version is the one in force, from the next message on. A table with no saved
/// version is not enforced (the node then accepts what the standard's table allows).
package enum CodeTableName: String, Sendable, Codable, CaseIterable {
    /// HL7 v2 table 0001 (PID-8): checked on every ADT the node receives.
    case administrativeSex = "administrative-sex"
    /// XDS classCode (the classes the node derives from a document's type): checked on every document filed or
    /// registered.
    case documentClass = "document-class"
    /// XDS typeCode (LOINC document types, DICOM modalities): checked on every document filed or registered.
    case documentType = "document-type"
    /// The hospital's facilities (XDS healthcareFacilityTypeCode): checked on a document that names one.
    case facility = "facility"
    /// HL7 Confidentiality (2.16.840.1.113883.5.25): N, R, V…, checked on every document filed or registered.
    case confidentiality = "confidentiality"
    /// Assigning authorities (patient id domains, OIDs) this node knows: checked on the ids an ADT files (PID-3,
    /// MRG-1), a submitted document's patient and an identity registered with the regional MPI.
    case assigningAuthority = "assigning-authority"
}

/// One code of a table.
package struct CodeTableEntry: Sendable, Hashable, Codable {
    /// The code (as sent on the wire: `F`, `34133-9`, an OID).
    package var code: String
    /// What people read.
    package var display: String
    /// The code system (an OID or a URL), empty when the table has one.
    package var system: String
    package init(code: String, display: String, system: String = "") {
        self.code = code
        self.display = display
        self.system = system
    }
}

/// One version of a code table: the whole table as saved, who saved it, when, and why.
package struct CodeTableVersion: Sendable, Hashable, Codable {
    package var table: CodeTableName
    /// 1 for the first save, then one more each time.
    package var version: Int
    package var entries: [CodeTableEntry]
    /// The signed-in person who saved it (card CN).
    package var changedBy: String
    package var changedAt: Date
    /// The administrator's note for the change.
    package var note: String
    package init(table: CodeTableName, version: Int, entries: [CodeTableEntry], changedBy: String, changedAt: Date, note: String) {
        self.table = table
        self.version = version
        self.entries = entries
        self.changedBy = changedBy
        self.changedAt = changedAt
        self.note = note
    }

    /// Whether `code` is in this version.
    package func contains(_ code: String) -> Bool { entries.contains { $0.code == code } }
}

/// Writes of the code tables.
package protocol CodeTableTransaction {
    /// Appends `version` to its table. Refused with `storage.conflict` unless its number is exactly one more than
    /// the newest saved (a save made from a page that showed an older version changes nothing).
    func saveCodeTable(_ version: CodeTableVersion) throws(StorageError)
    /// The newest version of `table` (nil: never saved), in this unit of work.
    func codeTable(_ table: CodeTableName) throws(StorageError) -> CodeTableVersion?
}

/// Reads of the code tables.
package protocol CodeTableReader {
    /// The newest version of `table` (nil: never saved).
    func codeTable(_ table: CodeTableName) throws(StorageError) -> CodeTableVersion?
    /// Every version of `table`, newest first.
    func codeTableHistory(_ table: CodeTableName) throws(StorageError) -> [CodeTableVersion]
}

extension CodeTableVersion {
    /// The stored record of this version, if it follows `newest` (the newest version held, nil when none): versions
    /// count up by one, so a save made from an out-of-date page is refused. Every adapter stores through this.
    /// - Throws: `storage.conflict` when another save came first.
    package func record(after newest: Int?) throws(StorageError) -> Data {
        guard version == (newest ?? 0) + 1 else {
            throw StorageError(.conflict, "the code table changed since that version (save again from the newest)")
        }
        do { return try JSONEncoder().encode(self) } catch { throw StorageError(.database, "the code table could not be encoded") }
    }
}
