package import CaduceusPKI
package import NIOSSL

import Synchronization
import X509
import SwiftASN1

/// TLS that follows a ``RenewableCredential``: a server presents the node's current certificate and key in every
/// handshake (an override applied after the client hello), and a client context is made again when the credential
/// was replaced — so a renewed node certificate reaches every new connection without a restart.
package final class RenewableTLS: Sendable {
    package let credentials: RenewableCredential
    let anchorsPEM: String
    let server = Mutex<(generation: Int, override: NIOSSLContextConfigurationOverride)?>(nil)
    let client = Mutex<(generation: Int, context: NIOSSLContext)?>(nil)

    package init(credentials: RenewableCredential, anchorsPEM: String) {
        self.credentials = credentials
        self.anchorsPEM = anchorsPEM
    }

    /// The current certificate chain and key as a handshake override (made once per credential).
    package func serverOverride() throws -> NIOSSLContextConfigurationOverride {
        let generation = credentials.generation
        if let cached = server.withLock({ $0 }), cached.generation == generation { return cached.override }
        let credential = credentials.current
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = try ([credential.certificate] + credential.chain).map {
            .certificate(try NIOSSLCertificate(bytes: try $0.derBytes(), format: .der))
        }
        override.privateKey = .privateKey(try FederationTLS.privateKey(credential.key))
        server.withLock { $0 = (generation, override) }
        return override
    }

    /// The callback a server configuration sets (`sslContextCallback`) to present the current credential.
    package var serverCallback: NIOSSLContextCallback {
        { [self] _, promise in
            do { promise.succeed(try serverOverride()) } catch { promise.fail(error) }
        }
    }

    /// A server configuration presenting the current credential in every handshake and demanding a client
    /// certificate (verified by the caller's callback).
    package func serverConfiguration() throws -> TLSConfiguration {
        let credential = credentials.current
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try ([credential.certificate] + credential.chain).map { .certificate(try NIOSSLCertificate(bytes: try $0.derBytes(), format: .der)) },
            privateKey: .privateKey(try FederationTLS.privateKey(credential.key)))
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(anchorsPEM.utf8)))
        configuration.sslContextCallback = serverCallback
        return configuration
    }

    /// A server context (MLLP, syslog) presenting the current credential in every handshake.
    package func serverContext() throws -> NIOSSLContext { try NIOSSLContext(configuration: try serverConfiguration()) }

    /// A client context presenting the current credential; a new one once the credential is replaced.
    package func clientContext() throws -> NIOSSLContext {
        let generation = credentials.generation
        if let cached = client.withLock({ $0 }), cached.generation == generation { return cached.context }
        let context = try FederationTLS.clientContext(credential: credentials.current, anchorsPEM: anchorsPEM)
        client.withLock { $0 = (generation, context) }
        return context
    }
}

extension Certificate {
    func derBytes() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }
}
