import ArgumentParser
import CaduceusExchange
import CaduceusPatientIndex
import Foundation

/// `caduceus mpi`: the operator's view of the master patient index. Output contains PHI: it is for the operator's
/// terminal, not for logs.
struct MPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi", abstract: "Search the master patient index, show links, work the review queue, link and unlink.",
        subcommands: [Search.self, Show.self, Review.self, Accept.self, Reject.self, Link.self, Unlink.self, Train.self])

    static func describe(_ mpi: MasterPatientIndex, record: Int64) -> String {
        let identity = mpi.identity(of: record).map { "\($0.id)^^^&\($0.authority)" } ?? "?"
        let d = mpi.demographics(of: record)
        let person = mpi.person(of: record) ?? "?"
        return "record \(record)  X-PID \(person)  \(identity)  \(d?.family ?? "")^\(d?.given ?? "")  \(d?.birthDate ?? "")  \(d?.sex ?? "")"
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "search", abstract: "Find persons by demographics (PDQ rules).")
        @OptionGroup var node: NodeOptions
        @Option(name: .long) var family: String = ""
        @Option(name: .long) var given: String = ""
        @Option(name: .long, help: "YYYYMMDD") var birthDate: String = ""
        @Option(name: .long) var sex: String = ""
        @Option(name: .long) var postalCode: String = ""
        @Option(name: .long) var phone: String = ""
        @Option(name: .long) var limit: Int = 20

        func run() async throws {
            try await reportingErrors {
                let criteria = Demographics(family: family, given: given, birthDate: birthDate, sex: sex, postalCode: postalCode, phone: phone)
                guard criteria != Demographics() else { throw CLIError.usage("give at least one search field") }
                let opened = try await node.open()
                let lines = opened.mpi.read { mpi in
                    mpi.search(criteria, limit: limit).map { hit in
                        "X-PID \(hit.person)  weight \(Int(hit.weight * 10) / 10)\n" + mpi.members(of: hit.person).map { "  " + MPICommand.describe(mpi, record: $0) }.joined(separator: "\n")
                    }
                }
                print(lines.isEmpty ? "no match" : lines.joined(separator: "\n"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a local identity's person and every linked identity (PIX).")
        @OptionGroup var node: NodeOptions
        @Option(name: .long, help: "The local patient id.") var id: String
        @Option(name: .long, help: "Its assigning authority (OID or namespace).") var authority: String

        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let events = try await opened.store.read { reader in
                    try opened.mpi.read { $0.record(of: LocalIdentity(id: id, authority: authority)) }.map { try reader.mpiEvents(record: $0) } ?? []
                }
                let text = opened.mpi.read { mpi -> String? in
                    guard let record = mpi.record(of: LocalIdentity(id: id, authority: authority)), let person = mpi.person(of: record) else { return nil }
                    return "X-PID \(person) (authority \(mpi.globalAuthority))\n" + mpi.members(of: person).map { "  " + MPICommand.describe(mpi, record: $0) }.joined(separator: "\n")
                }
                guard let text else { throw CLIError(code: "mpi.unknown", message: "no such identity") }
                print(text)
                for e in events { print("  history: \(e.action) \(e.personBefore ?? "-") → \(e.personAfter ?? "-") by \(e.actor)") }
            }
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "review", abstract: "List the review queue.")
        @OptionGroup var node: NodeOptions
        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let lines = opened.mpi.read { mpi in
                    mpi.reviewQueue.map { item in
                        "review \(item.id)  weight \(Int(item.weight * 10) / 10)  \(item.reason)\n  " + MPICommand.describe(mpi, record: item.recordID) + "\n  " + MPICommand.describe(mpi, record: item.candidateRecordID)
                    }
                }
                print(lines.isEmpty ? "the review queue is empty" : lines.joined(separator: "\n"))
            }
        }
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "accept", abstract: "Accept a review item: link the two records.")
        @OptionGroup var node: NodeOptions
        @Argument var review: Int64
        @Option(name: .long, help: "Who decides (recorded in the MPI history).") var actor: String = "operator"
        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let id = review
                let change = try await opened.mpi.perform(actor: actor) { try $0.acceptReview(id) }
                print("accepted review \(review); \(change.assignments.count) record(s) relinked")
            }
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a review item: the records are different people.")
        @OptionGroup var node: NodeOptions
        @Argument var review: Int64
        @Option(name: .long) var actor: String = "operator"
        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let id = review
                _ = try await opened.mpi.perform(actor: actor) { try $0.rejectReview(id) }
                print("rejected review \(review)")
            }
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "link", abstract: "Move a record to another record's person.")
        @OptionGroup var node: NodeOptions
        @Option(name: .long) var record: Int64
        @Option(name: .long) var to: Int64
        @Option(name: .long) var actor: String = "operator"
        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let (r, t) = (record, to)
                _ = try await opened.mpi.perform(actor: actor) { try $0.link(r, toPersonOf: t) }
                print("linked record \(record) to the person of record \(to)")
            }
        }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unlink", abstract: "Give a record a person of its own.")
        @OptionGroup var node: NodeOptions
        @Option(name: .long) var record: Int64
        @Option(name: .long) var actor: String = "operator"
        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let r = record
                let change = try await opened.mpi.perform(actor: actor) { try $0.unlink(r) }
                print("unlinked record \(record): new X-PID \(change.createdPersons.first ?? "?")")
            }
        }
    }

    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "train", abstract: "Re-estimate the match model (EM) from the indexed records.")
        @OptionGroup var node: NodeOptions
        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let model = try await opened.mpi.retrain()
                for f in MatchField.allCases {
                    let weights = (0..<f.levels).map { String(Int(model.weight(f, level: $0) * 100)) }
                    print("\(f): weights ×100 by level \(weights.joined(separator: " "))")
                }
                let suggested = MatchThresholds.calibrated(for: model)
                print("suggested thresholds (posterior 0.999 / 0.5): --mpi-auto-link \(Double(Int(suggested.autoLink * 10)) / 10) --mpi-review \(Double(Int(suggested.review * 10)) / 10)")
            }
        }
    }
}
