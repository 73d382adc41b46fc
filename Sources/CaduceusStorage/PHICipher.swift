package import CaduceusCore
package import CaduceusPatientIndex
package import Foundation
import Crypto

/// The error type of the storage layer. Messages never carry stored values.
package struct StorageError: CodedError {
    /// A stable code (`storage.*`).
    package struct Code: ErrorCode {
        /// The code as text.
        package let rawValue: String
        /// The category: this node's failure, unless the row is missing or clashes.
        package let category: ErrorCategory
        init(_ rawValue: String, _ category: ErrorCategory = .internal) {
            self.rawValue = rawValue
            self.category = category
        }
        /// A stored value could not be decrypted: wrong node key or altered data. Deliberately uninformative.
        package static let decryptionFailed = Code("storage.decryption-failed")
        /// The node key file is missing, unreadable or not 32 bytes.
        package static let badNodeKey = Code("storage.bad-node-key")
        /// The database could not be opened, migrated or written.
        package static let database = Code("storage.database")
        /// A row that must exist does not.
        package static let notFound = Code("storage.not-found", .notFound)
        /// A row with this key exists already.
        package static let conflict = Code("storage.conflict", .conflict)
    }
    /// What went wrong.
    package let kind: Code
    /// PHI-free message.
    package let message: String
    /// Creates an error.
    package init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// Envelope encryption of PHI at rest. The node key (KEK, 32 bytes, a file readable by the node only) wraps one
/// data key per database (DEK, AES-256, stored wrapped with AES-GCM); every PHI value is sealed with AES-256-GCM
/// under the DEK with a fresh 96-bit nonce and the value's context (table, column) as associated data, so a value
/// moved to another column does not decrypt. Exact-match look-ups use blind indexes: HMAC-SHA-256 under a key
/// derived from the DEK with HKDF, never the plaintext.
package struct PHICipher: Sendable {
    let dataKey: SymmetricKey
    let indexKey: SymmetricKey

    /// A cipher over an unwrapped data key.
    init(dataKey: SymmetricKey) {
        self.dataKey = dataKey
        self.indexKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: dataKey, info: Data("caduceus blind index v1".utf8), outputByteCount: 32)
    }

    /// Creates a fresh data key and returns the cipher with the key wrapped under `nodeKey`, for the store to keep.
    package static func create(nodeKey: NodeKey) throws(StorageError) -> (PHICipher, wrapped: Data) {
        let dek = SymmetricKey(size: .bits256)
        let raw = dek.withUnsafeBytes { Data($0) }
        do {
            let sealed = try AES.GCM.seal(raw, using: nodeKey.key, authenticating: Data("caduceus dek v1".utf8))
            return (PHICipher(dataKey: dek), sealed.combined!)
        } catch {
            throw StorageError(.badNodeKey, "the data key could not be wrapped")
        }
    }

    /// Unwraps a stored data key with `nodeKey`.
    package static func open(wrapped: Data, nodeKey: NodeKey) throws(StorageError) -> PHICipher {
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            let raw = try AES.GCM.open(box, using: nodeKey.key, authenticating: Data("caduceus dek v1".utf8))
            return PHICipher(dataKey: SymmetricKey(data: raw))
        } catch {
            throw StorageError(.decryptionFailed, "the stored data key does not open with this node key")
        }
    }

    /// Seals `plaintext` for `context` (e.g. `patients.record`).
    package func seal(_ plaintext: some DataProtocol, context: String) throws(StorageError) -> Data {
        do {
            return try AES.GCM.seal(plaintext, using: dataKey, authenticating: Data(context.utf8)).combined!
        } catch {
            throw StorageError(.database, "a value could not be sealed")
        }
    }

    /// Opens a value sealed for `context`. Every failure is the same error.
    package func open(_ sealed: Data, context: String) throws(StorageError) -> Data {
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: dataKey, authenticating: Data(context.utf8))
        } catch {
            throw StorageError(.decryptionFailed, "a stored value could not be decrypted")
        }
    }

    /// Seals a Codable value as JSON.
    package func seal<T: Encodable>(json value: T, context: String) throws(StorageError) -> Data {
        let data: Data
        do { data = try JSONEncoder().encode(value) } catch { throw StorageError(.database, "a value could not be encoded") }
        return try seal(data, context: context)
    }

    /// Opens a JSON value.
    package func open<T: Decodable>(json sealed: Data, as type: T.Type, context: String) throws(StorageError) -> T {
        let data = try open(sealed, context: context)
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw StorageError(.decryptionFailed, "a stored value could not be decrypted")
        }
    }

    /// The blind index of `value` in `domain` (e.g. `identity`): HMAC-SHA-256, 32 bytes.
    package func blindIndex(_ value: String, domain: String) -> Data {
        var h = HMAC<SHA256>(key: indexKey)
        h.update(data: Data(domain.utf8))
        h.update(data: [0])
        h.update(data: Data(value.utf8))
        return Data(h.finalize())
    }
}

