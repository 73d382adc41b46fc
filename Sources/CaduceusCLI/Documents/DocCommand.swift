import ArgumentParser
import CaduceusCDA
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusPolicy
import CaduceusStorage
import Foundation
import X509

/// `caduceus doc submit|query|retrieve|transfer|patients|consent|access-report`: a person, signed in with their card credential, talking to
/// their node. Every request is an envelope signed with the card and encrypted to the node; every answer is signed by
/// the node and encrypted to the card.
struct DocCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doc", abstract: "Submit, find, retrieve and transfer documents through a node, with your card credential.",
        subcommands: [Submit.self, Query.self, Retrieve.self, Transfer.self, Patients.self, Consent.self, AccessReport.self])

    /// Where the node is and who you are.
    struct Connection: ParsableArguments {
        @Option(help: "The node's HTTPS URL (https://host:port).") var node: String
        @Option(help: "Federation root certificate(s), PEM.") var trust: String
        @OptionGroup var credential: CredentialOptions
        @Option(help: "Purpose of use to sign in with (TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH; PATRQT with a patient card).") var purpose: String = "TREAT"
        @Option(help: "Why (required with ETREAT: an emergency override, audited and reviewed).") var reason: String?

        /// A client: the node's own entry (GET /v1/node) gives its id and certificate, which must chain to --trust
        /// and carry that id as CN before anything is encrypted to it.
        func client() async throws -> UserClient {
            let me = try credential.load()
            let anchors = try PEM.certificates(fromFile: trust)
            let validator = ChainValidator(anchors: anchors)
            let anchorsPEM = try PEM.encode(anchors)
            let probe = try PeerClient(credential: me, anchorsPEM: anchorsPEM, validator: { validator })
            let bytes = try await probe.get(node, path: "/v1/node")
            probe.close()
            guard let entry = try? JSONDecoder.exchange.decode(DirectoryNode.self, from: Data(bytes)),
                  let leaf = try PEM.certificates(fromPEM: entry.certificatePEM).first
            else { throw CLIError(code: "exchange.peer-unavailable", message: "the node did not describe itself") }
            guard case .trusted = await validator.validate(leaf, intermediates: Array(try PEM.certificates(fromPEM: entry.certificatePEM).dropFirst()), usage: .smimeEncryption, validityTime: Date(), now: Date()),
                  FederationIdentity(leaf)?.commonName == entry.id
            else { throw CLIError(code: "exchange.signer-rejected", message: "the node's certificate does not chain to --trust") }
            let client = try UserClient(credential: me, nodeId: entry.id, endpoint: node, nodeCertificate: leaf, anchorsPEM: anchorsPEM, validator: { validator })
            try await client.signIn(purpose: purpose, reason: reason)
            return client
        }
    }

    static func printJSON(_ value: some Encodable) throws {
        let e = JSONEncoder.exchange
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        FileHandle.standardOutput.write(try e.encode(value) + Data("\n".utf8))
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Provide-and-register: store documents (CDA XML or DICOM) at the node and register them; prints the entries.")
        @OptionGroup var connection: Connection
        @Option(help: "The patient's id at this hospital (MRN).") var patient: String
        @Option(help: "The id's assigning authority (OID).") var authority: String
        @Option(help: "Override the confidentiality code (N, R, V).") var confidentiality: String?
        @Option(help: "The unique id this (single) document replaces.") var replaces: String?
        @Argument(help: "Document files; DICOM is recognised by its DICM prefix, anything else is sent as CDA XML.") var files: [String]

        func run() async throws {
            try await reportingErrors {
                var parts: [MIMEPart] = []
                for (n, f) in files.enumerated() {
                    let bytes = try Files.read(f, what: "document")
                    let dicom = bytes.count > 132 && Array(bytes[128..<132]) == Array("DICM".utf8)
                    parts.append(MIMEPart(contentType: dicom ? "application/dicom" : "text/xml", id: "part-\(n)", body: bytes))
                }
                let client = try await connection.client()
                let entries = try await client.submit(parts, patient: PatientIdentifier(id: patient, authority: authority), confidentiality: confidentiality, replaces: replaces)
                try DocCommand.printJSON(entries)
            }
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "FindDocuments (by patient, with filters) or GetDocuments (--id); prints the entries.")
        @OptionGroup var connection: Connection
        @Option(help: "The patient's id (in any domain the MPI links).") var patient: String?
        @Option(help: "The id's assigning authority (OID).") var authority: String?
        @Option(help: "classCode filter (repeatable).") var `class`: [String] = []
        @Option(help: "typeCode filter (repeatable).") var type: [String] = []
        @Option(help: "confidentialityCode filter (repeatable).") var confidentiality: [String] = []
        @Option(help: "Created on or after (YYYYMMDD).") var from: String?
        @Option(help: "Created before (YYYYMMDD).") var to: String?
        @Option(help: "Status (Approved, Deprecated; repeatable; default Approved).") var status: [String] = []
        @Option(help: "GetDocuments: unique ids (repeatable) instead of a patient.") var id: [String] = []

        func run() async throws {
            try await reportingErrors {
                let query: StoredQuery
                if !id.isEmpty {
                    query = .getDocuments(uniqueIds: id)
                } else {
                    guard let patient, let authority else { throw CLIError.usage("give --patient and --authority, or --id") }
                    func day(_ s: String?) throws -> Date? {
                        guard let s else { return nil }
                        guard let t = HL7Timestamp(s) else { throw CLIError.usage("dates are YYYYMMDD") }
                        return t.date
                    }
                    var statuses: [AvailabilityStatus] = []
                    for s in status {
                        guard let v = AvailabilityStatus(rawValue: s) else { throw CLIError.usage("--status is Approved or Deprecated") }
                        statuses.append(v)
                    }
                    query = .findDocuments(.init(
                        patientId: PatientIdentifier(id: patient, authority: authority), classCodes: `class`, typeCodes: type,
                        confidentialityCodes: confidentiality, createdFrom: try day(from), createdTo: try day(to), statuses: statuses.isEmpty ? [.approved] : statuses))
                }
                let client = try await connection.client()
                try DocCommand.printJSON(try await client.query(query))
            }
        }
    }

    struct Retrieve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fetch documents from the repositories holding them; writes each to --out as UNIQUEID.xml / .dcm.")
        @OptionGroup var connection: Connection
        @Option(help: "Directory for the documents.") var out: String
        @Argument(help: "Unique ids.") var ids: [String]

        func run() async throws {
            try await reportingErrors {
                let client = try await connection.client()
                let (response, parts) = try await client.retrieve(ids)
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                for part in parts {
                    let uid = part.contentID ?? "document"
                    let safe = String(uid.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
                    let path = out + "/" + safe + (part.mediaType == "application/dicom" ? ".dcm" : ".xml")
                    try AtomicFile.write(Data(part.body), to: path, permissions: 0o600)
                    print("\(path)  \(part.body.count) bytes  served by \(response.servedBy[uid] ?? "?")")
                }
            }
        }
    }

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Push documents held at this node to another node; prints its signed receipt.")
        @OptionGroup var connection: Connection
        @Option(help: "The receiving node's id.") var to: String
        @Option(help: "Why (kept with the transfer).") var reason: String = ""
        @Argument(help: "Unique ids.") var ids: [String]

        func run() async throws {
            try await reportingErrors {
                let client = try await connection.client()
                try DocCommand.printJSON(try await client.transfer(ids, to: to, reason: reason))
            }
        }
    }

    struct Patients: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Find patients by demographics (PDQ at the regional MPI); prints global ids and linked ids.")
        @OptionGroup var connection: Connection
        @Option var family: String = ""
        @Option var given: String = ""
        @Option(help: "YYYYMMDD.") var birthDate: String = ""
        @Option var sex: String = ""

        func run() async throws {
            try await reportingErrors {
                let client = try await connection.client()
                let found = try await client.findPatients(FindPatientsRequest(criteria: Demographics(family: family, given: given, birthDate: birthDate, sex: sex)))
                try DocCommand.printJSON(found.map { ["patientId": $0.patientId.description, "identities": $0.identities.map { "\($0.id)^^^&\($0.authority)&ISO" }.joined(separator: ", ")] })
            }
        }
    }

    struct Consent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "State, revoke or list a patient's consents, signed with your card (a patient for themselves, or a consent recorder).",
            discussion: """
                permit: opt in to sharing; deny: opt out, or with --document/--class withhold that document or class;                 --organization limits either to one node. revoke --id ID withdraws a consent; list prints the                 patient's consents as the regional registry holds them.
                """)
        enum Action: String, ExpressibleByArgument, CaseIterable { case permit, deny, revoke, list }
        @OptionGroup var connection: Connection
        @Argument(help: "permit, deny, revoke or list.") var action: Action
        @Option(help: "The patient's id.") var patient: String
        @Option(help: "Its assigning authority (OID).") var authority: String
        @Option(help: "Only for this organisation (node id).") var organization: String?
        @Option(help: "Only this document (unique id; deny only).") var document: String?
        @Option(help: "Only this class of documents (classCode; deny only).") var `class`: String?
        @Option(help: "Valid until (YYYYMMDD).") var until: String?
        @Option(help: "The consent to revoke.") var id: String?

        func run() async throws {
            try await reportingErrors {
                let subject = PatientIdentifier(id: patient, authority: authority)
                var until: Date?
                if let text = self.until {
                    guard let t = HL7Timestamp(text) else { throw CLIError.usage("--until is YYYYMMDD") }
                    until = t.date
                }
                let client = try await connection.client()
                switch action {
                case .list:
                    try DocCommand.printJSON(try await client.consents(of: subject))
                case .revoke:
                    guard let id else { throw CLIError.usage("revoke needs --id") }
                    try DocCommand.printJSON(try await client.revokeConsent(id, patient: subject))
                case .permit, .deny:
                    let directive = ConsentDirective(
                        id: UUID().uuidString.lowercased(), patient: subject.description, decision: action == .permit ? .permit : .deny,
                        organization: organization, documentId: document, classCode: `class`, validFrom: Date().addingTimeInterval(-60),
                        validUntil: until, issuedAt: Date())
                    try DocCommand.printJSON(try await client.stateConsent(directive))
                }
            }
        }
    }

    struct AccessReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "access-report",
            abstract: "Who touched a patient's record across the federation (yours with a patient card; any with an access-report reader's role).")
        @OptionGroup var connection: Connection
        @Option(help: "The patient's id.") var patient: String
        @Option(help: "Its assigning authority (OID).") var authority: String

        func run() async throws {
            try await reportingErrors {
                let client = try await connection.client()
                try DocCommand.printJSON(try await client.accessReport(of: PatientIdentifier(id: patient, authority: authority)))
            }
        }
    }
}
