import ArgumentParser
import CaduceusCore
import CaduceusExchange
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusStorageSQLite
import Foundation

/// Where a node keeps its state: `DIR/caduceus.sqlite` (the store), `DIR/node.key` (the key that wraps the PHI data
/// key, mode 0600) and `DIR/xpid-authority` (the OID under which this node issues global patient ids, made once
/// under the UUID arc 2.25).
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: "The node's data directory.")
    var data: String = "caduceus-data"

    @Option(name: .long, help: "MPI: Fellegi–Sunter weight at or above which identities are linked without review.")
    var mpiAutoLink: Double = 12

    @Option(name: .long, help: "MPI: weight at or above which an uncertain pair is queued for review.")
    var mpiReview: Double = 4

    struct Opened {
        let store: SQLiteStore
        let mpi: MPIService
    }

    func open() async throws -> Opened {
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = try NodeKey.loadOrCreate(at: data + "/node.key")
        let store = try SQLiteStore(path: data + "/caduceus.sqlite", nodeKey: key)
        guard mpiReview <= mpiAutoLink else { throw CLIError.usage("--mpi-review must not exceed --mpi-auto-link") }
        let mpi = try await MPIService(
            store: store, globalAuthority: try globalAuthority(), thresholds: MatchThresholds(autoLink: mpiAutoLink, review: mpiReview))
        return Opened(store: store, mpi: mpi)
    }

    func globalAuthority() throws -> String {
        let path = data + "/xpid-authority"
        if let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let oid = UUIDOID.make()
        try AtomicFile.write(Data(oid.utf8), to: path, permissions: 0o644)
        return oid
    }
}
