import CaduceusPKI
import CaduceusPortal
import Foundation
import Hummingbird
import Logging
import Synchronization
import X509

/// A request context for driving the portal's routes in process, without sockets (as Hummingbird tests routes): the
/// card is what the TLS handshake would have handed the real context.
struct PortalTestContext: PortalRequestContext {
    struct Source: RequestContextSource {
        let logger: Logger
        let card: [Certificate]
    }
    var coreContext: CoreRequestContextStorage
    let card: [Certificate]

    init(source: Source) {
        coreContext = .init(source: source)
        card = source.card
    }

    func clientCertificates() async -> [Certificate] { card }
}

/// One browser of one card against a portal's routes: it keeps the session cookie and reads the form token and the
/// handles from the pages it gets, as a browser would submit them.
final class PortalDriver: Sendable {
    let responder: RouterResponder<PortalTestContext>
    let card: [Certificate]
    let logger: Logger
    let cookie = Mutex<String?>(nil)

    /// A page as the browser got it.
    struct Page {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: String
        /// The form token the page's forms carry.
        var csrf: String? { PortalDriver.capture(#"name="csrf" value="([^"]+)""#, in: body).first }
    }

    init(portal: Portal, card: Credential, logger: Logger) {
        let router = Router(context: PortalTestContext.self)
        portal.routes(router)
        responder = router.buildResponder()
        self.card = [card.certificate] + card.chain
        self.logger = logger
    }

    func get(_ path: String) async throws -> Page { try await send(.get, path, body: nil) }

    /// Posts `fields` form-encoded; `csrf` true adds the form token of `from` (the page the form was on).
    func post(_ path: String, _ fields: [(String, String)], from page: Page?) async throws -> Page {
        var all = fields
        if let token = page?.csrf { all.insert(("csrf", token), at: 0) }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = all.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
        return try await send(.post, path, body: body)
    }

    /// Signs in through the entry page with `purpose`.
    func signIn(purpose: String) async throws {
        let entry = try await get("/portal")
        let signed = try await post("/portal/signin", [("purpose", purpose)], from: entry)
        guard signed.status == .seeOther, cookie.withLock({ $0 }) != nil else {
            throw PortalDriverError(description: "sign-in failed: \(signed.status) \(signed.body.prefix(400))")
        }
    }

    func send(_ method: HTTPRequest.Method, _ path: String, body: String?) async throws -> Page {
        var fields = HTTPFields()
        if let cookie = cookie.withLock({ $0 }) { fields[.cookie] = cookie }
        if body != nil { fields[.contentType] = "application/x-www-form-urlencoded" }
        let head = HTTPRequest(method: method, scheme: "https", authority: "node.hospital-b.caduceus.test", path: path, headerFields: fields)
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(string: body ?? "")))
        let response = try await responder.respond(to: request, context: PortalTestContext(source: .init(logger: logger, card: card)))
        if let set = response.headers[.setCookie], let pair = set.split(separator: ";").first {
            cookie.withLock { $0 = set.contains("Max-Age=0") ? nil : String(pair) }
        }
        let collector = Collector()
        try await response.body.write(collector)
        return Page(status: response.status, headers: response.headers, body: String(decoding: collector.bytes.withLock { $0 }, as: UTF8.self))
    }

    /// Every first capture group of `pattern` in `text`.
    static func capture(_ pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    /// Collects a response body.
    final class Collector: ResponseBodyWriter, Sendable {
        let bytes = Mutex<[UInt8]>([])
        func write(_ buffer: ByteBuffer) async throws { bytes.withLock { $0 += Array(buffer.readableBytesView) } }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

struct PortalDriverError: Error, CustomStringConvertible {
    let description: String
}
