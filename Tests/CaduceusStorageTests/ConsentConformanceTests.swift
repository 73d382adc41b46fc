import CaduceusPolicy
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Storage conformance: the consent registry and the emergency-access review queue")
struct ConsentConformanceTests {
    func record(_ id: String, patient: String = "G1^^^&2.25.99&ISO", at offset: TimeInterval, decision: ConsentDirective.Decision = .permit) -> ConsentRecord {
        let directive = ConsentDirective(id: id, patient: "L1^^^&\(authority)&ISO", decision: decision, validFrom: t0, issuedAt: t0)
        return ConsentRecord(directive: directive, patientId: patient, signedBy: "L1", recordedAt: "node.a", recordedTime: t0.addingTimeInterval(offset), statement: "jws.\(id)")
    }

    @Test("consents: recorded once per id, listed per patient oldest first (same time: by id), revoked once", arguments: StoreKind.allCases)
    func consents(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let c = record("c", at: 10), b = record("b", at: 10), a = record("a", at: 20), other = record("z", patient: "G2^^^&2.25.99&ISO", at: 0)
        try await s.write { tx in
            try tx.saveConsent(a)
            try tx.saveConsent(c)
            #expect(try tx.consent(id: "c") == c, "a unit of work sees its own consent")
        }
        try await s.write { tx in
            try tx.saveConsent(b)
            try tx.saveConsent(other)
        }
        #expect(try await s.read { try $0.consents(patientId: "G1^^^&2.25.99&ISO") } == [b, c, a])
        #expect(try await s.read { try $0.consents(patientId: "G2^^^&2.25.99&ISO") } == [other])
        #expect(try await s.read { try $0.consents(patientId: "G3^^^&2.25.99&ISO") }.isEmpty)
        let duplicate = record("a", patient: "G9^^^&2.25.99&ISO", at: 99, decision: .deny)
        #expect(await code { try await s.write { tx in try tx.saveConsent(duplicate) } } == "storage.conflict")
        #expect(try await s.read { try $0.consent(id: "a") } == a)
        #expect(try await s.read { try $0.consent(id: "nope") } == nil)

        let revoked = try await s.write { tx in
            (try tx.revokeConsent(id: "b", at: t0.addingTimeInterval(100), by: "L1", statement: "jws.revoke"),
             try tx.revokeConsent(id: "nope", at: t0, by: "L1", statement: "x"))
        }
        #expect(revoked == (true, false))
        let again = try await s.write { tx in try tx.revokeConsent(id: "b", at: t0.addingTimeInterval(200), by: "someone.else", statement: "jws.again") }
        #expect(again, "already revoked: still true")
        let now = try await s.read { try $0.consent(id: "b") }
        #expect(now?.revokedTime == t0.addingTimeInterval(100) && now?.revokedBy == "L1" && now?.revocationStatement == "jws.revoke", "the first revocation stands")
        #expect(now?.directive == b.directive && now?.statement == b.statement)
        #expect(try await s.read { try $0.consents(patientId: "G1^^^&2.25.99&ISO") }.map(\.directive.id) == ["b", "c", "a"])
        // A revocation in a unit of work that fails is not kept.
        await #expect(throws: BodyFailed()) {
            try await s.write { tx in _ = try tx.revokeConsent(id: "c", at: t0, by: "L1", statement: "x"); throw BodyFailed() }
        }
        #expect(try await s.read { try $0.consent(id: "c") }?.revokedTime == nil)
    }

    func access(_ id: String, started offset: TimeInterval, reason: String = "unconscious patient") -> EmergencyAccess {
        EmergencyAccess(id: id, subject: "Dr \(id) (synthetic)", role: "physician", declaredAt: "node.a", reason: reason, started: t0.addingTimeInterval(offset), expires: t0.addingTimeInterval(offset + 3600))
    }

    @Test("emergency accesses: noted, used (counted), ended early once, reviewed; the queue newest first", arguments: StoreKind.allCases)
    func emergencies(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in
            try tx.noteEmergencyAccess(access("e1", started: 0), useAt: nil)
            try tx.noteEmergencyAccess(access("e2", started: 60), useAt: t0.addingTimeInterval(61))
            #expect(try tx.emergencyAccess(id: "e2")?.uses == 1, "a unit of work sees its own entry")
        }
        // A use at another node creates the entry there; later uses count on the entry as first recorded.
        try await s.write { tx in
            try tx.noteEmergencyAccess(access("e3", started: 30, reason: ""), useAt: t0.addingTimeInterval(31))
            try tx.noteEmergencyAccess(access("e2", started: 999, reason: "another reason"), useAt: t0.addingTimeInterval(70))
            try tx.noteEmergencyAccess(access("e1", started: 0), useAt: nil)
        }
        var e2 = try #require(try await s.read { try $0.emergencyAccesses(unreviewedOnly: false) }.first { $0.id == "e2" })
        #expect(e2.uses == 2 && e2.lastUse == t0.addingTimeInterval(70) && e2.reason == "unconscious patient" && e2.started == t0.addingTimeInterval(60))
        #expect(try await s.read { try $0.emergencyAccesses(unreviewedOnly: true) }.map(\.id) == ["e2", "e3", "e1"], "newest first")
        #expect(try await s.read { try $0.emergencyAccesses(unreviewedOnly: false) }.first { $0.id == "e1" }?.uses == 0)

        try await s.write { tx in
            try tx.endEmergencyAccess(id: "e2", at: t0.addingTimeInterval(80))
            try tx.endEmergencyAccess(id: "e2", at: t0.addingTimeInterval(90))
            try tx.endEmergencyAccess(id: "nope", at: t0)  // nothing to end: not an error
        }
        e2 = try #require(try await s.read { try $0.emergencyAccesses(unreviewedOnly: true) }.first { $0.id == "e2" })
        #expect(e2.ended == t0.addingTimeInterval(80) && !e2.isOpen(at: t0.addingTimeInterval(81)), "ended early, and still in the queue")

        let reviewed = try await s.write { tx in
            (try tx.reviewEmergencyAccess(id: "e3", reviewer: "officer", note: "justified", at: t0.addingTimeInterval(500)),
             try tx.reviewEmergencyAccess(id: "nope", reviewer: "officer", note: "", at: t0))
        }
        #expect(reviewed == (true, false))
        #expect(try await s.read { try $0.emergencyAccesses(unreviewedOnly: true) }.map(\.id) == ["e2", "e1"])
        // A use after review, or ending it, does not put it back in the queue.
        try await s.write { tx in
            try tx.noteEmergencyAccess(access("e3", started: 30), useAt: t0.addingTimeInterval(600))
            try tx.endEmergencyAccess(id: "e3", at: t0.addingTimeInterval(601))
        }
        let all = try await s.read { try $0.emergencyAccesses(unreviewedOnly: false) }
        #expect(all.map(\.id) == ["e2", "e3", "e1"])
        let e3 = try #require(all.first { $0.id == "e3" })
        #expect(e3.reviewer == "officer" && e3.reviewNote == "justified" && e3.reviewed == t0.addingTimeInterval(500) && e3.uses == 2 && e3.ended == t0.addingTimeInterval(601))
        #expect(try await s.read { try $0.emergencyAccesses(unreviewedOnly: true) }.map(\.id) == ["e2", "e1"])
        // A second review replaces the note.
        _ = try await s.write { tx in try tx.reviewEmergencyAccess(id: "e3", reviewer: "officer.2", note: "re-checked", at: t0.addingTimeInterval(700)) }
        #expect(try await s.read { try $0.emergencyAccesses(unreviewedOnly: false) }.first { $0.id == "e3" }?.reviewer == "officer.2")
    }

    @Test("the review queue: ties in start time newest id first, at most 1000 entries", arguments: StoreKind.allCases)
    func queueOrder(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in
            for id in ["m", "a", "z"] { try tx.noteEmergencyAccess(access(id, started: 5), useAt: nil) }
            try tx.noteEmergencyAccess(access("early", started: 0), useAt: nil)
        }
        #expect(try await s.read { try $0.emergencyAccesses(unreviewedOnly: true) }.map(\.id) == ["z", "m", "a", "early"])
        try await s.write { tx in
            for i in 0..<1000 { try tx.noteEmergencyAccess(access(String(format: "bulk-%04d", i), started: 10 + Double(i)), useAt: nil) }
        }
        let queue = try await s.read { try $0.emergencyAccesses(unreviewedOnly: false) }
        #expect(queue.count == 1000 && queue.first?.id == "bulk-0999" && queue.last?.id == "bulk-0000", "the newest thousand")
    }
}
