package import CaduceusStorage
import CaduceusCore
import CaduceusPatientIndex
import Foundation
import GRDB
import Synchronization

/// The embedded default store: SQLite through GRDB, in WAL mode with `synchronous=FULL`, so a commit is on disk
/// (WAL fsynced) when it returns. Concurrent writes are batched into one transaction — group commit — each in its
/// own savepoint, so one failing unit of work rolls back alone; every caller returns only after the shared commit
/// is durable. PHI columns are sealed with the ``PHICipher`` unwrapped from the node key.
package final class SQLiteStore: CaduceusStore {
    let pool: DatabasePool
    /// The PHI cipher unwrapped from the node key.
    package let cipher: PHICipher
    let queue = Mutex(Queue())

    struct Queue: ~Copyable {
        var jobs: [Job] = []
        /// A leader is committing; new jobs wait for it (or for leadership to be handed to them).
        var leading = false
    }

    /// How a waiting job is woken: its batch committed, or it must lead the next batch.
    enum Wake: Sendable { case done, lead }

    final class Job: Sendable {
        let run: @Sendable (Database, PHICipher) throws -> any Sendable
        let result = Mutex<Result<any Sendable, any Error>?>(nil)
        let wake = Mutex<WakeState>(.idle)
        enum WakeState { case idle, waiting(CheckedContinuation<Wake, Never>), woken(Wake) }
        init(_ run: @escaping @Sendable (Database, PHICipher) throws -> any Sendable) { self.run = run }

        func wait() async -> Wake {
            await withCheckedContinuation { continuation in
                let early: Wake? = wake.withLock { state in
                    if case .woken(let w) = state { return w }
                    state = .waiting(continuation)
                    return nil
                }
                if let early { continuation.resume(returning: early) }
            }
        }

        func resume(_ w: Wake) {
            let continuation: CheckedContinuation<Wake, Never>? = wake.withLock { state in
                if case .waiting(let c) = state {
                    state = .idle
                    return c
                }
                state = .woken(w)
                return nil
            }
            continuation?.resume(returning: w)
        }
    }

    /// The writer connection's journal mode and `synchronous` level (2 = FULL), as SQLite reports them now.
    package func writerDurability() throws -> (journalMode: String, synchronous: Int) {
        do {
            return try pool.writeWithoutTransaction { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
            }
        } catch {
            throw StorageError(.database, "the database could not be read")
        }
    }

    /// Opens (creating and migrating) the database at `path`; PHI keys come from `nodeKey`.
    package init(path: String, nodeKey: NodeKey) throws {
        var configuration = Configuration()
        configuration.publicStatementArguments = false  // never log bound values (PHI)
        // Another process may hold the write lock for a moment (a CLI command beside a running node): wait for it.
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns WAL on for the writer after prepareDatabase, and with it synchronous back to NORMAL (a commit
            // then reaches the disk only at the next checkpoint). Set FULL again on the one writer connection, so
            // every commit — and so every acknowledgement after it — is fsynced.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
            cipher = try pool.write { db -> PHICipher in
                if let wrapped = try Data.fetchOne(db, sql: "SELECT wrapped_key FROM data_keys WHERE id = 1") {
                    return try PHICipher.open(wrapped: wrapped, nodeKey: nodeKey)
                }
                let (cipher, wrapped) = try PHICipher.create(nodeKey: nodeKey)
                try db.execute(sql: "INSERT INTO data_keys (id, wrapped_key, created_at) VALUES (1, ?, ?)", arguments: [wrapped, Date()])
                return cipher
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.database, "the database could not be opened or migrated")
        }
    }

    /// Append-only migrations (STYLE §11).
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE data_keys (id INTEGER PRIMARY KEY, wrapped_key BLOB NOT NULL, created_at DATETIME NOT NULL);
                CREATE TABLE hl7_messages (
                    id INTEGER PRIMARY KEY, sender TEXT NOT NULL, control_id TEXT NOT NULL, message_type TEXT NOT NULL,
                    outcome TEXT NOT NULL, received_at DATETIME NOT NULL, raw BLOB NOT NULL, ack BLOB NOT NULL,
                    UNIQUE (sender, control_id));
                CREATE TABLE patients (
                    id INTEGER PRIMARY KEY, identity_index BLOB NOT NULL UNIQUE, authority TEXT NOT NULL,
                    record BLOB NOT NULL, merged_into BLOB, updated_at DATETIME NOT NULL);
                CREATE TABLE observations (
                    id INTEGER PRIMARY KEY, patient_index BLOB NOT NULL, control_id TEXT NOT NULL, data BLOB NOT NULL,
                    stored_at DATETIME NOT NULL);
                CREATE INDEX observations_patient ON observations (patient_index);
                CREATE TABLE mpi_records (
                    record_id INTEGER PRIMARY KEY, identity_index BLOB NOT NULL UNIQUE, authority TEXT NOT NULL,
                    identity BLOB NOT NULL, demographics BLOB NOT NULL, person TEXT NOT NULL);
                CREATE INDEX mpi_records_person ON mpi_records (person);
                CREATE TABLE mpi_reviews (
                    id INTEGER PRIMARY KEY, record_id INTEGER NOT NULL, candidate_record_id INTEGER NOT NULL,
                    weight REAL NOT NULL, reason TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open');
                CREATE TABLE mpi_distinct (low INTEGER NOT NULL, high INTEGER NOT NULL, PRIMARY KEY (low, high));
                CREATE TABLE mpi_events (
                    id INTEGER PRIMARY KEY, at DATETIME NOT NULL, action TEXT NOT NULL, record_id INTEGER NOT NULL,
                    person_before TEXT, person_after TEXT, actor TEXT NOT NULL);
                CREATE TABLE mpi_model (id INTEGER PRIMARY KEY, model TEXT NOT NULL);
                CREATE TABLE audit_events (
                    id INTEGER PRIMARY KEY, at DATETIME NOT NULL, kind TEXT NOT NULL, code TEXT NOT NULL, detail TEXT NOT NULL);
                """)
        }
        m.registerMigration("v2-documents") { db in
            try db.execute(sql: """
                CREATE TABLE repository_documents (
                    id INTEGER PRIMARY KEY, unique_id TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, size INTEGER NOT NULL,
                    blob TEXT NOT NULL, wrapped_key BLOB NOT NULL, entry BLOB NOT NULL, stored_at DATETIME NOT NULL);
                CREATE TABLE registry_entries (
                    id INTEGER PRIMARY KEY, unique_id TEXT NOT NULL UNIQUE, patient_index BLOB NOT NULL,
                    class_code TEXT NOT NULL, type_code TEXT NOT NULL, confidentiality TEXT NOT NULL,
                    creation_time REAL NOT NULL, status TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,
                    repository_id TEXT NOT NULL, submission_set TEXT NOT NULL, replaces TEXT, entry BLOB NOT NULL,
                    registered_at DATETIME NOT NULL);
                CREATE INDEX registry_patient ON registry_entries (patient_index, creation_time);
                CREATE TABLE submission_sets (
                    unique_id TEXT PRIMARY KEY, source_id TEXT NOT NULL, submitted_at DATETIME NOT NULL,
                    entry_count INTEGER NOT NULL);
                CREATE TABLE evidence (
                    id INTEGER PRIMARY KEY, operation TEXT NOT NULL, sender TEXT NOT NULL, sha256 TEXT NOT NULL,
                    envelope BLOB, blob TEXT, wrapped_key BLOB, received_at DATETIME NOT NULL,
                    CHECK ((envelope IS NULL) <> (blob IS NULL)));
                CREATE TABLE directory_nodes (
                    id TEXT PRIMARY KEY, node TEXT NOT NULL, updated_at DATETIME NOT NULL);
                """)
        }
        m.registerMigration("v3-audit-chain") { db in
            try db.execute(sql: """
                CREATE TABLE audit_log (
                    seq INTEGER PRIMARY KEY, prev BLOB NOT NULL, body BLOB NOT NULL, hash BLOB NOT NULL,
                    at REAL NOT NULL, event_id TEXT NOT NULL, patient TEXT, user TEXT, outcome INTEGER NOT NULL);
                CREATE INDEX audit_patient ON audit_log (patient, seq);
                CREATE INDEX audit_user ON audit_log (user, seq);
                CREATE TABLE audit_checkpoints (seq INTEGER PRIMARY KEY, checkpoint TEXT NOT NULL);
                """)
        }
        m.registerMigration("v4-consents") { db in
            try db.execute(sql: """
                CREATE TABLE consents (
                    id TEXT PRIMARY KEY, patient BLOB NOT NULL, record BLOB NOT NULL, recorded_at REAL NOT NULL);
                CREATE INDEX consents_patient ON consents (patient, recorded_at);
                CREATE TABLE emergency_access (
                    id TEXT PRIMARY KEY, record BLOB NOT NULL, started_at REAL NOT NULL, reviewed INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX emergency_open ON emergency_access (reviewed, started_at);
                """)
        }
        m.registerMigration("v5-audit-repository") { db in
            try db.execute(sql: """
                CREATE TABLE audit_repository (
                    node TEXT NOT NULL, seq INTEGER NOT NULL, prev BLOB NOT NULL, body BLOB NOT NULL, hash BLOB NOT NULL,
                    received_at REAL NOT NULL, PRIMARY KEY (node, seq)) WITHOUT ROWID;
                CREATE TABLE audit_repository_checkpoints (
                    node TEXT NOT NULL, seq INTEGER NOT NULL, checkpoint TEXT NOT NULL, PRIMARY KEY (node, seq)) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v6-seams") { db in
            // Every patient an audit event touches (audit_log.patient held only the first); request ids seen within
            // the freshness window (replay cache); sign-outs, remembered until the assertion would have expired.
            try db.execute(sql: """
                CREATE TABLE audit_patients (patient TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (patient, seq)) WITHOUT ROWID;
                INSERT INTO audit_patients (patient, seq) SELECT patient, seq FROM audit_log WHERE patient IS NOT NULL;
                CREATE TABLE seen_requests (id TEXT PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID;
                CREATE TABLE revoked_sessions (jti TEXT PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v7-cards") { db in
            // The personnel registry and the card registry: sealed records (they name people).
            try db.execute(sql: """
                CREATE TABLE staff (id TEXT PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE cards (id TEXT PRIMARY KEY, record BLOB NOT NULL, enrolled_at REAL NOT NULL) WITHOUT ROWID;
                CREATE INDEX cards_enrolled ON cards (enrolled_at, id);
                """)
        }
        m.registerMigration("v8-code-tables") { db in
            // The code tables the node validates with: every version kept (append-only), the newest in force.
            // Not PHI: stored as plain JSON.
            try db.execute(sql: """
                CREATE TABLE code_tables (name TEXT NOT NULL, version INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (name, version)) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v9-transfers") { db in
            // Push transfers received (the inbox, until a clinician accepts one) and sent; the record is sealed.
            try db.execute(sql: """
                CREATE TABLE transfers (
                    direction TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL, accepted INTEGER NOT NULL, record BLOB NOT NULL,
                    PRIMARY KEY (direction, id)) WITHOUT ROWID;
                CREATE INDEX transfers_at ON transfers (direction, at);
                """)
        }
        return m
    }

    package func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let job = Job { db, cipher in try body(SQLiteTransaction(db: db, cipher: cipher)) }
        await enqueueAndWait([job])
        return try job.outcome(as: T.self)
    }

    /// Queues the units together, in order (so they land in the same group commit, in this order, unless a commit
    /// already running takes the first of them), and returns when all are committed.
    package func writeAll<T: Sendable>(_ bodies: [@Sendable (any StoreTransaction) throws -> T]) async -> [Result<T, any Error>] {
        let jobs = bodies.map { body in Job { db, cipher in try body(SQLiteTransaction(db: db, cipher: cipher)) } }
        await enqueueAndWait(jobs)
        return jobs.map { job in Result { try job.outcome(as: T.self) } }
    }

    /// Appends `jobs` to the queue under one lock; then each is waited for in order, and whenever one is woken to
    /// lead, this caller commits everything queued (its own jobs included) in one transaction, wakes the others, and
    /// hands the lead to the first job queued meanwhile — so no caller waits for more than the batch after its own.
    func enqueueAndWait(_ jobs: [Job]) async {
        guard !jobs.isEmpty else { return }
        let lead = queue.withLock { q -> Bool in
            q.jobs.append(contentsOf: jobs)
            if q.leading { return false }
            q.leading = true
            return true
        }
        var leadFor: Job? = lead ? jobs[0] : nil
        for job in jobs {
            if leadFor == nil, await job.wait() == .lead { leadFor = job }
            guard let leader = leadFor else { continue }
            leadFor = nil
            let batch = queue.withLock { q -> [Job] in
                defer { q.jobs = [] }
                return q.jobs
            }
            await commit(batch)
            for other in batch where other !== leader { other.resume(.done) }
            let next = queue.withLock { q -> Job? in
                if let first = q.jobs.first { return first }
                q.leading = false
                return nil
            }
            next?.resume(.lead)
        }
    }

    /// Runs a batch in one transaction, each job in its own savepoint; records each job's outcome. If the commit
    /// fails, every job fails.
    func commit(_ jobs: [Job]) async {
        let cipher = self.cipher
        do {
            try await pool.writeWithoutTransaction { db in
                var outcomes: [Result<any Sendable, any Error>] = []
                try db.inTransaction(.immediate) {
                    for job in jobs {
                        var outcome: Result<any Sendable, any Error> = .failure(StorageError(.database, "not run"))
                        try db.inSavepoint {
                            do {
                                outcome = .success(try job.run(db, cipher))
                                return .commit
                            } catch {
                                outcome = .failure(error)
                                return .rollback
                            }
                        }
                        outcomes.append(outcome)
                    }
                    return .commit
                }
                for (job, outcome) in zip(jobs, outcomes) { job.result.withLock { $0 = outcome } }
            }
        } catch {
            for job in jobs { job.result.withLock { $0 = .failure(StorageError(.database, "the commit failed")) } }
        }
    }

    package func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let cipher = self.cipher
        return try await pool.read { db in try body(SQLiteReader(db: db, cipher: cipher)) }
    }
}

extension SQLiteStore.Job {
    func outcome<T>(as: T.Type) throws -> T {
        guard let result = result.withLock({ $0 }) else { throw StorageError(.database, "the write was not run") }
        return try result.get() as! T
    }
}

/// Wraps GRDB errors: the message names the operation, never the data.
func sql<T>(_ what: String, _ body: () throws -> T) throws(StorageError) -> T {
    do { return try body() } catch let e as StorageError { throw e } catch {
        throw StorageError(.database, "the database refused to \(what)")
    }
}
