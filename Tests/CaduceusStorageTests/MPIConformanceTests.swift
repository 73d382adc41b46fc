import CaduceusAudit
import CaduceusCore
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Storage conformance: the MPI's records, reviews, distinct pairs, events and model")
struct MPIConformanceTests {
    func seal(_ s: StoreUnderTest, _ id: String, family: String) throws -> SealedMPIRecord {
        try s.cipher.seal(mpiIdentity: identity(id), demographics: Demographics(family: family, birthDate: "19700101"))
    }

    @Test("records: saved in record order, updated in place (the identity stays), an identity filed once", arguments: StoreKind.allCases)
    func records(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let a = try seal(s, "A", family: "Alpha"), b = try seal(s, "B", family: "Beta"), c = try seal(s, "C", family: "Gamma")
        try await s.write { tx in
            try tx.saveMPIRecord(3, sealed: c, person: "g3")
            try tx.saveMPIRecord(1, sealed: a, person: "g1")
        }
        try await s.write { tx in try tx.saveMPIRecord(2, sealed: b, person: "g1") }
        var snap = try await s.read { try $0.mpiSnapshot() }
        #expect(snap.records.map { $0.record } == [1, 2, 3])
        #expect(snap.records.map { $0.identity } == [identity("A"), identity("B"), identity("C")])
        #expect(snap.records.map { $0.person } == ["g1", "g1", "g3"] && snap.records[2].demographics.family == "Gamma")
        #expect(snap.reviews.isEmpty && snap.distinct.isEmpty && snap.model == nil)

        // The same record again: demographics and person change, the identity it was filed under stays.
        let renamed = try s.cipher.seal(mpiIdentity: identity("Z"), demographics: Demographics(family: "Alpha-Renamed"))
        try await s.write { tx in try tx.saveMPIRecord(1, sealed: renamed, person: "g9") }
        snap = try await s.read { try $0.mpiSnapshot() }
        #expect(snap.records[0].identity == identity("A") && snap.records[0].demographics.family == "Alpha-Renamed" && snap.records[0].person == "g9")
        // Another record for an identity already filed is refused, and its unit of work with it.
        let again = try seal(s, "B", family: "Beta")
        #expect(await code { try await s.write { tx in
            try tx.saveMPIRecord(7, sealed: try seal(s, "D", family: "Delta"), person: "g7")
            try tx.saveMPIRecord(8, sealed: again, person: "g8")
        } } == "storage.database")
        #expect(try await s.read { try $0.mpiSnapshot() }.records.map { $0.record } == [1, 2, 3])
        // "Z" was never filed (record 1 kept "A"): a new record may take it.
        try await s.write { tx in try tx.saveMPIRecord(4, sealed: renamed, person: "g4") }
        #expect(try await s.read { try $0.mpiSnapshot() }.records.map { $0.record } == [1, 2, 3, 4])
    }

    @Test("changes: assignments and relinks, reviews queued and closed, distinct pairs — each with its event, relinks and reviews on the audit chain", arguments: StoreKind.allCases)
    func changes(_ kind: StoreKind) async throws {
        let s = try kind.make()
        for (i, id) in ["A", "B", "C"].enumerated() {
            let sealed = try seal(s, id, family: id)
            try await s.write { tx in try tx.saveMPIRecord(Int64(i + 1), sealed: sealed, person: "") }
        }
        var first = MPIChange()
        first.assignments = [2: "g2", 1: "g1"]
        first.addedReviews = [ReviewItem(id: 10, recordID: 2, candidateRecordID: 1, weight: 7.5, reason: "mpi.review.possible")]
        try await s.write { [first] tx in try tx.applyMPIChange(first, actor: "node:a", at: t0) }
        var second = MPIChange()
        second.assignments = [2: "g1", 3: "g3"]
        second.previousAssignments = [2: "g2"]
        second.closedReviews = [10, 404]
        second.addedReviews = [ReviewItem(id: 11, recordID: 3, candidateRecordID: 1, weight: 5, reason: "mpi.review.possible")]
        second.distinctPairs = [RecordPair(3, 1)]
        try await s.write { [second] tx in try tx.applyMPIChange(second, actor: "operator:x", at: t0.addingTimeInterval(1)) }

        let (snap, events1, events2, events3) = try await s.read { r in (try r.mpiSnapshot(), try r.mpiEvents(record: 1), try r.mpiEvents(record: 2), try r.mpiEvents(record: 3)) }
        #expect(snap.records.map { $0.person } == ["g1", "g1", "g3"])
        #expect(snap.reviews == [ReviewItem(id: 11, recordID: 3, candidateRecordID: 1, weight: 5, reason: "mpi.review.possible")], "closed reviews leave the queue")
        #expect(Set(snap.distinct) == [RecordPair(1, 3)])
        #expect(events1 == [MPIEvent(action: "assign", recordID: 1, personBefore: nil, personAfter: "g1", actor: "node:a"),
                            MPIEvent(action: "marked-distinct", recordID: 1, personBefore: nil, personAfter: "3", actor: "operator:x")])
        #expect(events2.map(\.action) == ["assign", "review-queued", "relink"])
        #expect(events2[2] == MPIEvent(action: "relink", recordID: 2, personBefore: "g2", personAfter: "g1", actor: "operator:x"))
        #expect(events3.map(\.action) == ["assign", "review-queued"])
        #expect(try await s.read { try $0.mpiEvents(record: 99) }.isEmpty)

        // The chain: review (record 2), then relink of 2, review of 3 and the distinct pair (low = 1), by record then kind.
        let chained = try await s.read { try $0.auditMessages(AuditFilter()) }.reversed().map { $0.message }
        #expect(chained.map { $0.eventTypes.first?.code ?? "" } == ["mpi.review-queued", "mpi.marked-distinct", "mpi.relink", "mpi.review-queued"])
        #expect(chained.allSatisfy { $0.eventID == .patientRecord && $0.sourceID == "mpi" && $0.action == .update })
        #expect(chained[2].participants == [AuditParticipant(userID: "operator:x", isRequestor: true)])
        let aboutB = try await s.read { try $0.auditMessages(AuditFilter(patient: "B^^^&\(authority)&ISO")) }
        #expect(aboutB.map { $0.message.eventTypes[0].code } == ["mpi.relink", "mpi.review-queued"], "found by the patient's identifier, newest first")
        #expect(chained.allSatisfy { $0.objects.allSatisfy { $0.id.hasPrefix("pseudonym:") } }, "no identifier in clear on the chain")
    }

    @Test("changes: a relink to the same person is an event but not an audit record; a record unknown to the store is audited without a patient", arguments: StoreKind.allCases)
    func quietChanges(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let a = try seal(s, "A", family: "A")
        try await s.write { tx in try tx.saveMPIRecord(1, sealed: a, person: "g1") }
        var same = MPIChange()
        same.assignments = [1: "g1"]
        same.previousAssignments = [1: "g1"]
        try await s.write { [same] tx in try tx.applyMPIChange(same, actor: "op", at: t0) }
        #expect(try await s.read { try $0.mpiEvents(record: 1) }.map(\.action) == ["relink"])
        #expect(try await s.read { try $0.auditHead().sequence } == 0)
        var ghost = MPIChange()
        ghost.assignments = [5: "g5"]
        ghost.previousAssignments = [5: "g4"]
        try await s.write { [ghost] tx in try tx.applyMPIChange(ghost, actor: "op", at: t0) }
        let messages = try await s.read { try $0.auditMessages(AuditFilter()) }
        #expect(messages.count == 1 && messages[0].message.objects.isEmpty)
        #expect(try await s.read { try $0.mpiEvents(record: 5) }.map(\.action) == ["relink"], "the event is kept even for a record the store does not hold")
        #expect(try await s.read { try $0.mpiSnapshot() }.records.map { $0.person } == ["g1"])
    }

    @Test("changes: a review id queued twice is refused with everything the change did", arguments: StoreKind.allCases)
    func duplicateReview(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let a = try seal(s, "A", family: "A")
        var queue = MPIChange()
        queue.addedReviews = [ReviewItem(id: 1, recordID: 1, candidateRecordID: 2, weight: 1, reason: "r")]
        try await s.write { [queue] tx in
            try tx.saveMPIRecord(1, sealed: a, person: "g1")
            try tx.applyMPIChange(queue, actor: "op", at: t0)
        }
        var again = MPIChange()
        again.assignments = [1: "g2"]
        again.previousAssignments = [1: "g1"]
        again.addedReviews = [ReviewItem(id: 1, recordID: 1, candidateRecordID: 3, weight: 2, reason: "r")]
        #expect(await code { try await s.write { [again] tx in try tx.applyMPIChange(again, actor: "op", at: t0) } } == "storage.database")
        let (snap, events, head) = try await s.read { r in (try r.mpiSnapshot(), try r.mpiEvents(record: 1), try r.auditHead().sequence) }
        #expect(snap.records[0].person == "g1" && snap.reviews.map(\.candidateRecordID) == [2])
        #expect(events.map(\.action) == ["review-queued"] && head == 1)
    }

    @Test("the match model: saved, replaced, read back", arguments: StoreKind.allCases)
    func model(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in try tx.saveMatchModel(.prior) }
        #expect(try await s.read { try $0.mpiSnapshot() }.model == .prior)
        var trained = MatchModel.prior
        trained.matchProportion = 0.25
        let frozen = trained
        try await s.write { tx in try tx.saveMatchModel(frozen) }
        #expect(try await s.read { try $0.mpiSnapshot() }.model == trained)
    }
}
