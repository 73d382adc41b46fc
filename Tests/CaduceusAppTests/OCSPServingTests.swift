import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import ServiceLifecycle
import Testing
import X509

/// Runs the plain-HTTP revocation listener for `hosted` CAs on a loopback port the kernel chooses, runs `body` with
/// the port, then shuts it down.
func withOCSPListener(hosted: [CAStore], anchors: [Certificate], _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let dir = try TemporaryDirectory()
    let trust = TrustStore(anchors: anchors, crlDirectory: dir.file("crl"))
    let ports = AsyncStream<Int>.makeStream()
    let app = RevocationListener.application(trust: trust, ocsp: OCSPService(hosted: hosted), host: "127.0.0.1", port: 0, logger: quiet) { port in
        ports.continuation.yield(port)
    }
    let group = ServiceGroup(configuration: .init(services: [app], logger: quiet))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var port = 0
        for await bound in ports.stream {
            port = bound
            break
        }
        do { try await body(port) } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
    _ = dir
}

/// The OCSP responders a node serves for the CAs it hosts, on its plain-HTTP listener, with the real `openssl ocsp`
/// as the client; and the node's OCSP client at sign-in, in a running federation.
@Suite("OCSP served and used at sign-in (RFC 6960)", .serialized)
struct OCSPServingTests {
    /// A CA hierarchy on disk (root → regional → hospital) with one good and one revoked card, and a certificate the
    /// hospital CA's key signed outside its records.
    struct Hierarchy {
        let dir: TemporaryDirectory
        let root: CAStore, hospital: CAStore
        let good: Certificate, revoked: Certificate, outside: Certificate
        init() throws {
            dir = try TemporaryDirectory()
            let now = Date()
            root = try CAStore.createRoot(at: dir.file("root"), subject: try federationName(commonName: "Serving Root"), now: now)
            let regional = try root.createSubordinate(at: dir.file("regional"), subject: try federationName(commonName: "Serving Regional"), pathLength: 1, namespace: .unrestricted, now: now)
            let hospital = try regional.createSubordinate(at: dir.file("hospital"), subject: try federationName(commonName: "Serving Hospital CA"), pathLength: 0, namespace: .unrestricted, now: now)
            self.hospital = hospital
            let card = { (name: String) throws -> Certificate in
                try hospital.issue(profile: .person(email: "\(name)@hospital.test"), subject: try federationName(commonName: name, organization: "node.hospital", unit: "nurse"), publicKey: try PrivateKeyMaterial.generate(.p256).publicKey, now: now)
            }
            let good = try card("good"), revoked = try card("revoked")
            (self.good, self.revoked) = (good, revoked)
            try hospital.revoke(serial: revoked.serialNumber, reason: .keyCompromise, now: now)
            outside = try hospital.authority().issue(profile: .person(email: "o@hospital.test"), subject: try federationName(commonName: "outside", organization: "node.hospital", unit: "nurse"), publicKey: try PrivateKeyMaterial.generate(.p256).publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
            try dir.write("root.pem", try PEM.encode([try root.chain()[0]]))
            let outside = self.outside
            try dir.write("ca.pem", try PEM.encode([try hospital.chain()[0]]))
            for (name, certificate) in [("good", good), ("revoked", revoked), ("outside", outside)] {
                try dir.write(name + ".pem", try PEM.encode([certificate]))
            }
        }
    }

