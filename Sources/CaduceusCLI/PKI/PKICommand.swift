import ArgumentParser
import CaduceusCore
import CaduceusPKI
import Foundation
import X509
import SwiftASN1

/// `caduceus pki …`: the federation PKI.
struct PKICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Create CAs, issue node and card certificates (fresh key or CSR), revoke, write CRLs, export PKCS#12.",
        subcommands: [InitRoot.self, InitCA.self, Issue.self, Revoke.self, CRL.self, ExportP12.self, List.self, Verify.self]
    )

    struct InitRoot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-root", abstract: "Create a self-signed root CA (the global node's) in a new directory.")
        @Option(help: "Directory for the CA.") var dir: String
        @Option(help: "Common name of the root.") var name: String
        @Option(help: "Organisation.") var org = "Caduceus Federation"
        @Option(help: "Key type: p256, rsa2048, rsa3072.") var keyType: KeyAlgorithm = .p256
        @Option(help: "Validity in days (default 7305).") var days: Int?
        @Option(help: "Path length limit below the root.") var pathLength = 2

        func run() async throws {
            try await reportingErrors {
                let store = try CAStore.createRoot(
                    at: dir, subject: try federationName(commonName: name, organization: org), keyAlgorithm: keyType,
                    now: Date(), validityDays: days, pathLength: pathLength)
                try CAAuditLog.record(ca: store.directory, action: "pki.init-root", serial: Hex.encode(try store.authority().certificate.serialNumber.bytes), detail: "created the root CA")
                print("root CA created in \(store.directory) (certificate: \(store.directory)/ca.pem)")
            }
        }
    }

    struct InitCA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-ca", abstract: "Create an issuing CA (regional or hospital) certified by a parent CA.")
        @Option(help: "Directory for the new CA.") var dir: String
        @Option(help: "Directory of the parent CA.") var parent: String
        @Option(help: "Common name.") var name: String
        @Option(help: "Organisation.") var org = "Caduceus Federation"
        @Option(help: "Path length: 1 for a regional CA that certifies hospital CAs, 0 for a hospital CA.")
        var pathLength: Int = 0
        @Option(help: "Permitted DNS subtree (name constraint; repeatable).") var permitDns: [String] = []
        @Option(name: .customLong("ns-node"), help: "A node id this CA may certify (namespace; repeatable).") var nsNodes: [String] = []
        @Option(name: .customLong("ns-organization"), help: "An organisation (a hospital's node id) whose staff, patient and interface certificates this CA may issue (namespace; repeatable).") var nsOrganizations: [String] = []
        @Option(name: .customLong("ns-authority"), help: "An assigning authority (OID) of the patients this CA may issue cards for (namespace; repeatable).") var nsAuthorities: [String] = []
        @Option(name: .customLong("ns-role"), help: "A functional role this CA may grant on staff cards (namespace; repeatable).") var nsRoles: [String] = []
        @Option(help: "Key type.") var keyType: KeyAlgorithm = .p256
        @Option(help: "Validity in days (default 3652).") var days: Int?

        func run() async throws {
            try await reportingErrors {
                let namespace = IssuerNamespace(nodes: nsNodes, organizations: nsOrganizations, authorities: nsAuthorities, roles: nsRoles)
                guard namespace != IssuerNamespace() else {
                    throw CLIError.usage("an issuing CA needs a namespace (what it may vouch for): --ns-node, --ns-organization, --ns-authority, --ns-role")
                }
                try CAAuditLog.check(ca: parent)
                let parentStore = try CAStore(opening: parent)
                let store = try parentStore.createSubordinate(
                    at: dir, subject: try federationName(commonName: name, organization: org), pathLength: pathLength,
                    permittedDNSDomains: permitDns, namespace: namespace, keyAlgorithm: keyType,
                    now: Date(), validityDays: days)
                let serial = Hex.encode(try store.authority().certificate.serialNumber.bytes)
                try CAAuditLog.record(ca: parent, action: "pki.issue", serial: serial, detail: "issued a subordinate CA certificate")
                try CAAuditLog.record(ca: store.directory, action: "pki.init-ca", serial: serial, detail: "created this issuing CA")
                print("issuing CA created in \(store.directory)")
            }
        }
    }

    enum Profile: String, ExpressibleByArgument, CaseIterable { case node, person, patient, interface }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a node, person (staff card), patient card or EMR interface certificate.",
            discussion: """
                Writes OUT.pem (certificate), OUT.chain.pem (certificate then chain) and, when the key is generated \
                here, OUT.key (PKCS#8, mode 0600). With --csr the key stays where it was generated (a smart card): \
                the request's signature must verify (proof of possession).
                """)
        @Option(help: "Issuing CA directory.") var ca: String
        @Option(help: "Profile: node, person, patient.") var profile: Profile
        @Option(help: "Subject common name (for a patient card: the patient's id in the --authority domain, never a name).") var name: String
        @Option(help: "DNS name (node; repeatable).") var dns: [String] = []
        @Option(help: "Email address (person; optional for patient).") var email: String?
        @Option(help: "Functional role of a staff card (physician, nurse, pharmacist, administrative, researcher), written as the subject's OU; sign-in reads it.") var role: String?
        @Option(help: "Assigning authority (OID) of a patient card's id, written as the subject's OU; the node links the card to the patient through the MPI.") var authority: String?
        @Option(help: "Home organisation (a hospital's node id), written as the subject's O: required for person, patient and interface certificates unless the CA's namespace names exactly one.") var organization: String?
        @Option(help: "Sending facility of an interface certificate (MSH-4), written as the subject's OU; the name is the sending application (MSH-3).") var facility: String?
        @Option(help: "PKCS#10 request (PEM or DER) instead of generating a key.") var csr: String?
        @Option(help: "Key type when generating.") var keyType: KeyAlgorithm = .p256
        @Option(help: "Validity in days.") var days: Int?
        @Option(help: "Output path prefix.") var out: String

        func run() async throws {
            try await reportingErrors {
                try CAAuditLog.check(ca: ca)
                let store = try CAStore(opening: ca)
                let issuance: IssuanceProfile
                switch profile {
                case .node: issuance = .node(dnsNames: dns)
                case .person:
                    guard let email else { throw CLIError.usage("a person certificate needs --email") }
                    issuance = .person(email: email)
                case .patient: issuance = .patient(email: email)
                case .interface: issuance = .interface
                }
                guard role == nil || profile == .person else { throw CLIError.usage("--role is for staff cards (--profile person)") }
                guard !(role ?? "").hasPrefix("system:") else { throw CLIError.usage("system:… roles are for interfaces, not people") }
                guard authority == nil || profile == .patient else { throw CLIError.usage("--authority is for patient cards (--profile patient)") }
                guard facility == nil || profile == .interface else { throw CLIError.usage("--facility is for interface certificates (--profile interface)") }
                var home = organization
                if home == nil, profile != .node, let only = try store.authority().namespace?.organizations, only.count == 1, only[0] != "*" {
                    home = only[0]
                }
                guard profile == .node || home != nil else { throw CLIError.usage("name the home organisation with --organization") }
                let subject = try federationName(commonName: name, organization: home ?? "Caduceus Federation", unit: role ?? authority ?? facility)
                let certificate: Certificate
                var key: PrivateKeyMaterial?
                if let csr {
                    let bytes = try Files.read(csr, what: "CSR")
                    let request: CertificateSigningRequest
                    do {
                        if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN") {
                            request = try CertificateSigningRequest(pemEncoded: text)
                        } else {
                            request = try CertificateSigningRequest(derEncoded: bytes)
                        }
                    } catch { throw PKIError(.malformed, "the CSR could not be parsed") }
                    certificate = try store.issue(csr: request, profile: issuance, subject: subject, now: Date(), validityDays: days)
                } else {
                    let generated = try PrivateKeyMaterial.generate(keyType)
                    certificate = try store.issue(
                        profile: issuance, subject: subject, publicKey: generated.publicKey, now: Date(), validityDays: days)
                    key = generated
                }
                let chain = try store.authority().chain
                if let key { try Files.write(Array(key.pkcs8PEM.utf8), to: out + ".key", permissions: 0o600) }
                try Files.write(Array(try PEM.encode([certificate] + chain).utf8), to: out + ".chain.pem")
                try Files.write(Array(try PEM.encode([certificate]).utf8), to: out + ".pem")
                try CAAuditLog.record(ca: ca, action: "pki.issue", serial: Hex.encode(certificate.serialNumber.bytes), detail: "issued a \(profile.rawValue) certificate")
                print("issued \(profile.rawValue) certificate serial \(Hex.encode(certificate.serialNumber.bytes)) -> \(out).pem")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a certificate the CA issued.")
        @Option(help: "CA directory.") var ca: String
        @Option(help: "Serial number in hex.") var serial: String?
        @Option(help: "Certificate file (instead of --serial).") var cert: String?
        @Option(help: "RFC 5280 reason: unspecified, keyCompromise, CACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, AACompromise.")
        var reason = "unspecified"

        func run() async throws {
            try await reportingErrors {
                try CAAuditLog.check(ca: ca)
                guard let why = RevocationReason(name: reason) else { throw CLIError.usage("unknown revocation reason") }
                let serialNumber: Certificate.SerialNumber
                if let serial {
                    guard let bytes = Hex.decode(serial), !bytes.isEmpty else { throw CLIError.usage("--serial must be hex") }
                    serialNumber = Certificate.SerialNumber(bytes: bytes)
                } else if let cert {
                    serialNumber = try PEM.certificates(fromFile: cert)[0].serialNumber
                } else {
                    throw CLIError.usage("give --serial or --cert")
                }
                try CAStore(opening: ca).revoke(serial: serialNumber, reason: why, now: Date())
                try CAAuditLog.record(ca: ca, action: "pki.revoke", serial: Hex.encode(serialNumber.bytes), detail: "revoked (\(why.name))")
                print("revoked \(Hex.encode(serialNumber.bytes)) (\(why.name)); publish a new CRL with `caduceus pki crl`")
            }
        }
    }

    struct CRL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a new CRL (next CRL number) for a CA.")
        @Option(help: "CA directory.") var ca: String
        @Option(help: "Output file.") var out: String
        @Option(help: "Days until nextUpdate.") var days = 7
        @Flag(help: "Write PEM instead of DER.") var pem = false

        func run() async throws {
            try await reportingErrors {
                try CAAuditLog.check(ca: ca)
                let crl = try CAStore(opening: ca).makeCRL(now: Date(), validityDays: days)
                try Files.write(pem ? Array(crl.pemEncoded.utf8) : crl.derEncoded, to: out)
                try CAAuditLog.record(ca: ca, action: "pki.crl", serial: nil, detail: "published CRL number \(Hex.encode(crl.crlNumber ?? [])) with \(crl.entries.count) revoked")
                print("CRL number \(Hex.encode(crl.crlNumber ?? [])) with \(crl.entries.count) revoked -> \(out)")
            }
        }
    }

    struct ExportP12: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-p12",
            abstract: "Export a credential (card) as PKCS#12: PBES2/PBKDF2-SHA256/AES-256-CBC, HMAC-SHA256 MAC.")
        @Option(help: "PEM file: certificate then chain.") var cert: String
        @Option(help: "PEM private key.") var key: String
        @Option(help: "File whose first line is the password.") var passwordFile: String
        @Option(help: "Friendly name.") var name: String?
        @Option(help: "Output file.") var out: String

        func run() async throws {
            try await reportingErrors {
                let loaded = try CredentialOptions.credential(certificateFile: cert, keyFile: key)
                let credential = try Credential(
                    key: loaded.key, certificate: loaded.certificate, chain: loaded.chain, friendlyName: name)
                let p12 = try PKCS12.export(credential, password: try Files.password(passwordFile))
                try Files.write(p12, to: out, permissions: 0o600)
                print("PKCS#12 written to \(out)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the certificates a CA issued.")
        @Option(help: "CA directory.") var ca: String

        func run() async throws {
            try await reportingErrors {
                for record in try CAStore(opening: ca).records() {
                    let reason = record.reason.flatMap(RevocationReason.init(rawValue:))?.name ?? ""
                    print("\(record.serial)  \(record.status.padding(toLength: 8, withPad: " ", startingAt: 0))  \(record.profile.padding(toLength: 7, withPad: " ", startingAt: 0))  \(record.subject)  \(reason)")
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a certificate against trust anchors and CRLs (like `openssl verify`).")
        @Option(help: "Certificate (PEM; further certificates in the file are used as intermediates).") var cert: String
        @Option(help: "Purpose: smimesign, smimeencrypt, sslserver, sslclient, any.") var purpose = "any"
        @OptionGroup var trust: TrustOptions

        func run() async throws {
            try await reportingErrors {
                let certificates = try PEM.certificates(fromFile: cert)
                let usage: CertificateUsage
                switch purpose {
                case "smimesign": usage = .smimeSigning
                case "smimeencrypt": usage = .smimeEncryption
                case "sslserver": usage = .tlsServer
                case "sslclient": usage = .tlsClient
                case "any": usage = .any
                default: throw CLIError.usage("unknown purpose")
                }
                let verdict = await try trust.validator().validate(
                    certificates[0], intermediates: Array(certificates.dropFirst()) + (try trust.extraCertificates()),
                    usage: usage, validityTime: Date(), now: Date())
                switch verdict {
                case .trusted(let chain): print("OK (chain of \(chain.count))")
                case .rejected(let error): throw error
                }
            }
        }
    }
}
