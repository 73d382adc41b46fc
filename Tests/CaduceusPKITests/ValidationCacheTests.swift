@testable import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// The verdict cache of a fail-closed validator: reused only while what decided the verdict still holds.
@Suite("Validation cache: a verdict reused only under the state that reached it")
struct ValidationCacheTests {
    let pki: TestPKI
    let grace: Double = 3600

    init() throws { pki = try TestPKI() }

    /// Current lists for the three CAs (the hospital CA's listing `revoked`), valid from `now` for `hours`.
    func lists(revoking revoked: [Certificate] = [], now: Date, hours: Double = 24) throws -> [CertificateRevocationList] {
        try [pki.root, pki.regional, pki.hospital].enumerated().map { index, ca in
            try CertificateRevocationList.make(
                authority: ca, entries: index == 2 ? revoked.map { .init(serialNumber: $0.serialNumber, revocationDate: now, reason: .keyCompromise) } : [],
                crlNumber: UInt64(index + 1), thisUpdate: now, nextUpdate: now.addingTimeInterval(hours * 3600))
        }
    }

    func isTrusted(_ v: ChainVerdict) -> Bool { if case .trusted = v { return true } else { return false } }

    @Test("a trusted verdict is kept and reused for the same leaf, intermediates and usage; a refusal is not kept")
    func reuse() async throws {
        let cache = ValidationCache()
        let node = try pki.credential(.node(dnsNames: ["a.test"]), name: "node.a")
        let validator = ChainValidator(anchors: [pki.root.certificate], crls: try lists(now: pki.now), revocation: .failClosed(grace: grace), cache: cache)
        let now = pki.now.addingTimeInterval(60)
        #expect(isTrusted(await validator.validate(node.certificate, intermediates: node.chain, usage: .tlsClient, validityTime: now, now: now)))
        #expect(cache.count == 1)
        #expect(isTrusted(await validator.validate(node.certificate, intermediates: node.chain, usage: .tlsClient, validityTime: now, now: now)))
        #expect(cache.count == 1)
        // Another usage is another verdict (a node certificate is not a CA: usage decides).
        _ = await validator.validate(node.certificate, intermediates: node.chain, usage: .smimeSigning, validityTime: now, now: now)
        #expect(cache.count == 2)
        // Without the intermediates the chain cannot be built: refused, kept verdict or not (a hit needs the chain's
        // intermediates among those offered now).
        #expect(!isTrusted(await validator.validate(node.certificate, intermediates: [], usage: .tlsClient, validityTime: now, now: now)))
        #expect(cache.count == 2)
        // Junk offered beside the genuine intermediates is not kept: the verdict holds the validated chain only, and
        // the same entry answers.
        let junk = try (0..<20).map { _ in try pki.credential(.node(dnsNames: ["x.test"]), name: "node.x").certificate }
        #expect(isTrusted(await validator.validate(node.certificate, intermediates: node.chain + junk, usage: .tlsClient, validityTime: now, now: now)))
        #expect(cache.count == 2)
        let kept = try #require(cache.verdict(.init(leaf: node.certificate, usage: .tlsClient), intermediates: node.chain, validityTime: now, now: now))
        #expect(kept.count == 4 && junk.allSatisfy { !kept.contains($0) })
        // A validator without fail-closed revocation takes no cache.
        #expect(ChainValidator(anchors: [pki.root.certificate], revocation: .bestEffort, cache: cache).cache == nil)
    }

    @Test("a revocation reaches the next request: the validator of the new lists has a new cache, and refuses")
    func revocationInvalidates() async throws {
        let node = try pki.credential(.node(dnsNames: ["a.test"]), name: "node.a")
        let now = pki.now.addingTimeInterval(60)
        let before = ChainValidator(anchors: [pki.root.certificate], crls: try lists(now: pki.now), revocation: .failClosed(grace: grace), cache: ValidationCache())
        #expect(isTrusted(await before.validate(node.certificate, intermediates: node.chain, usage: .tlsClient, validityTime: now, now: now)))
        let after = ChainValidator(anchors: [pki.root.certificate], crls: try lists(revoking: [node.certificate], now: pki.now.addingTimeInterval(30)), revocation: .failClosed(grace: grace), cache: ValidationCache())
        guard case .rejected(let e) = await after.validate(node.certificate, intermediates: node.chain, usage: .tlsClient, validityTime: now, now: now) else {
            Issue.record("a revoked certificate was accepted")
            return
        }
        #expect(e.code == "pki.revoked")
    }

