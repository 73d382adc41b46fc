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

func set(_ id: String, _ patient: PatientIdentifier, _ entries: [DocumentEntry]) -> SubmissionSet {
    SubmissionSet(uniqueId: id, sourceId: "node.a", submissionTime: Date(), patientId: patient, entries: entries)
}

func code(_ body: () async throws -> Void) async -> String? {
    do { try await body(); return nil } catch let e as any CaduceusError { return e.code } catch { return "uncoded" }
}

@Suite("Registry and repository storage")
struct DocumentStoreTests {
    func store(_ dir: TemporaryDirectory) throws -> SQLiteStore {
        try SQLiteStore(path: dir.file("n.sqlite"), nodeKey: NodeKey(bytes: Data(repeating: 7, count: 32)))
    }

    @Test("FindDocuments in SQL agrees with the reference semantics on every filter combination")
    func findMatchesReference() async throws {
        let dir = try TemporaryDirectory()
        let s = try store(dir)
        let patients = (0..<3).map { PatientIdentifier(id: "P\($0)", authority: "2.25.1") }
        var all: [DocumentEntry] = []
        var n = 0
        for p in patients {
            var group: [DocumentEntry] = []
            for cls in ["Summary", "Note"] { for conf in ["N", "R", "V"] { for day in [0, 5, 10] {
                n += 1
                group.append(entry(n, patient: p, cls: cls, type: cls == "Note" ? "11488-4" : "34133-9", conf: conf, day: day))
            } } }
            let frozen = set("2.25.99\(p.id)", p, group)
            try await s.write { tx in try tx.registerSubmission(frozen, at: Date()) }
            all += group
        }
        // Deprecate some.
        for uid in ["2.25.1", "2.25.20"] { try await s.write { tx in try tx.setStatus(uniqueId: uid, .deprecated) } }
        let deprecated: Set<String> = ["2.25.1", "2.25.20"]
        all = all.map { var e = $0; if deprecated.contains(e.uniqueId) { e.status = .deprecated }; return e }
        let day = { (d: Int) in Date(timeIntervalSince1970: 1_700_000_000 + Double(d) * 86400) }
        var checked = 0
        for p in patients + [PatientIdentifier(id: "nobody", authority: "2.25.1")] {
            for classes in [[], ["Note"], ["Summary", "Note"]] {
                for confs in [[], ["R"], ["N", "V"]] {
                    for (from, to) in [(nil, nil), (day(5), nil), (nil, day(5)), (day(1), day(10))] as [(Date?, Date?)] {
                        for statuses in [[.approved], [.deprecated], [.approved, .deprecated]] as [[AvailabilityStatus]] {
                            let q = StoredQuery.FindDocuments(patientId: p, classCodes: classes, confidentialityCodes: confs, createdFrom: from, createdTo: to, statuses: statuses)
                            let got = try await s.read { try $0.findDocuments(q, limit: 1000) }
                            let want = all.filter(q.matches)
                            #expect(Set(got.map(\.uniqueId)) == Set(want.map(\.uniqueId)))
                            #expect(got.map(\.creationTime) == got.map(\.creationTime).sorted(by: >), "newest first")
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked == 4 * 3 * 3 * 4 * 3)
        let typed = try await s.read { try $0.findDocuments(.init(patientId: patients[0], typeCodes: ["11488-4"]), limit: 1000) }
        #expect(typed.count == 9)
    }

    @Test("lifecycle: a replacement deprecates the original; duplicates, missing targets and repeated changes are refused; a retry is a no-op")
    func lifecycle() async throws {
        let dir = try TemporaryDirectory()
        let s = try store(dir)
        let p = PatientIdentifier(id: "P", authority: "2.25.1")
        try await s.write { tx in try tx.registerSubmission(set("2.25.900", p, [entry(1, patient: p)]), at: Date()) }
        var replacement = entry(2, patient: p)
        replacement.replaces = "2.25.1"
        let replacing = set("2.25.901", p, [replacement])
        try await s.write { tx in try tx.registerSubmission(replacing, at: Date()) }
        let approved = try await s.read { try $0.findDocuments(.init(patientId: p), limit: 10) }
        #expect(approved.map(\.uniqueId) == ["2.25.2"])
        let old = try await s.read { try $0.registryEntries(uniqueIds: ["2.25.1"]) }
        #expect(old.first?.status == .deprecated)
        // Replacing a deprecated entry, an unknown one, or deprecating twice.
        var again = entry(3, patient: p)
        again.replaces = "2.25.1"
        let replacingDeprecated = set("2.25.902", p, [again])
        #expect(await code { try await s.write { tx in try tx.registerSubmission(replacingDeprecated, at: Date()) } } == "documents.invalid-transition")
        again.replaces = "2.25.404"
        let replacingUnknown = set("2.25.903", p, [again])
        #expect(await code { try await s.write { tx in try tx.registerSubmission(replacingUnknown, at: Date()) } } == "documents.not-found")
        #expect(await code { try await s.write { tx in try tx.setStatus(uniqueId: "2.25.1", .deprecated) } } == "documents.invalid-transition")
        // Same unique id, same hash: a retry, nothing changes. Another hash: refused, and the whole set with it.
        let before = try await s.read { try $0.registryCount() }
        try await s.write { tx in try tx.registerSubmission(set("2.25.904", p, [entry(2, patient: p)]), at: Date()) }
        #expect(try await s.read { try $0.registryCount() } == before)
        let clash = entry(2, patient: p, hash: String(repeating: "a", count: 64))
        #expect(await code { try await s.write { tx in try tx.registerSubmission(set("2.25.905", p, [entry(10, patient: p), clash]), at: Date()) } } == "documents.duplicate-unique-id")
        #expect(try await s.read { try $0.registryCount() } == before, "all or nothing")
        // Submission-set rules.
        let other = PatientIdentifier(id: "Q", authority: "2.25.1")
        #expect(await code { try await s.write { tx in try tx.registerSubmission(set("2.25.906", p, [entry(11, patient: other)]), at: Date()) } } == "documents.patient-mismatch")
        #expect(await code { try await s.write { tx in try tx.registerSubmission(set("2.25.907", p, []), at: Date()) } } == "documents.invalid-metadata")
        #expect(await code { try await s.write { tx in try tx.registerSubmission(set("2.25.908", p, [entry(12, patient: p, hash: "XYZ")]), at: Date()) } } == "documents.invalid-metadata")
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
