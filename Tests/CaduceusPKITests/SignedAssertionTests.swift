import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

@Suite("Signed sign-in assertions")
struct SignedAssertionTests {
    let pki: TestPKI
    let nodeA: Credential
    init() throws {
        pki = try TestPKI()
        nodeA = try pki.credential(.node(dnsNames: ["node.a.test"]), name: "node.a")
    }

    func claims(_ now: Date = Date(), ttl: Int64 = 3600, aud: String = "federation", iss: String = "node.a") -> AssertionClaims {
        let t = Int64(now.timeIntervalSince1970)
        return AssertionClaims(iss: iss, sub: "Dr Synthetic", aud: aud, role: "physician", org: "Hospital A", pou: "TREAT", iat: t, nbf: t, exp: t + ttl, jti: UUID().uuidString)
    }

    func code(_ token: String, validator: ChainValidator? = nil, now: Date = Date(), aud: String = "federation") async -> String? {
        do {
            _ = try await SignedAssertion.verify(token, audience: aud, validator: validator ?? pki.validator(), now: now)
            return nil
        } catch { return error.code }
    }

    @Test("an assertion issued at node A (ES256, or PS256 for an RSA node) is accepted by any node trusting the federation")
    func accepted() async throws {
        let c = claims()
        let token = try SignedAssertion.issue(c, by: nodeA)
        #expect(try await SignedAssertion.verify(token, audience: "federation", validator: pki.validator(), now: Date()) == c)
        let rsaNode = try pki.credential(.node(dnsNames: ["node.b.test"]), name: "node.b", key: .rsa2048)
        let rsaToken = try SignedAssertion.issue(claims(iss: "node.b"), by: rsaNode)
        #expect(await code(rsaToken) == nil)
        #expect(rsaToken.split(separator: ".")[0] != token.split(separator: ".")[0], "different alg headers")
    }

    @Test("expired, not-yet-valid, wrong-audience, forged, unsigned, foreign and revoked-issuer assertions are refused")
    func refused() async throws {
        let now = Date()
        #expect(await code(try SignedAssertion.issue(claims(now.addingTimeInterval(-7200), ttl: 600), by: nodeA)) == "assertion.expired")
        #expect(await code(try SignedAssertion.issue(claims(now.addingTimeInterval(3600)), by: nodeA)) == "assertion.not-yet-valid")
        #expect(await code(try SignedAssertion.issue(claims(aud: "node.z"), by: nodeA)) == "assertion.wrong-audience")
        // Claims changed after signing (a role upgrade).
        let token = try SignedAssertion.issue(claims(), by: nodeA)
        let parts = token.split(separator: ".").map(String.init)
        var forgedClaims = claims()
        forgedClaims.role = "administrator"
        let forgedBody = SignedAssertionTestsSupport.b64(try JSONEncoder().encode(forgedClaims))
        #expect(await code([parts[0], forgedBody, parts[2]].joined(separator: ".")) == "assertion.bad-signature")
        // alg none / no signature.
        let noneHeader = SignedAssertionTestsSupport.b64(Data(#"{"alg":"none","x5c":["AA=="]}"#.utf8))
        #expect(await code([noneHeader, parts[1], ""].joined(separator: ".")) != nil)
        #expect(await code("not.a.jwt") == "assertion.malformed")
        // Issued by a node of another PKI.
        let foreign = try TestPKI().credential(.node(dnsNames: ["node.a.test"]), name: "node.a")
        #expect(await code(try SignedAssertion.issue(claims(), by: foreign)) == "assertion.untrusted-issuer")
        // A node that names another node as issuer.
        #expect(await code(try SignedAssertion.issue(claims(iss: "node.b"), by: nodeA)) == "assertion.untrusted-issuer")
        // A person's card cannot issue assertions.
        let card = try pki.credential(.person(email: "dr@a.test"), name: "Dr Synthetic")
        #expect(await code(try SignedAssertion.issue(claims(iss: "Dr Synthetic"), by: card)) == "assertion.untrusted-issuer")
        // The issuing node's certificate is revoked.
        let crl = try CertificateRevocationList.make(
            authority: pki.hospital, entries: [CertificateRevocationList.Entry(serialNumber: nodeA.certificate.serialNumber, revocationDate: now.addingTimeInterval(-60), reason: .keyCompromise)],
            crlNumber: 2, thisUpdate: now.addingTimeInterval(-60), nextUpdate: now.addingTimeInterval(86400))
        #expect(await code(token, validator: pki.validator(crls: [crl], revocation: .leaf)) == "assertion.revoked")
    }

    @Test("sign-out, idle timeout and use by anyone but the holder end a sign-in")
    func sessions() throws {
        let ledger = AssertionLedger(idleTimeout: 900)
        let c = claims()
        let now = Date()
        try ledger.use(c, now: now)
        try ledger.use(c, now: now.addingTimeInterval(600))
        #expect(throws: SignedAssertion.Refusal.self) { try ledger.use(c, now: now.addingTimeInterval(600 + 901)) }
        let d = claims()
        try ledger.use(d, now: now)
        ledger.revoke(d)
        #expect(throws: SignedAssertion.Refusal.self) { try ledger.use(d, now: now) }
        #expect(throws: SignedAssertion.Refusal.self) { try SignedAssertion.requireHolder(c, signer: "Dr Someone Else") }
        try SignedAssertion.requireHolder(c, signer: "Dr Synthetic")
    }
}

enum SignedAssertionTestsSupport {
    static func b64(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

@Suite("Signed assertions vs PyJWT")
struct SignedAssertionInteropTests {
    let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
    static let script = """
        import base64, json, sys, jwt
        from cryptography import x509
        token, aud = sys.stdin.read().strip(), sys.argv[1]
        leaf = x509.load_der_x509_certificate(base64.b64decode(jwt.get_unverified_header(token)["x5c"][0]))
        claims = jwt.decode(token, leaf.public_key(), algorithms=["ES256", "PS256"], audience=aud)
        print(json.dumps(claims, sort_keys=True))
        """

    @Test("PyJWT verifies our ES256 and PS256 assertions with the x5c leaf key, and refuses an altered one")
    func pyjwt() throws {
        let pki = try TestPKI()
        let now = Int64(Date().timeIntervalSince1970)
        for (name, key) in [("node.a", KeyAlgorithm.p256), ("node.b", .rsa2048)] {
            let node = try pki.credential(.node(dnsNames: ["\(name).test"]), name: name, key: key)
            let claims = AssertionClaims(iss: name, sub: "Dr Synthetic", aud: "federation", role: "nurse", org: "Hospital", pou: "ETREAT", iat: now, nbf: now, exp: now + 600, jti: "j-\(name)")
            let token = try SignedAssertion.issue(claims, by: node)
            let out = try ProcessRunner.run(python, ["-c", Self.script, "federation"], input: Data(token.utf8))
            #expect(out.ok, "\(out.stderr)")
            let decoded = try JSONDecoder().decode(AssertionClaims.self, from: out.stdout)
            #expect(decoded == claims)
            var bad = Array(token.utf8)
            bad[bad.count - 5] = bad[bad.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(!(try ProcessRunner.run(python, ["-c", Self.script, "federation"], input: Data(bad))).ok)
            #expect(!(try ProcessRunner.run(python, ["-c", Self.script, "elsewhere"], input: Data(token.utf8))).ok)
        }
    }
}
