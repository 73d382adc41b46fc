package import CaduceusDocuments
package import Foundation
import CaduceusCore
import Crypto

/// The repository's content store: each document encrypted with its own AES-256-GCM key (the key wrapped under the
/// data key, which the node key wraps), written as a file named by the SHA-256 of the encrypted object
/// (`blobs/ab/abcdef…`), fsynced with its directory before the database row that points at it is committed.
/// On read the file's name, the GCM tag, and the plaintext's size and SHA-256 against the metadata are all checked.
package struct BlobStore: Sendable {
    /// The directory holding the blobs.
    package let directory: String
    let cipher: PHICipher

    /// A store under `directory` (created if absent), wrapping keys with `cipher`.
    package init(directory: String, cipher: PHICipher) throws(StorageError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // The 256 fan-out folders exist (and are on disk) before any blob is written, so a blob's durability is
            // its file's and its folder's fsync alone — no writer depends on another's folder creation.
            var made = false
            for byte in 0..<256 {
                let dir = directory + "/" + Hex.encode([UInt8(byte)])
                if !FileManager.default.fileExists(atPath: dir) {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
                    made = true
                }
            }
            if made { try AtomicFile.syncDirectory(directory) }
        } catch {
            throw StorageError(.database, "the blob directory could not be created")
        }
        self.directory = directory
        self.cipher = cipher
    }

    /// What ``put(_:uniqueId:)`` returns: the blob name and the wrapped key, for the repository row.
    package struct Stored: Sendable {
        /// The blob's name (SHA-256 of the encrypted object, hex).
        package let blob: String
        /// The wrapped per-document key.
        package let wrappedKey: Data
        /// Creates a reference.
        package init(blob: String, wrappedKey: Data) {
            self.blob = blob
            self.wrappedKey = wrappedKey
        }
    }

    /// Encrypts `content` under a fresh key bound to `uniqueId` and writes it durably.
    package func put(_ content: [UInt8], uniqueId: String) throws(StorageError) -> Stored {
        let key = SymmetricKey(size: .bits256)
        let sealed: Data
        do {
            sealed = try AES.GCM.seal(content, using: key, authenticating: Data(uniqueId.utf8)).combined!
        } catch {
            throw StorageError(.database, "a document could not be encrypted")
        }
        let name = Hex.encode(SHA256.hash(data: sealed))
        let wrapped = try cipher.seal(key.withUnsafeBytes { Data($0) }, context: "documents.key:" + uniqueId)
        let dir = directory + "/" + name.prefix(2)
        do {
            // One fsync of the file and one of its fan-out folder (made at start): the name is the content's hash, so a
            // file cut short by a crash is never referenced — no temporary file and rename.
            try AtomicFile.create(sealed, at: dir + "/" + name, permissions: 0o600)
        } catch {
            throw StorageError(.database, "a document could not be written to the blob store")
        }
        return Stored(blob: name, wrappedKey: wrapped)
    }

    /// Reads and decrypts a document, checking it against its metadata.
    /// - Throws: `documents.hash-mismatch` / `documents.size-mismatch` when the content does not match `entry`;
    ///   `storage.decryption-failed` when the blob was altered (its name or tag no longer fits).
    package func get(_ document: RepositoryDocument) throws -> [UInt8] {
        let path = directory + "/" + document.blob.prefix(2) + "/" + document.blob
        guard let sealed = FileManager.default.contents(atPath: path) else {
            throw StorageError(.notFound, "the document's blob is missing")
        }
        guard Hex.encode(SHA256.hash(data: sealed)) == document.blob else {
            throw StorageError(.decryptionFailed, "a stored value could not be decrypted")
        }
        let raw = try cipher.open(document.wrappedKey, context: "documents.key:" + document.entry.uniqueId)
        let content: Data
        do {
            content = try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: SymmetricKey(data: raw), authenticating: Data(document.entry.uniqueId.utf8))
        } catch {
            throw StorageError(.decryptionFailed, "a stored value could not be decrypted")
        }
        let bytes = Array(content)
        try DocumentIntegrity.check(bytes, against: document.entry)
        return bytes
    }

    /// Deletes a blob (compensation after a failed submission).
    package func remove(blob: String) {
        try? FileManager.default.removeItem(atPath: directory + "/" + blob.prefix(2) + "/" + blob)
    }
}

/// The size and SHA-256 check every stored or received document passes.
package enum DocumentIntegrity {
    /// SHA-256 of `content`, lowercase hex.
    package static func sha256(_ content: [UInt8]) -> String { Hex.encode(SHA256.hash(data: content)) }

    /// Checks `content` against the metadata's size and hash.
    package static func check(_ content: [UInt8], against entry: DocumentEntry) throws(DocumentsError) {
        guard content.count == entry.size else { throw DocumentsError(.sizeMismatch, "the document's size differs from its metadata") }
        guard sha256(content) == entry.hash else { throw DocumentsError(.hashMismatch, "the document's SHA-256 differs from its metadata") }
    }
}
