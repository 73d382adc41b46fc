import CaduceusCore
import CaduceusDocuments
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Storage conformance: repository, registry, evidence, directory, replay cache, sign-outs")
struct DocumentConformanceTests {
    @Test("repository: filed once per unique id, read back whole, removed (and then filed again)", arguments: StoreKind.allCases)
    func repository(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let p = PatientIdentifier(id: "P", authority: authority)
        let doc = RepositoryDocument(entry: documentEntry(1, patient: p), wrappedKey: Data([1, 2, 3]), blob: "ab" + String(repeating: "0", count: 62))
        #expect(try await s.read { try $0.repositoryDocument(uniqueId: "2.25.1") } == nil)
        try await s.write { tx in try tx.saveRepositoryDocument(doc, at: t0) }
        let read = try await s.read { try $0.repositoryDocument(uniqueId: "2.25.1") }
        #expect(read?.entry == doc.entry && read?.wrappedKey == doc.wrappedKey && read?.blob == doc.blob)
        var other = doc
        other.entry.hash = String(repeating: "f", count: 64)
        let clash = other
        #expect(await code { try await s.write { tx in try tx.saveRepositoryDocument(clash, at: t0) } } == "documents.duplicate-unique-id")
        let second = RepositoryDocument(entry: documentEntry(2, patient: p), wrappedKey: Data([4]), blob: "cd")
        try await s.write { tx in try tx.saveRepositoryDocument(second, at: t0) }
        #expect(try await s.read { try $0.repositoryCount() } == 2)
        try await s.write { tx in
            try tx.deleteRepositoryDocument(uniqueId: "2.25.1")
            try tx.deleteRepositoryDocument(uniqueId: "2.25.404")  // nothing to remove: not an error
        }
        #expect(try await s.read { try $0.repositoryDocument(uniqueId: "2.25.1") } == nil)
        #expect(try await s.read { try $0.repositoryCount() } == 1)
        try await s.write { tx in try tx.saveRepositoryDocument(clash, at: t0) }
        #expect(try await s.read { try $0.repositoryDocument(uniqueId: "2.25.1") }?.entry.hash == clash.entry.hash)
    }

    @Test("FindDocuments agrees with the reference semantics on every filter combination, newest first", arguments: StoreKind.allCases)
    func findMatchesReference(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let patients = (0..<3).map { PatientIdentifier(id: "P\($0)", authority: authority) }
        var all: [DocumentEntry] = []
        var n = 0
        for p in patients {
            var group: [DocumentEntry] = []
            for cls in ["Summary", "Note"] { for conf in ["N", "R", "V"] { for day in [0.0, 5, 10] {
                n += 1
                group.append(documentEntry(n, patient: p, cls: cls, type: cls == "Note" ? "11488-4" : "34133-9", conf: conf, day: day))
            } } }
            let frozen = submission("2.25.99\(p.id)", p, group)
            try await s.write { tx in try tx.registerSubmission(frozen, at: t0) }
            all += group
        }
        for uid in ["2.25.1", "2.25.20"] { try await s.write { tx in try tx.setStatus(uniqueId: uid, .deprecated) } }
        all = all.map { var e = $0; if ["2.25.1", "2.25.20"].contains(e.uniqueId) { e.status = .deprecated }; return e }
        let day = { (d: Double) in t0.addingTimeInterval(d * 86400) }
        for p in patients + [PatientIdentifier(id: "nobody", authority: authority), PatientIdentifier(id: "P0", authority: "2.25.2")] {
            for classes in [[], ["Note"], ["Summary", "Note"]] {
                for confs in [[], ["R"], ["N", "V"]] {
                    for (from, to) in [(nil, nil), (day(5), nil), (nil, day(5)), (day(0), day(10))] as [(Date?, Date?)] {
                        for statuses in [[.approved], [.deprecated], [.approved, .deprecated], []] as [[AvailabilityStatus]] {
                            let q = StoredQuery.FindDocuments(patientId: p, classCodes: classes, confidentialityCodes: confs, createdFrom: from, createdTo: to, statuses: statuses)
                            let got = try await s.read { try $0.findDocuments(q, limit: 1000) }
                            // Newest first; same creation time: the later registration first.
                            let want = all.enumerated().filter { q.matches($0.element) }
                                .sorted { ($0.element.creationTime, $0.offset) > ($1.element.creationTime, $1.offset) }.map(\.element)
                            #expect(got == want, "\(p) \(classes) \(confs) \(String(describing: from)) \(String(describing: to)) \(statuses)")
                        }
                    }
                }
            }
        }
        let typed = try await s.read { try $0.findDocuments(.init(patientId: patients[0], typeCodes: ["11488-4"]), limit: 1000) }
        #expect(typed.count == 9 && typed.allSatisfy { $0.typeCode.code == "11488-4" })
        let newestTwo = try await s.read { try $0.findDocuments(.init(patientId: patients[1]), limit: 2) }
        #expect(newestTwo.map(\.uniqueId) == ["2.25.36", "2.25.33"], "the limit keeps the newest")
        #expect(try await s.read { try $0.findDocuments(.init(patientId: patients[1]), limit: 0) }.isEmpty)
        #expect(try await s.read { try $0.registryCount() } == 54)
    }

