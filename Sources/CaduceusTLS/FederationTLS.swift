package import CaduceusPKI
import Foundation
package import NIOCore
package import NIOSSL
package import X509
import SwiftASN1

/// TLS between federation members (MLLP and HTTPS): TLS 1.2+ with the node's certificate, and client certificates verified
/// by Caduceus's own ``ChainValidator`` (federation anchors, CRLs, clientAuth EKU) instead of OpenSSL's defaults.
package enum FederationTLS {
    /// A server context presenting `certificateChainPEM` (leaf first) with `privateKeyPEM`, demanding a client
    /// certificate.
    package static func serverContext(certificateChainPEM: String, privateKeyPEM: String, anchorsPEM: String) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(anchorsPEM.utf8)))
        return try NIOSSLContext(configuration: configuration)
    }

    /// A client context presenting a certificate and trusting `anchorsPEM`.
    package static func clientContext(certificateChainPEM: String?, privateKeyPEM: String?, anchorsPEM: String) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(anchorsPEM.utf8)))
        configuration.certificateVerification = .noHostnameVerification
        if let certificateChainPEM, let privateKeyPEM {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8)).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// A verification callback that validates the peer's presented chain with `validator` for `usage`, so revoked,
    /// expired or foreign certificates are refused during the handshake, before any application byte.
    /// `intermediates` completes chains a peer sends short (a browser may send its card without the CAs above it).
    package static func verifier(_ validator: ChainValidator, usage: CertificateUsage, intermediates held: @escaping @Sendable () -> [Certificate] = { [] }) -> NIOSSLCustomVerificationCallback {
        { certificates, promise in
            promise.completeWithTask {
                do {
                    let parsed = try certificates.map { try Certificate(derEncoded: try $0.toDERBytes()) }
                    guard let leaf = parsed.first else { return .failed }
                    let verdict = await validator.validate(leaf, intermediates: Array(parsed.dropFirst()) + held(), usage: usage, validityTime: Date(), now: Date())
                    if case .trusted = verdict { return .certificateVerified }
                    return .failed
                } catch {
                    return .failed
                }
            }
        }
    }
}

/// Closes a connection when an `IdleStateHandler` before it fires (MLLP and syslog listeners).
package final class IdleCloser: ChannelInboundHandler, Sendable {
    package typealias InboundIn = NIOAny
    package init() {}
    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Wraps a connection a listener accepted, on its event loop. A connection accepted just as the listener closes can be
/// dropped by NIO before any owner takes it over (the accept loop has ended); it must then be closed, not crash a
/// debug build ("Deinited NIOAsyncWriter without calling finish()", seen in CI-like runs of the MLLP tests). So
/// accepted connections use NIO's close-on-deinit wrapping (deprecated only because it is not the default); every
/// connection that does reach its owner is still served inside `executeThenClose`.
package func acceptedConnection(_ channel: any Channel) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(synchronouslyWrapping: channel)
}

/// Serves a listener's accepted connections until the calling task is cancelled. Every accepted connection must be
/// taken over by its owner (`executeThenClose` in `handle`), even one accepted as the listener stops: cancelling the
/// accept loop itself would drop those unowned (a crash in debug builds, a leak otherwise). So cancellation closes the
/// listening socket, the loop drains what was already accepted, and then the connections still being served are
/// cancelled. Used by the MLLP and syslog listeners.
package func serveConnections<Accepted: Sendable>(
    of server: NIOAsyncChannel<Accepted, Never>, _ handle: @escaping @Sendable (Accepted) async -> Void
) async throws {
    let acceptLoop = Task {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await handle(connection) }
                }
            }
            group.cancelAll()
        }
    }
    try await withTaskCancellationHandler {
        try await acceptLoop.value
    } onCancel: {
        server.channel.close(promise: nil)
    }
}
