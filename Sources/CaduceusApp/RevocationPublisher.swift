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

    /// Two loops, so a slow peer never delays a revocation: publishing (every `checkInterval`) and fetching (every
    /// `fetchInterval`, each peer asked concurrently; the CRL folder is read again too, so a list an operator drops
    /// there is taken without a restart).
    package func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    await publishChanged()
                    do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: checkInterval) } } catch { break }
                }
            }
            group.addTask {
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    var wait = fetchInterval
                    if node.configuration.directoryEndpoint.isEmpty {
                        wait = .seconds(1)  // not bound or not pointed at the directory yet
                    } else {
                        await node.fetchRevocations()
                        await fetchPlain()
                        trust.reload()
                    }
                    do { try await cancelWhenGracefulShutdown { [wait] in try await Task.sleep(for: wait) } } catch { break }
                }
            }
        }
    }

    /// Fetches the lists the other nodes serve on plain HTTP (the sources the directory names, remembered for the next
    /// outage): the way back when every list has gone stale and no mutual-TLS handshake can be validated. Each list is
    /// checked on its own (its CA already known here, its signature, its dates, newer than the one held).
    @discardableResult
    package func fetchPlain() async -> Int {
        trust.remember(sources: await node.revocationSources())
        return await Self.fetchPlain(from: trust.sources(), into: trust)
    }

    /// Fetches every list `sources` serve on plain HTTP into `trust` (each checked by ``TrustStore/acceptKnown(_:)``);
    /// returns how many were taken.
    package static func fetchPlain(from sources: [String], into trust: TrustStore) async -> Int {
        var taken = 0
        for source in sources {
            guard let index = try? await PlainHTTP.get(source + "/crl", limit: 1 << 20) else { continue }
            let names = String(decoding: index, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
                let name = line.split(separator: "\t").first.map(String.init) ?? ""
                return name.count == 20 && name.hasSuffix(".crl") && name.dropLast(4).allSatisfy(\.isHexDigit) ? name : nil
            }
            for name in names.prefix(64) {
                if let der = try? await PlainHTTP.get(source + "/crl/" + name), (try? await trust.acceptKnown(der)) == true { taken += 1 }
            }
        }
        return taken
    }

    /// Publishes a new list for every hosted CA whose revocations changed since the last look, or whose list is
    /// missing or half way to its nextUpdate. A look is a `stat` of the CA's state file while nothing changed; the
    /// CA's key is read only to sign. After a failure the CA is left alone for a minute (no re-signing loop). Returns
    /// how many lists it made.
    @discardableResult
    package func publishChanged() async -> Int {
        var made: [PublishedCRL] = []
        for ca in hosted {
            var last = seen.table.withLock { $0[ca.directory] } ?? PublishedDigests.Entry()
            if let failed = last.failedAt, failed.duration(to: .now) < .seconds(60) { continue }
            do {
                // The stamp is taken before the records are read: a revocation landing after it changes the stamp
                // again, so the next look reads it (signing changes the stamp too; the next look then finds the same
                // revocations and signs nothing).
                let stamp = try Self.stamp(ca.directory + "/state.json")
                if last.certificate == nil { last.certificate = try PEM.certificates(fromFile: ca.directory + "/ca.pem").first }
                let now = clock.now()
                let current = last.certificate.flatMap { trust.list(of: $0) }
                let due = current.map { ($0.nextUpdate ?? now).timeIntervalSince(now) < Double(validity) * 86_400 / 2 } ?? true
                if !due, stamp == last.stamp { continue }
                let revoked = try ca.records().filter { $0.status == "revoked" }.map { "\($0.serial):\($0.reason ?? 0)" }.sorted()
                let fingerprint = Array(SHA256.hash(data: Data(revoked.joined(separator: "\n").utf8)))
                last.stamp = stamp
                if due || fingerprint != last.fingerprint {
                    let crl = try ca.makeCRL(now: now, validityDays: validity)
                    let authority = try ca.authority()
                    // The CA's chain below the anchor: the CA, then its parents (the root CA's chain is itself).
                    let chain = [authority.certificate] + authority.parents.filter { !trust.anchors.contains($0) }
                    let published = PublishedCRL(crl: Data(crl.derEncoded), chain: try PEM.encode(chain))
                    if try await trust.accept(published) { made.append(published) }
                    last.fingerprint = fingerprint
                }
                last.failedAt = nil
            } catch {
                last.failedAt = .now
                logger.error("could not publish a revocation list", metadata: ["ca": .string(ca.directory), "code": .string((error as? any CaduceusError)?.code ?? "pki.io")])
            }
            seen.table.withLock { [last] in $0[ca.directory] = last }
        }
        if !made.isEmpty { await node.pushRevocations(made) }
        return made.count
    }

    static func stamp(_ path: String) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return "\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0):\((attributes[.size] as? NSNumber)?.intValue ?? 0)"
    }
}

/// Per hosted CA (by directory): its state file's stamp and the digest of its revocations as last looked at, and its
/// name.
package final class PublishedDigests: Sendable {
    struct Entry: Sendable {
        var stamp = ""
        var fingerprint: [UInt8] = []
        var certificate: Certificate?
        var failedAt: ContinuousClock.Instant?
    }
    let table = Mutex<[String: Entry]>([:])
    /// An empty table.
    package init() {}
}
