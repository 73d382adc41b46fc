package import CaduceusPKI
package import NIOCore
package import NIOSSL
import Crypto

/// A TLS private key on a token: BoringSSL hands the handshake's signing input to this key (NIOSSL's
/// ``NIOSSLCustomPrivateKey``), which hashes it with SHA-256 and has the token sign the digest
/// (`ecdsa_secp256r1_sha256`, RFC 8446 §4.2.3, the only scheme a P-256 key offers in TLS 1.3 and the one it offers in
/// TLS 1.2). The token call blocks, so it runs off the event loop, in a task.
package struct TokenPrivateKey: NIOSSLCustomPrivateKey, Hashable {
    let key: any ExternalP256Key

    /// Wraps a token key.
    package init(_ key: any ExternalP256Key) { self.key = key }

    /// ECDSA P-256 with SHA-256 only.
    package var signatureAlgorithms: [SignatureAlgorithm] { [.ecdsaSecp256R1Sha256] }

    /// Signs on the token; the result is the DER `ECDSA-Sig-Value` TLS carries.
    package func sign(channel: any Channel, algorithm: SignatureAlgorithm, data: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        guard algorithm == .ecdsaSecp256R1Sha256 else {
            return channel.eventLoop.makeFailedFuture(NIOSSLError.failedToLoadPrivateKey)
        }
        let key = self.key
        let digest = SHA256.hash(data: Array(data.readableBytesView))
        return channel.eventLoop.makeFutureWithTask {
            ByteBuffer(bytes: try key.signature(forDigest: digest).derRepresentation)
        }
    }

    /// No RSA key exchange: an EC key never decrypts in TLS.
    package func decrypt(channel: any Channel, data: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        channel.eventLoop.makeFailedFuture(NIOSSLError.failedToLoadPrivateKey)
    }

    /// Keys are the same when their public halves are.
    package static func == (lhs: TokenPrivateKey, rhs: TokenPrivateKey) -> Bool {
        lhs.key.publicKey.rawRepresentation == rhs.key.publicKey.rawRepresentation
    }

    /// Hashes the public half.
    package func hash(into hasher: inout Hasher) { hasher.combine(key.publicKey.rawRepresentation) }
}

extension FederationTLS {
    /// The private key of a credential as NIOSSL takes it: from PKCS#8 for a key in memory, or signing on the token
    /// (``TokenPrivateKey``) for a key that lives there.
    package static func privateKey(_ key: PrivateKeyMaterial) throws -> NIOSSLPrivateKey {
        if case .external(let external) = key.backing { return NIOSSLPrivateKey(customPrivateKey: TokenPrivateKey(external)) }
        return try NIOSSLPrivateKey(bytes: Array(try key.pkcs8PEM.utf8), format: .pem)
    }

    /// A client context presenting `credential` (its certificate, chain and key, wherever the key lives) and trusting
    /// `anchorsPEM`.
    package static func clientContext(credential: Credential, anchorsPEM: String) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(anchorsPEM.utf8)))
        configuration.certificateVerification = .noHostnameVerification
        let chainPEM = try PEM.encode([credential.certificate] + credential.chain)
        configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8)).map { .certificate($0) }
        configuration.privateKey = .privateKey(try privateKey(credential.key))
        return try NIOSSLContext(configuration: configuration)
    }
}
