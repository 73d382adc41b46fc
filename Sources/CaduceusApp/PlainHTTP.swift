import CaduceusCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client over plain TCP, for the things a node fetches without TLS: revocation lists and OCSP
/// responses, signed objects checked on their own (`TrustStore.acceptKnown`, `OCSPVerifier`). Bounded in size and
/// time.
enum PlainHTTP {
    struct Failed: Error {}

    /// GETs `url` (`http://host:port/path`); returns the body of a 200 answer of at most `limit` bytes.
    static func get(_ url: String, limit: Int = 16 << 20, timeout: Duration = .seconds(10)) async throws -> [UInt8] {
        try await request(url, body: nil, limit: limit, timeout: timeout)
    }

    /// POSTs `body` as `contentType` to `url`; returns the body of a 200 answer of at most `limit` bytes. Never
    /// retried.
    static func post(_ url: String, body: [UInt8], contentType: String, limit: Int, timeout: Duration) async throws -> [UInt8] {
        try await request(url, body: (body, contentType), limit: limit, timeout: timeout)
    }

    static func request(_ url: String, body: ([UInt8], String)?, limit: Int, timeout: Duration) async throws -> [UInt8] {
        guard let parsed = URL(string: url), parsed.scheme == "http", let host = parsed.host else { throw Failed() }
        let port = parsed.port ?? 80
        let path = parsed.path.isEmpty ? "/" : parsed.path
        return try await withThrowingTaskGroup(of: [UInt8].self) { group in
            group.addTask { try await fetch(host: host, port: port, path: path, body: body, limit: limit) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw Failed()
            }
            defer { group.cancelAll() }
            guard let body = try await group.next() else { throw Failed() }
            return body
        }
    }

    static func fetch(host: String, port: Int, path: String, body requestBody: ([UInt8], String)? = nil, limit: Int) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: requestBody == nil ? .GET : .POST, uri: path)
            head.headers.add(name: "Host", value: "\(host):\(port)")
            head.headers.add(name: "Connection", value: "close")
            if let requestBody {
                head.headers.add(name: "Content-Type", value: requestBody.1)
                head.headers.add(name: "Content-Length", value: String(requestBody.0.count))
            }
            try await outbound.write(.head(head))
            if let requestBody { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: requestBody.0)))) }
            try await outbound.write(.end(nil))
            var status = 0
            var body = ByteBuffer()
            loop: for try await part in inbound {
                switch part {
                case .head(let response): status = Int(response.status.code)
                case .body(var chunk):
                    guard body.readableBytes + chunk.readableBytes <= limit else { throw Failed() }
                    body.writeBuffer(&chunk)
                case .end: break loop
                }
            }
            guard status == 200 else { throw Failed() }
            return Array(body.readableBytesView)
        }
    }
}
