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
    @Test("a card revoked at hospital B's CA (by another process's hand, in the CA files) is refused at hospital A and at the regional node within seconds, without a restart")
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
            // Her colleague's card still works at A.
            _ = try await fed.client("clerk.hospital-b", at: LocalFederation.hospitalA).signIn(purpose: "HOPERAT")
        }
    }
}
