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
            Output is an S/MIME entity (CRLF, base64) unless --der asks for raw CMS. Content is signed and encrypted \
            byte for byte (like `openssl cms -binary`). Algorithms: ECDSA/RSA with SHA-256 signatures; AES-256-GCM \
            (AuthEnvelopedData, default), AES-256-CBC or AES-128-CBC content; RSA-OAEP-SHA256 key transport for RSA \
            recipients, ECDH P-256 with the SHA-256 KDF and AES key wrap for EC recipients. DES, 3DES, RC2, MD5, \
            SHA-1 signatures, RSA under 2048 bits and RSA PKCS#1 v1.5 key transport are refused.

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
        @Flag(help: "Write raw DER CMS.") var der = false

        func run() async throws {
            try await reportingErrors {
                let content = try Files.read(`in`, what: "input")
                var signers = [try credential.load()]
                guard extraCert.count == extraKey.count else { throw CLIError.usage("--extra-cert and --extra-key pair up") }
                for (cert, key) in zip(extraCert, extraKey) {
                    signers.append(try CredentialOptions.credential(certificateFile: cert, keyFile: key))
                }
                let output = try SMIME.sign(
                    content[...], signers: signers, detached: !nodetach, format: der ? .der : .smime, signingTime: Date())
                try Files.write(output, to: out)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every signature and the signers' certificate paths; write the content.")
        @Option(help: "Signed message (S/MIME or DER).") var `in`: String
        @Option(help: "Detached content for a DER detached signature.") var content: String?
        @Option(help: "Where to write the verified content.") var out: String?
        @OptionGroup var trust: TrustOptions

        func run() async throws {
            try await reportingErrors {
                let message = try Files.read(`in`, what: "input")
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
        @Flag(help: "Write raw DER CMS.") var der = false

        func run() async throws {
            try await reportingErrors {
                let content = try Files.read(`in`, what: "input")
                let output = try SMIME.encrypt(
                    content[...], recipients: try loadRecipients(recipient), cipher: try parseCipher(cipher),
                    format: der ? .der : .smime)
                try Files.write(output, to: out)
            }
        }
    }

    struct Decrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt with the recipient's credential.")
        @Option(help: "Encrypted message (S/MIME, PEM or DER).") var `in`: String
        @Option(help: "Output file.") var out: String
        @OptionGroup var credential: CredentialOptions

        func run() async throws {
            try await reportingErrors {
                let key = try credential.load()
                let plaintext = try SMIME.decrypt(try Files.read(`in`, what: "input")[...], credential: key)
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
        @Flag(help: "Raw DER: SignedData inside EnvelopedData, no MIME layers.") var der = false

        func run() async throws {
            try await reportingErrors {
                let signer = try credential.load()
                let recipients = try loadRecipients(recipient)
                let output = try SMIME.sealRope(
                    consuming: try Files.read(`in`, what: "input"), signers: [signer], recipients: recipients,
                    cipher: try parseCipher(cipher), format: der ? .der : .smime, signingTime: Date())
                try Files.write(output, to: out)
            }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt then verify, in one step.")
        @Option(help: "Sealed message.") var `in`: String
        @Option(help: "Output file for the verified content.") var out: String
        @OptionGroup var credential: CredentialOptions
        @OptionGroup var trust: TrustOptions

        func run() async throws {
            try await reportingErrors {
                let validator = try trust.validator()
                let key = try credential.load()
                let message = try Files.read(`in`, what: "input")
                let opened = try await SMIME.open(message[...], credential: key, validator: validator, now: Date())
                reportSigners(opened)
                try Files.write(opened.content, to: out)
            }
        }
    }
}

/// One stderr line per verified signer (its subject: a node, a staff member, or a pseudonymous patient card).
func reportSigners(_ verified: VerifiedContent) {
    for signer in verified.signers {
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

