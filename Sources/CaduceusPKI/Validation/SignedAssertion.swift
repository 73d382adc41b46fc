public import X509
public import struct Foundation.Date
import Foundation
import Crypto
import CryptoExtras
import SwiftASN1
import Synchronization
public import CaduceusCore

/// The claims of a sign-in assertion (IHE XUA/IUA in spirit, as a JWT): who, in which functional role and
/// organisation, signed in at which node, for what purpose, for how long.
public struct AssertionClaims: Sendable, Hashable, Codable {
    /// `iss`: the node that issued it (its certificate CN).
    public var iss: String
    /// `sub`: the person (their card certificate CN).
    public var sub: String
    /// `aud`: who may accept it (the federation id, or one node id).
    public var aud: String
    /// `role`: the functional role (physician, nurse, …), from the card.
    public var role: String
    /// `org`: the person's organisation.
    public var org: String
    /// `pou`: purpose of use (TREAT, ETREAT, …).
    public var pou: String
    /// `iat`, `nbf`, `exp`: seconds since 1970.
    public var iat: Int64
    public var nbf: Int64
    public var exp: Int64
    /// `jti`: a unique id (replay detection, sign-out).
    public var jti: String
    public init(iss: String, sub: String, aud: String, role: String, org: String, pou: String, iat: Int64, nbf: Int64, exp: Int64, jti: String) {
        self.iss = iss
        self.sub = sub
        self.aud = aud
        self.role = role
        self.org = org
        self.pou = pou
        self.iat = iat
        self.nbf = nbf
        self.exp = exp
        self.jti = jti
    }
}

/// Compact JWS (RFC 7515) over ``AssertionClaims``: ES256 for P-256 node keys, PS256 for RSA node keys, the issuing
/// node's certificate chain in `x5c` so any node of the federation can check the issuer's chain and revocation.
public enum SignedAssertion {
    /// Signs `claims` with the node's credential.
    public static func issue(_ claims: AssertionClaims, by node: Credential) throws -> String {
        let alg: String
        switch node.key.backing {
        case .p256: alg = "ES256"
        case .rsa: alg = "PS256"
        }
        let x5c = try ([node.certificate] + node.chain).map { cert -> String in
            var s = DER.Serializer()
            try s.serialize(cert)
            return Data(s.serializedBytes).base64EncodedString()
        }
        let header = try JSONSerialization.data(withJSONObject: ["alg": alg, "typ": "JWT", "x5c": x5c], options: [.sortedKeys])
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let input = base64url(header) + "." + base64url(try e.encode(claims))
        let signature: Data
        switch node.key.backing {
        case .p256(let k): signature = try k.signature(for: Data(input.utf8)).rawRepresentation
        case .rsa(let k): signature = try k.signature(for: Data(input.utf8), padding: .PSS).rawRepresentation
        }
        return input + "." + base64url(signature)
    }

    /// Why an assertion was refused.
    public struct Refusal: CaduceusError, Hashable {
        /// `assertion.malformed`, `assertion.bad-signature`, `assertion.untrusted-issuer`, `assertion.expired`,
        /// `assertion.not-yet-valid`, `assertion.wrong-audience`, `assertion.replayed`, `assertion.revoked`.
        public let code: String
        public let message: String
    }

