import CaduceusAudit
import CaduceusCDA
import CaduceusCore
import CaduceusPKI
import CaduceusStorage
import Foundation
import X509

/// The admin station's operations at a hospital node, behind the gate: the signed-in person's role must be one the
/// policy names as `personnelAdministrators`, signed in at this node with a card of its organisation (the card
/// station's rule, ``CardService/authorizeStation(_:roles:what:)``). The personnel registry itself is `staff.list`
/// and `staff.import` (``CardService``); this service adds the overview of the hospital's entities and
/// infrastructure and the versioned code tables the node validates with. Every call is one audit event; a saved
/// code table names the table and its new version on it.
struct AdminService: Sendable {
    let core: NodeCore

    /// The most codes a table may hold, and the longest code and display.
    static let maxEntries = 500, maxCode = 64, maxDisplay = 200

    func authorize(_ o: ExchangeRequest, what: String) async throws -> AssertionClaims {
        try await CardService(core: core).authorizeStation(o, roles: core.policy.policy.personnelAdministrators, what: what)
    }

    // MARK: - Overview

    /// `admin.overview`: organisation, departments (from the personnel registry), facilities (from the code table),
    /// the federation's nodes from the directory with their certificates' expiry and health, this node's certificate
    /// chain and the CAs it holds revocation lists for, the card registry by status.
    func overview(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        _ = try await authorize(o, what: "administer this node")
        let request = try o.message.decodeBody(AdminOverviewRequest.self)
        let (staff, cards, facilities, messages) = try await core.store.read { r in
            (try r.staff(), try r.cards(), try r.codeTable(.facility), try r.messageCount())
        }
        var departments: [String: Int] = [:]
        for m in staff where m.active { departments[m.department.isEmpty ? "(none)" : m.department, default: 0] += 1 }
        let config = core.configuration
        var overview = AdminOverview(
            organization: core.id, roles: config.roles.map(\.rawValue).sorted(), endpoint: config.endpoint, regionalNode: config.regionalNode,
            departments: departments.sorted { $0.key < $1.key }.map { .init(name: $0.key, staff: $0.value) },
            facilities: facilities?.entries ?? [], nodes: nil,
            certificates: [], authorities: [],
            cards: Dictionary(grouping: cards, by: \.status.rawValue).mapValues(\.count), messages: messages)
        let credential = core.credential
        overview.certificates = ([credential.certificate] + credential.chain).enumerated().map { i, c in
            Self.status(c, label: i == 0 ? "This node" : "Issuing CA \(i)")
        }
        // The CAs above this node are listed once, as part of its chain.
        var seen = Set(overview.certificates.map(\.subject))
        for published in core.revocation?.published() ?? [] {
            guard let ca = (try? PEM.certificates(fromPEM: published.chain))?.first else { continue }
            let subject = String(describing: ca.subject)
            if seen.insert(subject).inserted { overview.authorities.append(Self.status(ca, label: "CA")) }
        }
        overview.authorities.sort { $0.subject < $1.subject }
        overview.nodes = await nodes(probe: request.probeHealth)
        return try core.reply(o, overview)
    }

    static func status(_ c: Certificate, label: String) -> AdminOverview.CertificateStatus {
        .init(label: label, subject: String(describing: c.subject), issuer: String(describing: c.issuer), serial: Hex.encode(c.serialNumber.bytes), notAfter: c.notValidAfter)
    }

    /// The directory's nodes, each with its certificate's expiry and, when asked, whether its `/health` answers.
    func nodes(probe: Bool) async -> [AdminOverview.NodeStatus]? {
        guard let listing = try? await core.transport.get(core.configuration.directoryEndpoint, path: "/v1/directory/nodes"),
              let nodes = try? JSONDecoder.exchange.decode([DirectoryNode].self, from: Data(listing))
        else { return nil }
        return await withTaskGroup(of: AdminOverview.NodeStatus.self) { group in
            for node in nodes.prefix(64) {
                group.addTask { [core] in
                    let expires = (try? PEM.certificates(fromPEM: node.certificatePEM))?.first?.notValidAfter
                    var health = "not probed"
                    if node.id == core.id {
                        health = "this node"
                    } else if probe {
                        health = (try? await core.transport.get(node.endpoint, path: "/health")) != nil ? "up" : "not reachable"
                    }
                    return .init(id: node.id, roles: node.roles, endpoint: node.endpoint, region: node.region, certificateExpires: expires, health: health)
                }
            }
            var out: [AdminOverview.NodeStatus] = []
            for await n in group { out.append(n) }
            return out.sorted { $0.id < $1.id }
        }
    }

    // MARK: - Code tables

    /// `admin.codes`: every table's version in force with the standard's codes; the history of one table.
    func codes(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        _ = try await authorize(o, what: "read the code tables")
        let request = try o.message.decodeBody(CodeTablesRequest.self)
        let authorities = (try? core.cardAuthority?.namespace().authorities) ?? []
        let (current, history) = try await core.store.read { r in
            (try CodeTableName.allCases.map { ($0, try r.codeTable($0)) }, try request.history.map { try r.codeTableHistory($0) } ?? [])
        }
        let tables = current.map { name, version in
            CodeTablesResponse.Table(name: name, current: version, standard: Self.standard(name, authorities: authorities))
        }
        return try core.reply(o, CodeTablesResponse(tables: tables, history: history))
    }

