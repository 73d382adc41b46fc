package import CaduceusExchange
package import CaduceusHL7
package import CaduceusPatientIndex
package import CaduceusPolicy
package import CaduceusHTTP
package import CaduceusPKI
package import X509
package import ServiceLifecycle
package import CaduceusStorageSQLite
package import Logging
import CaduceusCore
import CaduceusAudit
import CaduceusStorage
import CaduceusSyslog
package import CaduceusTLS
import CaduceusPortal
package import CaduceusPKCS11
import NIOCore
import Foundation
import Hummingbird
import Synchronization

/// One node assembled from its data directory: the SQLite store, the blob store, the MPI (regional role), the
/// exchange node, its peer client and its HTTPS application.
package final class NodeRuntime: Sendable {
    /// The exchange node.
    package let node: ExchangeNode
    /// The store.
    package let store: SQLiteStore
    /// Trust.
    package let trust: TrustStore
    /// The HL7 v2 receiver of a hospital node (EMR feeds), when it accepts any domain.
    package let hl7: HL7Receiver?
    /// Forwards HL7-registered identities to the regional MPI (hospital nodes that are not regional).
    package let forwarder: RegistrationForwarder?
    /// Signs audit checkpoints.
    package let auditKey: AuditSigningKey
    /// The CAs this node hosts (their files stay where they are): it publishes their revocation lists.
    package let hostedAuthorities: [CAStore]
    /// The OCSP responders of the hosted CAs (served on the plain-HTTP revocation listener).
    package let ocspResponders: OCSPService
    /// The OCSP client the node asks about every card that signs in (nil: `revocation.ocsp` is `off`).
    package let ocspClient: OCSPClient?
    /// What the revocation publisher last published, per hosted CA.
    let published = PublishedDigests()
    let revocationPortBox = Mutex<Int?>(nil)
    /// The patient id domains this node's EMR feeds register (part of its configuration fingerprint).
    let hl7Domains: Set<String>
    /// TLS presenting the node's current (renewable) credential.
    package let tls: RenewableTLS
    /// Request metrics.
    package let metrics = NodeMetrics()
    let settings: NodeServer.Settings
    let logger: Logger

    /// Opens the node stored under `directory` (`caduceus.sqlite`, `node.key`, `blobs/`, `xpid-authority`).
    package init(directory: String, configuration: ExchangeConfiguration, credential: Credential, trust: TrustStore, host: String, port: Int, hl7Domains: Set<String> = [], hl7CharacterSet: HL7CharacterSet = .utf8, thresholds: MatchThresholds = MatchThresholds(), policy: PolicySet? = nil, hostedAuthorities: [CAStore] = [], ocsp: OCSPSettings = OCSPSettings(), cardEncoder: CardEncoder? = nil, benchmarkSink: Bool = false, logger: Logger) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = try NodeKey.loadOrCreate(at: directory + "/node.key")
        auditKey = try AuditSigningKey.loadOrCreate(in: directory)
        store = try SQLiteStore(path: directory + "/caduceus.sqlite", nodeKey: key)
        let blobs = try BlobStore(directory: directory + "/blobs", cipher: store.cipher)
        // Every node keeps an MPI: the regional one is the federation's; a hospital's links its own EMRs' ids.
        let mpi = try await MPIService(store: store, globalAuthority: try NodeRuntime.globalAuthority(directory), thresholds: thresholds)
        let chainPEM = try PEM.encode([credential.certificate] + credential.chain)
        // The node's own credential, renewed in place (``NodeCertificateRenewer``): TLS servers and clients, envelopes
        // and assertions all take the current one when they use it.
        let credentials = RenewableCredential(credential)
        let renewableTLS = RenewableTLS(credentials: credentials, anchorsPEM: trust.anchorsPEM)
        self.tls = renewableTLS
        let transport = try PeerClient(tls: renewableTLS, validator: { trust.validator() })
        let policySet = try policy ?? PolicySet.shippedDefault()
        let ocspClient = ocsp.cacheSeconds.map { OCSPClient(cacheSeconds: Double($0)) }
        self.ocspClient = ocspClient
        ocspResponders = OCSPService(hosted: hostedAuthorities, validity: Double(ocsp.responderValidity))
        node = ExchangeNode(configuration: configuration, credentials: credentials, validator: { trust.validator() }, store: store, blobs: blobs, mpi: configuration.roles.contains(.regional) ? mpi : nil, transport: transport,
            policy: PolicyDecisionPoint(policy: policySet), revocation: trust, onlineStatus: ocspClient)
        try await node.restoreState()
        self.hl7Domains = hl7Domains
        try await ConfigurationAudit.record(policySet, configuration: configuration, hl7Domains: hl7Domains, certificate: credential.certificate, store: store)
        // A hospital that is not its own region forwards the identities its EMRs register to the regional MPI.
        var hl7Configuration = HL7ReceiverConfiguration(knownAuthorities: hl7Domains)
        hl7Configuration.defaultCharacterSet = hl7CharacterSet
        if configuration.roles.contains(.hospital), !configuration.roles.contains(.regional) {
            let forwarder = RegistrationForwarder(node: node, logger: logger)
            hl7Configuration.onPatientStored = { forwarder.enqueue($0) }
            self.forwarder = forwarder
        } else {
            self.forwarder = nil
        }
        hl7Configuration.queryPolicy = node.policy
        hl7 = hl7Domains.isEmpty ? nil : HL7Receiver(store: store, mpi: mpi, configuration: hl7Configuration)
        if configuration.roles.contains(.hospital), let hl7 { node.usePatientIntake(hl7) }
        self.trust = trust
        self.hostedAuthorities = hostedAuthorities
        var settings = NodeServer.Settings(host: host, port: port, certificateChainPEM: chainPEM, privateKeyPEM: (try? credential.key.pkcs8PEM) ?? "", anchorsPEM: trust.anchorsPEM)
        settings.benchmarkSink = benchmarkSink
        settings.tls = renewableTLS
        // Every node serves the web portal beside its API, behind the same gate; the card station issues onto tokens
        // when a card encoder is attached (`cards.encoder.module`).
        settings.portal = try Portal(node: node, logger: logger, cardEncoder: cardEncoder)
        self.settings = settings
        self.logger = logger
        // A hospital node issues its cards from the hosted CA that vouches for its organisation.
        if configuration.roles.contains(.hospital), let ca = HostedCardAuthority.choose(for: configuration.nodeId, among: hostedAuthorities) {
            node.useCardAuthority(HostedCardAuthority(store: ca, publish: { [self] in await self.publishRevocations() }))
        }
    }

    /// The audit repository of a regional node: an RFC 5425 listener (syslog over mutual TLS) on `host:port` (0: a free
    /// port) keeping every node's shipped trail; `audit.position` answers name the bound address.
    package func auditRepository(host: String, port: Int, onBound: @escaping @Sendable (Int) -> Void = { _ in }) throws -> any Service {
        let tls = try self.tls.serverContext()
        let receiver = AuditRepositoryReceiver(store: store, nodeId: node.configuration.nodeId, logger: logger)
        let server = SyslogServer(host: host, port: port, tls: tls, validator: { [trust] in trust.validator() }, logger: logger) { node, items in
            await receiver.receive(from: node, items)
        }
        return AuditRepositoryService(server: server, node: node, host: host, onBound: onBound)
    }

    /// The shipper of this node's audit trail to its regional repository (nil for the regional node itself).
    package func auditShipper(interval: Duration = .seconds(1)) throws -> AuditShipper? {
        let configuration = node.configuration
        guard !configuration.roles.contains(.regional), configuration.regionalNode != configuration.nodeId else { return nil }
        _ = try tls.clientContext()
        return AuditShipper(node: node, store: store, tls: { [tls] in try tls.clientContext() }, interval: interval, logger: logger)
    }

    /// The service keeping this node's revocation lists current (publishing its hosted CAs' lists, fetching the
    /// others'); `checkInterval` is how often the hosted CAs are looked at.
    package func revocationPublisher(checkInterval: Duration = .milliseconds(200), fetchInterval: Duration = .seconds(300)) -> RevocationPublisher {
        RevocationPublisher(node: node, trust: trust, hosted: hostedAuthorities, seen: published, checkInterval: checkInterval, fetchInterval: fetchInterval, logger: logger)
    }

    /// The plain-HTTP listener serving this node's revocation lists and its hosted CAs' OCSP responders (and nothing
    /// else) on `host:port` (0: the kernel chooses); once bound, its port is in ``revocationPort`` and `onRunning`
    /// gets it.
    package func revocationListener(host: String, port: Int, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> any Service {
        RevocationListener.application(trust: trust, ocsp: ocspResponders, host: host, port: port, logger: logger) { [self] bound in
            revocationPortBox.withLock { $0 = bound }
            node.servesRevocationLists(at: "http://\(host.contains(":") ? "[\(host)]" : host):\(bound)")
            await onRunning(bound)
        }
    }

    /// The port of the plain-HTTP revocation listener, once bound.
    package var revocationPort: Int? { revocationPortBox.withLock { $0 } }

    /// Publishes at once a new revocation list for every hosted CA whose revocations changed (what the running
    /// publisher would do at its next look); returns how many lists were made.
    @discardableResult
    package func publishRevocations() async -> Int { await revocationPublisher().publishChanged() }

    /// The audit checkpointer of this node.
    package func checkpointer(interval: Duration = .seconds(60)) -> AuditCheckpointer {
        AuditCheckpointer(key: auditKey, store: store, node: node.configuration.nodeId, interval: interval)
    }

    /// The node's HTTPS service on the configured host and port (0: the kernel chooses). Once bound, the node learns
    /// its own address (``ExchangeNode/bound(host:port:)``), then `onRunning` gets the port.
    package func service(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> any Service {
        try NodeServer.application(node: node, settings: settings, validator: { [trust] in trust.validator() }, metrics: metrics, logger: logger) { [node, settings] port in
            node.bound(host: settings.host, port: port)
            await onRunning(port)
        }
    }

    /// Puts a renewal of the node's certificate on the trail: `node.certificate-renewed` naming both serials, and the
    /// node's configuration fingerprint anew (which raises the Security Alert "Security Configuration").
    func recordRenewal(from old: Certificate, to new: Certificate, at now: Date) async throws {
        let configuration = node.configuration
        let participants = [
            AuditParticipant(userID: "renewal@" + configuration.nodeId, roles: [AuditCode("configuration", system: "caduceus-audit", display: "the node's configuration")], isRequestor: true),
            AuditParticipant(userID: configuration.nodeId, isRequestor: false, networkAccessPoint: configuration.endpoint),
        ]
        func serial(_ c: Certificate) -> AuditObject {
            AuditObject(typeCode: 2, role: 13, idType: AuditCode("certificate-serial", system: "caduceus-audit", display: "Certificate serial"), id: Hex.encode(c.serialNumber.bytes))
        }
        let event = AuditMessage(
            eventID: .applicationActivity, eventTypes: [AuditCode("node.certificate-renewed", system: "caduceus-operation", display: "Node certificate renewed")],
            action: .update, outcome: .success, time: now, sourceID: configuration.nodeId, participants: participants, objects: [serial(old), serial(new)])
        try await store.write { tx in _ = try tx.appendAudit([event]) }
        try await ConfigurationAudit.record("configuration", try ConfigurationAudit.fingerprint(configuration, hl7Domains: hl7Domains, certificate: new), display: "Node configuration", store: store, node: configuration.nodeId, endpoint: configuration.endpoint)
    }

    /// The OID under which a regional node issues global patient ids (2.25.<UUID>, made once).
    static func globalAuthority(_ directory: String) throws -> String {
        let path = directory + "/xpid-authority"
        if let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let oid = UUIDOID.make()
        try AtomicFile.write(Data(oid.utf8), to: path, permissions: 0o644)
        return oid
    }
}

/// Runs a syslog listener until graceful shutdown, publishing its address to the node once bound.
struct AuditRepositoryService: Service {
    let server: SyslogServer
    let node: ExchangeNode
    let host: String
    let onBound: @Sendable (Int) -> Void

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { [server, node, host, onBound] in
                try await server.run { address in
                    node.setAuditRepository(host: host, port: address.port ?? 0)
                    onBound(address.port ?? 0)
                }
            }
        } catch where Task.isShuttingDownGracefully {
            // Closing the listener at shutdown is not a failure.
        }
    }
}

/// OCSP at a node (RFC 6960): how long its client keeps a verified answer, and how long its responders' answers are
/// fresh.
package struct OCSPSettings: Sendable {
    /// Seconds a verified answer about a card is reused at sign-in (`revocation.ocsp`, default 60; 0: asked every
    /// time); nil: the node asks no responder at sign-in (the CRLs alone decide).
    package var cacheSeconds: Int?
    /// Seconds between thisUpdate and nextUpdate in this node's responders' answers (`revocation.responder`, 600).
    package var responderValidity: Int
    /// The defaults.
    package init(cacheSeconds: Int? = 60, responderValidity: Int = 600) {
        self.cacheSeconds = cacheSeconds
        self.responderValidity = responderValidity
    }
}
