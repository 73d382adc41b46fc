public import X509
public import CaduceusCore
public import struct Foundation.Data
public import struct Foundation.Date
import Foundation
import Crypto
import CryptoExtras
import SwiftASN1

/// Compact JWS (RFC 7515) signed with a federation credential: ES256 for P-256 keys, PS256 for RSA keys, the signer's
/// certificate chain in `x5c`, so anyone holding the federation root can check the signer's chain and revocation.
/// Used for sign-in assertions (signed by a node) and consent statements (signed by a person's or patient's card).
public enum CompactJWS {
    /// A verified JWS: its payload, `typ` and the signer's validated chain (leaf first).
    public struct Verified: Sendable {
        public let payload: Data
        public let type: String
        public let chain: [Certificate]
        /// The signer, as the federation names it.
        public var signer: FederationIdentity? { FederationIdentity(chain[0]) }
    }

    /// Why a JWS was refused; `code` is `<domain>.malformed`, `.bad-signature`, `.untrusted-issuer` or `.revoked`.
    public struct Refusal: CaduceusError, Hashable {
        /// A refused sign-in assertion means the person is not authenticated; any other refused statement is the
        /// client's mistake.
        public var category: ErrorCategory { code.hasPrefix("assertion.") ? .unauthenticated : .client }
        public let code: String
        public let message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// Signs `payload` with `credential`.
    public static func sign(_ payload: Data, type: String, by credential: Credential) throws -> String {
        let alg: String
        switch credential.key.backing {
        case .p256, .external: alg = "ES256"
        case .rsa: alg = "PS256"
        }
        let x5c = try ([credential.certificate] + credential.chain).map { cert -> String in
            var s = DER.Serializer()
            try s.serialize(cert)
            return Data(s.serializedBytes).base64EncodedString()
        }
        let header = try JSONSerialization.data(withJSONObject: ["alg": alg, "typ": type, "x5c": x5c], options: [.sortedKeys])
        let input = base64url(header) + "." + base64url(payload)
        let signature: Data
        switch credential.key.backing {
        case .p256(let k): signature = try k.signature(for: Data(input.utf8)).rawRepresentation
        case .rsa(let k): signature = try k.signature(for: Data(input.utf8), padding: .PSS).rawRepresentation
        // RFC 7518 §3.4: ES256 is R ‖ S, what a token's CKM_ECDSA returns.
        case .external(let k): signature = try k.signature(forDigest: SHA256.hash(data: Data(input.utf8))).rawRepresentation
        }
        return input + "." + base64url(signature)
    }

    /// Signs `value` as sorted-key JSON.
    public static func sign(json value: some Encodable, type: String, by credential: Credential) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return try sign(e.encode(value), type: type, by: credential)
    }

    /// A token split and decoded, not yet verified: what ``parse(_:domain:)`` returns.
    package struct Parsed {
        package let algorithm: String
        package let type: String
        package let payload: Data
        package let signature: Data
        package let chain: [Certificate]
        /// The bytes the signature covers (`header.payload`, as sent).
        package let signingInput: Data
    }

    /// The parse step of ``verify(_:domain:validator:now:)``: three base64url parts, a JSON header with `alg` and a
    /// non-empty `x5c` of DER certificates, and an accepted algorithm. Nothing is verified. Refusals are
    /// `<domain>.malformed`.
    package static func parse(_ token: String, domain: String) throws(Refusal) -> Parsed {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = unbase64url(parts[0]), let payload = unbase64url(parts[1]), let signature = unbase64url(parts[2]),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any], let alg = header["alg"] as? String,
              let x5c = header["x5c"] as? [String], !x5c.isEmpty
        else { throw Refusal(code: domain + ".malformed", message: "not a compact JWS with x5c") }
        guard alg == "ES256" || alg == "PS256" else {
            throw Refusal(code: domain + ".malformed", message: "only ES256 and PS256 are accepted (never none)")
        }
        let chain: [Certificate]
        do {
            chain = try x5c.map { b64 in
                guard let der = Data(base64Encoded: b64) else { throw Refusal(code: domain + ".malformed", message: "x5c is not base64") }
                return try Certificate(derEncoded: Array(der))
            }
        } catch {
            throw Refusal(code: domain + ".malformed", message: "x5c does not hold certificates")
        }
        return Parsed(
            algorithm: alg, type: header["typ"] as? String ?? "", payload: payload, signature: signature, chain: chain,
            signingInput: Data((parts[0] + "." + parts[1]).utf8))
    }

    /// Verifies structure, algorithm (ES256 or PS256, never `none`), the signature with the `x5c` leaf and the leaf's
    /// chain (federation root, validity at `now`, CRLs). Refusal codes are prefixed with `domain`.
    public static func verify(_ token: String, domain: String, validator: ChainValidator, now: Date) async throws(Refusal) -> Verified {
        // A token whose signature verified under this trust state is not parsed and verified again; its signer's chain
        // is (the verdict cache answers that while nothing changed).
        if let known = validator.cache?.verifiedToken(domain, token) {
            try await requireTrusted(known.chain, domain: domain, validator: validator, now: now)
            return known
        }
        let parsed = try parse(token, domain: domain)
        let chain = parsed.chain
        let input = parsed.signingInput
        let valid: Bool
        switch parsed.algorithm {
        case "ES256":
            guard let key = P256.Signing.PublicKey(chain[0].publicKey), let sig = try? P256.Signing.ECDSASignature(rawRepresentation: parsed.signature) else { valid = false; break }
            valid = key.isValidSignature(sig, for: input)
        default:  // PS256: parse accepts no other
            guard let key = _RSA.Signing.PublicKey(chain[0].publicKey) else { valid = false; break }
            valid = key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: parsed.signature), for: input, padding: .PSS)
        }
        guard valid else { throw Refusal(code: domain + ".bad-signature", message: "the signature does not verify") }
        try await requireTrusted(chain, domain: domain, validator: validator, now: now)
        let verified = Verified(payload: parsed.payload, type: parsed.type, chain: chain)
        validator.cache?.rememberToken(domain, token, verified)
        return verified
    }

    /// The signer's chain (leaf first, as the token's `x5c` carries it) must be valid now.
    static func requireTrusted(_ chain: [Certificate], domain: String, validator: ChainValidator, now: Date) async throws(Refusal) {
        let verdict = await validator.validate(chain[0], intermediates: Array(chain.dropFirst()), usage: .any, validityTime: now, now: now)
        if case .rejected(let e) = verdict {
            throw Refusal(code: e.kind == .revoked ? domain + ".revoked" : domain + ".untrusted-issuer", message: "the signer's certificate is not valid in this federation")
        }
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
