import CaduceusCore
import CaduceusPKI
import Crypto
import Foundation
package import Hummingbird
package import Logging
import NIOCore
import SwiftASN1
package import X509

/// The plain-HTTP listener that serves revocation lists and nothing else, as CRL distribution points and the tools
/// that read them (`openssl crl`, browsers, OS certificate stores) expect: lists are signed objects, so they need no
/// TLS. `GET /crl` is an index (one line per list: its file name, issuer, thisUpdate, nextUpdate); `GET /crl/<name>.crl`
/// is the list, DER (`application/pkix-crl`). Anything else is 404; bodies are refused. Everything else a node serves
/// stays behind mutual TLS.
package enum RevocationListener {
    /// The listener on `host:port` (0: the kernel chooses); `onRunning` gets the bound port.
    package static func application(trust: TrustStore, host: String, port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.get("/crl") { _, _ -> Response in
            let formatter = ISO8601DateFormatter()
            let lines = trust.heldLists().map { name, crl -> String in
                "\(name)\t\(crl.issuer)\t\(formatter.string(from: crl.thisUpdate))\t\(crl.nextUpdate.map { formatter.string(from: $0) } ?? "-")"
            }.sorted()
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
        }
        router.get("/crl/:name") { _, context -> Response in
            let wanted = context.parameters.get("name") ?? ""
            guard let crl = trust.heldLists().first(where: { $0.name == wanted })?.crl else {
                return Response(status: .notFound, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "no such list\n")))
            }
            return Response(status: .ok, headers: [.contentType: "application/pkix-crl"], body: .init(byteBuffer: ByteBuffer(bytes: crl.derEncoded)))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "caduceus-crl"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