    @Test("openssl ocsp, as the client of our responder over POST, gets good, revoked and unknown answers and verifies them against the root alone (Response verify OK), plainly and with -resp_text", arguments: [false, true])
    func opensslClient(respText: Bool) async throws {
        let pki = try Hierarchy()
        try await withOCSPListener(hosted: [pki.root, pki.hospital], anchors: [try pki.root.chain()[0]]) { port in
            for (name, expected) in [("good", "good"), ("revoked", "revoked"), ("outside", "unknown")] {
                let run = try ProcessRunner.openssl(
                    ["ocsp", "-issuer", "ca.pem", "-cert", name + ".pem", "-url", "http://127.0.0.1:\(port)/ocsp", "-CAfile", "root.pem"] + (respText ? ["-resp_text"] : []),
                    in: pki.dir.url)
                let output = run.text + run.stderr
                #expect(run.ok, "\(output)")
                #expect(output.contains("Response verify OK"), "\(output)")
                #expect(output.contains("\(name).pem: \(expected)"), "\(output)")
                if expected == "revoked" { #expect(output.contains("Reason: keyCompromise"), "\(output)") }
                if respText {
                    #expect(output.contains("Responder Id: O = Caduceus Federation, CN = Serving Hospital CA OCSP Responder"), "\(output)")
                    #expect(output.contains("OCSP Nonce"), "the nonce is echoed: \(output)")
                }
            }
        }
    }

    @Test("the responder answers the RFC 6960 Appendix A GET form (URL-encoded base64 and base64url); other content types, oversized bodies and paths that carry no request are refused")
    func getFormAndLimits() async throws {
        let pki = try Hierarchy()
        try await withOCSPListener(hosted: [pki.hospital], anchors: [try pki.root.chain()[0]]) { port in
            let issuer = try pki.hospital.chain()[0]
            let request = try OCSPRequest.make(for: pki.revoked, issuer: issuer)
            let base64 = Data(request.derEncoded).base64EncodedString()
            let urlEncoded = base64.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let base64url = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            for path in [urlEncoded, base64url] {
                let run = try ProcessRunner.run("/usr/bin/curl", ["-s", "-f", "-D", "-", "-o", "resp.der", "http://127.0.0.1:\(port)/ocsp/" + path], in: pki.dir.url)
                #expect(run.ok && run.text.lowercased().contains("content-type: application/ocsp-response"), "\(run.text) \(run.stderr)")
                let verdict = try OCSPVerifier.verify(Array(try pki.dir.read("resp.der")), request: request, certificate: pki.revoked, issuer: issuer, now: Date())
                #expect(verdict.status != .good && verdict.status != .unknown)
            }
            // Not an OCSP request: answered, as RFC 6960 says, with malformedRequest.
            let junk = try ProcessRunner.run("/usr/bin/curl", ["-s", "-f", "-o", "junk.der", "http://127.0.0.1:\(port)/ocsp/not-base64!"], in: pki.dir.url)
            #expect(junk.ok && (try? OCSPResponse(derEncoded: Array(try pki.dir.read("junk.der"))).status) == .malformedRequest)
            try pki.dir.write("req.der", Data(request.derEncoded))
            let wrongType = try ProcessRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: text/plain", "--data-binary", "@req.der", "http://127.0.0.1:\(port)/ocsp"], in: pki.dir.url)
            #expect(wrongType.text == "415")
            try pki.dir.write("big.der", Data(repeating: 0x30, count: OCSPRequest.maxSize + 1))
            let big = try ProcessRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/ocsp-request", "--data-binary", "@big.der", "http://127.0.0.1:\(port)/ocsp"], in: pki.dir.url)
            #expect(big.text == "413")
        }
    }

    @Test("a node hosting no CA answers unauthorized; our client treats that, and a responder it cannot reach, as no answer (pki.ocsp-unavailable), and keeps a verified answer for its cache time only")
    func clientFallbackAndCache() async throws {
        let pki = try Hierarchy()
        let issuer = try pki.hospital.chain()[0]
        try await withOCSPListener(hosted: [], anchors: [try pki.root.chain()[0]]) { port in
            let client = OCSPClient(cacheSeconds: 60)
            let refused = await code { _ = try await client.status(of: pki.good, issuer: issuer, responder: "http://127.0.0.1:\(port)/ocsp") }
            #expect(refused == "pki.ocsp-unavailable")
        }
        let unreachable = await code { _ = try await OCSPClient().status(of: pki.good, issuer: issuer, responder: "http://127.0.0.1:1/ocsp") }
        #expect(unreachable == "pki.ocsp-unavailable")
        // The cache: a second question within cacheSeconds is not sent; after it, it is.
        let clock = TestClock(Date())
        let responder = OCSPService(hosted: [pki.hospital])
        let asked = Counter()
        let client = OCSPClient(cacheSeconds: 60, clock: clock) { _, request in
            asked.increment()
            return responder.respond(to: request)
        }
        #expect(try await client.status(of: pki.good, issuer: issuer, responder: "x").status == .good)
        #expect(try await client.status(of: pki.good, issuer: issuer, responder: "x").status == .good)
        #expect(asked.value == 1)
        clock.advance(61)
        #expect(try await client.status(of: pki.good, issuer: issuer, responder: "x").status == .good)
        #expect(asked.value == 2)
    }

    @Test("in a running federation, a card revoked at hospital A's CA is refused at sign-in at hospital B through A's OCSP responder while B's CRL of that CA does not list it yet; a good card signs in, and each sign-in's audit event says what OCSP answered")
    func signInConsultsOCSP() async throws {
        let dir = try TemporaryDirectory()
        let fed = try await LocalFederation.create(at: dir.path + "/fed", logger: quiet)
        try await fed.run(logger: quiet, shipAudit: false, publishRevocations: false) { fed in
            let b = fed.runtimes[LocalFederation.hospitalB]!
            let nurse = try fed.issueCard("Nurse OCSP (synthetic)", ca: "hospital-a", role: "nurse")
            let colleague = try fed.issueCard("Colleague OCSP (synthetic)", ca: "hospital-a", role: "nurse")
            // Revoked in A's CA files only: no list is made or pushed (the publishers do not run).
            try fed.authorities["hospital-a"]!.revoke(serial: nurse.certificate.serialNumber, reason: .keyCompromise, now: Date())
            let held = try #require(b.trust.list(of: nurse.certificate.issuer))
            #expect(held.entry(for: nurse.certificate.serialNumber) == nil, "B's list of A's CA is older than the revocation")
            let refused = await code { _ = try await fed.client(card: nurse, at: LocalFederation.hospitalB).signIn() }
            #expect(refused == "exchange.signer-rejected")
            _ = try await fed.client(card: colleague, at: LocalFederation.hospitalB).signIn()
            let events = try await b.store.read { try $0.auditMessages(AuditFilter(limit: 5)) }.map(\.message)
            let findings = events.compactMap { event in event.objects.first { $0.idType.code == "ocsp" }.map { (event.errorCode, $0.id) } }
            #expect(findings.contains { $0 == ("exchange.signer-rejected", "revoked") }, "\(findings)")
            #expect(findings.contains { $0 == ("", "good") }, "\(findings)")
            // Once the list is published, the handshake itself refuses her (the CRL path, unchanged).
            await fed.publishCRLs()
            #expect(b.trust.list(of: nurse.certificate.issuer)?.entry(for: nurse.certificate.serialNumber) != nil)
        }
        _ = dir
    }
}

/// A clock tests move by hand.
final class TestClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    init(_ start: Date) { current = start }
    func now() -> Date { lock.lock(); defer { lock.unlock() }; return current }
    func advance(_ seconds: TimeInterval) { lock.lock(); current += seconds; lock.unlock() }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    func increment() { lock.lock(); count += 1; lock.unlock() }
}
