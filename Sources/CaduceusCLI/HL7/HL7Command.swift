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

        @Argument(help: "The ER7 file (one message, several, or a batch of any size, read as a stream); - for standard input.")
        var file: String

        @Flag(name: .long, help: "Accept LF and CRLF as segment terminators (files edited on Unix or Windows).")
        var tolerant = false

        @Option(name: .long, help: "Character set of messages without MSH-18: UTF-8 (default), ISO-8859-1 or ASCII.")
        var charset = "UTF-8"

        func run() async throws {
            try await reportingErrors {
                var options = try HL7Files.options(tolerant: tolerant, charset: charset)
                options.maxBytes = min(options.maxBytes, 64 << 20)
                // One message prints as an object, several as an array, written as they are read.
                var first: Data?
                var count = 0
                let out = FileHandle.standardOutput
                try HL7Files.messages(in: file, options: options) { bytes in
                    let message = try HL7Message(parsing: bytes, options: options)
                    let data = try JSONSerialization.data(withJSONObject: try Self.json(message), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                    count += 1
                    if count == 1 {
                        first = data
                    } else {
                        if let head = first { out.write(Data("[\n".utf8) + head) }
                        first = nil
                        out.write(Data(",\n".utf8) + data)
                    }
                }
                if let first { out.write(first + Data("\n".utf8)) } else if count > 1 { out.write(Data("\n]\n".utf8)) }
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
            commandName: "send",
            abstract: "Send messages over MLLP and print each answer; a batch file (FHS/BHS) goes as one frame, streamed, and gets one acknowledgement batch.")

        @Option(name: .long, help: "The receiver, HOST:PORT.")
        var to: String

        @Argument(help: "ER7 files; each may hold one message, several, or a batch (FHS/BHS … BTS/FTS) of any size.")
        var files: [String]

        @Flag(name: .long, help: "Accept LF and CRLF as segment terminators in the files (sent with CR).")
        var tolerant = false

        @Flag(name: .long, help: "Send the messages of a batch file one frame each (and print every answer) instead of the batch as one frame.")
        var split = false

        @Option(name: .long, help: "TLS: client certificate chain (PEM).")
        var tlsCert: String?
        @Option(name: .long, help: "TLS: client private key (PEM).")
        var tlsKey: String?
        @Option(name: .long, help: "TLS: trust anchors (PEM) for the server's certificate. Enables TLS.")
        var tlsCa: String?

        func run() async throws {
            try await reportingErrors {
                let (host, port) = try ServeCommand.hostPort(to)
                var tls: NIOSSLContext?
                if let tlsCa {
                    tls = try FederationTLS.clientContext(
                        certificateChainPEM: try tlsCert.map { try Files.text($0, what: "certificate") },
                        privateKeyPEM: try tlsKey.map { try Files.text($0, what: "key") }, anchorsPEM: try Files.text(tlsCa, what: "CA"))
                }
                // Every file is checked readable first, so a typo sends nothing.
                for file in files where file != "-" {
                    guard FileManager.default.isReadableFile(atPath: file) else { throw CLIError.io("cannot read the HL7 file") }
                }
                let options = try HL7Files.options(tolerant: tolerant, charset: "UTF-8")
                let (files, split, tolerant) = (self.files, self.split, self.tolerant)
                try await MLLPClient.withConnection(host: host, port: port, tls: tls) { connection in
                    for file in files {
                        if !split, try HL7Files.isBatch(file) {
                            let answer = try await HL7Files.sendBatch(file, tolerant: tolerant, over: &connection)
                            print(HL7Files.printable(answer) + "\n")
                            continue
                        }
                        // Messages one frame each, read from the file as they are sent.
                        var reader = HL7BatchReader(options: options)
                        let handle = try HL7Files.open(file)
                        defer { if file != "-" { try? handle.close() } }
                        var done = false
                        while !done {
                            let data = try handle.read(upToCount: 1 << 20) ?? Data()
                            done = data.isEmpty
                            for message in try HL7Files.messages(done ? reader.finish() : reader.feed(Array(data))) {
                                let answer = try await connection.send(message)
                                print(HL7Files.printable(answer) + "\n")
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Reading ER7 files as streams, for `hl7 parse` and `hl7 send`.
enum HL7Files {
    /// Parse options from the command's flags.
    static func options(tolerant: Bool, charset: String) throws -> HL7ParseOptions {
        guard let set = HL7CharacterSet(name: charset) else { throw CLIError.usage("--charset must be UTF-8, ISO-8859-1 or ASCII") }
        return HL7ParseOptions(lineEndings: tolerant ? .tolerant : .strict, defaultCharacterSet: set)
    }

    /// The messages among `events`; the first problem with the envelope or a message's size is thrown.
    static func messages(_ events: [HL7BatchReader.Event]) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for event in events {
            switch event {
            case .message(let bytes): out.append(bytes)
            case .refusedMessage(_, let error), .envelopeError(let error): throw error
            case .fileHeader, .batchHeader, .batchTrailer, .fileTrailer: break
            }
        }
        return out
    }

    /// Opens a file for reading (`-`: standard input).
    static func open(_ path: String) throws -> FileHandle {
        if path == "-" { return FileHandle.standardInput }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIError.io("cannot read the HL7 file") }
        return handle
    }

    /// Calls `body` with each message of `path` (one, several, or a batch), reading 1 MiB at a time. The first
    /// problem with the file's envelope or a message's size is thrown.
    static func messages(in path: String, options: HL7ParseOptions, _ body: ([UInt8]) throws -> Void) throws {
        var reader = HL7BatchReader(options: options)
        let handle = try open(path)
        defer { if path != "-" { try? handle.close() } }
        while true {
            let data = try handle.read(upToCount: 1 << 20) ?? Data()
            if data.isEmpty { break }
            for message in try messages(reader.feed(Array(data))) { try body(message) }
        }
        for message in try messages(reader.finish()) { try body(message) }
    }

    /// Whether the file starts with FHS or BHS.
    static func isBatch(_ path: String) throws -> Bool {
        guard path != "-", let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = Array(try handle.read(upToCount: 3) ?? Data())
        return head == Array("FHS".utf8) || head == Array("BHS".utf8)
    }

    /// Sends a batch file as one MLLP frame, written as it is read (line ends made CR under `tolerant`), and returns
    /// the acknowledgement batch.
    static func sendBatch(_ path: String, tolerant: Bool, over connection: inout MLLPClient.Connection) async throws -> [UInt8] {
        try await connection.writeRaw([MLLPFramer.startBlock])
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var lastWasCR = false
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
            var chunk = Array(data)
            guard !chunk.contains(MLLPFramer.startBlock), !chunk.contains(MLLPFramer.endBlock) else {
                throw CLIError.io("the HL7 file holds MLLP framing bytes")
            }
            if tolerant {
                var out: [UInt8] = []
                out.reserveCapacity(chunk.count)
                for b in chunk {
                    if b == 0x0A {
                        if !lastWasCR { out.append(0x0D) }
                    } else {
                        out.append(b)
                    }
                    lastWasCR = b == 0x0D
                }
                chunk = out
            }
            try await connection.writeRaw(chunk)
        }
        try await connection.writeRaw([MLLPFramer.endBlock, MLLPFramer.carriageReturn])
        return try await connection.receive()
    }

    /// An answer for the terminal: one segment a line.
    static func printable(_ answer: [UInt8]) -> String {
        String(decoding: answer, as: UTF8.self).split(separator: "\r").joined(separator: "\n")
    }
}
