package import CaduceusStorage
package import Foundation

/// `admin.overview`: the hospital's entities and infrastructure as the admin station shows them.
package struct AdminOverviewRequest: Codable, Sendable {
    /// Probe every node of the directory's `/health` (each call bounded by the peer client's deadline).
    package var probeHealth: Bool
    package init(probeHealth: Bool = true) { self.probeHealth = probeHealth }
}

/// The answer to `admin.overview`.
package struct AdminOverview: Codable, Sendable {
    /// The organisation (this node's id), the roles it plays, where it listens, its region.
    package var organization: String
    package var roles: [String]
    package var endpoint: String
    package var regionalNode: String
    /// The departments of the personnel registry, with their active staff.
    package var departments: [Department]
    /// The facilities of the node's facility code table (empty: none saved).
    package var facilities: [CodeTableEntry]
    /// The nodes of the federation as the directory lists them (nil: the directory did not answer).
    package var nodes: [NodeStatus]?
    /// This node's certificate and the CAs above it.
    package var certificates: [CertificateStatus]
    /// The CAs this node holds revocation lists for.
    package var authorities: [CertificateStatus]
    /// Cards of this node's registry by status.
    package var cards: [String: Int]
    /// HL7 messages logged.
    package var messages: Int

    package struct Department: Codable, Sendable, Equatable {
        package var name: String
        package var staff: Int
    }

    package struct NodeStatus: Codable, Sendable, Equatable {
        package var id: String
        package var roles: [String]
        package var endpoint: String
        package var region: String
        /// The node certificate's expiry (nil: unreadable).
        package var certificateExpires: Date?
        /// `this node`, `up` (its `/health` answered over mutual TLS), `not reachable`, or `not probed`.
        package var health: String
    }

    package struct CertificateStatus: Codable, Sendable, Equatable {
        package var label: String
        package var subject: String
        package var issuer: String
        package var serial: String
        package var notAfter: Date
    }
}

/// `admin.codes`: the node's code tables (the newest version of each; the history of one).
package struct CodeTablesRequest: Codable, Sendable {
    /// Also every version of this table.
    package var history: CodeTableName?
    package init(history: CodeTableName? = nil) { self.history = history }
}

/// The answer to `admin.codes`.
package struct CodeTablesResponse: Codable, Sendable {
    /// Each table: the version in force (nil: never saved, so not enforced) and the standard's codes to start from.
    package var tables: [Table]
    /// The history asked for, newest first.
    package var history: [CodeTableVersion]

    package struct Table: Codable, Sendable {
        package var name: CodeTableName
        package var current: CodeTableVersion?
        package var standard: [CodeTableEntry]
    }
}

/// `admin.codes.save`: a new version of a table, made from the version the administrator saw (`base`: 0 when none
/// was saved); refused with `exchange.conflict` when someone saved in between.
package struct CodeTableSaveRequest: Codable, Sendable {
    package var table: CodeTableName
    package var base: Int
    package var entries: [CodeTableEntry]
    package var note: String
    package init(table: CodeTableName, base: Int, entries: [CodeTableEntry], note: String) {
        self.table = table
        self.base = base
        self.entries = entries
        self.note = note
    }
}
