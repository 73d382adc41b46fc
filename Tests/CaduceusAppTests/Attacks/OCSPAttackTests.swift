import CaduceusApp
import CaduceusCore
@testable import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Synchronization
import Testing
import X509

/// An attacker on the plain-HTTP path between a node and a CA's OCSP responder (no TLS there: answers are signed
/// objects) answers the node's OCSP client — the client every node runs at sign-in — with genuine bytes of the
/// federation's own responders, replayed or signed by the wrong responder. Each answer is refused with
/// `pki.ocsp-invalid` (RFC 6960 §3.2: not considered), so the sign-in rests on the CRL, never on the forgery.
@Suite("Attacks: OCSP answers", .serialized)
struct OCSPAttackTests {
    @Test("a replayed answer: hospital A's responder said 'good' about a card before its revocation; replayed for a later question (another nonce), it is refused")
    func replayedGood() async throws {
        let dir = try TemporaryDirectory()
        let fed = try await LocalFederation.create(at: dir.path + "/fed", logger: quiet)
        let caA = fed.authorities["hospital-a"]!
        let issuer = try caA.chain()[0]
        let card = try fed.issueCard("Replay Target (synthetic)", ca: "hospital-a", role: "nurse")
        let responder = fed.host(of: "hospital-a").ocspResponders
        // The attacker records the genuine answer to an earlier question.
        let recorded = Mutex<[UInt8]>([])
        let honest = OCSPClient(cacheSeconds: 0) { _, request in
            let answer = responder.respond(to: request)
            recorded.withLock { $0 = answer }
            return answer
        }
        #expect(try await honest.status(of: card.certificate, issuer: issuer, responder: "http://a/ocsp").status == .good)
        try caA.revoke(serial: card.certificate.serialNumber, reason: .keyCompromise, now: Date())
        // The genuine responder now says revoked; the attacker answers with the recorded "good".
        let attacked = OCSPClient(cacheSeconds: 0) { _, _ in recorded.withLock { $0 } }
        let refused = await code { _ = try await attacked.status(of: card.certificate, issuer: issuer, responder: "http://a/ocsp") }
        #expect(refused == "pki.ocsp-invalid")
        let truthful = OCSPClient(cacheSeconds: 0) { _, request in responder.respond(to: request) }
        #expect(try await truthful.status(of: card.certificate, issuer: issuer, responder: "http://a/ocsp").status != .good)
        _ = dir
    }

    @Test("hospital B's genuine delegated responder signs 'good' about a revoked hospital A card, echoing the node's nonce: refused, B does not speak for A's CA")
    func otherHospitalsResponder() async throws {
        let dir = try TemporaryDirectory()
        let fed = try await LocalFederation.create(at: dir.path + "/fed", logger: quiet)
        let caA = fed.authorities["hospital-a"]!, caB = fed.authorities["hospital-b"]!
        let issuer = try caA.chain()[0]
        let card = try fed.issueCard("Cross Target (synthetic)", ca: "hospital-a", role: "nurse")
        try caA.revoke(serial: card.certificate.serialNumber, reason: .keyCompromise, now: Date())
        // B's operator holds B's responder key; it answers for A's CA with A's records rewritten to "issued".
        let signerB = try caB.ocspSigner(now: Date())
        let rewritten = try caA.records().map { record -> CAStore.Record in
            var record = record
            if record.status == "revoked" { record.status = "issued" }
            return record
        }
        let forger = OCSPResponder(authority: issuer, parents: Array(try caA.chain().dropFirst()), signer: OCSPSigner(uncheckedCertificate: signerB.certificate, key: signerB.key), records: rewritten)
        let attacked = OCSPClient(cacheSeconds: 0) { _, request in forger.respond(to: request, now: Date()) }
        let refused = await code { _ = try await attacked.status(of: card.certificate, issuer: issuer, responder: "http://a/ocsp") }
        #expect(refused == "pki.ocsp-invalid")
        // An unsigned "tryLater" in its place is no answer at all: the node falls back to its CRL.
        let blocked = OCSPClient(cacheSeconds: 0) { _, _ in OCSPResponse.unsuccessful(.tryLater) }
        #expect(await code { _ = try await blocked.status(of: card.certificate, issuer: issuer, responder: "http://a/ocsp") } == "pki.ocsp-unavailable")
        _ = dir
    }
}
