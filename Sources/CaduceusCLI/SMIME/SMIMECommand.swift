import ArgumentParser
import CaduceusCMS
import CaduceusCore
import CaduceusPKI
import Foundation
import X509

/// `caduceus smime …`: secure envelopes, modelled on `openssl cms`.
struct SMIMECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smime",
        abstract: "Sign, verify, encrypt and decrypt S/MIME 4.0 / CMS messages (like `openssl cms`).",
        discussion: """
            Output is an S/MIME entity unless --der (or --outform DER|PEM) asks for raw CMS. Input commands take \
            openssl's habits: --der or --inform DER|PEM|SMIME (recognised from the input without them). \
            multipart/signed (sign's default) signs the canonical MIME entity of the content (RFC 8551 §3.1.1), which \
            `openssl cms -verify` verifies in its default mode: text as text/plain with every line end made CRLF \
            (verify gives the text back with CRLF line ends), anything else — or any content with --binary — as \
            base64 of the exact bytes. --nodetach, --der and encryption keep the content byte for byte. Algorithms: ECDSA/RSA with SHA-256 signatures; AES-256-GCM \
            (AuthEnvelopedData, default), AES-256-CBC or AES-128-CBC content; RSA-OAEP-SHA256 key transport for RSA \
            recipients, ECDH P-256 with the SHA-256 KDF and AES key wrap for EC recipients. DES, 3DES, RC2, MD5, \
            SHA-1 signatures, RSA under 2048 bits and RSA PKCS#1 v1.5 key transport are refused.

            DER messages read from or written to files stream in flat memory (1 MiB at a time), whatever the \
            document's size; decrypted or verified content is renamed into place only after the tag and every \
            signature verified. Standard input/output, PEM and S/MIME forms are processed in memory.

            A failed command prints one line `caduceus: error: CODE: message` and writes no output file.

            Examples:
              caduceus smime sign --in doc.xml --out doc.eml --cert me.chain.pem --key me.key
              caduceus smime verify --in doc.eml --trust root.pem --crl hospital.crl --out doc.xml
              caduceus smime encrypt --in doc.xml --out doc.p7m --recipient hospital-b.pem
              caduceus smime decrypt --in doc.p7m --out doc.xml --p12 card.p12 --password-file pw
              caduceus smime seal --in doc.xml --out doc.p7m --cert a.chain.pem --key a.key --recipient b.pem
              caduceus smime open --in doc.p7m --out doc.xml --cert b.pem --key b.key --trust root.pem
            """,
        subcommands: [Sign.self, Verify.self, Encrypt.self, Decrypt.self, Seal.self, Open.self]
    )

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign: multipart/signed by default, --nodetach for signed-data with the content inside.")
        @Option(help: "Input file (- for stdin).") var `in`: String
        @Option(help: "Output file (- for stdout).") var out: String
        @OptionGroup var credential: CredentialOptions
        @Option(help: "Additional signer: PEM certificate+chain, paired in order with --extra-key (repeatable).")
        var extraCert: [String] = []
        @Option(help: "Private key of an additional signer (repeatable).") var extraKey: [String] = []
        @Flag(help: "Put the content inside the signature (opaque signed-data).") var nodetach = false
        @OptionGroup var output: OutputForm
        @Flag(help: "multipart/signed: sign the exact bytes (application/octet-stream, base64), even for text.")
        var binary = false
        @Flag(help: "multipart/signed: sign as text/plain (line ends made CRLF); refused for content that is not text.")
        var text = false

        func run() async throws {
            try await reportingErrors {
                guard !(binary && text) else { throw CLIError.usage("--binary and --text exclude each other") }
                var signers = [try credential.load()]
                guard extraCert.count == extraKey.count else { throw CLIError.usage("--extra-cert and --extra-key pair up") }
                for (cert, key) in zip(extraCert, extraKey) {
                    signers.append(try CredentialOptions.credential(certificateFile: cert, keyFile: key))
                }
                if nodetach, try output.resolved() == .der, let input = Streamed.input(`in`, out: out) {
                    try await Streamed.write(to: out) { sink in
                        try CMSStreaming.sign(input, into: &sink, signers: signers, signingTime: Date())
                    }
                    return
                }
                let content = try Files.read(`in`, what: "input")
                let signed = try SMIME.sign(
                    content[...], signers: signers, detached: !nodetach, format: try output.format(),
                    form: binary ? .binary : text ? .text : .automatic, signingTime: Date())
                try Files.write(try output.encode(signed), to: out)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every signature and the signers' certificate paths; write the content.")
        @Option(help: "Signed message (S/MIME, PEM or DER).") var `in`: String
        @OptionGroup var input: InputForm
        @Option(help: "Detached content for a DER detached signature.") var content: String?
        @Option(help: "Where to write the verified content.") var out: String?
        @OptionGroup var trust: TrustOptions

        func run() async throws {
            try await reportingErrors {
                if content == nil, let file = Streamed.input(`in`, out: out ?? ""), file.peek(1) == [0x30] {
                    _ = try input.check(file.peek(16))
                    let validator = try trust.validator()
                    guard let out else {
                        var discard = DiscardingSink()
                        reportSigners(try await CMSStreaming.verify(try file.source(), into: &discard, validator: validator, now: Date()).signers)
                        return
                    }
                    let verified = try await Streamed.write(to: out) { sink in
                        try await CMSStreaming.verify(try file.source(), into: &sink, validator: validator, now: Date())
                    }
                    reportSigners(verified.signers)
                    return
                }
                let message = try input.check(try Files.read(`in`, what: "input"))
                let detached = try content.map { try Files.read($0, what: "content") }
                let verified = try await SMIME.verify(
                    message[...], detachedContent: detached?[...], validator: try trust.validator(), now: Date())
                reportSigners(verified)
                if let out { try Files.write(verified.content, to: out) }
            }
        }
    }

    struct Encrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Encrypt to one or more recipient certificates.")
        @Option(help: "Input file.") var `in`: String
        @Option(help: "Output file.") var out: String
        @Option(help: "Recipient certificate, PEM (repeatable).") var recipient: [String] = []
        @Option(help: "aes-256-gcm (default), aes-128-gcm, aes-256-cbc, aes-128-cbc.") var cipher = "aes-256-gcm"
        @OptionGroup var output: OutputForm

        func run() async throws {
            try await reportingErrors {
                if try output.resolved() == .der, let input = Streamed.input(`in`, out: out) {
                    let recipients = try loadRecipients(recipient)
                    let contentCipher = try parseCipher(cipher)
                    try await Streamed.write(to: out) { sink in
                        try CMSStreaming.encrypt(input, into: &sink, recipients: recipients, cipher: contentCipher)
                    }
                    return
                }
                let content = try Files.read(`in`, what: "input")
                let encrypted = try SMIME.encrypt(
                    content[...], recipients: try loadRecipients(recipient), cipher: try parseCipher(cipher),
                    format: try output.format())
                try Files.write(try output.encode(encrypted), to: out)
            }
        }
    }

    struct Decrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt with the recipient's credential.")
        @Option(help: "Encrypted message (S/MIME, PEM or DER).") var `in`: String
        @OptionGroup var input: InputForm
        @Option(help: "Output file.") var out: String
        @OptionGroup var credential: CredentialOptions

        func run() async throws {
            try await reportingErrors {
                if let file = Streamed.input(`in`, out: out), file.peek(1) == [0x30] {
                    _ = try input.check(file.peek(16))
                    let key = try credential.load()
                    try await Streamed.write(to: out) { sink in
                        _ = try CMSStreaming.decrypt(try file.source(), into: &sink, credential: key)
                    }
                    return
                }
                let message = try input.check(try Files.read(`in`, what: "input"))
                let key = try credential.load()
                let plaintext = try SMIME.decrypt(message[...], credential: key)
                try Files.write(plaintext, to: out)
            }
        }
    }

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign then encrypt, in one step (RFC 8551 §3.7).")
        @Option(help: "Input file.") var `in`: String
        @Option(help: "Output file.") var out: String
        @OptionGroup var credential: CredentialOptions
        @Option(help: "Recipient certificate, PEM (repeatable).") var recipient: [String] = []
        @Option(help: "Content cipher.") var cipher = "aes-256-gcm"
        @OptionGroup var output: OutputForm

        func run() async throws {
            try await reportingErrors {
                let signer = try credential.load()
                let recipients = try loadRecipients(recipient)
                let format = try output.format()
                if try output.resolved() == .der, let input = Streamed.input(`in`, out: out) {
                    let contentCipher = try parseCipher(cipher)
                    try await Streamed.write(to: out) { sink in
                        try CMSStreaming.seal(
                            input, into: &sink, signers: [signer], recipients: recipients, cipher: contentCipher,
                            signingTime: Date())
                    }
                    return
                }
                let sealed = try SMIME.sealRope(
                    consuming: try Files.read(`in`, what: "input"), signers: [signer], recipients: recipients,
                    cipher: try parseCipher(cipher), format: format, signingTime: Date())
                if output.isPEM { try Files.write(try output.encode(sealed.joined()), to: out) } else { try Files.write(sealed, to: out) }
            }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt then verify, in one step.")
        @Option(help: "Sealed message (S/MIME, PEM or DER).") var `in`: String
        @OptionGroup var input: InputForm
        @Option(help: "Output file for the verified content.") var out: String
        @OptionGroup var credential: CredentialOptions
        @OptionGroup var trust: TrustOptions

        func run() async throws {
            try await reportingErrors {
                let validator = try trust.validator()
                let key = try credential.load()
                if let file = Streamed.input(`in`, out: out), file.peek(1) == [0x30] {
                    _ = try input.check(file.peek(16))
                    let opened = try await Streamed.write(to: out) { sink in
                        try await CMSStreaming.open(try file.source(), into: &sink, credential: key, validator: validator, now: Date())
                    }
                    reportSigners(opened.signers)
                    return
                }
                let message = try input.check(try Files.read(`in`, what: "input"))
                let opened = try await SMIME.open(message[...], credential: key, validator: validator, now: Date())
                reportSigners(opened)
                try Files.write(opened.content, to: out)
            }
        }
    }
}

