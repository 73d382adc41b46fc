package import Foundation

/// Runs the `openssl` command-line tool (the foreign oracle for interoperability tests) and other processes.
package enum ProcessRunner {
    /// The result of a process run.
    package struct Result: Sendable {
        package let status: Int32
        package let stdout: Data
        package let stderr: String
        package var ok: Bool { status == 0 }
        package var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `executable` with `arguments` in `directory`, optionally feeding `input` on stdin.
    @discardableResult
    package static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil, input: Data? = nil)
        throws -> Result
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inPipe = Pipe()
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(input) }
        try inPipe.fileHandleForWriting.close()
        // Drain both pipes concurrently so a large stderr cannot block the child.
        let errorData = LockedData()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorData.set(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errorData.get(), as: UTF8.self))
    }

    /// Runs `openssl` (found on PATH) with `arguments`.
    @discardableResult
    package static func openssl(_ arguments: [String], in directory: URL? = nil, input: Data? = nil) throws -> Result {
        try run(opensslPath, arguments, in: directory, input: input)
    }

    /// The openssl binary.
    package static let opensslPath: String = {
        for candidate in ["/usr/bin/openssl", "/usr/local/bin/openssl"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "/usr/bin/openssl"
    }()
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// A temporary directory removed when the value is released.
package final class TemporaryDirectory: @unchecked Sendable {
    package let url: URL
    package var path: String { url.path }

    package init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `data` to a file in the directory and returns its path.
    @discardableResult
    package func write(_ name: String, _ data: Data) throws -> String {
        let file = url.appendingPathComponent(name)
        try data.write(to: file)
        return file.path
    }

    /// Writes text.
    @discardableResult
    package func write(_ name: String, _ text: String) throws -> String { try write(name, Data(text.utf8)) }

    /// Reads a file.
    package func read(_ name: String) throws -> Data { try Data(contentsOf: url.appendingPathComponent(name)) }

    /// The path of a file in the directory.
    package func file(_ name: String) -> String { url.appendingPathComponent(name).path }
}