    /// `admin.codes.save`: a new version of one table, in force from the next message the node receives. Checked
    /// whole before anything is kept; a save from a version that is no longer the newest is refused
    /// (`storage.conflict`).
    func save(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await authorize(o, what: "change the code tables")
        let request = try o.message.decodeBody(CodeTableSaveRequest.self)
        o.audit.add(Self.object(request.table.rawValue))
        let entries = try Self.validate(request)
        let version = CodeTableVersion(table: request.table, version: request.base + 1, entries: entries, changedBy: claims.sub, changedAt: core.clock.now(), note: request.note.trimmingCharacters(in: .whitespacesAndNewlines))
        try await core.store.write { tx in try tx.saveCodeTable(version) }
        o.audit.add(Self.object("\(request.table.rawValue) v\(version.version)"))
        return try core.reply(o, version)
    }

    /// The rules a table's entries keep (each refusal names the rule and the row, never the content).
    static func validate(_ request: CodeTableSaveRequest) throws -> [CodeTableEntry] {
        guard request.base >= 0 else { throw ExchangeError(.badRequest, "the base version is not a version") }
        let note = request.note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard note.count >= 3, note.count <= 500, !note.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ExchangeError(.badRequest, "a change of a code table needs a note of 3 to 500 characters")
        }
        let entries = request.entries.map {
            CodeTableEntry(code: $0.code.trimmingCharacters(in: .whitespaces), display: $0.display.trimmingCharacters(in: .whitespaces), system: $0.system.trimmingCharacters(in: .whitespaces))
        }
        guard !entries.isEmpty, entries.count <= maxEntries else { throw ExchangeError(.badRequest, "a code table holds 1 to \(maxEntries) codes") }
        var codes: Set<String> = []
        for (i, e) in entries.enumerated() {
            let row = i + 1
            guard !e.code.isEmpty, e.code.count <= maxCode, e.code.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "^" && $0 != "|" && $0 != "&" && $0 != "~" && $0 != "\\" && ($0.isLetter || $0.isNumber || "-._:/".contains($0)) }) else {
                throw ExchangeError(.badRequest, "row \(row): a code is 1 to \(maxCode) letters, digits or - . _ : / (no HL7 delimiters)")
            }
            guard e.display.count <= maxDisplay, e.system.count <= maxDisplay,
                  !(e.display + e.system).unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { throw ExchangeError(.badRequest, "row \(row): a display or system is at most \(maxDisplay) characters, no control characters") }
            guard codes.insert(e.code).inserted else { throw ExchangeError(.badRequest, "row \(row): the code is listed twice") }
            if request.table == .assigningAuthority {
                let arcs = e.code.split(separator: ".", omittingEmptySubsequences: false)
                guard arcs.count >= 2, arcs.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
                    throw ExchangeError(.badRequest, "row \(row): an assigning authority is an OID (digits and dots)")
                }
            }
        }
        return entries
    }

    /// The standard's codes a table starts from (HL7 v2 table 0001, HL7 v3 Confidentiality, the document classes the
    /// node derives and the LOINC types and DICOM modalities it files, HL7 v3 ServiceDeliveryLocationRoleType; the
    /// authorities the hospital's CA may vouch for).
    static func standard(_ table: CodeTableName, authorities: [String]) -> [CodeTableEntry] {
        switch table {
        case .administrativeSex:
            return [("A", "Ambiguous"), ("F", "Female"), ("M", "Male"), ("N", "Not applicable"), ("O", "Other"), ("U", "Unknown")].map {
                CodeTableEntry(code: $0.0, display: $0.1, system: "HL7-0001")
            }
        case .confidentiality:
            return [("U", "unrestricted"), ("L", "low"), ("M", "moderate"), ("N", "normal"), ("R", "restricted"), ("V", "very restricted")].map {
                CodeTableEntry(code: $0.0, display: $0.1, system: "2.16.840.1.113883.5.25")
            }
        case .documentClass:
            // The classes this node derives from a document's type (``DocumentClass``), and Imaging for DICOM.
            return DocumentClass.classes.map { CodeTableEntry(code: $0, display: $0, system: DocumentClass.classScheme) }
        case .documentType:
            // The LOINC document types the node knows, and the DICOM modalities it files images under.
            return DocumentClass.types.map { CodeTableEntry(code: $0.code, display: $0.display, system: DocumentClass.loinc) }
                + [("CR", "Computed radiography"), ("CT", "Computed tomography"), ("DX", "Digital radiography"), ("MG", "Mammography"), ("MR", "Magnetic resonance"), ("NM", "Nuclear medicine"), ("PT", "Positron emission tomography"), ("US", "Ultrasound"), ("XA", "X-ray angiography"), ("OT", "Other")].map {
                    CodeTableEntry(code: $0.0, display: $0.1, system: "1.2.840.10008.2.16.4")
                }
        case .facility:
            return [("HOSP", "Hospital"), ("ER", "Emergency room"), ("ICU", "Intensive care unit"), ("RADDX", "Radiology diagnostics or therapeutics unit")].map {
                CodeTableEntry(code: $0.0, display: $0.1, system: "2.16.840.1.113883.5.111")
            }
        case .assigningAuthority:
            return authorities.filter { $0 != "*" }.sorted().map { CodeTableEntry(code: $0, display: "patient id domain", system: "ISO") }
        }
    }

    static func object(_ id: String) -> AuditObject {
        AuditObject(typeCode: 2, role: 13, idType: AuditCode("code-table", system: "caduceus-audit", display: "Code table"), id: id)
    }
}
