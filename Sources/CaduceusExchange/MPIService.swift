package import CaduceusPatientIndex
package import CaduceusStorage
import CaduceusCore
package import Foundation
import Synchronization

/// Owns the in-memory ``MasterPatientIndex`` and keeps it in step with the store: every change the index makes is
/// persisted in the caller's transaction, with an MPI audit row per assignment. If a write fails after the index
/// changed, the index is rebuilt from the store.
package final class MPIService: Sendable {
    let state: Mutex<MasterPatientIndex>
    let store: any CaduceusStore
    /// The X-PID assigning authority (an OID).
    package let globalAuthority: String

    /// An MPI over `store`, loading its state.
    package init(store: any CaduceusStore, globalAuthority: String, thresholds: MatchThresholds = MatchThresholds()) async throws {
        self.store = store
        self.globalAuthority = globalAuthority
        let snapshot = try await store.read { try $0.mpiSnapshot() }
        state = Mutex(Self.build(snapshot, globalAuthority, thresholds))
    }

    static func build(_ snapshot: MPISnapshot, _ authority: String, _ thresholds: MatchThresholds) -> MasterPatientIndex {
        var mpi = MasterPatientIndex(globalAuthority: authority, model: snapshot.model ?? .prior, policy: MatchPolicy(thresholds: thresholds))
        for r in snapshot.records { mpi.restore(record: r.record, identity: r.identity, demographics: r.demographics, person: r.person) }
        for item in snapshot.reviews { mpi.restore(review: item) }
        for pair in snapshot.distinct { mpi.restore(distinct: pair) }
        return mpi
    }

    /// Rebuilds the index from the store (after a failed write).
    package func reload() async throws {
        let snapshot = try await store.read { try $0.mpiSnapshot() }
        state.withLock { mpi in mpi = Self.build(snapshot, globalAuthority, mpi.policy.thresholds) }
    }

    /// Registers or updates an identity inside `tx`. Returns the record id and the change made.
    /// `sealed` is `store.cipher.seal(mpiIdentity: identity, demographics: demographics)`, made before the write.
    package func register(_ identity: LocalIdentity, _ demographics: Demographics, sealed: SealedMPIRecord, in tx: any StoreTransaction, actor: String, at: Date) throws(StorageError) -> (record: Int64, change: MPIChange) {
        try state.withLock { mpi throws(StorageError) in
            let (record, change) = mpi.register(identity, demographics)
            try tx.saveMPIRecord(record, sealed: sealed, person: mpi.person(of: record)!)
            try tx.applyMPIChange(change, actor: actor, at: at)
            return (record, change)
        }
    }

    /// A40 within one domain, inside `tx`.
    package func merge(_ prior: LocalIdentity, into survivor: LocalIdentity, in tx: any StoreTransaction, actor: String, at: Date) throws -> MPIChange {
        try state.withLock { mpi in
            let change = try mpi.merge(prior, into: survivor)
            try tx.applyMPIChange(change, actor: actor, at: at)
            return change
        }
    }

    /// An operator action (link, unlink, accept or reject a review), persisted durably and audited.
    package func perform(actor: String, _ action: @escaping @Sendable (inout MasterPatientIndex) throws -> MPIChange) async throws -> MPIChange {
        do {
            return try await store.write { [self] tx in
                try self.state.withLock { mpi in
                    let change = try action(&mpi)
                    try tx.applyMPIChange(change, actor: actor, at: Date())
                    return change
                }
            }
        } catch {
            try? await reload()
            throw error
        }
    }

    /// Reads the index.
    package func read<T>(_ body: (MasterPatientIndex) throws -> T) rethrows -> T {
        try state.withLock { try body($0) }
    }

    /// Re-estimates the match model from the data (EM) and stores it.
    package func retrain() async throws -> MatchModel {
        let model = state.withLock { mpi in
            mpi.retrain()
            return mpi.model
        }
        try await store.write { tx in try tx.saveMatchModel(model) }
        return model
    }
}
