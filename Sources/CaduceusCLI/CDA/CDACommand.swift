import ArgumentParser
import CaduceusCDA
import CaduceusCore
import CaduceusDICOM
import CaduceusExchange
import CaduceusPatientIndex
import Foundation

/// `caduceus cda inspect`: a CDA document's registry metadata.
struct CDACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cda", abstract: "Read CDA R2 / C-CDA documents.", subcommands: [Inspect.self])

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Print a CDA document's header as registry metadata (JSON). DTDs and entities other than XML's five are refused.")

        @Argument(help: "The CDA document (UTF-8 XML).") var file: String

        func run() async throws {
            try await reportingErrors {
                let h = try CDAHeader.read(try Files.read(file, what: "CDA"))
                let p = h.patient.unsafeValue
                var json: [String: Any] = [
                    "uniqueId": h.id.description, "typeCode": h.typeCode.code, "typeDisplay": h.typeCode.displayName,
                    "classCode": h.classCode.code, "title": h.title, "effectiveTime": h.effectiveTime.value,
                    "confidentialityCode": h.confidentiality.code, "languageCode": h.languageCode,
                    "patientIds": h.patientIds.map(\.description), "patientName": (p.given + [p.family]).joined(separator: " "),
                    "patientBirthTime": p.birthTime, "patientGender": p.gender,
                    "authors": h.authors.map { ["person": $0.person, "organization": $0.organization, "ids": $0.ids.map(\.description)] },
                    "custodian": h.custodianName, "templateIds": h.templateIds.map(\.description),
                ]
                if let s = h.serviceStart { json["serviceStart"] = s.value }
                if let s = h.serviceStop { json["serviceStop"] = s.value }
                if let parent = h.parent { json["parent"] = ["relation": parent.relation, "id": parent.id.description] }
                let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
        }
    }
}

/// `caduceus ccd generate`: a C-CDA 2.1 CCD from what a hospital node holds about a patient.
struct CCDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ccd", abstract: "Generate Continuity of Care Documents.", subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write a C-CDA 2.1 CCD for a patient from a node's data directory (demographics from ADT, results from ORU).")

        @OptionGroup var node: NodeOptions
        @Option(help: "The patient's id (MRN).") var id: String
        @Option(help: "The id's assigning authority (OID).") var authority: String
        @Option(help: "The custodian organisation's name.") var organization: String = "Caduceus node"
        @Option(help: "Output file ('-' for standard output).") var out: String = "-"

        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let ccd = try await CCDComposer.compose(for: LocalIdentity(id: id, authority: authority), store: opened.store, nodeId: "local", organization: organization, now: Date())
                if out == "-" { FileHandle.standardOutput.write(Data(ccd)) } else { try AtomicFile.write(Data(ccd), to: out, permissions: 0o600) }
            }
        }
    }
}
