import CaduceusTLS
import ArgumentParser
import CaduceusCore
import CaduceusExchange
import CaduceusMLLP
import CaduceusPKI
import Foundation
import Logging
import NIOSSL
import X509

/// `caduceus serve`: runs a node — for now the MLLP listener in front of the registry and MPI (the HTTPS server
/// joins it with the exchange issue).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run a node: the MLLP listener (HL7 v2) over the registry and the MPI.")

    @OptionGroup var node: NodeOptions

    @Option(name: .long, help: "MLLP listen address HOST:PORT (port 0 picks a free one).")
    var mllp: String = "127.0.0.1:2575"

    @Option(name: .long, help: "An assigning authority (OID or namespace) this node accepts; repeat for several.")
    var domain: [String] = []

    @Option(name: .long, help: "Largest HL7 message in bytes.")
    var maxMessageBytes: Int = 16 << 20

    @Option(name: .long, help: "Close MLLP connections idle for this many seconds.")
    var idleTimeout: Int64 = 300

    @Option(name: .long, help: "TLS: the node certificate chain (PEM, leaf first). With --tls-key and --tls-ca, MLLP requires mutual TLS.")
    var tlsCert: String?

    @Option(name: .long, help: "TLS: the node private key (PEM).")
    var tlsKey: String?

    @Option(name: .long, help: "TLS: federation trust anchors (PEM) that client certificates must chain to.")
    var tlsCa: String?

    @Option(name: .long, help: "TLS: a CRL (DER or PEM) to check client certificates against; repeat for several.")
    var tlsCrl: [String] = []

    func run() async throws {
        try await reportingErrors {
            guard !domain.isEmpty else { throw CLIError.usage("name at least one --domain (an assigning authority this node accepts)") }
            let (host, port) = try Self.hostPort(mllp)
            let opened = try await node.open()
            let receiver = HL7Receiver(store: opened.store, mpi: opened.mpi, configuration: HL7ReceiverConfiguration(knownAuthorities: Set(domain)))
            var configuration = MLLPServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.maxMessageBytes = maxMessageBytes
            configuration.idleTimeout = .seconds(idleTimeout)
            if let tlsCert, let tlsKey, let tlsCa {
                let anchorsPEM = try Files.text(tlsCa, what: "CA")
                configuration.tls = try FederationTLS.serverContext(
                    certificateChainPEM: try Files.text(tlsCert, what: "certificate"), privateKeyPEM: try Files.text(tlsKey, what: "key"),
                    anchorsPEM: anchorsPEM)
                let anchors = try PEM.certificates(fromPEM: anchorsPEM)
                var crls: [CertificateRevocationList] = []
                for path in tlsCrl { crls.append(try CertificateRevocationList(pemOrDER: try Files.read(path, what: "CRL"))) }
                configuration.clientValidator = ChainValidator(anchors: anchors, crls: crls)
            } else if tlsCert != nil || tlsKey != nil || tlsCa != nil {
                throw CLIError.usage("TLS needs --tls-cert, --tls-key and --tls-ca together")
            }
            var logger = Logger(label: "caduceus.mllp")
            logger.logLevel = .info
            let server = MLLPServer(
                configuration: configuration, logger: logger, handler: { await receiver.receive($0) },
                oversized: { await receiver.rejectOversized(head: $0) })
            let mode = configuration.tls == nil ? "" : " (mutual TLS)"
            // Serve until SIGTERM or SIGINT, then stop accepting and let in-flight units of work commit. An ACK cut off
            // by the shutdown is safe: the sender retries and the repeat is answered from the message log.
            let signals = ShutdownSignals()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await server.run { address in
                        FileHandle.standardOutput.write(Data("caduceus: mllp listening on \(host):\(address.port ?? port)\(mode)\n".utf8))
                    }
                }
                group.addTask { await signals.wait() }
                _ = try await group.next()
                group.cancelAll()
            }
            FileHandle.standardOutput.write(Data("caduceus: stopped\n".utf8))
        }
    }

    static func hostPort(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw CLIError.usage("an address must be HOST:PORT")
        }
        return (String(text[..<colon]), port)
    }
}

/// SIGTERM and SIGINT as an awaitable event (the default handlers would end the process mid-write).
/// `@unchecked`: the dispatch sources are only held to keep them alive; nothing mutates them after `init`.
final class ShutdownSignals: @unchecked Sendable {
    let stream: AsyncStream<Int32>
    let sources: [any DispatchSourceSignal]

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    func wait() async {
        for await _ in stream { return }
    }
}
