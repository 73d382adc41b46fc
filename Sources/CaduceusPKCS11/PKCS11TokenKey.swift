import CCaduceusPKCS11
package import CaduceusPKI
package import Crypto
import CaduceusCore

/// A P-256 private key on a token: it signs (`CKM_ECDSA` over a SHA-256 digest) and derives ECDH secrets
/// (`CKM_ECDH1_DERIVE` with `CKD_NULL`) on the token, through the token's logged-in session, and is never read out.
/// Keeps its token (and so the session and login) open while it lives.
package final class PKCS11TokenKey: ExternalP256Key {
    let token: PKCS11Token
    let handle: CK_OBJECT_HANDLE
    /// `CKA_ID` of the key (pairs it with its public key and certificate objects).
    package let id: [UInt8]
    /// The public half.
    package let publicKey: P256.Signing.PublicKey

    init(token: PKCS11Token, handle: CK_OBJECT_HANDLE, id: [UInt8], publicKey: P256.Signing.PublicKey) {
        self.token = token
        self.handle = handle
        self.id = id
        self.publicKey = publicKey
    }

    /// `token "LABEL" key ID` (hex).
    package var location: String { "token \"\(token.label)\" key \(Hex.encode(id))" }

    /// ECDSA on the token: `C_SignInit` + `C_Sign` with `CKM_ECDSA` over the 32-byte digest; the token returns r ‖ s
    /// (PKCS#11 current mechanisms §2.3.6).
    package func signature(forDigest digest: SHA256Digest) throws -> P256.Signing.ECDSASignature {
        let signature: [UInt8] = try token.session.run { session, f in
            var mechanism = CK_MECHANISM(mechanism: CK.M_ECDSA, pParameter: nil, ulParameterLen: 0)
            try check(f.C_SignInit!(session, &mechanism, handle), "C_SignInit")
            var input = Array(digest)
            var output = [UInt8](repeating: 0, count: 132)
            var length = CK_ULONG(output.count)
            try check(f.C_Sign!(session, &input, CK_ULONG(input.count), &output, &length), "C_Sign")
            return Array(output.prefix(Int(length)))
        }
        guard signature.count == 64 else {
            throw PKCS11Error(.functionFailed, "C_Sign returned a signature of the wrong size for P-256")
        }
        return try P256.Signing.ECDSASignature(rawRepresentation: signature)
    }

    /// ECDH on the token: `C_DeriveKey` with `CKM_ECDH1_DERIVE` (`CKD_NULL`, the peer's uncompressed point) into a
    /// session-only generic secret that may be read (not sensitive, extractable — it is the per-message secret Z,
    /// not the key), whose `CKA_VALUE` is read and which is then destroyed.
    package func sharedSecret(with peer: P256.KeyAgreement.PublicKey) throws -> [UInt8] {
        var point = Array(peer.x963Representation)
        let secretTemplate: [Attribute] = [
            .ulong(CK.A_CLASS, CK.O_SECRET_KEY), .ulong(CK.A_KEY_TYPE, CK.K_GENERIC_SECRET), .bool(CK.A_TOKEN, false),
            .bool(CK.A_SENSITIVE, false), .bool(CK.A_EXTRACTABLE, true), .ulong(CK.A_VALUE_LEN, 32),
        ]
        let derived: CK_OBJECT_HANDLE = try token.session.run { session, f in
            try point.withUnsafeMutableBufferPointer { pointBytes in
                var parameters = CK_ECDH1_DERIVE_PARAMS(
                    kdf: CK.D_NULL, ulSharedDataLen: 0, pSharedData: nil, ulPublicDataLen: CK_ULONG(pointBytes.count),
                    pPublicData: pointBytes.baseAddress)
                return try withUnsafeMutablePointer(to: &parameters) { parametersPointer in
                    var mechanism = CK_MECHANISM(
                        mechanism: CK.M_ECDH1_DERIVE, pParameter: UnsafeMutableRawPointer(parametersPointer),
                        ulParameterLen: CK_ULONG(MemoryLayout<CK_ECDH1_DERIVE_PARAMS>.size))
                    var object: CK_OBJECT_HANDLE = 0
                    try PKCS11Session.withTemplate(secretTemplate) { template, count in
                        try check(f.C_DeriveKey!(session, &mechanism, handle, template, count, &object), "C_DeriveKey")
                    }
                    return object
                }
            }
        }
        defer { try? token.session.destroy(derived) }
        guard let value = try token.session.attribute(CK.A_VALUE, of: derived), value.count == 32 else {
            throw PKCS11Error(.functionFailed, "the token did not return the derived ECDH secret")
        }
        return value
    }
}
