public import X509
public import struct Foundation.Date
import Foundation
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

/// Sign-in assertions: a compact JWS (``CompactJWS``) over ``AssertionClaims``, signed by the node the person signed
/// in at, with the node's chain in `x5c` so any node of the federation can check the issuer's chain and revocation.
public enum SignedAssertion {
    /// Signs `claims` with the node's credential.
    public static func issue(_ claims: AssertionClaims, by node: Credential) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try CompactJWS.sign(e.encode(claims), type: "JWT", by: node)
    }

    /// Why an assertion was refused.
    public typealias Refusal = CompactJWS.Refusal

    /// Verifies an assertion: structure, algorithm, signature with the `x5c` leaf, the leaf's chain (federation
    /// root, validity, CRLs) and that it is a node certificate naming `iss`, then time and audience. Codes:
    /// `assertion.malformed`, `.bad-signature`, `.untrusted-issuer`, `.revoked`, `.expired`, `.not-yet-valid`,
    /// `.wrong-audience` (and, from the ledger and holder check, `.replayed`, `.idle`).
    public static func verify(_ token: String, audience: String, validator: ChainValidator, now: Date, skew: TimeInterval = 60) async throws(Refusal) -> AssertionClaims {
        let verified = try await CompactJWS.verify(token, domain: "assertion", validator: validator, now: now)
        guard let claims = try? JSONDecoder().decode(AssertionClaims.self, from: verified.payload) else {
            throw Refusal(code: "assertion.malformed", message: "the assertion does not carry the expected claims")
        }
        guard let issuer = verified.signer, issuer.kind == .node, issuer.commonName == claims.iss else {
            throw Refusal(code: "assertion.untrusted-issuer", message: "the assertion is not issued by the node it names")
        }
        let t = Int64(now.timeIntervalSince1970)
        guard Double(claims.exp) + skew > Double(t) else { throw Refusal(code: "assertion.expired", message: "the assertion has expired") }
        guard Double(claims.nbf) - skew <= Double(t) else { throw Refusal(code: "assertion.not-yet-valid", message: "the assertion is not valid yet") }
        guard claims.aud == audience else { throw Refusal(code: "assertion.wrong-audience", message: "the assertion is for another audience") }
        return claims
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
        revoke(jti: claims.jti, expires: claims.exp)
    }

    /// Signs out the assertion `jti` (told by another node), remembered until it would expire anyway.
    public func revoke(jti: String, expires: Int64) {
        state.withLock { $0.revoked[jti] = expires }
    }
}

extension SignedAssertion {
    /// Refuses an assertion presented by anyone but its subject (holder of key: the envelope's signer).
    public static func requireHolder(_ claims: AssertionClaims, signer: String) throws(Refusal) {
        guard claims.sub == signer else { throw Refusal(code: "assertion.replayed", message: "the assertion belongs to another person") }
    }
}
