public import ArgumentParser  // the conformance of CaduceusPKI.KeyAlgorithm (public) below
import CaduceusCore
import CaduceusPKI
import CaduceusCMS
import CaduceusPKCS11
import Foundation
import X509
#if canImport(Glibc)
import Glibc
#endif

/// A command-line usage or I/O failure.
struct CLIError: CaduceusError {
    let code: String
    let message: String
    var category: ErrorCategory { code == "cli.io" ? .internal : .client }
    static func io(_ message: String) -> CLIError { CLIError(code: "cli.io", message: message) }
    static func usage(_ message: String) -> CLIError { CLIError(code: "cli.usage", message: message) }
}

/// Runs a command body; a Caduceus error becomes one line on stderr and exit status 1. Nothing is written on failure
/// because commands write their output only at the end, atomically.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as any CaduceusError {
        FileHandle.standardError.write(Data("caduceus: error: \(error.code): \(error.message)\n".utf8))
        throw ExitCode(1)
    }
}

enum Files {
    /// Reads a whole file straight into one exactly sized array (no intermediate `Data` copy).
    static func read(_ path: String, what: String) throws -> [UInt8] {
        if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError.io("cannot read the \(what) file") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw CLIError.io("the \(what) file is not a regular file")
        }
        let size = Int(info.st_size)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var offset = 0
            while offset < size {
                let n = Glibc.read(fd, buffer.baseAddress! + offset, size - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
            count = offset
            failed = offset != size
        }
        if failed { throw CLIError.io("the \(what) file changed while it was read") }
        return bytes
    }

    static func text(_ path: String, what: String) throws -> String {
        guard let text = String(validating: try read(path, what: what), as: UTF8.self) else {
            throw CLIError.io("the \(what) file is not text")
        }
        return text
    }

    /// Writes durably and atomically; `-` is standard output.
    static func write(_ bytes: some Collection<UInt8>, to path: String, permissions: Int = 0o644) throws {
        try write(to: path, permissions: permissions) { fd in
            if let done = try bytes.withContiguousStorageIfAvailable({ try AtomicFile.writeAll(fd, UnsafeRawBufferPointer($0)) }) {
                return done
            }
            try Array(bytes).withUnsafeBytes { try AtomicFile.writeAll(fd, $0) }
        }
    }

    /// Writes a DER rope part by part (no joined copy).
    static func write(_ rope: DERRope, to path: String) throws {
        try write(to: path, permissions: 0o644) { fd in try rope.withParts { try AtomicFile.writeAll(fd, $0) } }
    }

    private static func write(to path: String, permissions: Int, _ writer: (Int32) throws -> Void) throws {
        if path == "-" { try writer(STDOUT_FILENO); return }
        try AtomicFile.write(to: path, permissions: permissions, writer)
    }

    static func password(_ path: String) throws -> Sensitive<String> {
        var text = try text(path, what: "password")
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        guard !text.isEmpty else { throw CLIError.usage("the password file is empty") }
        return Sensitive(text)
    }

    /// The first line of a secret file (a token PIN), wrapped so it never prints.
    static func secret(_ path: String, what: String) throws -> Sensitive<String> {
        let text = try text(path, what: what)
        let line = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
        guard !line.isEmpty else { throw CLIError.usage("the \(what) file is empty") }
        return Sensitive(line)
    }
}

/// `--cert`/`--key`, `--p12`/`--password-file`, or `--token`/`--label`/`--pin-file`: how a command gets a credential.
struct CredentialOptions: ParsableArguments {
    @Option(help: "PKCS#11 module whose token holds the key (instead of --key or --p12); the key never leaves it.")
    var token: String?
    @Option(help: "The token's label (with --token).")
    var label: String?
    @Option(help: "File whose first line is the token's user PIN (with --token).")
    var pinFile: String?
    @Option(help: "CKA_ID of the key on the token, hexadecimal (with --token; default: the token's only private key).")
    var keyId: String?
    @Option(help: "PEM file: the certificate, then its chain (included in signatures).")
    var cert: String?
    @Option(help: "PEM private key (PKCS#8, SEC1 or PKCS#1).")
    var key: String?
    @Option(help: "PKCS#12 credential file (instead of --cert/--key).")
    var p12: String?
    @Option(help: "File whose first line is the PKCS#12 password.")
    var passwordFile: String?

    func load() throws -> Credential {
        if let token {
            guard let label, let pinFile else { throw CLIError.usage("--token needs --label and --pin-file") }
            guard key == nil, p12 == nil else { throw CLIError.usage("give --token or --key or --p12, not several") }
            let opened = try PKCS11Token(modulePath: token, label: label, pin: try Files.secret(pinFile, what: "PIN"))
            let id = try keyId.map { text -> [UInt8] in
                guard let bytes = Hex.decode(text), !bytes.isEmpty else { throw CLIError.usage("--key-id must be hexadecimal") }
                return bytes
            }
            return try opened.credential(id: id, certificates: try cert.map { try PEM.certificates(fromFile: $0) } ?? [])
        }
        if let p12 {
            guard let passwordFile else { throw CLIError.usage("--p12 needs --password-file") }
            return try PKCS12.importCredential(try Files.read(p12, what: "PKCS#12"), password: try Files.password(passwordFile))
        }
        guard let cert, let key else { throw CLIError.usage("give --cert and --key, or --p12 and --password-file") }
        return try Self.credential(certificateFile: cert, keyFile: key)
    }

    /// A credential from a PEM file (certificate, then chain) and a PEM key file.
    static func credential(certificateFile: String, keyFile: String) throws -> Credential {
        let certificates = try PEM.certificates(fromFile: certificateFile)
        let material = try PrivateKeyMaterial(pemEncoded: try Files.text(keyFile, what: "key"))
        return try Credential(key: material, certificate: certificates[0], chain: Array(certificates.dropFirst()))
    }
}

/// `--trust`, `--crl`, `--crl-check-all`: how a command validates certificates.
struct TrustOptions: ParsableArguments {
    @Option(help: "PEM file of trusted root certificates (repeatable).")
    var trust: [String] = []
    @Option(help: "CRL file, DER or PEM (repeatable). With any CRL given, the leaf's issuer must have one.")
    var crl: [String] = []
    @Flag(help: "Require a CRL for every certificate in the chain, not just the leaf.")
    var crlCheckAll = false
    @Option(help: "Extra untrusted certificates that may complete chains (PEM).")
    var untrusted: String?

    func validator() throws -> ChainValidator {
        guard !trust.isEmpty else { throw CLIError.usage("at least one --trust anchor is required") }
        let anchors = try trust.flatMap { try PEM.certificates(fromFile: $0) }
        let crls = try crl.map { try CertificateRevocationList(pemOrDER: try Files.read($0, what: "CRL")) }
        let requirement: RevocationRequirement = crlCheckAll ? .fullChain : (crls.isEmpty ? .bestEffort : .leaf)
        return ChainValidator(anchors: anchors, crls: crls, revocation: requirement)
    }

    func extraCertificates() throws -> [Certificate] {
        guard let untrusted else { return [] }
        return try PEM.certificates(fromFile: untrusted)
    }
}

extension KeyAlgorithm: ExpressibleByArgument {}
