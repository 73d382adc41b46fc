import CaduceusDocuments
import CaduceusStorage

/// The code tables this node's administrators saved (``CodeTableName``), as the rules data is checked against where
/// it enters the node: the newest version of each table, read once per unit of work (each read is one cached
/// statement), so a save is in force from the next message or document. A table never saved enforces nothing, and
/// an absent field (a document that names no facility) is not checked.
///
/// Every door that takes the data in uses this one type:
/// - HL7 v2 ADT (``HL7Receiver``): PID-8 against administrative sex, the patient ids the node files (PID-3, MRG-1)
///   against the assigning authorities — in the message's own write transaction.
/// - A document filed in a repository (provide-and-register, a received transfer) and registered at a registry:
///   ``check(_:patientDomain:)`` — classCode, typeCode, confidentialityCode, healthcareFacilityTypeCode and the
///   patient id's assigning authority.
/// - An identity registered with the regional MPI, and a patient registered from the transfer inbox (which is an
///   ADT^A04 through the receiver).
///
/// Refusals are `exchange.unknown-code` (HL7: the receiver's ERR codes) naming the field and the table — never
/// the value, nor the patient.
struct CodeTableRules: Sendable {
    /// The version in force of each table read (absent: never saved).
    let tables: [CodeTableName: CodeTableVersion]

    /// The tables a document's metadata is checked against.
    static let documentTables: [CodeTableName] = [.documentClass, .documentType, .confidentiality, .facility, .assigningAuthority]

    /// Reads the newest version of each of `names` with `read` (a unit of work's or a reader's `codeTable(_:)`).
    init(_ names: [CodeTableName], read: (CodeTableName) throws -> CodeTableVersion?) throws {
        var tables: [CodeTableName: CodeTableVersion] = [:]
        for name in names { tables[name] = try read(name) }
        self.tables = tables
    }

    /// The version of `table` that refuses `code` (nil: the code may be used — it is empty, the table holds it, or
    /// the table was never saved or not read).
    func refusing(_ code: String, in table: CodeTableName) -> CodeTableVersion? {
        guard !code.isEmpty, let version = tables[table], !version.contains(code) else { return nil }
        return version
    }

    /// Checks document entries against the document tables: each coded field must be a code of its table's version
    /// in force, and (`patientDomain`) the source patient id's assigning authority one of the assigning-authority
    /// table. A received transfer names the patient in the sender's domain, so it is filed without that last check
    /// (its documents go under a patient of this hospital when a clinician accepts it).
    /// - Throws: `exchange.unknown-code` naming the first field refused and its table.
    func check(_ entries: [DocumentEntry], patientDomain: Bool) throws(ExchangeError) {
        for e in entries {
            var fields: [(String, String, CodeTableName)] = [
                ("classCode", e.classCode.code, .documentClass), ("typeCode", e.typeCode.code, .documentType),
                ("confidentialityCode", e.confidentialityCode.code, .confidentiality),
                ("healthcareFacilityTypeCode", e.healthcareFacilityTypeCode?.code ?? "", .facility),
            ]
            if patientDomain { fields.append(("sourcePatientId (assigning authority)", e.sourcePatientId.authority, .assigningAuthority)) }
            for (field, code, table) in fields {
                if let version = refusing(code, in: table) { throw Self.refusal(field, table, version) }
            }
        }
    }

    /// The refusal of a value of `field` that version `version` of `table` does not hold.
    static func refusal(_ field: String, _ table: CodeTableName, _ version: CodeTableVersion) -> ExchangeError {
        ExchangeError(.unknownCode, "\(field) is not a code of this node's \(table.rawValue) table (version \(version.version))")
    }

    /// Checks documents about to be filed here (``check(_:patientDomain:)``) against the tables as they are now.
    static func checkDocuments(_ entries: [DocumentEntry], patientDomain: Bool, store: any CaduceusStore) async throws {
        let rules = try await store.read { r in try CodeTableRules(documentTables) { try r.codeTable($0) } }
        try rules.check(entries, patientDomain: patientDomain)
    }
}
