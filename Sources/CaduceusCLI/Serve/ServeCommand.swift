import CaduceusTLS
import ArgumentParser
import CaduceusPolicy
import CaduceusCore
import CaduceusExchange
import CaduceusHL7
import CaduceusMLLP
import CaduceusPKI
import Foundation
import Logging
import NIOSSL
import X509
import CaduceusApp
import CaduceusPatientIndex
import CaduceusPKCS11
import Configuration
import ServiceLifecycle
import SystemPackage

/// `caduceus serve`: runs a node — the HTTPS exchange server (mutual TLS; roles from configuration) and, when asked,
/// the MLLP listener for HL7 v2 feeds. With no configuration it makes a local PKI under the data directory and plays
/// every role on localhost.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run a node: HTTPS (mutual TLS) exchange server, and an MLLP listener for HL7 v2.",
        discussion: """
            Configuration comes from --config (JSON) and environment variables (HTTPS_PORT for https.port, NODE_ROLES \
            for node.roles, …); see docs/operations.md for every key. A first run without certificates creates \
            DATA/root.pem, DATA/node.chain.pem, DATA/node.key.pem and a staff card DATA/users/admin.p12.
            """)

    @OptionGroup var node: NodeOptions

    @Option(help: "A JSON configuration file.") var config: String?

    @Option(name: .long, help: "HTTPS listen address HOST:PORT (overrides https.host/https.port; port 0 picks a free one).")
    var https: String?

    @Flag(help: "Do not run the HTTPS server (MLLP only).") var noHttps = false

    @Option(name: .long, help: "MLLP listen address HOST:PORT (port 0 picks a free one). Without it, no MLLP listener.")
    var mllp: String?

    @Option(name: .long, help: "An assigning authority (OID or namespace) MLLP accepts; repeat for several (adds to hl7.domains).")
    var domain: [String] = []

    @Option(name: .long, help: "Largest HL7 message in bytes (each message of a batch too; a batch as a whole is streamed, of any size).")
    var maxMessageBytes: Int = 16 << 20

    @Option(name: .long, help: "The MLLP interface's character set for messages without MSH-18: UTF-8 (default), ISO-8859-1 or ASCII (overrides hl7.charset).")
    var hl7Charset: String?

    @Option(name: .long, help: "Close MLLP connections idle for this many seconds.")
    var idleTimeout: Int64 = 300

    @Option(name: .long, help: "MLLP TLS: the node certificate chain (PEM, leaf first). With --tls-key and --tls-ca, MLLP requires mutual TLS.")
    var tlsCert: String?

    @Flag(name: .long, help: "Allow MLLP over plain TCP (no TLS): senders are identified by address only. Logged at start-up.")
    var insecurePlainMllp = false
    @Option(name: .long, help: "MLLP TLS: the node private key (PEM).")
    var tlsKey: String?

    @Option(name: .long, help: "MLLP TLS: federation trust anchors (PEM) that client certificates must chain to.")
    var tlsCa: String?

    @Option(name: .long, help: "MLLP TLS: a CRL (DER or PEM) to check client certificates against; repeat for several.")
    var tlsCrl: [String] = []

    func say(_ text: String) { FileHandle.standardOutput.write(Data("caduceus: \(text)\n".utf8)) }

    func run() async throws {
        try await reportingErrors {
            var providers: [any ConfigProvider] = [EnvironmentVariablesProvider()]
            if let config {
                guard FileManager.default.fileExists(atPath: config) else { throw CLIError.usage("--config names a missing file") }
                do {
                    providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(config)))
                } catch {
                    throw ConfigurationError("the configuration file is not valid JSON")
                }
            }
            var settings = try NodeConfiguration(reader: ConfigReader(providers: providers))
            if let https {
                let (h, p) = try Self.hostPort(https)
                settings.host = h
                settings.port = p
            }
            settings.hl7Domains += domain
            if let hl7Charset {
                guard let charset = HL7CharacterSet(name: hl7Charset) else {
                    throw CLIError.usage("--hl7-charset must be UTF-8, ISO-8859-1 or ASCII")
                }
                settings.hl7CharacterSet = charset
            }
            guard mllp == nil || !settings.hl7Domains.isEmpty else {
                throw CLIError.usage("name at least one --domain (an assigning authority this node accepts)")
            }
            try FileManager.default.createDirectory(atPath: node.data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var logger = Logger(label: "caduceus")
            logger.logLevel = .info
            var credentialFiles: NodeCredentialFiles?
            let runtime = try await openRuntime(settings, logger: logger, credentialFiles: &credentialFiles)
            var services: [any Service] = []
            if let runtime {
                services.append(try runtime.service { port in
                    say("https listening on \(runtime.node.configuration.endpoint) (mutual TLS; node \(runtime.node.configuration.nodeId); roles \(runtime.node.configuration.roles.map(\.rawValue).sorted().joined(separator: ",")))")
                    do {
                        try await runtime.node.publishSelf()
                    } catch {
                        let code = (error as? any CaduceusError)?.code ?? "exchange.peer-unavailable"
                        say("warning: could not publish this node in the directory (\(code))")
                    }
                })
            }
            if let forwarder = runtime?.forwarder { services.append(forwarder) }
            if let runtime {
                // The hosted CAs' lists are current before the first handshake; then kept current (and the other
                // nodes' fetched) while the node runs.
                await runtime.publishRevocations()
                services.append(runtime.revocationPublisher(fetchInterval: .seconds(settings.revocationFetch)))
                // On by default (on the HTTPS host, a port the kernel chooses, named in the directory entry): the
                // federation's way back when every list has gone stale. `revocation.http: off` turns it off.
                if settings.revocationHTTP != "off" {
                    let (host, port) = try settings.revocationHTTP.map { try Self.hostPort($0) } ?? (settings.host, 0)
                    services.append(runtime.revocationListener(host: host, port: port) { bound in
                        say("revocation lists on http://\(host):\(bound)/crl, OCSP on http://\(host):\(bound)/ocsp (plain HTTP: signed objects only)")
                        // Published in the directory entry (again, if HTTPS bound first).
                        if !runtime.node.configuration.endpoint.isEmpty { try? await runtime.node.publishSelf() }
                    })
                }
                services.append(runtime.checkpointer())
                // Short-lived node certificates: renewed before they expire by the CA this node hosts, without a restart.
                services.append(NodeCertificateRenewer(runtime: runtime, files: credentialFiles, settings: settings.renewal, logger: logger))
                if runtime.node.configuration.roles.contains(.regional) {
                    services.append(try runtime.auditRepository(host: settings.auditRepositoryHost, port: settings.auditRepositoryPort) { port in
                        say("audit repository listening on port \(port) (RFC 5425 syslog over mutual TLS)")
                    })
                } else if settings.auditShip, let shipper = try runtime.auditShipper() {
                    services.append(shipper)
                }
            }
            if let mllp {
                services.append(try await mllpService(mllp, settings: settings, runtime: runtime))
            }
            guard !services.isEmpty else { throw CLIError.usage("nothing to serve: HTTPS is off and no --mllp was given") }
            // SIGTERM/SIGINT: stop accepting, let in-flight units of work commit, then exit. An ACK cut off by the
            // shutdown is safe: the sender retries and the repeat is answered from the message log.
            let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            runtime?.node.closeConnections()
            say("stopped")
        }
    }

    /// The HTTPS node (nil with --no-https, in which case MLLP runs over a store opened on its own).
    func openRuntime(_ settings: NodeConfiguration, logger: Logger, credentialFiles: inout NodeCredentialFiles?) async throws -> NodeRuntime? {
        guard !noHttps else { return nil }
        var certificate = settings.certificatePath, key = settings.keyPath, trust = settings.trustPath
        var hosted = settings.hostedCAs
        if settings.token != nil {
            guard certificate != nil, trust != nil else { throw ConfigurationError("a node key on a token needs tls.certificate and tls.trust") }
        } else if certificate == nil || key == nil || trust == nil {
            guard certificate == nil, key == nil, trust == nil else {
                throw ConfigurationError("tls.certificate, tls.key and tls.trust go together")
            }
            // Short-lived when the node renews it (it hosts the root that issues it); 397 days when renewal is off.
            let files = try LocalPKI.ensure(in: node.data, nodeId: settings.nodeId, nodeCertificateDays: settings.renewal.enabled ? settings.renewal.lifetimeDays : 397)
            if files.created {
                say("created a local federation PKI: root \(files.trust), node certificate \(files.certificate), staff card \(files.adminCard)")
            }
            (certificate, key, trust) = (files.certificate, files.key, files.trust)
            // A node that made its own PKI hosts its root CA: it publishes the root's revocation list.
            if hosted.isEmpty { hosted = [node.data + "/pki/root"] }
        }
        // The node's key in its file, or on a token (an HSM) when `node.token.*` says so; a renewal left half done
        // is completed here (``NodeCredentialFiles``).
        let credential: Credential
        if let token = settings.token {
            let opened = try PKCS11Token(modulePath: token.module, label: token.label, pin: try Files.secret(token.pinFile, what: "PIN"))
            let id = try token.keyId.map { text -> [UInt8] in
                guard let bytes = Hex.decode(text), !bytes.isEmpty else { throw ConfigurationError("node.token.key-id must be hexadecimal") }
                return bytes
            }
            let onToken = try opened.credential(id: id, certificates: try PEM.certificates(fromFile: certificate!))
            let files = NodeCredentialFiles(certificate: certificate!, key: nil)
            credential = try files.load(tokenKey: onToken.key)
            credentialFiles = files
        } else {
            let files = NodeCredentialFiles(certificate: certificate!, key: key!)
            credential = try files.load()
            credentialFiles = files
        }
        let chain = [credential.certificate] + credential.chain
        guard FederationIdentity(chain[0])?.commonName == settings.nodeId else {
            throw ConfigurationError("node.id is not the CN of the node certificate")
        }
        let anchors = try PEM.certificates(fromFile: trust!)
        let crlDirectory = settings.crlDirectory ?? node.data + "/crl"
        try FileManager.default.createDirectory(atPath: crlDirectory, withIntermediateDirectories: true)
        // Port 0: the listener binds a port the kernel chooses, and the node learns its endpoint (and, when it is its
        // own directory, the directory's) from it.
        let port = settings.port
        let configuration = ExchangeConfiguration(
            nodeId: settings.nodeId, roles: settings.roles, endpoint: settings.endpoint ?? (port == 0 ? "" : "https://\(settings.host):\(port)"),
            regionalNode: settings.regionalNode ?? settings.nodeId, directoryEndpoint: settings.directoryEndpoint ?? "")
        return try await NodeRuntime(
            directory: node.data, configuration: configuration, credential: credential, trust: TrustStore(anchors: anchors, crlDirectory: crlDirectory, grace: Double(settings.revocationGrace)),
            host: settings.host, port: port, hl7Domains: Set(settings.hl7Domains), hl7CharacterSet: settings.hl7CharacterSet,
            thresholds: MatchThresholds(autoLink: node.mpiAutoLink, review: node.mpiReview),
            policy: try settings.policyFile.map { try PolicySet.load(file: $0) }, hostedAuthorities: try hosted.map { try CAStore(opening: $0) }, ocsp: settings.ocsp,
            cardEncoder: settings.cardEncoderModule.map { CardEncoder(modulePath: $0) }, logger: logger)
    }

    func mllpService(_ address: String, settings: NodeConfiguration, runtime: NodeRuntime?) async throws -> any Service {
        let (host, port) = try Self.hostPort(address)
        let receiver: HL7Receiver
        if let hl7 = runtime?.hl7 {
            receiver = hl7
        } else {
            let opened = try await node.open()
            var hl7Configuration = HL7ReceiverConfiguration(knownAuthorities: Set(settings.hl7Domains))
            hl7Configuration.defaultCharacterSet = settings.hl7CharacterSet
            receiver = HL7Receiver(store: opened.store, mpi: opened.mpi, configuration: hl7Configuration)
        }
        var configuration = MLLPServerConfiguration()
        configuration.host = host
        configuration.port = port
        // Limits an operator mistypes would turn into a denial of service (a 0-byte cap, an idle timeout of days).
        guard (1 << 10)...(256 << 20) ~= maxMessageBytes else { throw CLIError.usage("--max-message-bytes must be between 1 KiB and 256 MiB") }
        guard (1...3600) ~= idleTimeout else { throw CLIError.usage("--idle-timeout must be between 1 and 3600 seconds") }
        configuration.maxMessageBytes = maxMessageBytes
        configuration.idleTimeout = .seconds(idleTimeout)
        if let tlsCert, let tlsKey, let tlsCa {
            let anchorsPEM = try Files.text(tlsCa, what: "CA")
            let nodeCertificate = settings.certificatePath ?? node.data + "/node.chain.pem"
            if let runtime, URL(fileURLWithPath: tlsCert).standardizedFileURL.resolvingSymlinksInPath() == URL(fileURLWithPath: nodeCertificate).standardizedFileURL.resolvingSymlinksInPath() {
                // The node's own certificate: MLLP presents the current one in every handshake, renewals included.
                configuration.tls = try runtime.tls.serverContext()
            } else {
                configuration.tls = try FederationTLS.serverContext(
                    certificateChainPEM: try Files.text(tlsCert, what: "certificate"), privateKeyPEM: try Files.text(tlsKey, what: "key"),
                    anchorsPEM: anchorsPEM)
            }
            let anchors = try PEM.certificates(fromPEM: anchorsPEM)
            var crls: [CertificateRevocationList] = []
            for path in tlsCrl { crls.append(try CertificateRevocationList(pemOrDER: try Files.read(path, what: "CRL"))) }
            if let trust = runtime?.trust, trust.anchors == anchors {
                // The node's own lists, kept current while it runs, and required (fail closed), as for HTTPS. Files
                // given with --tls-crl are taken into them when newer.
                for crl in crls { trust.takeLocal(crl) }
                configuration.clientValidator = { trust.validator() }
            } else {
                // An MLLP listener on its own (no HTTPS node) or under another PKI: the lists given, best effort.
                let validator = ChainValidator(anchors: anchors, crls: crls)
                configuration.clientValidator = { validator }
            }
        } else if tlsCert != nil || tlsKey != nil || tlsCa != nil {
            throw CLIError.usage("TLS needs --tls-cert, --tls-key and --tls-ca together")
        } else if insecurePlainMllp {
            configuration.insecurePlainTCP = true
        } else {
            throw CLIError.usage("MLLP without TLS needs --insecure-plain-mllp (senders are then known by address only); give --tls-cert, --tls-key and --tls-ca for mutual TLS")
        }
        var logger = Logger(label: "caduceus.mllp")
        logger.logLevel = .info
        let server = MLLPServer(
            configuration: configuration, logger: logger, handler: { await receiver.receive($1, from: HL7Peer($0)) },
            oversized: { await receiver.rejectOversized(head: $0) },
            batch: { [maxMessageBytes] in HL7BatchSession(receiver: receiver, peer: HL7Peer($0), maxMessageBytes: maxMessageBytes) })
        let mode = configuration.tls == nil ? " (INSECURE: plain TCP, senders known by address only)" : " (mutual TLS)"
        return MLLPService(server: server) { boundPort in
            FileHandle.standardOutput.write(Data("caduceus: mllp listening on \(host):\(boundPort ?? port)\(mode)\n".utf8))
        }
    }

    static func hostPort(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw CLIError.usage("an address must be HOST:PORT")
        }
        return (String(text[..<colon]), port)
    }
}

/// The MLLP listener as a `Service`: runs until graceful shutdown, then stops accepting and lets in-flight work
/// finish.
struct MLLPService: Service {
    let server: MLLPServer
    let onListening: @Sendable (Int?) -> Void

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run { address in onListening(address.port) }
            }
        } catch is CancellationError {
            // Graceful shutdown: the listener stopped accepting and in-flight work finished.
        }
    }
}