    @Test("lifecycle: a replacement deprecates the original; duplicates, missing targets and repeated changes are refused, all or nothing; a retry is a no-op", arguments: StoreKind.allCases)
    func lifecycle(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let p = PatientIdentifier(id: "P", authority: authority)
        try await s.write { tx in try tx.registerSubmission(submission("2.25.900", p, [documentEntry(1, patient: p)]), at: t0) }
        var replacement = documentEntry(2, patient: p, day: 1)
        replacement.replaces = "2.25.1"
        let replacing = submission("2.25.901", p, [replacement])
        try await s.write { tx in try tx.registerSubmission(replacing, at: t0) }
        #expect(try await s.read { try $0.findDocuments(.init(patientId: p), limit: 10) }.map(\.uniqueId) == ["2.25.2"])
        #expect(try await s.read { try $0.registryEntries(uniqueIds: ["2.25.1"]) }.first?.status == .deprecated)
        var again = documentEntry(3, patient: p)
        again.replaces = "2.25.1"
        let replacingDeprecated = submission("2.25.902", p, [again])
        #expect(await code { try await s.write { tx in try tx.registerSubmission(replacingDeprecated, at: t0) } } == "documents.invalid-transition")
        again.replaces = "2.25.404"
        let replacingUnknown = submission("2.25.903", p, [documentEntry(4, patient: p), again])
        #expect(await code { try await s.write { tx in try tx.registerSubmission(replacingUnknown, at: t0) } } == "documents.not-found")
        #expect(try await s.read { try $0.registryEntries(uniqueIds: ["2.25.4"]) }.isEmpty, "all or nothing")
        #expect(await code { try await s.write { tx in try tx.setStatus(uniqueId: "2.25.1", .deprecated) } } == "documents.invalid-transition")
        #expect(await code { try await s.write { tx in try tx.setStatus(uniqueId: "2.25.404", .approved) } } == "documents.not-found")
        // Same unique id, same hash: a retry, nothing changes (even under the same submission set id).
        try await s.write { tx in try tx.registerSubmission(replacing, at: t0) }
        try await s.write { tx in try tx.registerSubmission(submission("2.25.904", p, [documentEntry(2, patient: p)]), at: t0) }
        #expect(try await s.read { try $0.registryCount() } == 2)
        let clash = documentEntry(2, patient: p, hash: String(repeating: "a", count: 64))
        #expect(await code { try await s.write { tx in try tx.registerSubmission(submission("2.25.905", p, [documentEntry(10, patient: p), clash]), at: t0) } } == "documents.duplicate-unique-id")
        #expect(try await s.read { try $0.registryCount() } == 2, "all or nothing")
        // The same document (hash) under its uniqueId from another repository, or for another patient, is no retry: a
        // copy another node holds is not registered under the original's id.
        var held = documentEntry(2, patient: p)
        held.repositoryId = "node.b"
        let copy = held
        #expect(await code { try await s.write { tx in try tx.registerSubmission(submission("2.25.908", p, [copy]), at: t0) } } == "documents.duplicate-unique-id")
        let elsewhere = PatientIdentifier(id: "R", authority: authority)
        #expect(await code { try await s.write { tx in try tx.registerSubmission(submission("2.25.909", elsewhere, [documentEntry(2, patient: elsewhere)]), at: t0) } } == "documents.duplicate-unique-id")
        #expect(try await s.read { try $0.registryCount() } == 2)
        // A submission set's unique id registers new entries once.
        #expect(await code { try await s.write { tx in try tx.registerSubmission(submission("2.25.900", p, [documentEntry(11, patient: p)]), at: t0) } } == "storage.database")
        // Submission-set rules.
        let other = PatientIdentifier(id: "Q", authority: authority)
        #expect(await code { try await s.write { tx in try tx.registerSubmission(submission("2.25.906", p, [documentEntry(12, patient: other)]), at: t0) } } == "documents.patient-mismatch")
        #expect(await code { try await s.write { tx in try tx.registerSubmission(submission("2.25.907", p, []), at: t0) } } == "documents.invalid-metadata")
        #expect(await code { try await s.write { tx in try tx.registerSubmission(submission("2.25.908", p, [documentEntry(13, patient: p, hash: "XYZ")]), at: t0) } } == "documents.invalid-metadata")
        // A deprecated entry can be approved again; GetDocuments answers in the order asked, skipping unknown ids.
        try await s.write { tx in try tx.setStatus(uniqueId: "2.25.1", .approved) }
        let got = try await s.read { try $0.registryEntries(uniqueIds: ["2.25.2", "2.25.404", "2.25.1"]) }
        #expect(got.map(\.uniqueId) == ["2.25.2", "2.25.1"] && got[1].status == .approved && got[0].replaces == "2.25.1")
    }

