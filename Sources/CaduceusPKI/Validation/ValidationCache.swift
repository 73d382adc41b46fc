public import X509
public import struct Foundation.Date
import Foundation
import Synchronization

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
/// Only trusted verdicts are kept: a refusal is worked out again each time, with its own reason.
///
/// It also keeps compact JWS tokens whose signature verified (sign-in assertions, presented with every request of a
/// session): the signature is a fact about the token's bytes; the signer's chain is still validated each time
/// (through the verdicts above).
public final class ValidationCache: Sendable {
    struct Key: Hashable {
        let leaf: Certificate
        let intermediates: [Certificate]
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
    let tokens = Mutex<[String: CompactJWS.Verified]>([:])
    /// At most this many verdicts and tokens are kept (past it, the table starts again empty).
    let capacity: Int

    /// An empty cache for one trust state.
    public init(capacity: Int = 4096) { self.capacity = capacity }

    /// How many verdicts are held (for tests and metrics).
    public var count: Int { verdicts.withLock { $0.count } }

    func verdict(_ key: Key, validityTime: Date, now: Date) -> [Certificate]? {
        verdicts.withLock { table in
            guard let v = table[key], v.from <= validityTime, validityTime <= v.until, v.reachedAt <= now, now <= v.freshUntil else { return nil }
            return v.chain
        }
    }

    func remember(_ key: Key, chain: [Certificate], reachedAt now: Date, freshUntil: Date) {
        guard let from = chain.map(\.notValidBefore).max(), let until = chain.map(\.notValidAfter).min() else { return }
        verdicts.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[key] = Verdict(chain: chain, from: from, until: until, reachedAt: now, freshUntil: freshUntil)
        }
    }

    func verifiedToken(_ token: String) -> CompactJWS.Verified? { tokens.withLock { $0[token] } }

    func rememberToken(_ token: String, _ verified: CompactJWS.Verified) {
        tokens.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[token] = verified
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
