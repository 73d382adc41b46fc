public import X509
public import struct Foundation.Date
import Foundation
import Synchronization
import Crypto

/// What validation learnt under one trust state — the anchors and the revocation lists a node holds at one moment —
/// kept so the same certificates are not validated again on every request (a busy node sees the same four or five
/// chains all day: its peers' nodes and its signed-in users' cards).
///
/// A cache belongs to one trust state: whoever holds the state (the node's ``ChainValidator`` source) makes a new,
/// empty cache whenever an anchor or a list changes, so a verdict never outlives the lists it was reached with — a
/// revocation takes effect on the next request, as without the cache. Within its state, a verdict is reused only
///   - for the same leaf, the same intermediates offered and the same usage;
///   - at a validity time inside every chain certificate's validity period;
///   - while every list that decided revocation is still current (nextUpdate plus grace ahead, for a fail-closed
///     validator), and never at an earlier "now" than the one it was reached at (a clock set back revalidates).
/// Only trusted verdicts are kept: a refusal is worked out again each time, with its own reason. A verdict is keyed by
/// the leaf and the usage alone and holds only the validated chain: certificates a client sends beside it (in a TLS
/// handshake, a SignedData, an `x5c`) are not kept, so nobody can fill the cache with junk — a hit requires the chain's
/// intermediates to be among those offered now, so the answer is the one a fresh validation would give.
///
/// It also keeps compact JWS tokens whose signature verified (sign-in assertions, presented with every request of a
/// session): the signature is a fact about the token's bytes; the signer's chain is still validated each time
/// (through the verdicts above).
public final class ValidationCache: Sendable {
    struct Key: Hashable {
        let leaf: Certificate
        let usage: CertificateUsage
    }
    struct Verdict {
        let chain: [Certificate]
        /// The validity times the verdict holds for.
        let from: Date, until: Date
        /// The "now"s it holds for (the lists' freshness; the instant it was reached, at the earliest).
        let reachedAt: Date, freshUntil: Date
    }

    let verdicts = Mutex<[Key: Verdict]>([:])
    let tokens = Mutex<[SHA256Digest: CompactJWS.Verified]>([:])
    /// Tokens longer than this are verified every time, never kept (an `x5c` can carry anything).
    static let maxTokenLength = 16 << 10
    /// At most this many verdicts and tokens are kept (past it, the table starts again empty).
    let capacity: Int

    /// An empty cache for one trust state.
    public init(capacity: Int = 4096) { self.capacity = capacity }

    /// How many verdicts are held (for tests and metrics).
    public var count: Int { verdicts.withLock { $0.count } }

    func verdict(_ key: Key, intermediates: [Certificate], validityTime: Date, now: Date) -> [Certificate]? {
        let kept: Verdict? = verdicts.withLock { table in
            guard let v = table[key], v.from <= validityTime, validityTime <= v.until, v.reachedAt <= now, now <= v.freshUntil else { return nil }
            return v
        }
        guard let kept else { return nil }
        // Between the leaf and the anchor, the chain must be made of certificates offered now.
        for ca in kept.chain.dropFirst().dropLast() where !intermediates.contains(ca) { return nil }
        return kept.chain
    }

    func remember(_ key: Key, chain: [Certificate], reachedAt now: Date, freshUntil: Date) {
        guard let from = chain.map(\.notValidBefore).max(), let until = chain.map(\.notValidAfter).min() else { return }
        verdicts.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[key] = Verdict(chain: chain, from: from, until: until, reachedAt: now, freshUntil: freshUntil)
        }
    }

    static func tokenKey(_ domain: String, _ token: String) -> SHA256Digest? {
        guard token.utf8.count <= maxTokenLength else { return nil }
        return SHA256.hash(data: Data((domain + " " + token).utf8))
    }

    func verifiedToken(_ domain: String, _ token: String) -> CompactJWS.Verified? {
        guard let key = Self.tokenKey(domain, token) else { return nil }
        return tokens.withLock { $0[key] }
    }

    func rememberToken(_ domain: String, _ token: String, _ verified: CompactJWS.Verified) {
        guard let key = Self.tokenKey(domain, token) else { return }
        tokens.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[key] = verified
        }
    }
}

extension RevocationPolicy {
    /// Until when the revocation decision for `chain` (leaf first, anchor last) stays what it was at `now`: the
    /// earliest time a list that decided it stops being current (fail-closed: its nextUpdate plus grace), or a list
    /// not yet current at `now` becomes so (its thisUpdate less the skew allowed).
    static func freshUntil(_ chain: [Certificate], crls: [CertificateRevocationList], requirement: RevocationRequirement, now: Date) -> Date {
        guard case .failClosed(let grace) = requirement, chain.count >= 2 else { return .distantFuture }
        var until = Date.distantFuture
        for index in 0..<(chain.count - 1) {
            let issuer = chain[index + 1]
            let signed = crls.filter { $0.issuer == issuer.subject && $0.isSigned(by: issuer) }
            var best = Date.distantPast
            for crl in signed {
                if crl.thisUpdate > now.addingTimeInterval(300) {
                    until = min(until, crl.thisUpdate.addingTimeInterval(-300))
                } else if let next = crl.nextUpdate {
                    best = max(best, next.addingTimeInterval(grace))
                }
            }
            until = min(until, best)
        }
        return until
    }
}
