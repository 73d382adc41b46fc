package import CaduceusCore
package import CaduceusExchange
package import CaduceusPKI
package import X509
import Crypto
import SwiftASN1
import Foundation
import Synchronization

/// Federation trust as one node holds it: the trust anchors, and the newest CRL of every CA of the federation with
/// that CA's chain (so the node can re-serve it), in memory and in its CRL directory (for the next start).
///
/// Revocation is required: ``validator()`` fails closed (``RevocationRequirement/failClosed(grace:)``) — a certificate
/// whose issuer's CRL is missing, or stale beyond the grace period, is refused with `pki.revocation-unknown`. Newer
/// lists arrive while the node runs (``accept(_:)``: pushed by the node hosting the CA, or fetched from any node) and
/// are swapped in at once, without a restart.
package final class TrustStore: RevocationLists, Sendable {
    /// The federation's trust anchors.
    package let anchors: [Certificate]
    /// Where the lists are kept (`<issuer hash>.crl`, DER, and `<issuer hash>.chain.pem`); any other `*.crl` file put
    /// there by an operator is read too.
    let crlDirectory: String
    /// How long past its nextUpdate a list still counts.
    package let grace: Double
    let clock: any WallClock
    struct Held: Sendable {
        var crl: CertificateRevocationList
        var chain: [Certificate]
    }
    /// The newest list per issuing CA, keyed by the CA's name and public key (the name alone for a list read from the
    /// folder without its chain): a list under a CA's name but another key sits beside the genuine one and is never
    /// used for it (validation takes only lists signed by the issuer actually in the path), and cannot displace it.
    let held = Mutex<[[UInt8]: Held]>([:])
    /// The validation cache of the lists held now: replaced, under the lock of ``held``, whenever a list is taken, so a
    /// validator always pairs lists with the cache made for exactly them.
    let verdicts = Mutex(ValidationCache())
    /// At most this many lists are held.
    static let maxLists = 512
    /// How far ahead of this node's clock a list's thisUpdate may be (clock skew between nodes).
    static let maxSkew: Double = 300

    /// Trust in `anchors`, with the lists found in `crlDirectory`; `grace` seconds past nextUpdate (default 1 h).
    package init(anchors: [Certificate], crlDirectory: String, grace: Double = 3600, clock: any WallClock = SystemWallClock()) {
        self.anchors = anchors
        self.crlDirectory = crlDirectory
        self.grace = grace
        self.clock = clock
        reload()
    }

    /// Re-reads the CRL directory, keeping the newest list per issuer (of those held and those read).
    package func reload() {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: crlDirectory)) ?? []
        for name in files.filter({ $0.hasSuffix(".crl") }).sorted() {
            guard let data = FileManager.default.contents(atPath: crlDirectory + "/" + name),
                  let crl = try? CertificateRevocationList(pemOrDER: Array(data))
            else { continue }
            let chainFile = crlDirectory + "/" + name.dropLast(4) + ".chain.pem"
            let chain = (try? PEM.certificates(fromFile: chainFile)) ?? []
            // The node's own folder is trusted as its anchors are; still, a list its chain's CA did not sign, or one
            // dated in the future, is not taken from it.
            if let issuer = chain.first, !crl.isSigned(by: issuer) { continue }
            guard (try? Self.requireSaneDates(crl, now: clock.now())) != nil else { continue }
            _ = try? keepIfNewer(crl, chain: chain, save: false)
        }
    }

    /// Takes a list an operator gave (a file named on the command line), as one read from the folder: unless it is
    /// dated in the future or has no sensible nextUpdate; not written to the folder.
    package func takeLocal(_ crl: CertificateRevocationList) {
        guard (try? Self.requireSaneDates(crl, now: clock.now())) != nil else { return }
        _ = try? keepIfNewer(crl, chain: [], save: false)
    }

    /// The validator for this instant: revocation required, with the lists held now.
    /// Chains validated under them are remembered until a list changes (``ValidationCache``).
    package func validator() -> ChainValidator {
        let (crls, cache) = held.withLock { table in (table.values.map(\.crl), verdicts.withLock { $0 }) }
        return ChainValidator(anchors: anchors, crls: crls, revocation: .failClosed(grace: grace), cache: cache)
    }

    /// The anchors as PEM.
    package var anchorsPEM: String { (try? PEM.encode(anchors)) ?? "" }

    /// The list held for the CA certificate `ca` (its name and key).
    package func list(of ca: Certificate) -> CertificateRevocationList? {
        guard let key = try? Self.key(ca.subject, ca) else { return nil }
        return held.withLock { $0[key]?.crl }
    }

    /// The newest list held under the CA name `issuer` that its issuer's certificate `ca`, when given, signed.
    package func list(of issuer: DistinguishedName) -> CertificateRevocationList? {
        held.withLock { $0.values.map(\.crl) }.filter { $0.issuer == issuer }.max { Self.isNewer($1, than: $0) }
    }

    /// Keeps `published` if its CA chains to the anchors (or is one), the CA signed it, it has a nextUpdate, and it is
    /// newer than the list held; writes it to the CRL directory. True when it was taken.
    package func accept(_ published: PublishedCRL) async throws -> Bool {
        let crl: CertificateRevocationList
        let chain: [Certificate]
        do {
            crl = try CertificateRevocationList(derEncoded: Array(published.crl))
            chain = try PEM.certificates(fromPEM: published.chain)
        } catch {
            throw PKIError(.malformed, "a published revocation list or its CA chain could not be parsed")
        }
        guard let issuer = chain.first, issuer.subject == crl.issuer, crl.isSigned(by: issuer) else {
            throw PKIError(.crlInvalid, "the revocation list is not signed by the CA its chain names")
        }
        try Self.requireSaneDates(crl, now: clock.now())
        if !anchors.contains(issuer) {
            // The CA must chain to our anchors, as a CA: every CA above it must allow one more CA below it (pathLen
            // counts the list's issuer, which acts as a CA here — a pathLen-0 hospital CA cannot mint a CA that
            // publishes lists under the root's or the region's name).
            let now = clock.now()
            let checker = ChainValidator(anchors: anchors, crls: held.withLock { $0.values.map(\.crl) }, revocation: .bestEffort)
            guard case .trusted(let path) = await checker.validate(issuer, intermediates: Array(chain.dropFirst()), usage: .any, validityTime: now, now: now),
                  case .isCertificateAuthority = try? issuer.extensions.basicConstraints,
                  Self.pathLengthsAllow(path)
            else { throw PKIError(.crlInvalid, "the revocation list's CA does not chain to this node's trust anchors as a CA") }
        }
        guard try keepIfNewer(crl, chain: chain) else { return false }
        return true
    }

    /// A list whose thisUpdate is ahead of this node's clock (beyond the skew), or whose nextUpdate is missing or not
    /// after its thisUpdate, is refused: a list dated in the future would make every genuine later list look older.
    static func requireSaneDates(_ crl: CertificateRevocationList, now: Date) throws(PKIError) {
        guard crl.thisUpdate <= now.addingTimeInterval(maxSkew), let next = crl.nextUpdate, next > crl.thisUpdate else {
            throw PKIError(.crlInvalid, "the revocation list is dated in the future, or its nextUpdate is not after its thisUpdate")
        }
    }

    /// Whether every CA of `path` (the list's issuer first, the anchor last) allows the CAs below it.
    static func pathLengthsAllow(_ path: [Certificate]) -> Bool {
        for (index, ca) in path.enumerated() where index > 0 {
            if case .isCertificateAuthority(let maxPathLength)? = try? ca.extensions.basicConstraints, let limit = maxPathLength, index > limit {
                return false
            }
        }
        return true
    }

    /// Takes a list fetched without its chain (from a plain-HTTP listener) when a CA this node already holds a list
    /// of — under that name, with its chain — signed it; then as ``accept(_:)``. False when no such CA is known or the
    /// list is not newer.
    package func acceptKnown(_ der: [UInt8]) async throws -> Bool {
        let crl: CertificateRevocationList
        do { crl = try CertificateRevocationList(derEncoded: der) } catch { throw PKIError(.malformed, "a fetched revocation list could not be parsed") }
        let chains = held.withLock { $0.values.filter { $0.crl.issuer == crl.issuer && !$0.chain.isEmpty }.map(\.chain) }
        let known = chains.first { crl.isSigned(by: $0[0]) } ?? anchors.filter { $0.subject == crl.issuer && crl.isSigned(by: $0) }.map { [$0] }.first
        guard let chain = known else { return false }
        return try await accept(PublishedCRL(crl: Data(der), chain: try PEM.encode(chain)))
    }

    /// The plain-HTTP revocation list sources this node has learnt (from the directory) or was given, kept in the
    /// folder (`sources.txt`) so a restart during an outage still knows where to look.
    package func sources() -> [String] {
        guard let text = try? String(contentsOfFile: crlDirectory + "/sources.txt", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("http://") }
    }

    /// Adds `urls` to the sources kept (at most 64).
    package func remember(sources urls: [String]) {
        let all = Array(Set(sources() + urls.filter { $0.hasPrefix("http://") && $0.count < 256 })).sorted().prefix(64)
        guard Set(all) != Set(sources()) else { return }
        try? FileManager.default.createDirectory(atPath: crlDirectory, withIntermediateDirectories: true)
        try? AtomicFile.write(Data((all.joined(separator: "\n") + "\n").utf8), to: crlDirectory + "/sources.txt")
    }

    /// The newest list of every CA held, with its file name (as in the CRL folder and on the plain-HTTP listener).
    package func heldLists() -> [(name: String, crl: CertificateRevocationList)] {
        held.withLock { table in table.map { (Self.fileName($0.key), $0.value.crl) } }
    }

    /// The newest list of every CA held, with its chain.
    package func published() -> [PublishedCRL] {
        held.withLock { table in
            table.values.sorted { $0.crl.issuer.description < $1.crl.issuer.description }.map {
                PublishedCRL(crl: Data($0.crl.derEncoded), chain: (try? PEM.encode($0.chain)) ?? "")
            }
        }
    }

    /// Keeps `crl` if it is newer than the list held for its CA (later thisUpdate, or the same with a higher CRL
    /// number), and (unless `save` is false) writes it to the folder under the same lock, so the file is never older
    /// than the list held. `chain` (the CA first) keys it by the CA's key too.
    @discardableResult
    package func keepIfNewer(_ crl: CertificateRevocationList, chain: [Certificate], save: Bool = true) throws -> Bool {
        let key = try Self.key(crl.issuer, chain.first)
        return try held.withLock { table in
            if let current = table[key], !Self.isNewer(crl, than: current.crl) { return false }
            guard table[key] != nil || table.count < Self.maxLists else {
                throw PKIError(.crlInvalid, "this node holds as many revocation lists as it keeps")
            }
            if save { try self.save(crl, chain: chain, key: key) }
            table[key] = Held(crl: crl, chain: chain)
            verdicts.withLock { $0 = ValidationCache() }
            return true
        }
    }

    static func isNewer(_ a: CertificateRevocationList, than b: CertificateRevocationList) -> Bool {
        if a.thisUpdate != b.thisUpdate { return a.thisUpdate > b.thisUpdate }
        func number(_ c: CertificateRevocationList) -> [UInt8] { Array((c.crlNumber ?? []).drop { $0 == 0 }) }
        let (x, y) = (number(a), number(b))
        return x.count != y.count ? x.count > y.count : y.lexicographicallyPrecedes(x)
    }

    /// Writes the list (and its chain) under its key's file name, atomically.
    func save(_ crl: CertificateRevocationList, chain: [Certificate], key: [UInt8]) throws {
        let path = crlDirectory + "/" + Self.fileName(key).dropLast(4)
        try FileManager.default.createDirectory(atPath: crlDirectory, withIntermediateDirectories: true)
        try AtomicFile.write(Data(crl.derEncoded), to: path + ".crl")
        if !chain.isEmpty { try AtomicFile.write(Data(try PEM.encode(chain).utf8), to: path + ".chain.pem") }
    }

    /// A list's key: its CA's name, and the CA's public key when known.
    static func key(_ name: DistinguishedName, _ ca: Certificate? = nil) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(name)
        if let ca { try serializer.serialize(ca.publicKey) }
        return serializer.serializedBytes
    }

    /// The file name of a key's list.
    static func fileName(_ key: [UInt8]) -> String { Hex.encode(Array(SHA256.hash(data: key))).prefix(16) + ".crl" }
}
