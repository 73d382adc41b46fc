public import struct Foundation.Data
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Durable file replacement: write to a temporary file in the same directory, fsync it, rename it over the target,
/// then fsync the directory. After a crash the target holds either the old or the new content, never a mix.
public enum AtomicFile {
    /// An I/O failure while writing durably. Carries the failing step and errno, never file content.
    public struct WriteError: CaduceusError {
        public let code = "io.write-failed"
        /// A local write failed: this node's failure.
        public var category: ErrorCategory { .internal }
        public let message: String
        /// An I/O failure; `message` names the step and errno, never content.
        public init(message: String) { self.message = message }
    }

    /// Writes `data` to `path` atomically and durably.
    /// - Parameter permissions: POSIX mode of the new file (`0o600` for keys and CA state).
    public static func write(_ data: Data, to path: String, permissions: Int = 0o644) throws {
        try write(to: path, permissions: permissions) { fd in
            try data.withUnsafeBytes { try writeAll(fd, $0) }
        }
    }

    /// Writes every byte of `buffer` to `fd`, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw WriteError(message: "write failed (errno \(errno))")
            }
            offset += n
        }
    }

    /// Atomically and durably replaces `path` with what `writer` writes to the file descriptor it is given.
    public static func write(to path: String, permissions: Int = 0o644, _ writer: (Int32) throws -> Void) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let dir = directory.isEmpty ? "." : directory
        let temporary = "\(dir)/.\((path as NSString).lastPathComponent).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions))
        guard fd >= 0 else { throw WriteError(message: "cannot create temporary file (errno \(errno))") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            try writer(fd)
            guard fsync(fd) == 0 else { throw WriteError(message: "fsync failed (errno \(errno))") }
        }
        guard rename(temporary, path) == 0 else { throw WriteError(message: "rename failed (errno \(errno))") }
        ok = true
        try syncDirectory(dir)
    }

    /// Creates `path` (which must not exist) holding `data`, durably: the file and then its directory are fsynced, once
    /// each. No temporary file and no rename: for content-addressed names, where a file cut short by a crash is never
    /// referenced (the row naming it is committed only after this returns) and a complete one never changes.
    public static func create(_ data: Data, at path: String, permissions: Int = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions))
        guard fd >= 0 else { throw WriteError(message: "cannot create file (errno \(errno))") }
        var ok = false
        defer { if !ok { unlink(path) } }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { try writeAll(fd, $0) }
            guard fsync(fd) == 0 else { throw WriteError(message: "fsync failed (errno \(errno))") }
        }
        ok = true
        let directory = (path as NSString).deletingLastPathComponent
        try syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// Atomically and durably renames `source` to `path` (replacing it).
    public static func move(_ source: String, to path: String) throws {
        guard rename(source, path) == 0 else { throw WriteError(message: "rename failed (errno \(errno))") }
        let directory = (path as NSString).deletingLastPathComponent
        try syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// fsyncs a directory so that a rename or create inside it survives a crash.
    public static func syncDirectory(_ directory: String) throws {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw WriteError(message: "cannot open directory (errno \(errno))") }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw WriteError(message: "directory fsync failed (errno \(errno))") }
    }
}

/// An exclusive advisory lock (`flock`) on a file, held for the duration of a closure. Serialises processes that
/// mutate the same on-disk state (a CA directory, say).
public enum FileLock {
    /// Runs `body` while holding an exclusive lock on `path` (created if missing).
    public static func withExclusiveLock<T>(at path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AtomicFile.WriteError(message: "cannot open lock file (errno \(errno))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw AtomicFile.WriteError(message: "cannot take lock (errno \(errno))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
