package import CaduceusStorage
package import Foundation
import CaduceusCore

/// A hospital's HR export (RFC 4180 CSV with a header row) read into personnel records. Column names are matched
/// case-insensitively, with the spellings HR systems use: `Employee ID` / `employee_id` / `id`, `Last Name` /
/// `family` / `surname`, `First Name` / `given`, `Department` / `dept`, `Role` / `roles` (several separated by `;` or
/// `|`), `Email`, `Status` (`active`; `terminated`, `inactive`, `left` end the affiliation; empty is active),
/// `Organization` (optional: when present it must be this hospital). The whole file is checked before anything is
/// kept: one bad row refuses the import, naming the row and the rule (never its content).
package enum PersonnelImport {
    /// At most this many staff in one import.
    package static let maxRows = 50_000

    static let columns: [String: [String]] = [
        "id": ["employee id", "employee_id", "employeeid", "employee number", "id", "staff id", "staff_id"],
        "family": ["last name", "last_name", "lastname", "family", "family name", "surname"],
        "given": ["first name", "first_name", "firstname", "given", "given name"],
        "department": ["department", "dept", "unit"],
        "roles": ["role", "roles", "functional role", "job role"],
        "email": ["email", "e-mail", "email address", "work email"],
        "status": ["status", "employment status"],
        "organization": ["organization", "organisation", "org"],
    ]

    /// Reads `csv` into staff records of `organization`, each role checked against `allowedRoles` (what the
    /// hospital's CA may put on a card).
    /// - Throws: `exchange.bad-request` naming the row and rule (malformed CSV, a missing column, an empty or
    ///   repeated id, an unknown role, another organisation, an unknown status).
    package static func read(_ csv: some Collection<UInt8>, organization: String, allowedRoles: Set<String>, now: Date) throws(ExchangeError) -> [StaffMember] {
        let rows: [[String]]
        do { rows = try CSV.parse(csv, maxRows: maxRows + 1) } catch { throw ExchangeError(.badRequest, "the personnel file is not CSV: \(error.message)") }
        guard let header = rows.first else { throw ExchangeError(.badRequest, "the personnel file is empty") }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index: [String: Int] = [:]
        for (field, spellings) in columns {
            if let i = names.firstIndex(where: { spellings.contains($0) }) { index[field] = i }
        }
        for required in ["id", "family", "given", "roles"] where index[required] == nil {
            throw ExchangeError(.badRequest, "the personnel file has no \(required) column")
        }
        var seen = Set<String>()
        var out: [StaffMember] = []
        for (n, row) in rows.dropFirst().enumerated() {
            let line = n + 2
            func value(_ field: String) -> String {
                guard let i = index[field], i < row.count else { return "" }
                return row[i].trimmingCharacters(in: .whitespaces)
            }
            let id = value("id")
            guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw ExchangeError(.badRequest, "row \(line): the employee id is empty, too long or has characters other than letters, digits, - _ .")
            }
            guard seen.insert(id).inserted else { throw ExchangeError(.badRequest, "row \(line): the employee id appears twice") }
            let family = value("family"), given = value("given")
            guard !family.isEmpty || !given.isEmpty else { throw ExchangeError(.badRequest, "row \(line): no name") }
            guard [family, given, value("department"), value("email")].allSatisfy({ $0.unicodeScalars.allSatisfy { !CharacterSet.controlCharacters.contains($0) } }) else {
                throw ExchangeError(.badRequest, "row \(line): a field holds a control character (a line break, a tab)")
            }
            guard family.count <= 128, given.count <= 128, value("department").count <= 128, value("email").count <= 254 else {
                throw ExchangeError(.badRequest, "row \(line): a field is longer than the registry keeps")
            }
            let roles = value("roles").split(whereSeparator: { $0 == ";" || $0 == "|" }).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
            guard !roles.isEmpty else { throw ExchangeError(.badRequest, "row \(line): no functional role") }
            for role in roles where !allowedRoles.contains(role) {
                throw ExchangeError(.badRequest, "row \(line): a role this hospital's CA may not grant")
            }
            let org = value("organization")
            guard org.isEmpty || org == organization else { throw ExchangeError(.badRequest, "row \(line): another organisation's staff") }
            let active: Bool
            switch value("status").lowercased() {
            case "", "active", "a", "on leave", "leave": active = true
            case "terminated", "inactive", "left", "t", "i": active = false
            default: throw ExchangeError(.badRequest, "row \(line): an employment status other than active or terminated")
            }
            let email = value("email")
            guard email.isEmpty || (email.contains("@") && !email.contains(" ")) else { throw ExchangeError(.badRequest, "row \(line): the e-mail address is not one") }
            out.append(StaffMember(
                id: id, family: family, given: given, organization: organization, department: value("department"), roles: roles,
                email: email, active: active, updated: now, source: "hr-import"))
        }
        return out
    }
}