    @Test("evidence: inline or stored (exactly one), counted per operation, ids increasing", arguments: StoreKind.allCases)
    func evidence(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let inline = Evidence(operation: "registry.register", sender: "node.a", sha256: "00", inline: [1, 2, 3], stored: nil)
        let stored = Evidence(operation: "repository.retrieve", sender: "node.b", sha256: "11", inline: nil, stored: .init(blob: "ab", wrappedKey: Data([9])))
        let ids = try await s.write { tx in [try tx.keepEvidence(inline, at: t0), try tx.keepEvidence(stored, at: t0), try tx.keepEvidence(inline, at: t0)] }
        #expect(ids == ids.sorted() && Set(ids).count == 3)
        let later = try await s.write { tx in try tx.keepEvidence(stored, at: t0) }
        #expect(later > ids.max()!)
        let both = Evidence(operation: "x", sender: "n", sha256: "22", inline: [1], stored: .init(blob: "cd", wrappedKey: Data()))
        let neither = Evidence(operation: "x", sender: "n", sha256: "33", inline: nil, stored: nil)
        #expect(await code { _ = try await s.write { tx in try tx.keepEvidence(both, at: t0) } } == "storage.database")
        #expect(await code { _ = try await s.write { tx in try tx.keepEvidence(neither, at: t0) } } == "storage.database")
        let counts = try await s.read { r in (try r.evidenceCount(operation: nil), try r.evidenceCount(operation: "registry.register"), try r.evidenceCount(operation: "x")) }
        #expect(counts == (4, 2, 0))
    }