/// A patient record sealed for the `patients` table (computed outside the write transaction).
package struct SealedPatient: Sendable {
    /// Blind index of the identity.
    package let identityIndex: Data
    /// The assigning authority (not PHI).
    package let authority: String
    /// The sealed record.
    package let blob: Data
}

/// An MPI identity and its demographics sealed for `mpi_records`.
package struct SealedMPIRecord: Sendable {
    /// Blind index of the identity.
    package let identityIndex: Data
    /// The assigning authority.
    package let authority: String
    /// Sealed identity.
    package let identity: Data
    /// Sealed demographics.
    package let demographics: Data
}

/// A raw message and its answer sealed for `hl7_messages`.
package struct SealedMessage: Sendable {
    /// Sealed raw bytes.
    package let raw: Data
    /// Sealed answer bytes.
    package let ack: Data
}

extension PHICipher {
    /// The blind index of an identity (authority and id).
    package func identityIndex(_ identity: LocalIdentity) -> Data {
        blindIndex(identity.authority + "\u{1}" + identity.id, domain: "identity")
    }

    /// Seals a patient record.
    package func seal(patient: PatientRecord) throws(StorageError) -> SealedPatient {
        SealedPatient(identityIndex: identityIndex(patient.identity), authority: patient.identity.authority, blob: try seal(json: patient, context: "patients.record"))
    }

    /// Seals an MPI identity and demographics.
    package func seal(mpiIdentity identity: LocalIdentity, demographics: Demographics) throws(StorageError) -> SealedMPIRecord {
        SealedMPIRecord(
            identityIndex: identityIndex(identity), authority: identity.authority,
            identity: try seal(json: identity, context: "mpi_records.identity"),
            demographics: try seal(json: demographics, context: "mpi_records.demographics"))
    }

    /// Seals a message and its answer.
    package func seal(message raw: [UInt8], ack: [UInt8]) throws(StorageError) -> SealedMessage {
        SealedMessage(raw: try seal(raw, context: "hl7_messages.raw"), ack: try seal(ack, context: "hl7_messages.ack"))
    }
}

/// The node's key-encryption key: 32 random bytes in a file with mode 0600, created on first start.
package struct NodeKey: Sendable {
    let key: SymmetricKey

    /// Loads the key at `path`, creating it (atomically, mode 0600) when absent.
    package static func loadOrCreate(at path: String) throws(StorageError) -> NodeKey {
        if FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path), data.count == 32 else {
                throw StorageError(.badNodeKey, "the node key file must hold exactly 32 bytes")
            }
            return NodeKey(key: SymmetricKey(data: data))
        }
        let key = SymmetricKey(size: .bits256)
        do {
            try AtomicFile.write(key.withUnsafeBytes { Data($0) }, to: path, permissions: 0o600)
        } catch {
            throw StorageError(.badNodeKey, "the node key file could not be written")
        }
        return NodeKey(key: key)
    }

    /// A key from bytes (tests).
    package init(bytes: Data) { key = SymmetricKey(data: bytes) }
    init(key: SymmetricKey) { self.key = key }
}
