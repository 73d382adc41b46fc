public import CaduceusStorage
import CaduceusCore
import CaduceusPatientIndex
public import Foundation
import GRDB
import Synchronization

/// The embedded default store: SQLite through GRDB, in WAL mode with `synchronous=FULL`, so a commit is on disk
/// (WAL fsynced) when it returns. Concurrent writes are batched into one transaction — group commit — each in its
/// own savepoint, so one failing unit of work rolls back alone; every caller returns only after the shared commit
/// is durable. PHI columns are sealed with the ``PHICipher`` unwrapped from the node key.
public final class SQLiteStore: CaduceusStore {
    let pool: DatabasePool
    let cipher: PHICipher
    let pending = Mutex<[Job]>([])

    final class Job: Sendable {
        let run: @Sendable (Database, PHICipher) throws -> any Sendable
        let result = Mutex<Result<any Sendable, any Error>?>(nil)
        init(_ run: @escaping @Sendable (Database, PHICipher) throws -> any Sendable) { self.run = run }
    }

    /// Opens (creating and migrating) the database at `path`; PHI keys come from `nodeKey`.
    public init(path: String, nodeKey: NodeKey) throws {
        var configuration = Configuration()
        configuration.publicStatementArguments = false  // never log bound values (PHI)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
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
        return m
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let job = Job { db, cipher in try body(SQLiteTransaction(db: db, cipher: cipher)) }
        pending.withLock { $0.append(job) }
        let cipher = self.cipher
        do {
            try await pool.writeWithoutTransaction { [self] db in
                let jobs = self.pending.withLock { jobs -> [Job] in
                    defer { jobs = [] }
                    return jobs
                }
                guard !jobs.isEmpty else { return }
                var outcomes: [Result<any Sendable, any Error>] = []
                do {
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
                } catch {
                    for job in jobs { job.result.withLock { $0 = .failure(StorageError(.database, "the commit failed")) } }
                    throw error
                }
                for (job, outcome) in zip(jobs, outcomes) { job.result.withLock { $0 = outcome } }
            }
        } catch {
            if job.result.withLock({ $0 == nil }) { throw StorageError(.database, "the commit failed") }
        }
        guard let result = job.result.withLock({ $0 }) else { throw StorageError(.database, "the write was not run") }
        return try result.get() as! T
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let cipher = self.cipher
        return try await pool.read { db in try body(SQLiteReader(db: db, cipher: cipher)) }
    }
}

/// Wraps GRDB errors: the message names the operation, never the data.
func sql<T>(_ what: String, _ body: () throws -> T) throws(StorageError) -> T {
    do { return try body() } catch let e as StorageError { throw e } catch {
        throw StorageError(.database, "the database refused to \(what)")
    }
}
