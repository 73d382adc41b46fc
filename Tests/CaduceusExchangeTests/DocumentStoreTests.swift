import CaduceusCore
import CaduceusDocuments
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Foundation
import Testing

func entry(_ i: Int, patient: PatientIdentifier, cls: String = "Summary", type: String = "34133-9", conf: String = "N", day: Int = 0, hash: String? = nil) -> DocumentEntry {
    DocumentEntry(
        entryUUID: "urn:uuid:e\(i)", uniqueId: "2.25.\(i)", patientId: patient, sourcePatientId: patient,
        classCode: Code(cls, scheme: "s"), typeCode: Code(type, scheme: "2.16.840.1.113883.6.1"), confidentialityCode: Code(conf, scheme: "2.16.840.1.113883.5.25"),
        formatCode: Code("f", scheme: "s"), mimeType: "text/xml", hash: hash ?? String(format: "%064x", i), size: 10,
        creationTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(day) * 86400), title: "t", repositoryId: "node.a")
}

// The registry's and repository's rows (FindDocuments against the reference semantics, the entry lifecycle) are
// held to one contract for every store adapter in CaduceusStorageTests; this suite keeps the blob store.
@Suite("Repository blob store")
struct DocumentStoreTests {
    func store(_ dir: TemporaryDirectory) throws -> SQLiteStore {
        try SQLiteStore(path: dir.file("n.sqlite"), nodeKey: NodeKey(bytes: Data(repeating: 7, count: 32)))
    }

    @Test("blob store: content is encrypted at rest; a changed blob or metadata is detected on read")
    func blobs() async throws {
        let dir = try TemporaryDirectory()
        let s = try store(dir)
        let blobs = try BlobStore(directory: dir.file("blobs"), cipher: s.cipher)
        let content = Array("<ClinicalDocument>SYNTHETIC-NARRATIVE-TEXT</ClinicalDocument>".utf8)
        var e = entry(1, patient: PatientIdentifier(id: "P", authority: "2.25.1"))
        e.hash = DocumentIntegrity.sha256(content)
        e.size = content.count
        let stored = try blobs.put(content, uniqueId: e.uniqueId)
        let doc = RepositoryDocument(entry: e, wrappedKey: stored.wrappedKey, blob: stored.blob)
        #expect(try blobs.get(doc) == content)
        let path = dir.file("blobs/\(stored.blob.prefix(2))/\(stored.blob)")
        var raw = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(raw.range(of: Data("SYNTHETIC-NARRATIVE-TEXT".utf8)) == nil)
        // Another document's key does not open it (the unique id is bound as associated data).
        var moved = doc
        moved.entry.uniqueId = "2.25.2"
        #expect(throws: StorageError.self) { try blobs.get(moved) }
        var lying = doc
        lying.entry.hash = String(repeating: "0", count: 64)
        #expect(throws: DocumentsError.self) { try blobs.get(lying) }
        raw[raw.count / 2] ^= 1
        try raw.write(to: URL(fileURLWithPath: path))
        #expect(throws: StorageError.self) { try blobs.get(doc) }
    }
}
