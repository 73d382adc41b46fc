public import X509

/// A person's, patient's or node's credential ("card"): private key, certificate and the chain above it.
public struct Credential: Sendable {
    /// The private key.
    public let key: PrivateKeyMaterial
    /// The end-entity certificate for `key`.
    public let certificate: Certificate
    /// Issuing CAs above the certificate, nearest first (may include the root).
    public let chain: [Certificate]
    /// A display name (PKCS#9 friendlyName), if any.
    public let friendlyName: String?

    /// Creates a credential, checking that the key matches the certificate.
    public init(key: PrivateKeyMaterial, certificate: Certificate, chain: [Certificate] = [], friendlyName: String? = nil)
        throws
    {
        guard key.publicKey == certificate.publicKey else {
            throw PKIError(.profileViolation, "the private key does not match the certificate")
        }
        self.key = key
        self.certificate = certificate
        self.chain = chain
        self.friendlyName = friendlyName
    }
}