    /// Verifies an assertion: structure, algorithm, signature with the `x5c` leaf, the leaf's chain (federation
    /// root, validity, CRLs) and that it is a node certificate naming `iss`, then time and audience.
    public static func verify(_ token: String, audience: String, validator: ChainValidator, now: Date, skew: TimeInterval = 60) async throws(Refusal) -> AssertionClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = unbase64url(parts[0]), let claimsData = unbase64url(parts[1]), let signature = unbase64url(parts[2]),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any], let alg = header["alg"] as? String,
              let x5c = header["x5c"] as? [String], !x5c.isEmpty,
              let claims = try? JSONDecoder().decode(AssertionClaims.self, from: claimsData)
        else { throw Refusal(code: "assertion.malformed", message: "the assertion is not a compact JWS with x5c and the expected claims") }
        let chain: [Certificate]
        do {
            chain = try x5c.map { b64 in
                guard let der = Data(base64Encoded: b64) else { throw Refusal(code: "assertion.malformed", message: "x5c is not base64") }
                return try Certificate(derEncoded: Array(der))
            }
        } catch {
            throw Refusal(code: "assertion.malformed", message: "x5c does not hold certificates")
        }
        let input = Data((parts[0] + "." + parts[1]).utf8)
        let valid: Bool
        switch alg {
        case "ES256":
            guard let key = P256.Signing.PublicKey(chain[0].publicKey), let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { valid = false; break }
            valid = key.isValidSignature(sig, for: input)
        case "PS256":
            guard let key = _RSA.Signing.PublicKey(chain[0].publicKey) else { valid = false; break }
            valid = key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: input, padding: .PSS)
        default:
            throw Refusal(code: "assertion.malformed", message: "only ES256 and PS256 assertions are accepted (never none)")
        }
        guard valid else { throw Refusal(code: "assertion.bad-signature", message: "the assertion's signature does not verify") }
        let verdict = await validator.validate(chain[0], intermediates: Array(chain.dropFirst()), usage: .any, validityTime: now, now: now)
        switch verdict {
        case .trusted: break
        case .rejected(let e):
            throw Refusal(code: e.kind == .revoked ? "assertion.revoked" : "assertion.untrusted-issuer", message: "the issuing node's certificate is not valid in this federation")
        }
        guard let issuer = FederationIdentity(chain[0]), issuer.kind == .node, issuer.commonName == claims.iss else {
            throw Refusal(code: "assertion.untrusted-issuer", message: "the assertion is not issued by the node it names")
        }
        let t = Int64(now.timeIntervalSince1970)
        guard Double(claims.exp) + skew > Double(t) else { throw Refusal(code: "assertion.expired", message: "the assertion has expired") }
        guard Double(claims.nbf) - skew <= Double(t) else { throw Refusal(code: "assertion.not-yet-valid", message: "the assertion is not valid yet") }
        guard claims.aud == audience else { throw Refusal(code: "assertion.wrong-audience", message: "the assertion is for another audience") }
        return claims
    }

    static func base64url(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ s: Substring) -> Data? {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while t.count % 4 != 0 { t += "=" }
        return Data(base64Encoded: t)
    }
}

/// Sign-in sessions at a node: last use per assertion (automatic logoff after idle time) and sign-outs, kept until the
/// assertions expire. Replay by anyone else is stopped by binding: an assertion is honoured only inside an envelope
/// signed by its subject's card (``SignedAssertion/requireHolder(_:signer:)``).
public final class AssertionLedger: Sendable {
    let state = Mutex<(lastUse: [String: (Int64, Int64)], revoked: [String: Int64])>(([:], [:]))
    /// Idle time after which a sign-in lapses.
    public let idleTimeout: TimeInterval

    /// A ledger with an idle timeout (default 15 minutes).
    public init(idleTimeout: TimeInterval = 900) { self.idleTimeout = idleTimeout }

    /// Records a use of `claims` now; refuses a signed-out or idle-expired sign-in.
    public func use(_ claims: AssertionClaims, now: Date) throws(SignedAssertion.Refusal) {
        let t = Int64(now.timeIntervalSince1970)
        let idle = Int64(idleTimeout)
        let outcome: String? = state.withLock { s in
            s.lastUse = s.lastUse.filter { $0.value.1 > t }
            s.revoked = s.revoked.filter { $0.value > t }
            if s.revoked[claims.jti] != nil { return "assertion.revoked" }
            if let (last, _) = s.lastUse[claims.jti], t - last > idle { return "assertion.idle" }
            s.lastUse[claims.jti] = (t, claims.exp)
            return nil
        }
        switch outcome {
        case "assertion.revoked"?: throw SignedAssertion.Refusal(code: "assertion.revoked", message: "the sign-in was ended (signed out)")
        case "assertion.idle"?: throw SignedAssertion.Refusal(code: "assertion.idle", message: "the sign-in lapsed after idle time; sign in again")
        default: return
        }
    }

    /// Signs an assertion out: it is refused from now on.
    public func revoke(_ claims: AssertionClaims) {
        state.withLock { $0.revoked[claims.jti] = claims.exp }
    }
}

extension SignedAssertion {
    /// Refuses an assertion presented by anyone but its subject (holder of key: the envelope's signer).
    public static func requireHolder(_ claims: AssertionClaims, signer: String) throws(Refusal) {
        guard claims.sub == signer else { throw Refusal(code: "assertion.replayed", message: "the assertion belongs to another person") }
    }
}