    @Test("a kept verdict is not used once a list that decided it is stale past its grace, nor at an earlier now, nor outside the chain's validity")
    func bounds() async throws {
        let cache = ValidationCache()
        let node = try pki.credential(.node(dnsNames: ["a.test"]), name: "node.a")
        let validator = ChainValidator(anchors: [pki.root.certificate], crls: try lists(now: pki.now, hours: 1), revocation: .failClosed(grace: grace), cache: cache)
        let now = pki.now.addingTimeInterval(60)
        #expect(isTrusted(await validator.validate(node.certificate, intermediates: node.chain, usage: .tlsClient, validityTime: now, now: now)))
        // Within nextUpdate + grace: still trusted (from the cache or not, the answer is the same).
        let late = pki.now.addingTimeInterval(3600 + grace - 60)
        #expect(isTrusted(await validator.validate(node.certificate, intermediates: node.chain, usage: .tlsClient, validityTime: late, now: late)))
        // Past it: revocation unknown, whatever was kept.
        let stale = pki.now.addingTimeInterval(3600 + grace + 60)
        guard case .rejected(let e) = await validator.validate(node.certificate, intermediates: node.chain, usage: .tlsClient, validityTime: stale, now: stale) else {
            Issue.record("a verdict outlived its revocation lists")
            return
        }
        #expect(e.code == "pki.revocation-unknown")
        // Past the certificate's own expiry: expired, whatever was kept.
        let expiry = node.certificate.notValidAfter.addingTimeInterval(10)
        guard case .rejected(let e2) = await validator.validate(node.certificate, intermediates: node.chain, usage: .tlsClient, validityTime: expiry, now: now) else {
            Issue.record("a verdict outlived the certificate")
            return
        }
        #expect(e2.code == "pki.expired")
        // Internal bounds of a kept verdict: the instants it was reached at and the lists' freshness.
        let key = ValidationCache.Key(leaf: node.certificate, usage: .tlsClient)
        #expect(cache.verdict(key, intermediates: node.chain, validityTime: now, now: now) != nil)
        #expect(cache.verdict(key, intermediates: node.chain, validityTime: now, now: now.addingTimeInterval(-1)) == nil)
        #expect(cache.verdict(key, intermediates: node.chain, validityTime: now, now: stale) == nil)
    }

    @Test("a list dated ahead (within the skew allowed) limits a verdict to the moment it becomes current")
    func futureList() throws {
        let now = pki.now
        let current = try lists(now: now.addingTimeInterval(-60))
        let ahead = try CertificateRevocationList.make(authority: pki.hospital, entries: [], crlNumber: 9, thisUpdate: now.addingTimeInterval(900), nextUpdate: now.addingTimeInterval(7200))
        let node = try pki.credential(.node(dnsNames: ["a.test"]), name: "node.a")
        let chain = [node.certificate] + node.chain + [pki.root.certificate]
        let until = RevocationPolicy.freshUntil(chain, crls: current + [ahead], requirement: .failClosed(grace: grace), now: now)
        // (CRL times are whole seconds.)
        #expect(abs(until.timeIntervalSince(now.addingTimeInterval(600))) < 1)
        let plain = RevocationPolicy.freshUntil(chain, crls: current, requirement: .failClosed(grace: grace), now: now)
        #expect(abs(plain.timeIntervalSince(now.addingTimeInterval(-60 + 24 * 3600 + grace))) < 1)
    }

    @Test("a verified token is kept by its domain and bytes; its signer's chain is still validated on every use")
    func tokens() async throws {
        let node = try pki.credential(.node(dnsNames: ["a.test"]), name: "node.a")
        let token = try CompactJWS.sign(Data("{\"x\":1}".utf8), type: "JWT", by: node)
        let cache = ValidationCache()
        let now = pki.now.addingTimeInterval(60)
        let validator = ChainValidator(anchors: [pki.root.certificate], crls: try lists(now: pki.now), revocation: .failClosed(grace: grace), cache: cache)
        let first = try await CompactJWS.verify(token, domain: "assertion", validator: validator, now: now)
        #expect(cache.verifiedToken("assertion", token) != nil)
        #expect(cache.verifiedToken("consent", token) == nil)
        let again = try await CompactJWS.verify(token, domain: "assertion", validator: validator, now: now)
        #expect(again.payload == first.payload)
        // The same token after its signer is revoked (new lists, so a new cache, as the trust store makes): refused.
        let revoked = ChainValidator(anchors: [pki.root.certificate], crls: try lists(revoking: [node.certificate], now: pki.now.addingTimeInterval(30)), revocation: .failClosed(grace: grace), cache: ValidationCache())
        await #expect(throws: CompactJWS.Refusal.self) { try await CompactJWS.verify(token, domain: "assertion", validator: revoked, now: now) }
        // A token one byte off is not the kept one: its signature is checked, and fails.
        var tampered = Array(token.utf8)
        tampered[tampered.count - 3] = tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        await #expect(throws: CompactJWS.Refusal.self) { try await CompactJWS.verify(String(decoding: tampered, as: UTF8.self), domain: "assertion", validator: validator, now: now) }
        // A token longer than the bound is verified, never kept.
        let long = try CompactJWS.sign(Data(("{\"x\":\"" + String(repeating: "a", count: 20_000) + "\"}").utf8), type: "JWT", by: node)
        _ = try await CompactJWS.verify(long, domain: "assertion", validator: validator, now: now)
        #expect(cache.verifiedToken("assertion", long) == nil)
    }
}
