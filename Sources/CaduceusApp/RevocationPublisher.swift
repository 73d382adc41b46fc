package import CaduceusExchange
package import CaduceusPKI
package import CaduceusCore
import Crypto
import Foundation
import Synchronization
package import Logging
package import ServiceLifecycle
import X509

/// Keeps a node's revocation lists current while it runs:
/// - for each CA the node hosts (its files stay where they are), a new CRL the moment the CA's revocations change
///   (a `caduceus pki revoke` in another process included: the CA's state is looked at every `checkInterval`), and
///   again when the current one is half way to its nextUpdate; each new list is swapped in here and pushed to every
///   other node of the directory (`crl.publish`);
/// - every `fetchInterval`, the lists every other node holds (`GET /v1/crls`), keeping the newer ones — so a node
///   that missed a push, or whose CA host is down, still converges through any other node.
package struct RevocationPublisher: Service {
    let node: ExchangeNode
    let trust: TrustStore
    let hosted: [CAStore]
    let validity: Int
    let checkInterval: Duration
    let fetchInterval: Duration
    let logger: Logger
    let clock: any WallClock
    /// Per hosted CA (by directory), a digest of its revocations as last published (shared by every publisher of
    /// the node, so an explicit ``publishChanged()`` and the running service do not publish one change twice).
    let seen: PublishedDigests

    /// A publisher for `node`, hosting `hosted` (CRLs valid `validityDays`).
    package init(node: ExchangeNode, trust: TrustStore, hosted: [CAStore], seen: PublishedDigests, validityDays: Int = 1, checkInterval: Duration = .milliseconds(200), fetchInterval: Duration = .seconds(300), logger: Logger, clock: any WallClock = SystemWallClock()) {
        self.seen = seen
        self.node = node
        self.trust = trust
        self.hosted = hosted
        self.validity = validityDays
        self.checkInterval = checkInterval
        self.fetchInterval = fetchInterval
        self.logger = logger
        self.clock = clock
    }

    package func run() async throws {
        var lastFetch: ContinuousClock.Instant?
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await publishChanged()
            if lastFetch.map({ $0.duration(to: .now) >= fetchInterval }) ?? true, !node.configuration.directoryEndpoint.isEmpty {
                await node.fetchRevocations()
                lastFetch = .now
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: checkInterval) } } catch { break }
        }
    }

    /// Publishes a new list for every hosted CA whose revocations changed since the last look, or whose list is
    /// missing or half way to its nextUpdate. A look is a `stat` of the CA's state file while nothing changed; the
    /// CA's key is read only to sign. Returns how many lists it made.
    @discardableResult
    package func publishChanged() async -> Int {
        var made: [PublishedCRL] = []
        for ca in hosted {
            do {
                let attributes = try FileManager.default.attributesOfItem(atPath: ca.directory + "/state.json")
                let stamp = "\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0):\((attributes[.size] as? NSNumber)?.intValue ?? 0)"
                var last = seen.table.withLock { $0[ca.directory] } ?? PublishedDigests.Entry()
                if last.subject == nil { last.subject = try PEM.certificates(fromFile: ca.directory + "/ca.pem").first?.subject }
                let now = clock.now()
                let current = last.subject.flatMap { trust.list(of: $0) }
                let due = current.map { ($0.nextUpdate ?? now).timeIntervalSince(now) < Double(validity) * 86_400 / 2 } ?? true
                if !due, stamp == last.stamp { continue }
                let revoked = try ca.records().filter { $0.status != "valid" }.map { "\($0.serial):\($0.status):\($0.reason ?? 0)" }.sorted()
                let fingerprint = Array(SHA256.hash(data: Data(revoked.joined(separator: "\n").utf8)))
                last.stamp = stamp
                if !due, fingerprint == last.fingerprint {
                    seen.table.withLock { $0[ca.directory] = last }
                    continue
                }
                let crl = try ca.makeCRL(now: now, validityDays: validity)
                let authority = try ca.authority()
                // The CA's chain below the anchor: the CA, then its parents (the root CA's chain is itself).
                let chain = [authority.certificate] + authority.parents.filter { !trust.anchors.contains($0) }
                let published = PublishedCRL(crl: Data(crl.derEncoded), chain: try PEM.encode(chain))
                if try await trust.accept(published) { made.append(published) }
                // Signing wrote the state file (the CRL number): its new stamp is ours, not a change to look at.
                let signed = try FileManager.default.attributesOfItem(atPath: ca.directory + "/state.json")
                last.stamp = "\((signed[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0):\((signed[.size] as? NSNumber)?.intValue ?? 0)"
                last.fingerprint = fingerprint
                seen.table.withLock { $0[ca.directory] = last }
            } catch {
                logger.error("could not publish a revocation list", metadata: ["ca": .string(ca.directory), "code": .string((error as? any CaduceusError)?.code ?? "pki.io")])
            }
        }
        if !made.isEmpty { await node.pushRevocations(made) }
        return made.count
    }
}

/// Per hosted CA (by directory): its state file's stamp and the digest of its revocations as last looked at, and its
/// name.
package final class PublishedDigests: Sendable {
    struct Entry: Sendable {
        var stamp = ""
        var fingerprint: [UInt8] = []
        var subject: DistinguishedName?
    }
    let table = Mutex<[String: Entry]>([:])
    /// An empty table.
    package init() {}
}
