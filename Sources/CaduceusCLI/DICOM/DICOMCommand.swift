import ArgumentParser
import CaduceusDICOM
import Foundation

/// `caduceus dicom inspect`: the registry metadata of a DICOM Part 10 file.
struct DICOMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom", abstract: "Read DICOM Part 10 files.", subcommands: [Inspect.self])

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Print a DICOM file's UIDs, patient, modality and dates as JSON, and whether its preamble is an executable header.")

        @Argument(help: "The DICOM Part 10 file.") var file: String

        func run() async throws {
            try await reportingErrors {
                let d = try DICOMFile(reading: try Files.read(file, what: "DICOM"))
                let json: [String: String] = [
                    "preamble": d.preamble.rawValue, "transferSyntaxUID": d.transferSyntaxUID, "sopClassUID": d.sopClassUID,
                    "sopInstanceUID": d.sopInstanceUID, "studyInstanceUID": d.studyInstanceUID, "seriesInstanceUID": d.seriesInstanceUID,
                    "patientID": d.patientID, "patientName": d.patientName, "patientBirthDate": d.patientBirthDate, "patientSex": d.patientSex,
                    "modality": d.modality, "studyDate": d.studyDate, "accessionNumber": d.accessionNumber,
                    "studyDescription": d.studyDescription, "specificCharacterSet": d.specificCharacterSet,
                ]
                let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
                FileHandle.standardOutput.write(data + Data("\n".utf8))
                if d.preamble == .executable {
                    FileHandle.standardError.write(Data("caduceus: warning: the preamble is an executable header (a polyglot file)\n".utf8))
                }
            }
        }
    }
}
