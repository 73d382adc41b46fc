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
    /// The newest list per issuer (keyed by the issuer name's DER).
    let held = Mutex<[[UInt8]: Held]>([:])

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
            keepIfNewer(crl, chain: chain)
        }
    }

    /// The validator for this instant: revocation required, with the lists held now.
    package func validator() -> ChainValidator {
        ChainValidator(anchors: anchors, crls: held.withLock { $0.values.map(\.crl) }, revocation: .failClosed(grace: grace))
    }

    /// The anchors as PEM.
    package var anchorsPEM: String { (try? PEM.encode(anchors)) ?? "" }

    /// The list held for the CA named `issuer`.
    package func list(of issuer: DistinguishedName) -> CertificateRevocationList? {
        guard let key = try? Self.key(issuer) else { return nil }
        return held.withLock { $0[key]?.crl }
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
        guard let issuer = chain.first, issuer.subject == crl.issuer, crl.isSigned(by: issuer), crl.nextUpdate != nil else {
            throw PKIError(.crlInvalid, "the revocation list is not signed by the CA its chain names, or has no nextUpdate")
        }
        if !anchors.contains(issuer) {
            // The CA itself must chain to our anchors (its own revocation checked on the lists held, as far as held).
            let now = clock.now()
            let checker = ChainValidator(anchors: anchors, crls: held.withLock { $0.values.map(\.crl) }, revocation: .bestEffort)
            guard case .trusted = await checker.validate(issuer, intermediates: Array(chain.dropFirst()), usage: .any, validityTime: now, now: now),
                  case .isCertificateAuthority = try? issuer.extensions.basicConstraints
            else { throw PKIError(.crlInvalid, "the revocation list's CA does not chain to this node's trust anchors") }
        }
        guard keepIfNewer(crl, chain: chain) else { return false }
        try save(crl, chain: chain)
        return true
    }

    /// The newest list of every CA held.
    package func heldLists() -> [CertificateRevocationList] { held.withLock { $0.values.map(\.crl) } }

    /// The newest list of every CA held, with its chain.
    package func published() -> [PublishedCRL] {
        held.withLock { table in
            table.values.sorted { $0.crl.issuer.description < $1.crl.issuer.description }.map {
                PublishedCRL(crl: Data($0.crl.derEncoded), chain: (try? PEM.encode($0.chain)) ?? "")
            }
        }
    }

    /// Keeps `crl` if it is newer than the list held for its issuer (later thisUpdate, or the same with a higher CRL
    /// number). A chain already known is kept when the new list comes without one.
    @discardableResult
    package func keepIfNewer(_ crl: CertificateRevocationList, chain: [Certificate]) -> Bool {
        guard let key = try? Self.key(crl.issuer) else { return false }
        return held.withLock { table in
            if let current = table[key], !Self.isNewer(crl, than: current.crl) { return false }
            table[key] = Held(crl: crl, chain: chain.isEmpty ? (table[key]?.chain ?? []) : chain)
            return true
        }
    }

    static func isNewer(_ a: CertificateRevocationList, than b: CertificateRevocationList) -> Bool {
        if a.thisUpdate != b.thisUpdate { return a.thisUpdate > b.thisUpdate }
        func number(_ c: CertificateRevocationList) -> [UInt8] { Array((c.crlNumber ?? []).drop { $0 == 0 }) }
        let (x, y) = (number(a), number(b))
        return x.count != y.count ? x.count > y.count : y.lexicographicallyPrecedes(x)
    }

    /// Writes the list (and its chain) under the issuer's hash, atomically.
    func save(_ crl: CertificateRevocationList, chain: [Certificate]) throws {
        let name = crlDirectory + "/" + Hex.encode(Array(SHA256.hash(data: try Self.key(crl.issuer)))).prefix(16)
        try FileManager.default.createDirectory(atPath: crlDirectory, withIntermediateDirectories: true)
        try AtomicFile.write(Data(crl.derEncoded), to: name + ".crl")
        if !chain.isEmpty { try AtomicFile.write(Data(try PEM.encode(chain).utf8), to: name + ".chain.pem") }
    }

    static func key(_ name: DistinguishedName) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(name)
        return serializer.serializedBytes
    }
}
