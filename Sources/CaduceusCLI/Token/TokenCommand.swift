import ArgumentParser
import CaduceusCore
import CaduceusExchange
import CaduceusPKCS11
import CaduceusPKI
import Foundation
import X509

/// `caduceus token …`: PKCS#11 tokens (SoftHSM2, a PIV card through OpenSC, an HSM). Keys are generated on the token
/// and never leave it; a CA certifies them through a CSR the token signs; the certificate is stored beside the key.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "PKCS#11 tokens: list slots and objects, generate a non-extractable P-256 key, store its certificate.",
        discussion: """
            The module is loaded at run time (--module /usr/lib/softhsm/libsofthsm2.so, \
            /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so, an HSM's library); tokens are chosen by label, never by slot \
            number. The PIN is read from --pin-file and never printed. Use the key anywhere a credential is taken \
            with --token MODULE --label NAME --pin-file F [--key-id HEX] (caduceus smime, caduceus doc).
            """,
        subcommands: [List.self, Keygen.self, ImportCert.self, ImportEmergency.self])

    /// `--module`, `--label`, `--pin-file`: which token, and how to log in.
    struct TokenOptions: ParsableArguments {
        @Option(help: "The PKCS#11 module (shared library) to load.") var module: String
        @Option(help: "The token's label.") var label: String
        @Option(help: "File whose first line is the user PIN.") var pinFile: String

        func open() throws -> PKCS11Token {
            try PKCS11Token(modulePath: module, label: label, pin: try Files.secret(pinFile, what: "PIN"))
        }
    }

    static func keyId(_ text: String) throws -> [UInt8] {
        guard let id = Hex.decode(text), !id.isEmpty else { throw CLIError.usage("--id must be hexadecimal bytes (e.g. 01)") }
        return id
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the module's slots and tokens; with --label and --pin-file, the objects on that token.")
        @Option(help: "The PKCS#11 module (shared library) to load.") var module: String
        @Option(help: "A token's label: list its objects.") var label: String?
        @Option(help: "File whose first line is the user PIN (private objects are listed only when logged in).") var pinFile: String?

        func run() async throws {
            try await reportingErrors {
                let loaded = try PKCS11Module(path: module)
                let info = try loaded.info()
                var lines = ["module: \(info.description) (\(info.manufacturer)), Cryptoki \(info.cryptokiVersion)"]
                let slots = try loaded.slots()
                lines.append("slots: \(slots.count)")
                for slot in slots {
                    if let token = slot.token {
                        lines.append("  slot \(slot.id): token \"\(token.label)\" \(token.manufacturer) \(token.model) serial \(token.serialNumber)\(token.initialized ? "" : " (not initialised)")")
                    } else {
                        lines.append("  slot \(slot.id): \(slot.description) (no token)")
                    }
                }
                if let label {
                    let token = try PKCS11Token(modulePath: module, label: label, pin: try pinFile.map { try Files.secret($0, what: "PIN") })
                    let objects = try token.objects()
                    lines.append("objects on \"\(label)\": \(objects.count)")
                    for object in objects {
                        var line = "  \(object.kind.rawValue) id \(Hex.encode(object.id)) label \"\(object.label)\""
                        if object.kind == .privateKey {
                            line += " sensitive=\(object.sensitive.map(String.init) ?? "?") extractable=\(object.extractable.map(String.init) ?? "?") never-extractable=\(object.neverExtractable.map(String.init) ?? "?")"
                        }
                        if let subject = object.subject { line += " subject \(subject)" }
                        lines.append(line)
                    }
                }
                print(lines.joined(separator: "\n"))
            }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a P-256 key pair on the token: private, sensitive, never extractable; sign and derive only.",
            discussion: "Writes the public key (PEM) and, with --csr-out, a PKCS#10 request signed on the token for `caduceus pki issue --csr`.")
        @OptionGroup var token: TokenOptions
        @Option(help: "The key's CKA_ID, hexadecimal (pairs the key with its certificate).") var id: String
        @Option(help: "The key's CKA_LABEL.") var keyLabel: String?
        @Option(help: "Write the public key here (PEM).") var publicKeyOut: String?
        @Option(help: "Write a certification request here (PEM), signed on the token.") var csrOut: String?
        @Option(help: "Common name for the request's subject (the CA names the certificate itself).") var name: String = "token key"

        func run() async throws {
            try await reportingErrors {
                let opened = try token.open()
                let key = try opened.generateP256Key(id: try TokenCommand.keyId(id), keyLabel: keyLabel ?? token.label)
                let material = try PrivateKeyMaterial(.external(key))
                let publicPEM = try material.publicKey.serializeAsPEM().pemString + "\n"
                if let publicKeyOut { try Files.write(Array(publicPEM.utf8), to: publicKeyOut) }
                if let csrOut {
                    let request = try CertificationRequest.make(subject: try DistinguishedName { CommonName(name) }, key: material)
                    try Files.write(Array((try request.serializeAsPEM().pemString + "\n").utf8), to: csrOut)
                }
                print("generated P-256 key \(key.location) (private, sensitive, not extractable)")
                if publicKeyOut == nil { print(publicPEM, terminator: "") }
            }
        }
    }

    struct ImportEmergency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-emergency",
            abstract: "Put a patient card's emergency data set (signed by the issuing node) on the patient's token, as a public data object; it is verified first, and replaces one stored before.")
        @OptionGroup var token: TokenOptions
        @Option(help: "Federation root certificate(s), PEM: the set must verify under them before it is stored.") var trust: String
        @Option(help: "The patient card's certificate: the set must be this card's (default: the patient card certificate on the token).") var card: String?
        @Argument(help: "The signed data set (<card>.emergency.p7s, DER).") var file: String

        func run() async throws {
            try await reportingErrors {
                let signed = try Files.read(file, what: "emergency data set")
                let opened = try token.open()
                let cardCertificate = try CardCommand.VerifyEmergency.certificate(card) ?? CardCommand.VerifyEmergency.patientCard(on: opened)
                _ = try await EmergencyDataSet.verify(signed, validator: ChainValidator(anchors: try PEM.certificates(fromFile: trust)), now: Date(), card: cardCertificate)
                try opened.storeData(signed, application: EmergencyDataSet.tokenApplication, label: EmergencyDataSet.tokenLabel)
                print("stored the emergency data set (\(signed.count) bytes) on token \"\(token.label)\"")
            }
        }
    }

    struct ImportCert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-cert",
            abstract: "Store the key's certificate (and its chain) on the token under the key's id.")
        @OptionGroup var token: TokenOptions
        @Option(help: "The key's CKA_ID, hexadecimal.") var id: String
        @Option(help: "PEM file: the certificate, then its chain.") var cert: String

        func run() async throws {
            try await reportingErrors {
                let opened = try token.open()
                let keyId = try TokenCommand.keyId(id)
                let key = try opened.privateKey(id: keyId)
                let certificates = try PEM.certificates(fromFile: cert)
                guard Certificate.PublicKey(key.publicKey) == certificates[0].publicKey else {
                    throw PKCS11Error(.certificateMismatch, "the certificate is not for the key with that id")
                }
                try opened.storeCertificates(certificates, id: keyId, keyLabel: token.label)
                print("stored \(certificates.count) certificate(s) on token \"\(token.label)\" for key \(Hex.encode(keyId))")
            }
        }
    }
}
