import CaduceusAudit
import CaduceusStorage
import Foundation
import CaduceusCore
import GRDB

extension SQLiteTransaction {
    @discardableResult
    func appendAudit(_ messages: [AuditMessage]) throws -> [ChainedRecord] {
        let (sequence, head) = try SQLiteReader(db: db, cipher: cipher).auditHead()
        var chain = AuditChain(sequence: sequence, head: head)
        var out: [ChainedRecord] = []
        out.reserveCapacity(messages.count)
        for original in messages {
            let m = cipher.pseudonymized(original)
            let r = try chain.append(m)
            // Every patient the event touches is indexed (an event about several patients is found under each).
            let patients = Set(m.objects.filter { $0.typeCode == 1 && $0.role == 1 }.map(\.id))
            let user = m.participants.first { $0.isRequestor }?.userID
            try sql("append an audit event") {
                try db.cachedStatement(sql: "INSERT INTO audit_log (seq, prev, body, hash, at, event_id, patient, user, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [Int64(r.sequence), Data(r.previousHash), Data(r.body), Data(r.hash), m.time.timeIntervalSince1970, m.eventID.code, patients.min(), user, m.outcome.rawValue])
                for patient in patients {
                    try db.cachedStatement(sql: "INSERT OR IGNORE INTO audit_patients (patient, seq) VALUES (?, ?)").execute(arguments: [patient, Int64(r.sequence)])
                }
            }
            out.append(r)
        }
        return out
    }

    func saveCheckpoint(_ checkpoint: AuditCheckpoint) throws(StorageError) {
        let json = String(decoding: (try? JSONEncoder().encode(checkpoint)) ?? Data(), as: UTF8.self)
        try sql("store a checkpoint") {
            try db.execute(sql: "INSERT OR REPLACE INTO audit_checkpoints (seq, checkpoint) VALUES (?, ?)", arguments: [Int64(checkpoint.sequence), json])
        }
    }

    func appendRepositoryRecord(node: String, _ r: ChainedRecord, at: Date) throws(StorageError) {
        try sql("keep a shipped audit record") {
            try db.cachedStatement(sql: "INSERT INTO audit_repository (node, seq, prev, body, hash, received_at) VALUES (?, ?, ?, ?, ?, ?)")
                .execute(arguments: [node, Int64(r.sequence), Data(r.previousHash), Data(r.body), Data(r.hash), at.timeIntervalSince1970])
        }
    }

    func saveRepositoryCheckpoint(_ c: AuditCheckpoint) throws(StorageError) {
        let json = String(decoding: (try? JSONEncoder().encode(c)) ?? Data(), as: UTF8.self)
        try sql("keep a shipped checkpoint") {
            try db.execute(sql: "INSERT OR IGNORE INTO audit_repository_checkpoints (node, seq, checkpoint) VALUES (?, ?, ?)", arguments: [c.node, Int64(c.sequence), json])
        }
    }

    func repositoryHead(node: String) throws(StorageError) -> (sequence: UInt64, hash: [UInt8]) { try SQLiteReader(db: db, cipher: cipher).repositoryHead(node: node) }
    func repositoryHash(node: String, sequence: UInt64) throws(StorageError) -> [UInt8]? { try SQLiteReader(db: db, cipher: cipher).repositoryHash(node: node, sequence: sequence) }
    func repositoryCheckpoints(node: String) throws(StorageError) -> [AuditCheckpoint] { try SQLiteReader(db: db, cipher: cipher).repositoryCheckpoints(node: node) }
    func repositoryNodes() throws(StorageError) -> [String: UInt64] { try SQLiteReader(db: db, cipher: cipher).repositoryNodes() }
    func forEachRepositoryRecord(node: String, _ body: (ChainedRecord) -> Bool) throws(StorageError) { try SQLiteReader(db: db, cipher: cipher).forEachRepositoryRecord(node: node, body) }

    func auditHead() throws(StorageError) -> (sequence: UInt64, hash: [UInt8]) { try SQLiteReader(db: db, cipher: cipher).auditHead() }
    func forEachAuditRecord(_ body: (ChainedRecord) -> Bool) throws(StorageError) { try SQLiteReader(db: db, cipher: cipher).forEachAuditRecord(body) }
    func auditCheckpoints() throws(StorageError) -> [AuditCheckpoint] { try SQLiteReader(db: db, cipher: cipher).auditCheckpoints() }
    func auditCheckpoints(after sequence: UInt64) throws(StorageError) -> [AuditCheckpoint] { try SQLiteReader(db: db, cipher: cipher).auditCheckpoints(after: sequence) }
    func auditRecords(from: UInt64, limit: Int) throws(StorageError) -> [ChainedRecord] { try SQLiteReader(db: db, cipher: cipher).auditRecords(from: from, limit: limit) }
    func auditMessages(_ filter: AuditFilter) throws(StorageError) -> [(sequence: UInt64, message: AuditMessage)] { try SQLiteReader(db: db, cipher: cipher).auditMessages(filter) }
}

extension SQLiteReader {
    func auditHead() throws(StorageError) -> (sequence: UInt64, hash: [UInt8]) {
        let row = try sql("read the audit head") { try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")) }
        guard let row else { return (0, AuditChain.genesis) }
        return (UInt64(row["seq"] as Int64), Array(row["hash"] as Data))
    }

    func forEachAuditRecord(_ body: (ChainedRecord) -> Bool) throws(StorageError) {
        try sql("read the audit log") {
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, prev, body, hash FROM audit_log ORDER BY seq")
            while let row = try rows.next() {
                let record = ChainedRecord(
                    sequence: UInt64(max(0, row["seq"] as Int64)), previousHash: Array(row["prev"] as Data), body: Array(row["body"] as Data),
                    hash: Array(row["hash"] as Data))
                if !body(record) { break }
            }
        }
    }

    func auditRecords(from: UInt64, limit: Int) throws(StorageError) -> [ChainedRecord] {
        let rows = try sql("read audit records") {
            try Row.fetchAll(db.cachedStatement(sql: "SELECT seq, prev, body, hash FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?"), arguments: [Int64(from), limit])
        }
        return rows.map { row in
            ChainedRecord(sequence: UInt64(max(0, row["seq"] as Int64)), previousHash: Array(row["prev"] as Data), body: Array(row["body"] as Data), hash: Array(row["hash"] as Data))
        }
    }

    func auditCheckpoints() throws(StorageError) -> [AuditCheckpoint] { try auditCheckpoints(after: 0) }

    func auditCheckpoints(after sequence: UInt64) throws(StorageError) -> [AuditCheckpoint] {
        let rows = try sql("read checkpoints") { try String.fetchAll(db, sql: "SELECT checkpoint FROM audit_checkpoints WHERE seq > ? ORDER BY seq", arguments: [Int64(sequence)]) }
        return rows.compactMap { try? JSONDecoder().decode(AuditCheckpoint.self, from: Data($0.utf8)) }
    }

    func auditMessages(_ f: AuditFilter) throws(StorageError) -> [(sequence: UInt64, message: AuditMessage)] {
        var clauses: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let p = f.patient {
            clauses.append("seq IN (SELECT seq FROM audit_patients WHERE patient = ?)")
            arguments.append(p.hasPrefix("pseudonym:") ? p : cipher.auditPseudonym(p))
        }
        if let u = f.user { clauses.append("user = ?"); arguments.append(u) }
        if let e = f.eventID { clauses.append("event_id = ?"); arguments.append(e) }
        if let from = f.from { clauses.append("at >= ?"); arguments.append(from.timeIntervalSince1970) }
        if let to = f.to { clauses.append("at < ?"); arguments.append(to.timeIntervalSince1970) }
        arguments.append(f.limit)
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let rows = try sql("query the audit log") {
            try Row.fetchAll(db, sql: "SELECT seq, body FROM audit_log \(whereClause) ORDER BY seq DESC LIMIT ?", arguments: StatementArguments(arguments))
        }
        return rows.compactMap { row in
            guard let m = try? AuditChain.decode(Array(row["body"] as Data)) else { return nil }
            return (UInt64(row["seq"] as Int64), m)
        }
    }

    func repositoryHead(node: String) throws(StorageError) -> (sequence: UInt64, hash: [UInt8]) {
        let row = try sql("read a repository head") {
            try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_repository WHERE node = ? ORDER BY seq DESC LIMIT 1"), arguments: [node])
        }
        guard let row else { return (0, AuditChain.genesis) }
        return (UInt64(row["seq"] as Int64), Array(row["hash"] as Data))
    }

    func repositoryHash(node: String, sequence: UInt64) throws(StorageError) -> [UInt8]? {
        try sql("read a repository record") {
            try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM audit_repository WHERE node = ? AND seq = ?"), arguments: [node, Int64(sequence)]).map { Array($0) }
        }
    }

    func repositoryCheckpoints(node: String) throws(StorageError) -> [AuditCheckpoint] {
        let rows = try sql("read shipped checkpoints") { try String.fetchAll(db, sql: "SELECT checkpoint FROM audit_repository_checkpoints WHERE node = ? ORDER BY seq", arguments: [node]) }
        return rows.compactMap { try? JSONDecoder().decode(AuditCheckpoint.self, from: Data($0.utf8)) }
    }

    func repositoryNodes() throws(StorageError) -> [String: UInt64] {
        let rows = try sql("list repository nodes") { try Row.fetchAll(db, sql: "SELECT node, MAX(seq) AS head FROM audit_repository GROUP BY node") }
        return Dictionary(uniqueKeysWithValues: rows.map { (($0["node"] as String), UInt64($0["head"] as Int64)) })
    }

    func forEachRepositoryRecord(node: String, _ body: (ChainedRecord) -> Bool) throws(StorageError) {
        try sql("read a repository trail") {
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, prev, body, hash FROM audit_repository WHERE node = ? ORDER BY seq", arguments: [node])
            while let row = try rows.next() {
                let record = ChainedRecord(
                    sequence: UInt64(max(0, row["seq"] as Int64)), previousHash: Array(row["prev"] as Data), body: Array(row["body"] as Data),
                    hash: Array(row["hash"] as Data))
                if !body(record) { break }
            }
        }
    }
}
