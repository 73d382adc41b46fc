import ArgumentParser
import CaduceusCore
import CaduceusPKCS11
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusStorage
import Foundation
import X509

/// `caduceus staff import|list`: the hospital's personnel registry, through its node, as a personnel administrator
/// signed in with their card.
struct StaffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff", abstract: "The hospital's personnel registry (HR import, list), through its node, with your card.",
        subcommands: [Import.self, List.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an HR export (CSV with a header: Employee ID, Last Name, First Name, Department, Role, Email, Status). All or nothing; staff it marks terminated lose their cards.")
        @OptionGroup var connection: DocCommand.Connection
        @Argument(help: "The CSV file.") var file: String

        func run() async throws {
            try await reportingErrors {
                let csv = try Files.text(file, what: "personnel")
                let client = try await connection.client()
                try DocCommand.printJSON(try await client.importStaff(csv: csv))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the personnel registry (CSV with --csv).")
        @OptionGroup var connection: DocCommand.Connection
        @Flag(help: "Include staff whose affiliation ended.") var all = false
        @Flag(help: "Print CSV (the import's columns) instead of JSON.") var csv = false

        func run() async throws {
            try await reportingErrors {
                let staff = try await connection.client().staff(includeInactive: all)
                if csv {
                    let rows = [["Employee ID", "Last Name", "First Name", "Department", "Role", "Email", "Status"]]
                        + staff.map { [$0.id, $0.family, $0.given, $0.department, $0.roles.joined(separator: ";"), $0.email, $0.active ? "Active" : "Terminated"] }
                    FileHandle.standardOutput.write(Data(CSV.encode(rows).utf8))
                } else {
                    try DocCommand.printJSON(staff)
                }
            }
        }
    }
}

/// `caduceus card …`: the card station, through a hospital node, as a card officer (or approver) signed in with their
/// card. Issued material (PKCS#12 and its one-time password, certificate chain, a patient's emergency data set) is
/// written to `--out`, never printed.
struct CardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card", abstract: "The card station: enrol, approve, issue, block, unblock, lost, terminate, renew, status; verify an emergency data set offline.",
        subcommands: [Enroll.self, Approve.self, Reject.self, Issue.self, Block.self, Unblock.self, Lost.self, Terminate.self, Renew.self, Status.self, VerifyEmergency.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask for a card: a staff member (--staff and --role) or a patient of this hospital (--patient and --authority).")
        @OptionGroup var connection: DocCommand.Connection
        @Option(help: "Employee id in the personnel registry.") var staff: String?
        @Option(help: "The functional role the card carries (one the registry gives the staff member).") var role: String?
        @Option(help: "The patient's id at this hospital (MRN).") var patient: String?
        @Option(help: "Its assigning authority (OID).") var authority: String?

        func run() async throws {
            try await reportingErrors {
                let request: CardEnrollRequest
                switch (staff, role, patient, authority) {
                case (let s?, let r?, nil, nil): request = CardEnrollRequest(staffId: s, role: r)
                case (nil, nil, let p?, let a?): request = CardEnrollRequest(patient: PatientIdentifier(id: p, authority: a))
                default: throw CLIError.usage("give --staff and --role, or --patient and --authority")
                }
                try DocCommand.printJSON(try await connection.client().enrollCard(request))
            }
        }
    }

    /// What every move takes: the card, and for moves that issue, where the key comes from and where it goes.
    struct MoveOptions: ParsableArguments {
        @OptionGroup var connection: DocCommand.Connection
        @Argument(help: "The card's id.") var card: String
        @Option(help: "PKCS#10 request (PEM) for a key the holder made (a token); without it the node makes the key and hands it over once as a PKCS#12.") var csr: String?
        @Option(help: "Directory for what is issued (issue): <card>.p12, <card>.password and <card>.emergency.p7s (mode 0600), <card>.chain.pem.") var out: String?

        func run(_ move: CardLifecycle.Action) async throws {
            try await reportingErrors {
                let issues = move == .issue
                guard !issues || out != nil else { throw CLIError.usage("\(move.rawValue) issues a card: give --out DIRECTORY") }
                let csrText = try csr.map { try Files.text($0, what: "certificate request") }
                let response = try await connection.client().cardAction(card, move, csr: csrText)
                if let issued = response.issued, let out {
                    let id = response.replacement?.id ?? response.card.id
                    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    try Files.write(Array(issued.certificateChain.utf8), to: "\(out)/\(id).chain.pem")
                    if let p12 = issued.pkcs12, let password = issued.password {
                        try Files.write(Array(p12), to: "\(out)/\(id).p12", permissions: 0o600)
                        try Files.write(Array((password + "\n").utf8), to: "\(out)/\(id).password", permissions: 0o600)
                    }
                    if let eds = issued.emergencyDataSet { try Files.write(Array(eds), to: "\(out)/\(id).emergency.p7s", permissions: 0o600) }
                }
                var shown = response
                shown.issued = nil
                try DocCommand.printJSON(shown)
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve an enrolment (not one you enrolled: four eyes).")
        @OptionGroup var options: MoveOptions
        func run() async throws { try await options.run(.approve) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject an enrolment.")
        @OptionGroup var options: MoveOptions
        func run() async throws { try await options.run(.reject) }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue an approved card (--out for what is issued).")
        @OptionGroup var options: MoveOptions
        func run() async throws { try await options.run(.issue) }
    }

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block a card (certificateHold): refused everywhere until unblocked.")
        @OptionGroup var options: MoveOptions
        func run() async throws { try await options.run(.block) }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a block.")
        @OptionGroup var options: MoveOptions
        func run() async throws { try await options.run(.unblock) }
    }

    struct Lost: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report a card lost: revoked for good at once; a replacement is enrolled for the same holder and role (approve, then issue it).")
        @OptionGroup var options: MoveOptions
        func run() async throws { try await options.run(.lost) }
    }

    struct Terminate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a card and its holder's affiliation: revoked for good.")
        @OptionGroup var options: MoveOptions
        func run() async throws { try await options.run(.terminate) }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Renew a card: a successor is enrolled (approve, then issue it under a new key); the old card is revoked as superseded when the successor is issued.")
        @OptionGroup var options: MoveOptions
        func run() async throws { try await options.run(.renew) }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The card registry: every card, one card (--card), or one staff member's (--staff).")
        @OptionGroup var connection: DocCommand.Connection
        @Option(help: "A card id.") var card: String?
        @Option(help: "An employee id.") var staff: String?

        func run() async throws {
            try await reportingErrors {
                try DocCommand.printJSON(try await connection.client().cards(CardListRequest(card: card, staffId: staff)))
            }
        }
    }

    struct VerifyEmergency: AsyncParsableCommand {
        /// The patient card's certificate named by `--card` (the first in the file), or nil without one.
        static func certificate(_ path: String?) throws -> Certificate? {
            try path.map { path -> Certificate in
                guard let first = try PEM.certificates(fromFile: path).first else { throw CLIError.usage("--card holds no certificate") }
                return first
            }
        }

        /// The patient card certificate a token holds: a set read from (or written to) a token must be that card's,
        /// or anyone holding the token could put another patient's validly signed set on it.
        static func patientCard(on token: PKCS11Token) throws -> Certificate {
            let patients = try token.certificates().map(\.certificate).filter { FederationIdentity($0)?.kind == .patient }
            guard patients.count == 1, let card = patients.first else {
                throw CLIError(code: "pkcs11.certificate-not-found", message: "the token holds no single patient card certificate to bind the emergency data set to; give --card")
            }
            return card
        }

        static let configuration = CommandConfiguration(
            commandName: "verify-emergency", abstract: "Verify a patient card's emergency data set offline (the issuing node's signature, its chain to --trust) and print it.")
        @Option(help: "Federation root certificate(s), PEM.") var trust: String
        @Option(help: "The patient card's certificate (<card>.chain.pem): the set must be this card's.") var card: String?
        @Argument(help: "The signed data set (<card>.emergency.p7s, DER); or read it from a patient's token with --token.") var file: String?
        @Option(help: "PKCS#11 module of the patient's token holding the set (instead of a file).") var token: String?
        @Option(help: "The token's label (with --token); the set is public: no PIN is asked.") var label: String?

        func run() async throws {
            try await reportingErrors {
                let signed: [UInt8]
                var tokenCard: Certificate?
                switch (file, token, label) {
                case (let file?, nil, nil):
                    signed = try Files.read(file, what: "emergency data set")
                case (nil, let module?, let label?):
                    let opened = try PKCS11Token(modulePath: module, label: label, pin: nil)
                    guard let stored = try opened.data(application: EmergencyDataSet.tokenApplication, label: EmergencyDataSet.tokenLabel) else {
                        throw CLIError(code: "pkcs11.object-not-found", message: "the token holds no emergency data set")
                    }
                    signed = stored
                    if card == nil { tokenCard = try Self.patientCard(on: opened) }
                default:
                    throw CLIError.usage("give the data set's file, or --token and --label (not both)")
                }
                let validator = ChainValidator(anchors: try PEM.certificates(fromFile: trust))
                let cardCertificate = try CardCommand.VerifyEmergency.certificate(card) ?? tokenCard
                try DocCommand.printJSON(try await EmergencyDataSet.verify(signed, validator: validator, now: Date(), card: cardCertificate))
            }
        }
    }
}
