import CaduceusAudit
import CaduceusStorage
import Foundation

// The hash-chained audit log, its checkpoints, and the audit repository's copies of other nodes' trails, as
// SQLiteAudit.swift keeps them.

extension InMemoryTransaction {
    @discardableResult
    func appendAudit(_ messages: [AuditMessage]) throws -> [ChainedRecord] {
        let (sequence, head) = try reader.auditHead()
        var chain = AuditChain(sequence: sequence, head: head)
        var out: [ChainedRecord] = []
        out.reserveCapacity(messages.count)
        for original in messages {
            let m = cipher.pseudonymized(original)
            let r = try chain.append(m)
            // Every patient the event touches is indexed (an event about several patients is found under each).
            let patients = Set(m.objects.filter { $0.typeCode == 1 && $0.role == 1 }.map(\.id))
            let user = m.participants.first { $0.isRequestor }?.userID
            state.auditLog.append(.init(record: r, at: m.time.timeIntervalSince1970, eventID: m.eventID.code, user: user))
            for patient in patients { state.auditPatients[patient, default: []].append(r.sequence) }
            out.append(r)
        }
        return out
    }

    func saveCheckpoint(_ checkpoint: AuditCheckpoint) throws(StorageError) {
        state.checkpoints[checkpoint.sequence] = checkpoint  // INSERT OR REPLACE by sequence
    }

    func appendRepositoryRecord(node: String, _ r: ChainedRecord, at: Date) throws(StorageError) {
        guard state.trails[node]?[r.sequence] == nil else { throw refused("keep a shipped audit record") }  // PRIMARY KEY (node, seq)
        state.trails[node, default: [:]][r.sequence] = r
    }

    func saveRepositoryCheckpoint(_ c: AuditCheckpoint) throws(StorageError) {
        if state.trailCheckpoints[c.node]?[c.sequence] == nil { state.trailCheckpoints[c.node, default: [:]][c.sequence] = c }  // INSERT OR IGNORE
    }

    func repositoryHead(node: String) throws(StorageError) -> (sequence: UInt64, hash: [UInt8]) { try reader.repositoryHead(node: node) }
    func repositoryHash(node: String, sequence: UInt64) throws(StorageError) -> [UInt8]? { try reader.repositoryHash(node: node, sequence: sequence) }
}

extension InMemoryReader {
    func auditHead() throws(StorageError) -> (sequence: UInt64, hash: [UInt8]) {
        guard let last = state.auditLog.last else { return (0, AuditChain.genesis) }
        return (last.record.sequence, last.record.hash)
    }

    func forEachAuditRecord(_ body: (ChainedRecord) -> Bool) throws(StorageError) {
        for row in state.auditLog where !body(row.record) { break }
    }

    func auditCheckpoints() throws(StorageError) -> [AuditCheckpoint] { try auditCheckpoints(after: 0) }

    func auditCheckpoints(after sequence: UInt64) throws(StorageError) -> [AuditCheckpoint] {
        state.checkpoints.filter { $0.key > sequence }.sorted { $0.key < $1.key }.map(\.value)
    }

    func auditRecords(from: UInt64, limit: Int) throws(StorageError) -> [ChainedRecord] {
        limited(state.auditLog.lazy.filter { $0.record.sequence >= from }.map(\.record), limit)
    }

    func auditMessages(_ f: AuditFilter) throws(StorageError) -> [(sequence: UInt64, message: AuditMessage)] {
        var rows: [InMemoryState.AuditRow] = state.auditLog
        if let p = f.patient {
            let sequences = Set(state.auditPatients[p.hasPrefix("pseudonym:") ? p : cipher.auditPseudonym(p)] ?? [])
            rows = rows.filter { sequences.contains($0.record.sequence) }
        }
        if let u = f.user { rows = rows.filter { $0.user == u } }
        if let e = f.eventID { rows = rows.filter { $0.eventID == e } }
        if let from = f.from?.timeIntervalSince1970 { rows = rows.filter { $0.at >= from } }
        if let to = f.to?.timeIntervalSince1970 { rows = rows.filter { $0.at < to } }
        return limited(rows.reversed(), f.limit).compactMap { row in
            guard let m = try? AuditChain.decode(row.record.body) else { return nil }
            return (row.record.sequence, m)
        }
    }

    func repositoryHead(node: String) throws(StorageError) -> (sequence: UInt64, hash: [UInt8]) {
        guard let last = state.trails[node]?.max(by: { $0.key < $1.key })?.value else { return (0, AuditChain.genesis) }
        return (last.sequence, last.hash)
    }

    func repositoryHash(node: String, sequence: UInt64) throws(StorageError) -> [UInt8]? {
        state.trails[node]?[sequence]?.hash
    }

    func repositoryCheckpoints(node: String) throws(StorageError) -> [AuditCheckpoint] {
        (state.trailCheckpoints[node] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
    }

    func repositoryNodes() throws(StorageError) -> [String: UInt64] {
        state.trails.compactMapValues { $0.keys.max() }
    }

    func forEachRepositoryRecord(node: String, _ body: (ChainedRecord) -> Bool) throws(StorageError) {
        for (_, record) in (state.trails[node] ?? [:]).sorted(by: { $0.key < $1.key }) where !body(record) { break }
    }
}
