package import ArgumentParser

/// `caduceus`: the root command.
package struct CaduceusCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "caduceus",
        abstract: "Caduceus: a secure medical information exchange.",
        subcommands: [PKICommand.self, TokenCommand.self, SMIMECommand.self, HL7Command.self, MPICommand.self, DICOMCommand.self, CDACommand.self, CCDCommand.self, DocCommand.self, StaffCommand.self, CardCommand.self, AuditCommand.self, ServeCommand.self, BenchCommand.self, DemoCommand.self]
    )

    package init() {}
}
