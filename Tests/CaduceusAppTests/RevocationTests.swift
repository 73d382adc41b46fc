import CaduceusApp
import CaduceusCore
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// Revocation reaches every running node: each node keeps its own lists; the node hosting a CA publishes a new list
/// the moment the CA revokes and pushes it to every other node; nobody restarts.
@Suite("Revocation across a running federation", .serialized)
struct RevocationTests {
    @Test("a card revoked at hospital B's CA (by another process's hand, in the CA files) is refused at hospital A and at the regional node within seconds, without a restart; every node holds the list, and serves it on plain HTTP where openssl reads it")
    func revokedCardRefusedEverywhere() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let nurse = "clinician.hospital-b"
            let atA = try fed.client(nurse, at: LocalFederation.hospitalA)
            let atRegion = try fed.client(nurse, at: LocalFederation.regional)
            _ = try await atA.signIn()
            _ = try await atRegion.signIn()
            let before = fed.runtimes[LocalFederation.hospitalA]!.trust.list(of: fed.users[nurse]!.certificate.issuer)
            // As `caduceus pki revoke` would: the CA's files change; nothing calls the nodes.
            try fed.authorities["hospital-b"]!.revoke(serial: fed.users[nurse]!.certificate.serialNumber, reason: .keyCompromise, now: Date())
            let started = ContinuousClock.now
            let refusedAtA = try await eventually(15) { await code { _ = try await atA.signIn() } != nil }
            let refusedAtRegion = try await eventually(15) { await code { _ = try await atRegion.signIn() } != nil }
            #expect(refusedAtA && refusedAtRegion, "refused at A and at the region after \(started.duration(to: .now))")
            // Over the connection already open, the envelope's signer is checked again (exchange.signer-rejected); a new
            // connection's handshake is refused (exchange.peer-unavailable).
            let codes = [await code { _ = try await atA.signIn() }, await code { _ = try await fed.client(nurse, at: LocalFederation.hospitalA).signIn() }]
            #expect(codes == ["exchange.signer-rejected", "exchange.peer-unavailable"], "\(codes)")
            // Every node holds the new list (newer than before), and kept it on disk for its next start.
            for (id, runtime) in fed.runtimes {
                let list = try #require(runtime.trust.list(of: fed.users[nurse]!.certificate.issuer), "\(id)")
                #expect(list.entry(for: fed.users[nurse]!.certificate.serialNumber) != nil, "\(id) holds the list naming her")
                #expect(before.map { list.thisUpdate >= $0.thisUpdate } ?? false)
            }
            // Any node serves the lists on plain HTTP (a CRL distribution point): openssl reads the one naming her.
            let port = try #require(fed.runtimes[LocalFederation.regional]!.revocationPort)
            let fetch = "import urllib.request, sys; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())"
            let index = try ProcessRunner.run(MetricsTests.python, ["-c", fetch, "http://127.0.0.1:\(port)/crl"])
            #expect(index.ok && index.text.split(separator: "\n").count == 4, "one line per CA: \(index.text) \(index.stderr)")
            let line = try #require(index.text.split(separator: "\n").first { $0.contains("Hospital B") })
            let name = String(line.split(separator: "\t")[0])
            let der = try ProcessRunner.run(MetricsTests.python, ["-c", fetch, "http://127.0.0.1:\(port)/crl/" + name])
            #expect(der.ok)
            let text = try ProcessRunner.run("/usr/bin/env", ["openssl", "crl", "-inform", "DER", "-noout", "-text"], input: der.stdout)
            let serial = Hex.encode(fed.users[nurse]!.certificate.serialNumber.bytes).uppercased()
            #expect(text.ok && text.text.contains("Key Compromise") && text.text.replacingOccurrences(of: ":", with: "").uppercased().contains(serial), "\(text.text) \(text.stderr)")
            let missing = try ProcessRunner.run(MetricsTests.python, ["-c", fetch, "http://127.0.0.1:\(port)/v1/crls"])
            #expect(!missing.ok && missing.stderr.contains("404"), "the plain listener serves lists only")
            // Every node's directory entry names its plain-HTTP listener; node A learns them (and keeps them for an
            // outage) and can fetch from them without a handshake (nothing newer to take now).
            let a = fed.runtimes[LocalFederation.hospitalA]!
            #expect(Set(await a.node.revocationSources()).count == 3)
            _ = await a.revocationPublisher().fetchPlain()
            #expect(a.trust.sources().count == 3 && a.trust.sources().allSatisfy { $0.hasPrefix("http://127.0.0.1:") })
            // Her colleague's card still works at A.
            _ = try await fed.client("clerk.hospital-b", at: LocalFederation.hospitalA).signIn(purpose: "HOPERAT")
        }
    }
}