/// openssl's names for the forms of a CMS message (`-inform`, `-outform`).
enum CMSForm: String, ExpressibleByArgument, CaseIterable {
    case der = "DER", pem = "PEM", smime = "SMIME"

    init?(argument: String) { self.init(rawValue: argument.uppercased()) }
}

/// The form of an input message, as openssl users give it: `--der`, or `--inform DER|PEM|SMIME`; recognised from
/// the first bytes when neither is given. A message not in the form named is refused (`cms.malformed`) before it is
/// read any further.
struct InputForm: ParsableArguments {
    @Flag(help: "The input is raw DER CMS (as --inform DER).") var der = false
    @Option(help: "The input's form: DER, PEM or SMIME (default: recognised from the input).") var inform: CMSForm?

    /// The form asked for, if any.
    func form() throws -> CMSForm? {
        if der, let inform, inform != .der { throw CLIError.usage("--der and --inform \(inform.rawValue) contradict each other") }
        return der ? .der : inform
    }

    /// `message` if it is in the form asked for.
    func check(_ message: [UInt8]) throws -> [UInt8] {
        let isPEM = message.starts(with: Array("-----BEGIN".utf8))
        switch try form() {
        case nil: return message
        case .der?:
            guard message.first == 0x30 else { throw CMSError(.malformed, "the input is not DER CMS (--inform DER)") }
        case .pem?:
            guard isPEM else { throw CMSError(.malformed, "the input is not a PEM CMS block (--inform PEM)") }
        case .smime?:
            guard message.first != 0x30, !isPEM else {
                throw CMSError(.mimeMalformed, "the input is not an S/MIME entity (--inform SMIME)")
            }
        }
        return message
    }
}

