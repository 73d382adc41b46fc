package import CaduceusDocuments
package import Foundation

/// A repository row: the document's metadata and where its encrypted content lives.
package struct RepositoryDocument: Sendable {
    /// The metadata (sealed at rest).
    package var entry: DocumentEntry
    /// The per-document AES-256 key, wrapped (sealed under the data key, itself wrapped by the node key).
    package var wrappedKey: Data
    /// The blob's name in the blob store: the SHA-256 of the encrypted object.
    package var blob: String
    /// Creates a row.
    package init(entry: DocumentEntry, wrappedKey: Data, blob: String) {
        self.entry = entry
        self.wrappedKey = wrappedKey
        self.blob = blob
    }
}

/// A signed envelope kept for non-repudiation — its signed content (CMS SignedData, DER), which verifies with the
/// federation's anchors alone — small ones sealed in the database, large ones in the blob store.
package struct Evidence: Sendable {
    /// The operation it carried.
    package var operation: String
    /// Who signed it (certificate CN).
    package var sender: String
    /// SHA-256 of the envelope as received, hex.
    package var sha256: String
    /// The signed content when small.
    package var inline: [UInt8]?
    /// Where a large envelope is, in the blob store.
    package var stored: BlobStore.Stored?
    /// Creates evidence.
    package init(operation: String, sender: String, sha256: String, inline: [UInt8]?, stored: BlobStore.Stored?) {
        self.operation = operation
        self.sender = sender
        self.sha256 = sha256
        self.inline = inline
        self.stored = stored
    }
}

/// A federation member as the global directory publishes it.
package struct DirectoryNode: Sendable, Hashable, Codable {
    /// The node id (the CN of its certificate).
    package var id: String
    /// `hospital`, `regional`, `global`.
    package var roles: [String]
    /// Its HTTPS base URL (`https://host:port`).
    package var endpoint: String
    /// Its node certificate chain, PEM, leaf first.
    package var certificatePEM: String
    /// The regional node it belongs to (empty for regional and global nodes).
    package var region: String
    /// Its plain-HTTP revocation list listener (`http://host:port`, serving `/crl`), if it runs one: lists are fetched
    /// there when no mutual-TLS handshake can be validated (every list stale).
    package var revocationEndpoint: String?
    /// Creates a node.
    package init(id: String, roles: [String], endpoint: String, certificatePEM: String, region: String = "", revocationEndpoint: String? = nil) {
        self.revocationEndpoint = revocationEndpoint
        self.id = id
        self.roles = roles
        self.endpoint = endpoint
        self.certificatePEM = certificatePEM
        self.region = region
    }
}

/// Document-side writes (repository, registry, evidence, directory), part of every unit of work.
package protocol DocumentTransaction {
    /// Files a document in the repository. Fails with `documents.duplicate-unique-id` if the unique id is taken.
    func saveRepositoryDocument(_ document: RepositoryDocument, at: Date) throws
    /// Removes a repository row (compensation when registration failed).
    func deleteRepositoryDocument(uniqueId: String) throws(StorageError)
    /// Registers a submission set: every entry, and the deprecation of the entries they replace. An entry whose
    /// unique id is registered with the same hash is left as it is (a retried submission); with another hash the
    /// whole submission fails with `documents.duplicate-unique-id`.
    func registerSubmission(_ set: SubmissionSet, at: Date) throws
    /// Sets an entry's availability status.
    func setStatus(uniqueId: String, _ status: AvailabilityStatus) throws
    /// Keeps a received signed envelope as evidence, returning its row id.
    @discardableResult
    func keepEvidence(_ evidence: Evidence, at: Date) throws(StorageError) -> Int64
    /// Publishes (or updates) a node in the directory.
    func saveDirectoryNode(_ node: DirectoryNode, at: Date) throws(StorageError)
    /// Remembers a request id until `expires` (the replay cache survives a restart); forgets those expired at `now`.
    func rememberRequest(_ id: String, expires: Date, now: Date) throws(StorageError)
    /// Remembers a signed-out assertion (`jti`) until it would have expired anyway.
    func rememberSignOut(jti: String, expires: Int64) throws(StorageError)
}

/// Document-side reads.
package protocol DocumentReader {
    /// The repository row for a unique id.
    func repositoryDocument(uniqueId: String) throws(StorageError) -> RepositoryDocument?
    /// Number of repository rows.
    func repositoryCount() throws(StorageError) -> Int
    /// FindDocuments, newest first.
    func findDocuments(_ query: StoredQuery.FindDocuments, limit: Int) throws(StorageError) -> [DocumentEntry]
    /// GetDocuments.
    func registryEntries(uniqueIds: [String]) throws(StorageError) -> [DocumentEntry]
    /// Number of registry entries.
    func registryCount() throws(StorageError) -> Int
    /// Number of evidence rows for an operation (all when `nil`).
    func evidenceCount(operation: String?) throws(StorageError) -> Int
    /// A directory node.
    func directoryNode(id: String) throws(StorageError) -> DirectoryNode?
    /// Every directory node.
    func directoryNodes() throws(StorageError) -> [DirectoryNode]
    /// Request ids remembered and not expired at `now`, with their expiry.
    func seenRequests(now: Date) throws(StorageError) -> [String: Date]
    /// Signed-out assertions not yet expired at `now` (seconds since 1970), with their expiry.
    func signOuts(now: Date) throws(StorageError) -> [String: Int64]
}
