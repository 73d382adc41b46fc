import CaduceusCore
import CaduceusPKI
import Crypto
import Foundation
package import Hummingbird
package import Logging
import NIOCore
import SwiftASN1
package import X509

/// The plain-HTTP listener that serves revocation status and nothing else, as CRL distribution points, OCSP clients
/// and the tools that read them (`openssl crl`, `openssl ocsp`, browsers, OS certificate stores) expect: lists and
/// OCSP responses are signed objects, so they need no TLS. `GET /crl` is an index (one line per list: its file name,
/// issuer, thisUpdate, nextUpdate); `GET /crl/<name>.crl` is the list, DER (`application/pkix-crl`). The OCSP
/// responders of the CAs the node hosts (``OCSPService``) answer `POST /ocsp` (body: a DER request,
/// `application/ocsp-request`, at most ``OCSPRequest/maxSize`` bytes) and `GET /ocsp/<request>` (RFC 6960 Appendix
/// A.1: the URL-encoded base64 — or base64url — of the DER request) with `application/ocsp-response`. Anything else
/// is 404. Everything else a node serves stays behind mutual TLS.
package enum RevocationListener {
    /// The listener on `host:port` (0: the kernel chooses); `onRunning` gets the bound port.
    package static func application(trust: TrustStore, ocsp: OCSPService? = nil, host: String, port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        let answer: @Sendable ([UInt8]) -> Response = { der in
            let bytes = ocsp?.respond(to: der) ?? OCSPResponse.unsuccessful(.unauthorized)
            return Response(status: .ok, headers: [.contentType: OCSPResponse.mediaType, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.post("/ocsp") { request, _ -> Response in
            guard request.headers[.contentType]?.lowercased().hasPrefix("application/ocsp-request") == true else {
                return Response(status: .unsupportedMediaType, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "an OCSP request is application/ocsp-request\n")))
            }
            var request = request
            let body = try await request.collectBody(upTo: OCSPRequest.maxSize)
            return answer(Array(body.readableBytesView))
        }
        router.get("/ocsp/**") { request, _ -> Response in
            guard let der = OCSPGetPath.request(fromPath: request.uri.path) else { return answer([]) }
            return answer(der)
        }
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

/// RFC 6960 Appendix A.1: an OCSP request in a GET is `{url}/{url-encoding of base-64 encoding of the DER}`. Clients
/// differ on the encoding (some leave `/` and `+` as they are, some send base64url), so every form is read.
package enum OCSPGetPath {
    /// The DER request a path `/ocsp/<encoded>` carries; nil when it carries none (not base64, or too long).
    package static func request(fromPath path: String) -> [UInt8]? {
        guard path.hasPrefix("/ocsp/"), path.utf8.count <= 4 * OCSPRequest.maxSize else { return nil }
        let encoded = String(path.dropFirst("/ocsp/".count))
        guard let decoded = encoded.removingPercentEncoding else { return nil }
        var text = decoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text = text.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: text), !data.isEmpty else { return nil }
        return Array(data)
    }
}
