package import CaduceusExchange
package import Configuration
package import CaduceusCore
package import CaduceusHL7
import CaduceusPKI
import Foundation

/// A node's configuration, read once at the composition root from swift-configuration (a JSON file, then
/// environment variables: `HTTPS_PORT` overrides `https.port`). Every key has a default that makes a single machine
/// play every role.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `node.id` | `node.local` | the node id (its certificate's CN) |
/// | `node.roles` | `hospital,regional,global` | roles played |
/// | `node.organization` | `Caduceus node` | custodian name in generated documents |
/// | `https.host`, `https.port` | `127.0.0.1`, `8443` | where the node listens (port 0: a free port) |
/// | `https.endpoint` | `https://HOST:PORT` | the URL other nodes use |
/// | `federation.regional` | `node.id` | the regional node (registry, MPI) this node uses |
/// | `federation.directory` | this node's endpoint | the global node's URL |
/// | `tls.certificate`, `tls.key`, `tls.trust` | a local PKI made under the data directory | node chain, key, federation root (PEM files) |
/// | `tls.crls` | `DATA/crl` | the node's revocation lists (`*.crl`, kept current while it runs; revocation is required: a CA with no fresh list here is refused) |
/// | `revocation.grace` | `3600` | seconds past a list's nextUpdate that it still counts |
/// | `revocation.fetch` | `300` | seconds between fetches of the other nodes' lists |
/// | `revocation.http` | `https.host`, a port the kernel chooses | `HOST:PORT` of the plain-HTTP listener serving the node's revocation lists and nothing else (`GET /crl`, `GET /crl/NAME.crl`; named in the directory entry), for CRL distribution points and the way back from stale lists; `off` for none |
/// | `revocation.ocsp` | `60` | seconds a verified OCSP answer about a card is reused at sign-in (0: ask every time); `off`: ask no responder (the CRLs alone decide) |
/// | `revocation.responder` | `600` | seconds an answer of this node's OCSP responders is fresh (its nextUpdate) |
/// | `pki.hosted` | `DATA/pki/root` when the node made its local PKI | CA directories this node hosts (comma-separated): it publishes their lists |
/// | `hl7.domains` | none | assigning authorities accepted over MLLP |
/// | `hl7.charset` | `UTF-8` | the MLLP interface's character set for messages without MSH-18 (`UTF-8`, `ISO-8859-1`, `ASCII`), like an interface engine's connector encoding |
/// | `audit.repository.host`, `audit.repository.port` | `https.host`, `6514` | where a regional node's audit repository listens (RFC 5425 syslog over mutual TLS; port 0: a free port) |
/// | `policy.file` | the shipped default | the access policy (JSON, validated; refused if group- or world-writable); a change is audited at the next start |
/// | `node.certificate.lifetime` | `7` | days a renewed node certificate is valid; `off`: the node never renews its own certificate |
/// | `node.certificate.renew` | `33` | renew when less than this percentage of the certificate's validity is left (5 to 90) |
/// | `node.certificate.check` | `3600` | seconds between looks at the node certificate's expiry (60 to 86400) |
/// | `node.token.module`, `node.token.label`, `node.token.pin-file`, `node.token.key-id` | none | the node's key on a PKCS#11 token (an HSM): module path, token label, a file whose first line is the PIN, the key's CKA_ID in hex (default: the token's only key); `tls.certificate` then names the certificate and chain, and `tls.key` is not read |
/// | `cards.encoder.module` | none | the card station's card encoder: a PKCS#11 module (OpenSC's `opensc-pkcs11.so` for PIV cards, SoftHSM2's `libsofthsm2.so`) whose blank tokens the station can issue cards onto; no PIN or key here (the officer types the token's PIN at the station). Unset: cards are issued as PKCS#12 files only |
/// | `audit.ship` | `true` | whether a node that is not regional ships its audit trail to its regional repository |
package struct NodeConfiguration: Sendable {
    package var nodeId: String
    package var roles: Set<NodeRole>
    package var organization: String
    package var host: String
    package var port: Int
    package var endpoint: String?
    package var regionalNode: String?
    package var directoryEndpoint: String?
    package var certificatePath: String?
    package var keyPath: String?
    package var trustPath: String?
    package var crlDirectory: String?
    package var revocationGrace: Int
    package var revocationFetch: Int
    package var hostedCAs: [String]
    package var revocationHTTP: String?
    /// OCSP: the client's cache and the responders' answer validity.
    package var ocsp: OCSPSettings
    package var hl7Domains: [String]
    /// The MLLP interface's character set for messages that do not declare one in MSH-18.
    package var hl7CharacterSet: HL7CharacterSet
    package var auditRepositoryHost: String
    package var auditRepositoryPort: Int
    package var auditShip: Bool
    package var policyFile: String?
    /// Renewal of the node's own certificate.
    package var renewal: RenewalSettings
    /// The node's key on a PKCS#11 token, when it lives there.
    package var token: NodeTokenSettings?
    /// The card station's card encoder (a PKCS#11 module's path), when one is attached.
    package var cardEncoderModule: String?

    /// Reads the configuration.
    /// - Throws: `config.invalid` for an unknown role or a bad port.
    package init(reader: ConfigReader) throws {
        nodeId = reader.string(forKey: "node.id", default: "node.local")
        let roleNames = reader.string(forKey: "node.roles", default: "hospital,regional,global").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var roles = Set<NodeRole>()
        for name in roleNames {
            guard let role = NodeRole(rawValue: name) else { throw ConfigurationError("node.roles names an unknown role (hospital, regional, global)") }
            roles.insert(role)
        }
        guard !roles.isEmpty else { throw ConfigurationError("node.roles names no role") }
        self.roles = roles
        organization = reader.string(forKey: "node.organization", default: "Caduceus node")
        host = reader.string(forKey: "https.host", default: "127.0.0.1")
        port = reader.int(forKey: "https.port", default: 8443)
        guard (0...65535).contains(port) else { throw ConfigurationError("https.port is not a TCP port") }
        endpoint = reader.string(forKey: "https.endpoint")
        regionalNode = reader.string(forKey: "federation.regional")
        directoryEndpoint = reader.string(forKey: "federation.directory")
        certificatePath = reader.string(forKey: "tls.certificate")
        keyPath = reader.string(forKey: "tls.key")
        trustPath = reader.string(forKey: "tls.trust")
        crlDirectory = reader.string(forKey: "tls.crls")
        revocationGrace = reader.int(forKey: "revocation.grace", default: 3600)
        revocationFetch = reader.int(forKey: "revocation.fetch", default: 300)
        guard (0...86_400).contains(revocationGrace), (1...86_400).contains(revocationFetch) else {
            throw ConfigurationError("revocation.grace must be 0 to 86400 seconds and revocation.fetch 1 to 86400")
        }
        revocationHTTP = reader.string(forKey: "revocation.http")
        let ocspCache = reader.string(forKey: "revocation.ocsp", default: "60")
        let responderValidity = reader.int(forKey: "revocation.responder", default: 600)
        guard ocspCache == "off" || Int(ocspCache).map({ (0...3600).contains($0) }) == true, (60...86_400).contains(responderValidity) else {
            throw ConfigurationError("revocation.ocsp must be 0 to 3600 seconds or off, and revocation.responder 60 to 86400 seconds")
        }
        ocsp = OCSPSettings(cacheSeconds: ocspCache == "off" ? nil : Int(ocspCache), responderValidity: responderValidity)
        hostedCAs = reader.string(forKey: "pki.hosted", default: "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        auditRepositoryHost = reader.string(forKey: "audit.repository.host", default: host)
        auditRepositoryPort = reader.int(forKey: "audit.repository.port", default: 6514)
        guard (0...65535).contains(auditRepositoryPort) else { throw ConfigurationError("audit.repository.port is not a TCP port") }
        auditShip = reader.bool(forKey: "audit.ship", default: true)
        policyFile = reader.string(forKey: "policy.file")
        var renewal = RenewalSettings()
        let lifetime = reader.string(forKey: "node.certificate.lifetime", default: "7")
        if lifetime == "off" {
            renewal.enabled = false
        } else {
            guard let days = Int(lifetime), (1...825).contains(days) else { throw ConfigurationError("node.certificate.lifetime must be 1 to 825 days, or off") }
            renewal.lifetimeDays = days
        }
        renewal.renewAtPercentLeft = reader.int(forKey: "node.certificate.renew", default: 33)
        renewal.checkSeconds = reader.int(forKey: "node.certificate.check", default: 3600)
        guard (5...90).contains(renewal.renewAtPercentLeft), (60...86_400).contains(renewal.checkSeconds) else {
            throw ConfigurationError("node.certificate.renew must be 5 to 90 (percent) and node.certificate.check 60 to 86400 seconds")
        }
        self.renewal = renewal
        if let module = reader.string(forKey: "node.token.module") {
            guard let label = reader.string(forKey: "node.token.label"), let pinFile = reader.string(forKey: "node.token.pin-file") else {
                throw ConfigurationError("node.token.module needs node.token.label and node.token.pin-file")
            }
            token = NodeTokenSettings(module: module, label: label, pinFile: pinFile, keyId: reader.string(forKey: "node.token.key-id"))
        } else {
            token = nil
        }
        cardEncoderModule = reader.string(forKey: "cards.encoder.module")
        guard cardEncoderModule.map({ $0.hasPrefix("/") }) != false else {
            throw ConfigurationError("cards.encoder.module must be the absolute path of a PKCS#11 module")
        }
        hl7Domains = reader.string(forKey: "hl7.domains", default: "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let charset = reader.string(forKey: "hl7.charset", default: "UTF-8")
        guard let hl7CharacterSet = HL7CharacterSet(name: charset) else {
            throw ConfigurationError("hl7.charset names a character set other than UTF-8, ISO-8859-1, ASCII")
        }
        self.hl7CharacterSet = hl7CharacterSet
    }
}

/// Where a node's own key lives when it is on a PKCS#11 token (`node.token.*`).
package struct NodeTokenSettings: Sendable, Equatable {
    package var module: String
    package var label: String
    package var pinFile: String
    package var keyId: String?
}

/// A configuration that cannot be used.
package struct ConfigurationError: CaduceusError {
    package let code = "config.invalid"
    package let message: String
    package var category: ErrorCategory { .client }
    package init(_ message: String) { self.message = message }
}

/// The PKI a first `caduceus serve` makes when it is given no certificates: a root CA under `DATA/pki/root`, a node
/// certificate for the node id (DNS `localhost`), and a staff card `DATA/users/admin.p12` (a physician's card, role in
/// the subject's OU; password beside it).
package enum LocalPKI {
    /// Paths of what it made.
    package struct Files: Sendable {
        package var certificate: String
        package var key: String
        package var trust: String
        package var adminCard: String
        package var created: Bool
    }

    /// Makes the PKI once; later calls return the same files.
    package static func ensure(in data: String, nodeId: String, nodeCertificateDays: Int = 397) throws -> Files {
        let files = Files(certificate: data + "/node.chain.pem", key: data + "/node.key.pem", trust: data + "/root.pem", adminCard: data + "/users/admin.p12", created: false)
        if FileManager.default.fileExists(atPath: files.certificate), FileManager.default.fileExists(atPath: files.key) { return files }
        let now = Date()
        let root = try CAStore.createRoot(at: data + "/pki/root", subject: try federationName(commonName: "Caduceus Local Root CA"), now: now)
        let key = try PrivateKeyMaterial.generate(.p256)
        let cert = try root.issue(profile: .node(dnsNames: ["localhost"]), subject: try federationName(commonName: nodeId), publicKey: key.publicKey, now: now, validityDays: nodeCertificateDays)
        let rootCert = try root.authority().certificate
        try AtomicFile.write(Data(try PEM.encode([rootCert]).utf8), to: files.trust)
        try AtomicFile.write(Data(try PEM.encode([cert]).utf8), to: files.certificate)
        try AtomicFile.write(Data(key.pkcs8PEM.utf8), to: files.key, permissions: 0o600)
        try FileManager.default.createDirectory(atPath: data + "/users", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let cardKey = try PrivateKeyMaterial.generate(.p256)
        let cardCert = try root.issue(profile: .person(email: "admin@localhost"), subject: try federationName(commonName: "Local clinician", organization: nodeId, unit: "physician"), publicKey: cardKey.publicKey, now: now)
        let card = try Credential(key: cardKey, certificate: cardCert, chain: [])
        let password = Sensitive(Hex.encode((0..<9).map { _ in UInt8.random(in: 0...255) }))
        try AtomicFile.write(Data(try PKCS12.export(card, password: password)), to: files.adminCard, permissions: 0o600)
        try AtomicFile.write(Data((password.unsafeValue + "\n").utf8), to: data + "/users/admin.password", permissions: 0o600)
        var made = files
        made.created = true
        return made
    }
}