    @Test("directory: a node published, updated in place, listed by id", arguments: StoreKind.allCases)
    func directory(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let b = DirectoryNode(id: "node.b", roles: ["hospital"], endpoint: "https://b:1", certificatePEM: "PEM-B", region: "node.r")
        let a = DirectoryNode(id: "node.a", roles: ["hospital"], endpoint: "https://a:1", certificatePEM: "PEM-A", region: "node.r")
        let r = DirectoryNode(id: "Node.R", roles: ["global", "regional"], endpoint: "https://r:1", certificatePEM: "PEM-R")
        try await s.write { tx in
            try tx.saveDirectoryNode(b, at: t0)
            try tx.saveDirectoryNode(a, at: t0)
            try tx.saveDirectoryNode(r, at: t0)
        }
        var moved = a
        moved.endpoint = "https://a:2"
        let frozen = moved
        try await s.write { tx in try tx.saveDirectoryNode(frozen, at: t0) }
        let (all, one, none) = try await s.read { r in (try r.directoryNodes(), try r.directoryNode(id: "node.a"), try r.directoryNode(id: "node.z")) }
        #expect(all.map(\.id) == ["Node.R", "node.a", "node.b"], "by id, byte order")
        #expect(one == moved && none == nil && all[2] == b)
    }

    @Test("replay cache: a request id is kept until it expires (the first expiry stands); remembering forgets the expired", arguments: StoreKind.allCases)
    func seenRequests(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in
            try tx.rememberRequest("a", expires: t0.addingTimeInterval(60), now: t0)
            try tx.rememberRequest("b", expires: t0.addingTimeInterval(300), now: t0)
            try tx.rememberRequest("a", expires: t0.addingTimeInterval(900), now: t0)
        }
        var seen = try await s.read { try $0.seenRequests(now: t0) }
        #expect(seen == ["a": t0.addingTimeInterval(60), "b": t0.addingTimeInterval(300)])
        #expect(try await s.read { try $0.seenRequests(now: t0.addingTimeInterval(60)) }.keys.sorted() == ["a", "b"], "kept until its expiry, inclusive")
        #expect(try await s.read { try $0.seenRequests(now: t0.addingTimeInterval(61)) }.keys.sorted() == ["b"])
        // Remembering at a later time drops what expired by then, for good.
        try await s.write { tx in try tx.rememberRequest("c", expires: t0.addingTimeInterval(400), now: t0.addingTimeInterval(100)) }
        seen = try await s.read { try $0.seenRequests(now: t0) }
        #expect(seen.keys.sorted() == ["b", "c"])
        // An expired id remembered again starts afresh.
        try await s.write { tx in try tx.rememberRequest("a", expires: t0.addingTimeInterval(500), now: t0.addingTimeInterval(100)) }
        #expect(try await s.read { try $0.seenRequests(now: t0) }["a"] == t0.addingTimeInterval(500))
        // Sub-second expiries survive the round trip.
        let precise = Date(timeIntervalSince1970: 1_700_000_123.456_789)
        try await s.write { tx in try tx.rememberRequest("d", expires: precise, now: t0) }
        #expect(try await s.read { try $0.seenRequests(now: t0) }["d"] == precise)
    }

    @Test("sign-outs: kept until the assertion would have expired; the latest expiry stands", arguments: StoreKind.allCases)
    func signOuts(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let base = Int64(t0.timeIntervalSince1970)
        try await s.write { tx in
            try tx.rememberSignOut(jti: "j1", expires: base + 60)
            try tx.rememberSignOut(jti: "j2", expires: base + 600)
        }
        #expect(try await s.read { try $0.signOuts(now: t0) } == ["j1": base + 60, "j2": base + 600])
        #expect(try await s.read { try $0.signOuts(now: t0.addingTimeInterval(60)) } == ["j1": base + 60, "j2": base + 600])
        #expect(try await s.read { try $0.signOuts(now: t0.addingTimeInterval(61)) } == ["j2": base + 600])
        try await s.write { tx in try tx.rememberSignOut(jti: "j1", expires: base + 1000) }
        #expect(try await s.read { try $0.signOuts(now: t0.addingTimeInterval(700)) } == ["j1": base + 1000])
        try await s.write { tx in try tx.rememberSignOut(jti: "j1", expires: base + 10) }
        #expect(try await s.read { try $0.signOuts(now: t0.addingTimeInterval(11)) } == ["j2": base + 600], "replaced, even by an earlier expiry")
    }
}