/// The form of an output message: an S/MIME entity (default), or raw CMS with `--der` / `--outform DER`, or PEM
/// (`-----BEGIN CMS-----`) with `--outform PEM`.
struct OutputForm: ParsableArguments {
    @Flag(help: "Write raw DER CMS (as --outform DER).") var der = false
    @Option(help: "The output's form: SMIME (default), DER or PEM.") var outform: CMSForm?

    func resolved() throws -> CMSForm {
        if der, let outform, outform != .der { throw CLIError.usage("--der and --outform \(outform.rawValue) contradict each other") }
        return der ? .der : outform ?? .smime
    }

    var isPEM: Bool { (try? resolved()) == .pem }

    /// What the library writes: PEM is DER wrapped afterwards.
    func format() throws -> SMIME.Format { try resolved() == .smime ? .smime : .der }

    /// The bytes to write.
    func encode(_ bytes: [UInt8]) throws -> [UInt8] {
        guard try resolved() == .pem else { return bytes }
        return SMIME.pem(bytes)
    }
}

/// One stderr line per verified signer (its subject: a node, a staff member, or a pseudonymous patient card).
func reportSigners(_ verified: VerifiedContent) { reportSigners(verified.signers) }

func reportSigners(_ signers: [VerifiedSigner]) {
    for signer in signers {
        FileHandle.standardError.write(Data("verified: signer \(signer.certificate.subject)\n".utf8))
    }
}

func parseCipher(_ name: String) throws -> ContentCipher {
    if let cipher = ContentCipher(rawValue: name.lowercased()) { return cipher }
    if ["des", "des3", "des-ede3-cbc", "rc2", "rc2-40", "rc2-cbc"].contains(name.lowercased()) {
        throw CMSError(.weakAlgorithm, "DES, 3DES and RC2 are refused")
    }
    throw CLIError.usage("unknown cipher; use aes-256-gcm, aes-128-gcm, aes-256-cbc or aes-128-cbc")
}

func loadRecipients(_ paths: [String]) throws -> [Certificate] {
    guard !paths.isEmpty else { throw CLIError.usage("at least one --recipient is required") }
    return try paths.map { try PEM.certificates(fromFile: $0)[0] }
}


/// DER messages and documents of any size go through `CMSStreaming`: read, digest, cipher and write a chunk at a time,
/// the output under a temporary name renamed into place only once the operation (tag and signatures included)
/// succeeded. Standard input and output, PEM and S/MIME forms keep the in-memory path.
enum Streamed {
    /// The input as a regular file to stream, or nil (standard input or output, not a regular file: in memory).
    static func input(_ path: String, out: String) -> InputFile? {
        guard out != "-" else { return nil }
        return InputFile(path: path)
    }

    /// Runs `body` with a sink to a temporary file beside `out`; renames it into place when `body` returns.
    static func write<T>(to out: String, _ body: (inout FileByteSink) async throws -> T) async throws -> T {
        let pending = try PendingFile(path: out)
        var sink = pending.sink
        let result = try await body(&sink)
        try pending.commit()
        return result
    }
}
