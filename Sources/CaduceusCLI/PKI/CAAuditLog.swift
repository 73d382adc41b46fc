import CaduceusAudit
import CaduceusCore
import Crypto
import Foundation

/// A CA store's own audit trail (`CA/audit.log`): every issuance, revocation and CRL made with `caduceus pki` is an
/// ATNA-shaped Security Alert on a hash chain (the node log's format and hash, one JSON line per record with the
/// body in base64), appended under the CA's lock and fsynced. `caduceus audit verify --file CA/audit.log` checks it.
/// Patient cards are named by serial number only.
enum CAAuditLog {
    struct Line: Codable {
        var seq: UInt64
        var prev: String
        var hash: String
        var body: String
    }

    static func path(_ ca: String) -> String { ca + "/audit.log" }

    /// Appends one event: `action` (`pki.issue`, `pki.revoke`, `pki.crl`) on the certificate `serial` (hex).
    static func record(ca: String, action: String, serial: String?, detail: String, outcome: AuditOutcome = .success) throws {
        let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "uid:\(getuid())"
        var objects: [AuditObject] = []
        if let serial {
            objects.append(AuditObject(typeCode: 2, role: 13, idType: AuditCode("certificate-serial", system: "caduceus-audit", display: "Certificate serial number"), id: serial))
        }
        let message = AuditMessage(
            eventID: .securityAlert, eventTypes: [AuditCode(action, system: "caduceus-operation", display: detail)],
            action: action == "pki.revoke" ? .delete : .create, outcome: outcome, time: Date(), sourceID: "ca:" + URL(fileURLWithPath: ca).lastPathComponent,
            participants: [AuditParticipant(userID: user, roles: [AuditCode("ca-operator", system: "caduceus-audit", display: "CA operator")], isRequestor: true)],
            objects: objects)
        let file = path(ca)
        try FileLock.withExclusiveLock(at: ca + "/audit.lock") {
            let last = try lastRecord(file)
            var chain = AuditChain(sequence: last?.sequence ?? 0, head: last?.hash ?? AuditChain.genesis)
            let r = try chain.append(message)
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            var line = try e.encode(Line(seq: r.sequence, prev: Hex.encode(r.previousHash), hash: Hex.encode(r.hash), body: Data(r.body).base64EncodedString()))
            line.append(0x0A)
            let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw CLIError(code: "io.write-failed", message: "cannot open the CA's audit log") }
            defer { close(fd) }
            try line.withUnsafeBytes { try AtomicFile.writeAll(fd, $0) }
            guard fsync(fd) == 0 else { throw CLIError(code: "io.write-failed", message: "cannot sync the CA's audit log") }
        }
    }

    /// Refuses to act on a CA whose audit log cannot take the next record (its last line is not a record): checked
    /// before issuing or revoking, so nothing is done that could not be recorded.
    static func check(ca: String) throws {
        _ = try lastRecord(path(ca))
    }

    /// The records of a CA audit log (empty when there is none yet).
    static func read(_ file: String) throws -> [ChainedRecord] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        return try data.split(separator: 0x0A).enumerated().map { n, text in try record(text, line: n + 1) }
    }

    /// The last record (the chain's head), reading only the end of the file: appending does not re-read the log.
    static func lastRecord(_ file: String) throws -> ChainedRecord? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        guard size > 0 else { return nil }
        // A record line is a few hundred bytes (the body is one audit message); 64 KiB holds the last one.
        let window = min(size, 64 << 10)
        try handle.seek(toOffset: size - window)
        let tail = try handle.readToEnd() ?? Data()
        guard let text = tail.split(separator: 0x0A).last else { return nil }
        return try record(text, line: 0)
    }

    static func record(_ text: Data.SubSequence, line n: Int) throws -> ChainedRecord {
        guard let line = try? JSONDecoder().decode(Line.self, from: Data(text)), let prev = Hex.decode(line.prev), let hash = Hex.decode(line.hash),
              let body = Data(base64Encoded: line.body)
        else { throw CLIError(code: "audit.malformed-record", message: n > 0 ? "the audit log fails verification at line \(n) (not a record)" : "the audit log's last line is not a record") }
        return ChainedRecord(sequence: line.seq, previousHash: prev, body: Array(body), hash: hash)
    }

    /// Verifies a CA audit log (no checkpoints: a truncated tail is not detectable here).
    static func verify(_ file: String) throws -> AuditVerification {
        AuditVerifier.verify(try read(file), checkpoints: [], key: P256.Signing.PrivateKey().publicKey)
    }
}
