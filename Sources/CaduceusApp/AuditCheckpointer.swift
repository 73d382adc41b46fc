package import CaduceusStorage
package import ServiceLifecycle
package import CaduceusAudit
import CaduceusCore
package import Crypto
package import Foundation

/// The node's audit signing key (P-256, `DATA/audit-signing.key`, mode 0600; public half in
/// `DATA/audit-signing.pub.pem`), made on first use. Checkpoints are signed with it.
package struct AuditSigningKey: Sendable {
    let key: P256.Signing.PrivateKey

    /// Loads or creates the key under `directory`.
    package static func loadOrCreate(in directory: String) throws -> AuditSigningKey {
        let path = directory + "/audit-signing.key"
        if let pem = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) {
            return AuditSigningKey(key: try P256.Signing.PrivateKey(pemRepresentation: pem))
        }
        let key = P256.Signing.PrivateKey()
        try AtomicFile.write(Data(key.pemRepresentation.utf8), to: path, permissions: 0o600)
        try AtomicFile.write(Data(key.publicKey.pemRepresentation.utf8), to: directory + "/audit-signing.pub.pem")
        return AuditSigningKey(key: key)
    }

    /// The public key verifiers use.
    package static func publicKey(in directory: String) throws -> P256.Signing.PublicKey {
        guard let pem = FileManager.default.contents(atPath: directory + "/audit-signing.pub.pem").flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw ConfigurationError("the data directory has no audit-signing.pub.pem")
        }
        return try P256.Signing.PublicKey(pemRepresentation: pem)
    }

    /// Signs the current head of `store`'s log and stores the checkpoint; returns it (nil when the log is empty).
    @discardableResult
    package func checkpoint(_ store: any CaduceusStore, node: String, now: Date = Date()) async throws -> AuditCheckpoint? {
        let (sequence, hash) = try await store.read { try $0.auditHead() }
        guard sequence > 0 else { return nil }
        let checkpoint = try AuditCheckpoint.sign(node: node, sequence: sequence, hash: hash, time: now, key: key)
        try await store.write { tx in try tx.saveCheckpoint(checkpoint) }
        return checkpoint
    }
}

/// Signs a checkpoint of the audit log periodically (when it grew) and once more at shutdown.
package struct AuditCheckpointer: Service {
    let key: AuditSigningKey
    let store: any CaduceusStore
    let node: String
    let interval: Duration

    /// A checkpointer every `interval`.
    package init(key: AuditSigningKey, store: any CaduceusStore, node: String, interval: Duration = .seconds(60)) {
        self.key = key
        self.store = store
        self.node = node
        self.interval = interval
    }

    package func run() async throws {
        // The periodic loop is cancelled when graceful shutdown begins (so shutdown never waits for a sleep)...
        try? await cancelWhenGracefulShutdown { [key, store, node, interval] in
            var last: UInt64 = 0
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                let head = (try? await store.read { try $0.auditHead().sequence }) ?? 0
                if head > last, let c = try? await key.checkpoint(store, node: node) { last = c.sequence }
            }
        }
        // ...then one last checkpoint, so the log's end is vouched for.
        _ = try? await key.checkpoint(store, node: node)
    }
}
