import ArgumentParser
import CaduceusApp
import CaduceusAudit
import CaduceusCDA
import CaduceusCore
import CaduceusStorage
import CaduceusStorageSQLite
import Crypto
import Foundation

/// `caduceus audit verify|checkpoint|query|report|emergencies|review`: the node's hash-chained audit log and its
/// break-glass review queue.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify, checkpoint and read the tamper-evident audit log.",
        subcommands: [Verify.self, Checkpoint.self, Query.self, Report.self, Emergencies.self, Review.self])

    /// Fails with the problem's code and the first bad record.
    static func requireIntact(_ verdict: AuditVerification) throws {
        if let problem = verdict.problem {
            throw CLIError(code: problem.rawValue, message: "the audit log fails verification at record \(verdict.firstBad ?? 0) (\(verdict.records) records read)")
        }
    }

    static func open(_ data: String) throws -> SQLiteStore {
        guard FileManager.default.fileExists(atPath: data + "/caduceus.sqlite") else { throw CLIError.usage("--data names no node data directory") }
        return try SQLiteStore(path: data + "/caduceus.sqlite", nodeKey: try NodeKey.loadOrCreate(at: data + "/node.key"))
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every hash, link, sequence number and signed checkpoint; report the first bad record.",
            discussion: "--held adds checkpoints kept elsewhere (the regional repository's copy, or `audit checkpoint` output saved off the node): they catch truncation and a rolled-back database.")
        @Option(help: "The node's data directory.") var data: String = "caduceus-data"
        @Option(help: "A checkpoint JSON file kept elsewhere (repeatable).") var held: [String] = []
        @Option(help: "A CA's audit log (CA/audit.log) to verify instead of a node's.") var file: String?

        func run() async throws {
            try await reportingErrors {
                if let file {
                    guard FileManager.default.fileExists(atPath: file) else { throw CLIError.usage("--file names no audit log") }
                    let verdict = try CAAuditLog.verify(file)
                    try AuditCommand.requireIntact(verdict)
                    print("audit log intact: \(verdict.records) records")
                    return
                }
                let store = try AuditCommand.open(data)
                let key = try AuditSigningKey.publicKey(in: data)
                var extra: [AuditCheckpoint] = []
                for f in held {
                    guard let c = try? JSONDecoder().decode(AuditCheckpoint.self, from: Data(try Files.read(f, what: "checkpoint"))) else {
                        throw CLIError.usage("\(f) is not a checkpoint")
                    }
                    extra.append(c)
                }
                let started = ContinuousClock.now
                let heldCheckpoints = extra
                let verdict = try await store.read { try $0.verifyAuditLog(key: key, held: heldCheckpoints) }
                let seconds = started.duration(to: .now).seconds
                try AuditCommand.requireIntact(verdict)
                print(String(format: "audit log intact: %llu records, %d checkpoints matched (%.2f s)", verdict.records, verdict.checkpointsMatched, seconds))
            }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a checkpoint of the log's head now; prints it as JSON (keep a copy off the node).")
        @Option(help: "The node's data directory.") var data: String = "caduceus-data"
        @Option(help: "The node id to name in the checkpoint.") var node: String = "node.local"

        func run() async throws {
            try await reportingErrors {
                let store = try AuditCommand.open(data)
                let key = try AuditSigningKey.loadOrCreate(in: data)
                guard let c = try await key.checkpoint(store, node: node) else { throw CLIError(code: "audit.empty", message: "the audit log is empty") }
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                FileHandle.standardOutput.write(try e.encode(c) + Data("\n".utf8))
            }
        }
    }

    struct Filter: ParsableArguments {
        @Option(help: "The node's data directory.") var data: String = "caduceus-data"
        @Option(help: "Patient id in CX form (ID^^^&OID&ISO).") var patient: String?
        @Option(help: "Requestor user id (certificate CN).") var user: String?
        @Option(help: "DICOM event id code (110110, 110112, 110106, 110107…).") var event: String?
        @Option(help: "From (YYYYMMDD[HHMM…], inclusive).") var from: String?
        @Option(help: "To (exclusive).") var to: String?
        @Option(help: "At most this many events.") var limit: Int = 1000

        func filter() throws -> AuditFilter {
            func time(_ s: String?) throws -> Date? {
                guard let s else { return nil }
                guard let t = HL7Timestamp(s) else { throw CLIError.usage("times are YYYYMMDD[HHMMSS]") }
                return t.date
            }
            return AuditFilter(patient: patient, user: user, eventID: event, from: try time(from), to: try time(to), limit: limit)
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Events by patient, user, event type and time, newest first, as JSON lines.")
        @OptionGroup var filter: Filter

        func run() async throws {
            try await reportingErrors {
                let store = try AuditCommand.open(filter.data)
                let f = try filter.filter()
                let rows = try await store.read { try $0.auditMessages(f) }
                let e = AuditChain.encoder
                for (seq, m) in rows {
                    FileHandle.standardOutput.write(Data("{\"sequence\":\(seq),\"event\":".utf8) + (try e.encode(m)) + Data("}\n".utf8))
                }
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who touched a patient's record at this node: person, organisation, time, purpose, action; emergency access marked.")
        @OptionGroup var filter: Filter

        func run() async throws {
            try await reportingErrors {
                guard filter.patient != nil else { throw CLIError.usage("--patient is required") }
                let store = try AuditCommand.open(filter.data)
                let f = try filter.filter()
                let rows = try await store.read { try $0.auditMessages(f) }
                let formatter = ISO8601DateFormatter()
                print("time                  who                                 via                 purpose  action                outcome")
                for (_, m) in rows.reversed() {
                    let who = m.participants.first { $0.isRequestor }?.userID ?? "?"
                    let via = m.participants.first { !$0.isRequestor }?.userID ?? m.sourceID
                    let action = m.eventTypes.first?.code ?? m.eventID.display
                    let outcome = m.outcome == .success ? "ok" : m.errorCode
                    let mark = m.emergency ? "  ** EMERGENCY ACCESS **" : ""
                    print("\(formatter.string(from: m.time).padding(toLength: 21, withPad: " ", startingAt: 0)) \(who.padding(toLength: 35, withPad: " ", startingAt: 0)) \(via.padding(toLength: 19, withPad: " ", startingAt: 0)) \((m.purposeOfUse.isEmpty ? "-" : m.purposeOfUse).padding(toLength: 8, withPad: " ", startingAt: 0)) \(action.padding(toLength: 21, withPad: " ", startingAt: 0)) \(outcome)\(mark)")
                }
                print("\(rows.count) event(s)")
            }
        }
    }

    struct Emergencies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The break-glass review queue: emergency sign-ins declared or used at this node, awaiting the privacy officer's review.")
        @Option(help: "The node's data directory.") var data: String = "caduceus-data"
        @Flag(help: "Include reviewed entries.") var all = false

        func run() async throws {
            try await reportingErrors {
                let store = try AuditCommand.open(data)
                let unreviewed = !all
                let rows = try await store.read { try $0.emergencyAccesses(unreviewedOnly: unreviewed) }
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                e.dateEncodingStrategy = .iso8601
                let now = Date()
                for entry in rows {
                    var object = try JSONSerialization.jsonObject(with: try e.encode(entry)) as? [String: Any] ?? [:]
                    object["state"] = entry.isOpen(at: now) ? "open" : (entry.reviewed == nil ? "ended, awaiting review" : "reviewed")
                    FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) + Data("\n".utf8))
                }
                FileHandle.standardError.write(Data("\(rows.count) emergency access(es)\n".utf8))
            }
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the privacy officer's review of an emergency access (audited).")
        @Option(help: "The node's data directory.") var data: String = "caduceus-data"
        @Argument(help: "The emergency access id (the assertion's jti).") var id: String
        @Option(help: "Who reviews (the privacy officer).") var reviewer: String
        @Option(help: "The finding (justified, referred…).") var note: String
        @Option(help: "This node's id, for the audit event.") var node: String = "node.local"

        func run() async throws {
            try await reportingErrors {
                guard !reviewer.isEmpty, !note.isEmpty else { throw CLIError.usage("give --reviewer and --note") }
                let store = try AuditCommand.open(data)
                let (id, reviewer, note, node, now) = (id, reviewer, note, node, Date())
                let found = try await store.write { tx -> Bool in
                    guard try tx.reviewEmergencyAccess(id: id, reviewer: reviewer, note: note, at: now) else { return false }
                    _ = try tx.appendAudit([AuditMessage(
                        eventID: .securityAlert, eventTypes: [AuditCode("emergency.review", system: "caduceus-operation", display: "Emergency access reviewed")],
                        action: .update, outcome: .success, time: now, sourceID: node,
                        participants: [AuditParticipant(userID: reviewer, roles: [AuditCode("privacy-officer", system: "functional-role", display: "privacy officer")], isRequestor: true)],
                        objects: [AuditObject(typeCode: 2, role: 13, idType: AuditCode("jti", system: "caduceus-audit", display: "Emergency access"), id: id)])])
                    return true
                }
                guard found else { throw CLIError(code: "audit.not-found", message: "no emergency access with this id") }
                print("reviewed \(id)")
            }
        }
    }
}
