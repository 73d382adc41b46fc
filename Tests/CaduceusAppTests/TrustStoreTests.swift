import CaduceusApp
import CaduceusExchange
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509
import CaduceusCore
import Synchronization
import Logging
import Hummingbird
import ServiceLifecycle

/// A clock the test moves.
final class SettableClock: WallClock {
    let instant: Mutex<Date>
    init(_ start: Date) { instant = Mutex(start) }
    func now() -> Date { instant.withLock { $0 } }
    func set(_ date: Date) { instant.withLock { $0 = date } }
}

/// A node's trust store alone: lists taken, kept on disk, read back at the next start, and the fail-closed verdicts
/// at chosen instants (the validation time is an input: no waiting a day for a list to go stale).
@Suite("Trust store: revocation lists kept and required")
struct TrustStoreTests {
    let start = Date()

    func list(_ authority: CertificateAuthority, issued: Date, revoked: [Certificate] = [], number: UInt64) throws -> PublishedCRL {
        let crl = try CertificateRevocationList.make(
            authority: authority, entries: revoked.map { .init(serialNumber: $0.serialNumber, revocationDate: issued, reason: .keyCompromise) },
            crlNumber: number, thisUpdate: issued, nextUpdate: issued.addingTimeInterval(86_400))
        return PublishedCRL(crl: Data(crl.derEncoded), chain: try PEM.encode([authority.certificate] + authority.parents.dropLast()))
    }

    func verdict(_ trust: TrustStore, _ card: Credential, at now: Date) async -> String {
        switch await trust.validator().validate(card.certificate, intermediates: card.chain, usage: .smimeSigning, validityTime: now, now: now) {
        case .trusted: return "trusted"
        case .rejected(let e): return e.kind.rawValue
        }
    }

    @Test("missing → pki.revocation-unknown; fresh lists taken → trusted; stale beyond the grace → unknown; a future-dated list refused; newer lists → trusted again; a listed card → pki.revoked; kept on disk for the next start")
    func lifecycle() async throws {
        let pki = try TestPKI(now: start.addingTimeInterval(-86_400))
        let card = try pki.credential(.person(email: "n@hospital-a.test"), name: "nurse")
        let dir = try TemporaryDirectory()
        let clock = SettableClock(start)
        let trust = TrustStore(anchors: [pki.root.certificate], crlDirectory: dir.file("crl"), grace: 3600, clock: clock)
        #expect(await verdict(trust, card, at: start) == "pki.revocation-unknown", "no list yet: refused, not waved through")
        for authority in [pki.root, pki.regional, pki.hospital] {
            #expect(try await trust.accept(try list(authority, issued: start, number: 1)))
        }
        #expect(await verdict(trust, card, at: start) == "trusted")
        #expect(await verdict(trust, card, at: start.addingTimeInterval(86_400 + 1800)) == "trusted", "inside the grace")
        let late = start.addingTimeInterval(86_400 + 3600 + 60)
        #expect(await verdict(trust, card, at: late) == "pki.revocation-unknown", "stale beyond the grace")
        // A list dated ahead of the node's clock is refused: it would make every genuine later list look older.
        await #expect(throws: PKIError(.crlInvalid, "")) { _ = try await trust.accept(try list(pki.hospital, issued: late, number: 2)) }
        clock.set(late)
        for authority in [pki.root, pki.regional, pki.hospital] {
            #expect(try await trust.accept(try list(authority, issued: late, number: 2)))
        }
        #expect(await verdict(trust, card, at: late) == "trusted", "fresh lists let the good card back in")
        // The same list again, or an older one, is not taken.
        #expect(try await trust.accept(try list(pki.hospital, issued: late, number: 2)) == false)
        #expect(try await trust.accept(try list(pki.hospital, issued: start, number: 3)) == false)
        // Her card revoked: the newer list names it.
        #expect(try await trust.accept(try list(pki.hospital, issued: late.addingTimeInterval(1), revoked: [card.certificate], number: 4)))
        #expect(await verdict(trust, card, at: late.addingTimeInterval(2)) == "pki.revoked")
        // A node starting again from the same folder holds the same lists.
        clock.set(late.addingTimeInterval(2))
        let restarted = TrustStore(anchors: [pki.root.certificate], crlDirectory: dir.file("crl"), grace: 3600, clock: clock)
        #expect(await verdict(restarted, card, at: late.addingTimeInterval(2)) == "pki.revoked")
        #expect(restarted.published().count == 3)
        // Garbage is a coded refusal and changes nothing.
        await #expect(throws: PKIError(.malformed, "")) { _ = try await trust.accept(PublishedCRL(crl: Data([0x30, 0x03, 0x02, 0x01]), chain: "")) }
        #expect(await verdict(trust, card, at: late.addingTimeInterval(2)) == "pki.revoked")
    }

    @Test("a node whose lists all went stale (no handshake can be validated) recovers them from another node's plain-HTTP listener; a list from an unknown CA is not taken that way")
    func recoveryOverPlainHTTP() async throws {
        let pki = try TestPKI(now: start.addingTimeInterval(-86_400))
        let card = try pki.credential(.person(email: "n@hospital-a.test"), name: "nurse")
        let dirs = (try TemporaryDirectory(), try TemporaryDirectory())
        let late = start.addingTimeInterval(2 * 86_400)
        // The stale node: yesterday's lists, now two days later.
        let staleClock = SettableClock(start)
        let stale = TrustStore(anchors: [pki.root.certificate], crlDirectory: dirs.0.file("crl"), grace: 3600, clock: staleClock)
        for authority in [pki.root, pki.regional, pki.hospital] { #expect(try await stale.accept(try list(authority, issued: start, number: 1))) }
        staleClock.set(late)
        #expect(await verdict(stale, card, at: late) == "pki.revocation-unknown")
        // Another node holds today's lists and serves them on plain HTTP.
        let fresh = TrustStore(anchors: [pki.root.certificate], crlDirectory: dirs.1.file("crl"), grace: 3600, clock: SettableClock(late))
        for authority in [pki.root, pki.regional, pki.hospital] { #expect(try await fresh.accept(try list(authority, issued: late, number: 2))) }
        let (ports, reported) = AsyncStream.makeStream(of: Int.self)
        let app = RevocationListener.application(trust: fresh, host: "127.0.0.1", port: 0, logger: Logger(label: "test")) { reported.yield($0) }
        // Stopped by graceful shutdown, never by cancelling the serving task: a connection accepted as the task is
        // cancelled would be dropped unowned (NIO traps on it: "Deinited NIOAsyncWriter without calling finish()").
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
        let serving = Task { try await group.run() }
        defer { Task { await group.triggerGracefulShutdown() } }
        _ = serving
        var it = ports.makeAsyncIterator()
        let port = try #require(await it.next())
        let taken = await RevocationPublisher.fetchPlain(from: ["http://127.0.0.1:\(port)"], into: stale)
        #expect(taken == 3)
        #expect(await verdict(stale, card, at: late) == "trusted", "recovered without any handshake")
        // A list of a CA the stale node has never held (no chain to check it with) is not taken from plain HTTP.
        let other = try TestPKI(now: start)
        let strangerDir = try TemporaryDirectory()
        let stranger = TrustStore(anchors: [other.root.certificate], crlDirectory: strangerDir.file("crl"), clock: SettableClock(late))
        #expect(await RevocationPublisher.fetchPlain(from: ["http://127.0.0.1:\(port)"], into: stranger) == 0)
    }
}
