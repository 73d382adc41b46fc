package import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `caduceus` executable built beside the tests (`swift build --build-tests` builds it too).
package enum CaduceusBinary {
    /// Its path; throws when it has not been built.
    package static func path() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for candidate in [".build/debug/caduceus", ".build/release/caduceus"] {
            let path = root.appendingPathComponent(candidate).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw Missing()
    }

    struct Missing: Error, CustomStringConvertible { var description: String { "build the caduceus executable first (swift build)" } }

    /// Runs `caduceus` with `arguments`.
    @discardableResult
    package static func run(_ arguments: [String], input: Data? = nil) throws -> ProcessRunner.Result {
        try ProcessRunner.run(try path(), arguments, input: input)
    }
}

/// A `caduceus serve` child process on a free loopback port.
package final class ServeProcess: Sendable {
    let process: Process
    /// The MLLP port it listens on (0 without `--mllp`).
    package let port: Int
    /// The HTTPS port it listens on.
    package let httpsPort: Int

    /// Starts `caduceus serve --data DATA --mllp 127.0.0.1:0 --insecure-plain-mllp --https 127.0.0.1:0 --domain …` and waits for both
    /// "listening" lines.
    package convenience init(data: String, domains: [String], extra: [String] = []) throws {
        try self.init(arguments: ["--data", data, "--mllp", "127.0.0.1:0", "--insecure-plain-mllp", "--https", "127.0.0.1:0"] + domains.flatMap { ["--domain", $0] } + extra)
    }

    /// Starts `caduceus serve ARGUMENTS` (with `environment` added) and waits for its "https listening" line, and
    /// its "mllp listening" line when `--mllp` is among the arguments.
    package init(arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CaduceusBinary.path())
        process.arguments = ["serve"] + arguments
        // A regional node's audit repository on a free port, so servers started side by side do not collide on 6514.
        process.environment = ProcessInfo.processInfo.environment.merging(["AUDIT_REPOSITORY_PORT": "0"].merging(environment) { $1 }) { $1 }
        let wantsMLLP = arguments.contains("--mllp")
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        func port(_ marker: String) -> Int? {
            guard let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) else { return nil }
            let after = line.split(separator: " ").first { $0.contains(":") && $0.last?.isNumber == true } ?? ""
            return after.split(separator: ":").last.flatMap { Int($0) }
        }
        while (wantsMLLP && port("mllp listening") == nil) || port("https listening") == nil {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let https = port("https listening"), !wantsMLLP || port("mllp listening") != nil else {
            process.terminate()
            throw CaduceusBinary.Missing()
        }
        self.process = process
        self.port = port("mllp listening") ?? 0
        self.httpsPort = https
    }

    /// Asks it to stop (SIGTERM), waits, and returns its exit status.
    package func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Kills it with SIGKILL and reaps it.
    package func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A loopback TCP port where nothing listens (for tests of an unreachable peer): one the kernel chose for a socket
/// that was then closed. Tests only — servers bind port 0 and report what they got.
package func unusedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CocoaError(.fileReadUnknown) }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw CocoaError(.fileReadUnknown) }
    return Int(UInt16(bigEndian: addr.sin_port))
}
