import CaduceusCore
import Foundation

/// Where streamed CMS reads its bytes: a file, the plaintext coming out of a cipher, or an array in tests.
package protocol ByteSource {
    /// At most `maxCount` (> 0) next bytes; empty only at the end.
    mutating func read(upTo maxCount: Int) throws -> ArraySlice<UInt8>
}

/// Where streamed CMS writes its bytes.
package protocol ByteSink {
    mutating func write(_ bytes: ArraySlice<UInt8>) throws
}

/// Streaming sizes: every read from a file, every cipher call and every write is at most one chunk.
package enum StreamChunk {
    /// 1 MiB: a multiple of the AES block size, large enough that per-call costs vanish.
    package static let size = 1 << 20
    /// The largest single element other than the content (a certificate set, the signer infos, the recipient infos)
    /// that a streamed message may hold; larger is refused as malformed rather than buffered.
    package static let elementLimit = 4 << 20
}

/// Bytes of an open file descriptor, read `StreamChunk.size` at a time at most. Remembers the largest request, so
/// tests can check that a streamed operation never asks for more.
package struct FileByteSource: ByteSource {
    let fd: Int32
    package private(set) var largestRequest = 0
    package private(set) var bytesRead = 0

    package init(fd: Int32) { self.fd = fd }

    package mutating func read(upTo maxCount: Int) throws -> ArraySlice<UInt8> {
        let count = min(maxCount, StreamChunk.size)
        largestRequest = max(largestRequest, count)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, filled in
            filled = 0
            while true {
                let n = Foundation.read(fd, buffer.baseAddress!, count)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failed = true } else { filled = n }
                break
            }
        }
        if failed { throw CMSError(.malformed, "the message could not be read (I/O error)") }
        bytesRead += bytes.count
        return bytes[...]
    }
}

/// An array as a source (tests; in-memory callers of the streaming core). Records the largest request too.
package struct ArrayByteSource: ByteSource {
    let bytes: [UInt8]
    var offset = 0
    package private(set) var largestRequest = 0

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package mutating func read(upTo maxCount: Int) throws -> ArraySlice<UInt8> {
        largestRequest = max(largestRequest, maxCount)
        let end = min(bytes.count, offset + maxCount)
        defer { offset = end }
        return bytes[offset..<end]
    }
}

/// Writes to an open file descriptor.
package struct FileByteSink: ByteSink {
    let fd: Int32
    package private(set) var bytesWritten = 0

    package init(fd: Int32) { self.fd = fd }

    package mutating func write(_ bytes: ArraySlice<UInt8>) throws {
        try bytes.withUnsafeBytes { try AtomicFile.writeAll(fd, $0) }
        bytesWritten += bytes.count
    }
}

/// Collects what is written (tests; in-memory callers).
package struct ArrayByteSink: ByteSink {
    package private(set) var bytes: [UInt8] = []
    package init() {}
    package mutating func write(_ bytes: ArraySlice<UInt8>) throws { self.bytes.append(contentsOf: bytes) }
}

/// Drops what is written (a verification whose content nobody asked for).
package struct DiscardingSink: ByteSink {
    package init() {}
    package mutating func write(_ bytes: ArraySlice<UInt8>) throws {}
}

/// A file written under a temporary name beside its destination and renamed into place only by ``commit()``; dropped
/// otherwise (nothing is left behind by a failed operation). `-` is not a path here: streamed output needs a file.
package final class PendingFile {
    let path: String
    let temporary: String
    package let fd: Int32
    var committed = false

    package init(path: String, permissions: Int = 0o644) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let dir = directory.isEmpty ? "." : directory
        self.path = path
        temporary = "\(dir)/.\((path as NSString).lastPathComponent).\(UInt64.random(in: 0...UInt64.max)).tmp"
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions))
        guard fd >= 0 else { throw AtomicFile.WriteError(message: "cannot create temporary file (errno \(errno))") }
    }

    package var sink: FileByteSink { FileByteSink(fd: fd) }

    /// fsyncs, renames into place and syncs the directory.
    package func commit() throws {
        guard fsync(fd) == 0 else { throw AtomicFile.WriteError(message: "fsync failed (errno \(errno))") }
        try AtomicFile.move(temporary, to: path)
        committed = true
    }

    deinit {
        close(fd)
        if !committed { unlink(temporary) }
    }
}

/// A regular file opened for streamed reading, with its size. Nil when the path cannot be opened or is not a regular
/// file (standard input, a pipe): the caller takes its in-memory path, with its own errors.
package final class InputFile {
    package let fd: Int32
    package let size: Int

    package init?(path: String) {
        guard path != "-" else { return nil }
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        size = Int(info.st_size)
    }

    /// A source reading from the start.
    package func source() throws -> FileByteSource {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw CMSError(.malformed, "the input file could not be read again") }
        return FileByteSource(fd: fd)
    }

    /// The first bytes (to recognise the form), without moving the read position for ``source()``.
    package func peek(_ count: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, count, 0) }
        return n > 0 ? Array(buffer.prefix(n)) : []
    }

    deinit { close(fd) }
}
