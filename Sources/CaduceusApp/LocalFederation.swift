import CaduceusExchange
package import CaduceusHTTP
package import CaduceusPKCS11
package import CaduceusPKI
package import Logging
import CaduceusCore
package import Foundation
import ServiceLifecycle
import Synchronization
package import X509

/// A whole federation on one machine, each node isolated in its own data directory with its own keys and
/// certificates: a global node (root CA, directory), a regional node (registry, MPI), and two hospitals. Used by
/// `caduceus demo`, the end-to-end tests and the benchmarks.
///
/// Layout under `base`: `pki/<ca>/` (CA stores: each hosted by the node it certifies — the root by the global node,
/// the regional CA by the regional node, each hospital's by its node), `root.pem`, `nodes/<id>/` (data directories,
/// with `node.chain.pem`, `node.key.pem` and `crl/`, the node's own revocation lists), `users/<name>.p12` and
/// `.password`. Each node keeps its own trust: a revocation reaches the others through the federation (the hosting
/// node pushes the new list), not through a shared folder.
package final class LocalFederation: Sendable {
    /// Node ids.
    package static let global = "node.global", regional = "node.region-north", hospitalA = "node.hospital-a", hospitalB = "node.hospital-b"
    /// The patient id domain (assigning authority OID) of each hospital.
    package static let domainA = "2.16.840.1.113883.19.5.1", domainB = "2.16.840.1.113883.19.5.2"

    /// The roles a hospital CA of this federation may grant on staff cards; hospital B's CA may also certify its
    /// privacy officer.
    package static let staffRoles = ["physician", "nurse", "pharmacist", "administrative", "researcher"]

    /// What each CA of the federation may vouch for (``IssuerNamespace``): the regional CA its region's nodes,
    /// organisations, patient domains and roles; each hospital CA its own node, organisation and patient domain.
    package static func namespace(of ca: String) -> IssuerNamespace {
        switch ca {
        case "hospital-a":
            return IssuerNamespace(nodes: [hospitalA], organizations: [hospitalA], authorities: [domainA], roles: staffRoles)
        case "hospital-b":
            return IssuerNamespace(nodes: [hospitalB], organizations: [hospitalB], authorities: [domainB], roles: staffRoles + ["privacy-officer"])
        default:
            return IssuerNamespace(
                nodes: [regional, hospitalA, hospitalB], organizations: [regional, hospitalA, hospitalB], authorities: [domainA, domainB],
                roles: staffRoles + ["privacy-officer"])
        }
    }

    package let base: String
    /// Trust as an outside client of the federation sees it (the regional node's lists).
    package var trust: TrustStore { runtimes[Self.regional]!.trust }
    package let runtimes: [String: NodeRuntime]
    /// Cards: staff `clinician.hospital-a` (physician), `clinician.hospital-b` (nurse), `clerk.hospital-b`
    /// (administrative), `privacy.hospital-b` (privacy officer), and the demo patient's card ``patientCard``, issued by
    /// hospital A.
    package static let patientCard = "patient.hospital-a"

    /// The name on a demo staff card: the user's name with the title their role gives (only physicians are "Dr").
    package static func cardName(_ user: String, role: String) -> String {
        let title = ["physician": "Dr", "nurse": "Nurse", "administrative": "Clerk", "privacy-officer": "Officer"][role] ?? "Staff"
        return "\(title) \(user) (synthetic)"
    }
    /// The cards, by name.
    package let users: [String: Credential]
    /// The CA stores, by name (`global`, `regional`, `hospital-a`, `hospital-b`).
    package let authorities: [String: CAStore]

    /// The HTTPS endpoint of a node (known once the federation runs: each listener binds a port the kernel chooses).
    package func endpoint(_ id: String) -> String { runtimes[id]!.node.configuration.endpoint }

    /// Creates the PKI and the four nodes under `base` (which must not exist). Their listeners bind loopback ports
    /// the kernel chooses when the federation runs (``run(logger:shipAudit:_:)``).
    /// `cardEncoder`: the card encoder attached to hospital B's card station (none: PKCS#12 only).
    package static func create(at base: String, hospitalBKey: KeyAlgorithm = .rsa3072, cardEncoder: CardEncoder? = nil, benchmarkSink: Bool = false, logger: Logger) async throws -> LocalFederation {
        guard !FileManager.default.fileExists(atPath: base) else { throw ExchangeError(.badRequest, "the federation directory exists already") }
        let now = Date()
        let root = try CAStore.createRoot(at: base + "/pki/global", subject: try federationName(commonName: "Caduceus Global Root CA"), now: now)
        let regionalCA = try root.createSubordinate(at: base + "/pki/regional", subject: try federationName(commonName: "Region North CA"), pathLength: 1, namespace: namespace(of: "regional"), now: now)
        let caA = try regionalCA.createSubordinate(at: base + "/pki/hospital-a", subject: try federationName(commonName: "Hospital A CA"), pathLength: 0, permittedDNSDomains: ["hospital-a.caduceus.test"], namespace: namespace(of: "hospital-a"), now: now)
        let caB = try regionalCA.createSubordinate(at: base + "/pki/hospital-b", subject: try federationName(commonName: "Hospital B CA"), pathLength: 0, permittedDNSDomains: ["hospital-b.caduceus.test"], namespace: namespace(of: "hospital-b"), now: now)
        func issue(_ store: CAStore, _ profile: IssuanceProfile, _ cn: String, _ algorithm: KeyAlgorithm = .p256) throws -> Credential {
            let key = try PrivateKeyMaterial.generate(algorithm)
            // Node certificates are short-lived (``RenewalSettings``): each node renews its own from the CA it hosts.
            let cert = try store.issue(profile: profile, subject: try federationName(commonName: cn), publicKey: key.publicKey, now: now, validityDays: RenewalSettings().lifetimeDays)
            let authority = try store.authority()
            return try Credential(key: key, certificate: cert, chain: authority.chain.dropLast().map { $0 })
        }
        let rootCert = try root.authority().certificate
        try AtomicFile.write(Data(try PEM.encode([rootCert]).utf8), to: base + "/root.pem")
        // Every CA's first revocation list (valid 24 h), provisioned to every node with the trust anchor; the
        // hosting nodes renew and push them from then on.
        let authorities = ["global": root, "regional": regionalCA, "hospital-a": caA, "hospital-b": caB]
        var firstLists: [(name: String, crl: [UInt8], chain: String)] = []
        for (name, store) in authorities.sorted(by: { $0.key < $1.key }) {
            let authority = try store.authority()
            firstLists.append((name, try store.makeCRL(now: now).derEncoded, try PEM.encode([authority.certificate] + authority.parents.dropLast())))
        }
        let hosts: [String: CAStore] = [global: root, regional: regionalCA, hospitalA: caA, hospitalB: caB]
        let nodes: [(String, CAStore, Set<NodeRole>, KeyAlgorithm)] = [
            (global, root, [.global], .p256), (regional, regionalCA, [.regional], .p256),
            (hospitalA, caA, [.hospital], .p256), (hospitalB, caB, [.hospital], hospitalBKey),
        ]
        var runtimes: [String: NodeRuntime] = [:]
        for (id, ca, roles, algorithm) in nodes {
            let dns = id + ".caduceus.test"
            let credential = try issue(ca, .node(dnsNames: [dns]), id, algorithm)
            let dir = base + "/nodes/" + id
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.createDirectory(atPath: dir + "/crl", withIntermediateDirectories: true)
            try AtomicFile.write(Data(try PEM.encode([credential.certificate] + credential.chain).utf8), to: dir + "/node.chain.pem")
            try AtomicFile.write(Data(credential.key.pkcs8PEM.utf8), to: dir + "/node.key.pem", permissions: 0o600)
            for (name, crl, chain) in firstLists {
                try AtomicFile.write(Data(crl), to: dir + "/crl/" + name + ".crl")
                try AtomicFile.write(Data(chain.utf8), to: dir + "/crl/" + name + ".chain.pem")
            }
            let trust = TrustStore(anchors: [rootCert], crlDirectory: dir + "/crl")
            var nodeLogger = logger
            nodeLogger[metadataKey: "node"] = .string(id)
            // Endpoints are learnt at bind time; the directory's address once the global node is bound (``run``).
            let configuration = ExchangeConfiguration(nodeId: id, roles: roles, endpoint: "", regionalNode: regional, directoryEndpoint: "")
            runtimes[id] = try await NodeRuntime(directory: dir, configuration: configuration, credential: credential, trust: trust, host: "127.0.0.1", port: 0, hl7Domains: id == hospitalA ? [domainA] : id == hospitalB ? [domainB] : [], hostedAuthorities: [hosts[id]!], cardEncoder: id == hospitalB ? cardEncoder : nil, benchmarkSink: benchmarkSink, logger: nodeLogger)
        }
        var users: [String: Credential] = [:]
        try FileManager.default.createDirectory(atPath: base + "/users", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let staff = [
            ("clinician.hospital-a", caA, "hospital-a", "physician"), ("clinician.hospital-b", caB, "hospital-b", "nurse"),
            ("clerk.hospital-b", caB, "hospital-b", "administrative"), ("privacy.hospital-b", caB, "hospital-b", "privacy-officer"),
        ]
        for (name, ca, domain, role) in staff + [(Self.patientCard, caA, "hospital-a", "")] {
            let key = try PrivateKeyMaterial.generate(.p256)
            // Every card names its home organisation (O, the hospital's node id) as its CA vouches. A patient card
            // names the patient by identifier (CN = MRN, OU = assigning authority), never by name.
            let home = "node." + domain
            let cert = name == Self.patientCard
                ? try ca.issue(profile: .patient(email: nil), subject: try federationName(commonName: DemoData.mrnA, organization: home, unit: domainA), publicKey: key.publicKey, now: now)
                : try ca.issue(profile: .person(email: "\(name)@\(domain).caduceus.test"), subject: try federationName(commonName: Self.cardName(name, role: role), organization: home, unit: role), publicKey: key.publicKey, now: now)
            let card = try Credential(key: key, certificate: cert, chain: try ca.authority().chain.dropLast().map { $0 })
            users[name] = card
            let password = Sensitive("demo-" + Hex.encode((0..<6).map { _ in UInt8.random(in: 0...255) }))
            try AtomicFile.write(Data(try PKCS12.export(card, password: password)), to: "\(base)/users/\(name).p12", permissions: 0o600)
            try AtomicFile.write(Data((password.unsafeValue + "\n").utf8), to: "\(base)/users/\(name).password", permissions: 0o600)
        }
        return LocalFederation(base: base, runtimes: runtimes, users: users, authorities: authorities)
    }

    init(base: String, runtimes: [String: NodeRuntime], users: [String: Credential], authorities: [String: CAStore]) {
        self.base = base
        self.runtimes = runtimes
        self.users = users
        self.authorities = authorities
    }

    /// Runs every node's server (and the regional audit repository, with every other node shipping its trail to it
    /// unless `shipAudit` is false), publishes every node in the directory, runs `body`, then shuts the servers down
    /// gracefully. With `publishRevocations` false the nodes' revocation publishers do not run (lists change only
    /// through ``publishCRLs()``): tests of what a node does while its lists are older than its CAs' records.
    package func run<T: Sendable>(logger: Logger, shipAudit: Bool = true, publishRevocations: Bool = true, _ body: @escaping @Sendable (LocalFederation) async throws -> T) async throws -> T {
        let started = AsyncStream<Void>.makeStream()
        let count = Mutex(0)
        // Every node's HTTPS listener and its plain-HTTP revocation list listener.
        let total = runtimes.count * 2
        var services: [any Service] = []
        for runtime in runtimes.values {
            services.append(try runtime.service { _ in
                let done = count.withLock { c in
                    c += 1
                    return c == total
                }
                if done { started.continuation.yield() }
            })
            if let forwarder = runtime.forwarder { services.append(forwarder) }
            services.append(runtime.checkpointer())
            services.append(renewer(runtime.node.configuration.nodeId, logger: logger))
            if publishRevocations { services.append(runtime.revocationPublisher()) }
            services.append(runtime.revocationListener(host: "127.0.0.1", port: 0) { _ in
                if count.withLock({ c in c += 1; return c == total }) { started.continuation.yield() }
            })
            if runtime.node.configuration.roles.contains(.regional) {
                services.append(try runtime.auditRepository(host: "127.0.0.1", port: 0))
            } else if shipAudit, let shipper = try runtime.auditShipper() {
                services.append(shipper)
            }
        }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask { [self] in
                for await _ in started.stream { break }
                do {
                    // Every listener is bound: point the nodes at the global node's directory, then publish them.
                    let directory = endpoint(Self.global)
                    for (id, r) in runtimes where id != Self.global { r.node.useDirectory(at: directory) }
                    try await publishAll()
                    let result = try await body(self)
                    for r in runtimes.values { r.node.closeConnections() }
                    await group.triggerGracefulShutdown()
                    return result
                } catch {
                    for r in runtimes.values { r.node.closeConnections() }
                    await group.triggerGracefulShutdown()
                    throw error
                }
            }
            var result: T?
            for try await r in tasks { if let r { result = r } }
            guard let result else { throw ExchangeError(.peerUnavailable, "the federation stopped before the work finished") }
            return result
        }
    }

    /// Publishes every node in the directory (the global node first).
    package func publishAll() async throws {
        try await runtimes[Self.global]!.node.publishSelf()
        for id in [Self.regional, Self.hospitalA, Self.hospitalB] { try await runtimes[id]!.node.publishSelf() }
    }

    /// A client for a staff member at a node.
    package func client(_ user: String, at nodeId: String) throws -> UserClient {
        try client(card: users[user]!, at: nodeId)
    }

    /// A client for the holder of `card` at a node (a new connection: its handshake sees the node's lists as they are).
    package func client(card: Credential, at nodeId: String) throws -> UserClient {
        let runtime = runtimes[nodeId]!
        let chain = try PEM.certificates(fromFile: base + "/nodes/" + nodeId + "/node.chain.pem")
        return try UserClient(credential: card, nodeId: nodeId, endpoint: endpoint(nodeId), nodeCertificate: chain[0], anchorsPEM: runtime.trust.anchorsPEM, validator: { [trust = runtime.trust] in trust.validator() })
    }

    /// Issues a new staff card at hospital CA `ca` (`hospital-a`, `hospital-b`) in `role`.
    package func issueCard(_ name: String, ca: String, role: String) throws -> Credential {
        try issueCard(name, ca: ca, role: role, key: try PrivateKeyMaterial.generate(.p256))
    }

    /// Issues a staff card for `key`, which may live on a token (the CA certifies its public half; the key never
    /// comes here).
    package func issueCard(_ name: String, ca: String, role: String, key: PrivateKeyMaterial) throws -> Credential {
        let store = authorities[ca]!, home = "node." + ca
        let cert = try store.issue(profile: .person(email: "\(role)@\(ca).caduceus.test"), subject: try federationName(commonName: name, organization: home, unit: role), publicKey: key.publicKey, now: Date())
        return try Credential(key: key, certificate: cert, chain: try store.authority().chain.dropLast().map { $0 })
    }

    /// Revokes a node's certificate at its CA; the node hosting the CA publishes the new list to every node at once.
    package func revoke(nodeId: String, ca: String) async throws {
        let chain = try PEM.certificates(fromFile: base + "/nodes/" + nodeId + "/node.chain.pem")
        try await revoke(serial: chain[0].serialNumber, ca: ca)
    }

    /// Revokes `serial` at CA `ca` (`global`, `regional`, `hospital-a`, `hospital-b`) for `reason`; the node hosting
    /// the CA makes the new list and pushes it to every other node before this returns.
    package func revoke(serial: Certificate.SerialNumber, ca: String, reason: RevocationReason = .keyCompromise) async throws {
        try authorities[ca]!.revoke(serial: serial, reason: reason, now: Date())
        await publishCRLs()
    }

    /// Has every node hosting a CA publish what changed (as their publishers would within a second).
    package func publishCRLs() async {
        for runtime in runtimes.values { await runtime.publishRevocations() }
    }

    /// The renewer of a node's own certificate, writing back to its `node.chain.pem` and `node.key.pem`.
    package func renewer(_ nodeId: String, settings: RenewalSettings = RenewalSettings(), clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) -> NodeCertificateRenewer {
        let dir = base + "/nodes/" + nodeId
        return NodeCertificateRenewer(runtime: runtimes[nodeId]!, files: NodeCredentialFiles(certificate: dir + "/node.chain.pem", key: dir + "/node.key.pem"), settings: settings, clock: clock, logger: logger)
    }

    /// The node hosting CA `ca`.
    package func host(of ca: String) -> NodeRuntime {
        let ids = ["global": Self.global, "regional": Self.regional, "hospital-a": Self.hospitalA, "hospital-b": Self.hospitalB]
        return runtimes[ids[ca]!]!
    }
}
