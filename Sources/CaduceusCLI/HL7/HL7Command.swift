import CaduceusTLS
import ArgumentParser
import CaduceusHL7
import CaduceusMLLP
import Foundation
import NIOSSL

/// `caduceus hl7`: parse and send HL7 v2 messages.
struct HL7Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hl7", abstract: "Parse HL7 v2 messages, or send them over MLLP.",
        subcommands: [Parse.self, Send.self, Log.self])

    struct Parse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "parse", abstract: "Print a message's tree as JSON (segments → fields → repetitions → components → subcomponents, decoded).")

        @Argument(help: "The ER7 file (one message or a batch); - for standard input.")
        var file: String

        @Flag(name: .long, help: "Accept LF and CRLF as segment terminators (files edited on Unix or Windows).")
        var tolerant = false

        func run() async throws {
            try await reportingErrors {
                let bytes = try Files.read(file, what: "HL7")
                let batch = try HL7Batch(parsing: bytes, options: tolerant ? .tolerant : .strict)
                var out: [Any] = []
                for message in batch.messages { out.append(try Self.json(message)) }
                let document: Any = out.count == 1 ? out[0] : out
                let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
        }

        /// `{"characterSet":…, "segments":[{"id":"PID","fields":{"3":[[["4711"],…]]}}]}`: each field a list of
        /// repetitions, each a list of components, each a list of subcomponents; empty fields are left out.
        static func json(_ message: HL7Message) throws -> [String: Any] {
            var segments: [[String: Any]] = []
            for segment in message.segments {
                var fields: [String: Any] = [:]
                for (i, field) in segment.fields.enumerated() where !field.isEmpty {
                    if segment.isHeader && i < 2 {
                        fields[String(i + 1)] = field.first.components[0].subcomponents[0].raw
                        continue
                    }
                    var reps: [Any] = []
                    for rep in field.repetitions {
                        var comps: [Any] = []
                        for comp in rep.components {
                            var subs: [String] = []
                            for sub in comp.subcomponents { subs.append(try sub.value(message.dialect)) }
                            comps.append(subs)
                        }
                        reps.append(comps)
                    }
                    fields[String(i + 1)] = reps
                }
                segments.append(["id": segment.id, "fields": fields])
            }
            return ["characterSet": message.dialect.characterSet.rawValue, "segments": segments]
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log",
            abstract: "List the messages a node accepted (newest first); --raw prints exactly what arrived (PHI: for the operator's terminal).")

        @OptionGroup var node: NodeOptions
        @Option(name: .long, help: "How many messages.") var limit = 20
        @Flag(name: .long, help: "Print each raw message and the answer sent.") var raw = false

        func run() async throws {
            try await reportingErrors {
                let opened = try await node.open()
                let n = limit
                let messages = try await opened.store.read { try $0.messages(limit: n) }
                for m in messages {
                    print("\(m.id)  \(m.receivedAt)  \(m.sender)  \(m.controlID)  \(m.messageType)  \(m.outcome)  \(m.raw.unsafeValue.count) bytes")
                    if raw {
                        for (label, bytes) in [("in", m.raw.unsafeValue), ("ack", m.ack.unsafeValue)] {
                            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r") { print("  \(label)| \(line)") }
                        }
                    }
                }
                if messages.isEmpty { print("no messages") }
            }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send", abstract: "Send messages over MLLP, one at a time, and print each answer.")

        @Option(name: .long, help: "The receiver, HOST:PORT.")
        var to: String

        @Argument(help: "ER7 files; each may hold several messages or a batch.")
        var files: [String]

        @Flag(name: .long, help: "Accept LF and CRLF as segment terminators in the files (sent with CR).")
        var tolerant = false

        @Option(name: .long, help: "TLS: client certificate chain (PEM).")
        var tlsCert: String?
        @Option(name: .long, help: "TLS: client private key (PEM).")
        var tlsKey: String?
        @Option(name: .long, help: "TLS: trust anchors (PEM) for the server's certificate. Enables TLS.")
        var tlsCa: String?

        func run() async throws {
            try await reportingErrors {
                let (host, port) = try ServeCommand.hostPort(to)
                var messages: [[UInt8]] = []
                for file in files {
                    let batch = try HL7Batch(parsing: try Files.read(file, what: "HL7"), options: tolerant ? .tolerant : .strict)
                    for message in batch.messages { messages.append(try message.encoded()) }
                }
                var tls: NIOSSLContext?
                if let tlsCa {
                    tls = try FederationTLS.clientContext(
                        certificateChainPEM: try tlsCert.map { try Files.text($0, what: "certificate") },
                        privateKeyPEM: try tlsKey.map { try Files.text($0, what: "key") }, anchorsPEM: try Files.text(tlsCa, what: "CA"))
                }
                let toSend = messages
                let answers = try await MLLPClient.withConnection(host: host, port: port, tls: tls) { connection in
                    var answers: [[UInt8]] = []
                    for message in toSend { answers.append(try await connection.send(message)) }
                    return answers
                }
                for answer in answers {
                    let text = String(decoding: answer, as: UTF8.self).split(separator: "\r").joined(separator: "\n")
                    print(text + "\n")
                }
            }
        }
    }
}
