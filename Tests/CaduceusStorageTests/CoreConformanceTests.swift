import CaduceusCore
import CaduceusDocuments
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Storage conformance: units of work, the HL7 message log, the patient registry, audit events")
struct CoreConformanceTests {
    @Test("a write that throws leaves nothing of what it did, and its own error reaches the caller unchanged", arguments: StoreKind.allCases)
    func rollback(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let cipher = s.cipher
        let sealedMessage = try cipher.seal(message: Array("MSH|first".utf8), ack: Array("MSA|AA".utf8))
        try await s.write { tx in try tx.logMessage(sender: "lab", controlID: "1", messageType: "ADT^A01", outcome: "AA", sealed: sealedMessage, at: t0) }
        let sealedPatient = try cipher.seal(patient: patientRecord("P1"))
        let p = PatientIdentifier(id: "G1", authority: "2.25.99")
        let set = submission("2.25.500", p, [documentEntry(1, patient: p)])
        await #expect(throws: BodyFailed()) {
            try await s.write { tx in
                try tx.logMessage(sender: "lab", controlID: "2", messageType: "ADT^A01", outcome: "AA", sealed: sealedMessage, at: t0)
                try tx.savePatient(sealedPatient, at: t0)
                try tx.registerSubmission(set, at: t0)
                try tx.appendAudit([auditMessage()])
                try tx.audit(AuditEvent(kind: "k", code: "c", detail: "d"), at: t0)
                try tx.rememberRequest("r1", expires: t0.addingTimeInterval(60), now: t0)
                #expect(try tx.patient(identity("P1")) != nil, "a unit of work sees its own changes")
                throw BodyFailed()
            }
        }
        let after = try await s.read { r in
            (try r.messageCount(), try r.patient(identity("P1")), try r.registryCount(), try r.auditHead().sequence, try r.auditEvents(limit: 10).count, try r.seenRequests(now: t0).count)
        }
        #expect(after.0 == 1 && after.1 == nil && after.2 == 0 && after.3 == 0 && after.4 == 0 && after.5 == 0)
        // A storage error thrown midway rolls back the earlier steps too.
        #expect(await code {
            try await s.write { tx in
                try tx.savePatient(sealedPatient, at: t0)
                try tx.logMessage(sender: "lab", controlID: "1", messageType: "ADT^A01", outcome: "AA", sealed: sealedMessage, at: t0)
            }
        } == "storage.database")
        #expect(try await s.read { try $0.patient(identity("P1")) } == nil)
        // The value a body returns is the write's.
        #expect(try await s.write { _ in 42 } == 42)
    }

    @Test("concurrent writes all commit, each under its own row id; the ones that throw roll back alone", arguments: StoreKind.allCases)
    func concurrentWrites(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let sealed = try s.cipher.seal(message: Array("MSH|x".utf8), ack: Array("MSA|AA".utf8))
        let failures = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<24 {
                group.addTask {
                    do {
                        try await s.write { tx in
                            try tx.logMessage(sender: "lab", controlID: String(i), messageType: "ORU^R01", outcome: "AA", sealed: sealed, at: t0)
                            if i % 3 == 0 { throw BodyFailed() }
                        }
                        return false
                    } catch { return true }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 8)
        let logged = try await s.read { try $0.messages(limit: 100) }
        #expect(logged.count == 16)
        #expect(Set(logged.map(\.id)).count == 16, "row ids are unique")
        #expect(Set(logged.map(\.controlID)) == Set((0..<24).filter { $0 % 3 != 0 }.map(String.init)))
    }

    @Test("message log: sealed raw and ACK, duplicates refused per sender, newest first, limits", arguments: StoreKind.allCases)
    func messageLog(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let cipher = s.cipher
        // The same control id from two senders is two messages.
        for (i, (sender, control)) in [("lab", "C0"), ("lab", "C1"), ("adt", "C2"), ("adt", "C0")].enumerated() {
            let sealed = try cipher.seal(message: Array("MSH|\(i)".utf8), ack: Array("MSA|AA|\(i)".utf8))
            try await s.write { tx in try tx.logMessage(sender: sender, controlID: control, messageType: "ADT^A0\(i)", outcome: i == 1 ? "AE" : "AA", sealed: sealed, at: t0.addingTimeInterval(Double(i))) }
        }
        let dup = try cipher.seal(message: Array("MSH|again".utf8), ack: [])
        #expect(await code { try await s.write { tx in try tx.logMessage(sender: "lab", controlID: "C0", messageType: "ADT^A01", outcome: "AA", sealed: dup, at: t0) } } == "storage.database")
        let (count, has, hasNot, all, two, none) = try await s.read { r in
            (try r.messageCount(), try r.hasMessage(sender: "adt", controlID: "C2"), try r.hasMessage(sender: "lab", controlID: "C2"),
             try r.messages(limit: 100), try r.messages(limit: 2), try r.messages(limit: 0))
        }
        #expect(count == 4 && has && !hasNot)
        #expect(all.map(\.controlID) == ["C0", "C2", "C1", "C0"] && all.map(\.sender) == ["adt", "adt", "lab", "lab"], "newest first")
        #expect(all.map(\.id) == all.map(\.id).sorted(by: >))
        #expect(all.last.map { String(decoding: $0.raw.unsafeValue, as: UTF8.self) } == "MSH|0")
        #expect(all[2].outcome == "AE" && all[2].messageType == "ADT^A01" && all[2].receivedAt == t0.addingTimeInterval(1))
        #expect(all[0].ack.unsafeValue == Array("MSA|AA|3".utf8))
        #expect(two.map(\.id) == Array(all.prefix(2).map(\.id)) && none.isEmpty)
        let logged = try await s.write { tx in (try tx.loggedMessage(sender: "adt", controlID: "C2"), try tx.loggedMessage(sender: "adt", controlID: "C1")) }
        #expect(logged.0.map { String(decoding: $0.raw, as: UTF8.self) } == "MSH|2" && logged.0?.ack == Array("MSA|AA|2".utf8) && logged.1 == nil)
    }

    @Test("PHI is sealed under the store's own data key: what another key sealed does not open", arguments: StoreKind.allCases)
    func sealing(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let foreign = try PHICipher.create(nodeKey: NodeKey(bytes: Data(repeating: 9, count: 32))).0
        let alien = try foreign.seal(message: Array("MSH|alien".utf8), ack: [])
        try await s.write { tx in try tx.logMessage(sender: "lab", controlID: "X", messageType: "ADT^A01", outcome: "AA", sealed: alien, at: t0) }
        #expect(try await s.read { try $0.hasMessage(sender: "lab", controlID: "X") })
        #expect(await code { _ = try await s.read { try $0.messages(limit: 10) } } == "storage.decryption-failed")
        #expect(await code { _ = try await s.write { tx in try tx.loggedMessage(sender: "lab", controlID: "X") } } == "storage.decryption-failed")
        let alienPatient = try foreign.seal(patient: patientRecord("P9"))
        try await s.write { tx in try tx.savePatient(alienPatient, at: t0) }
        #expect(try await s.read { try $0.patient(identity("P9")) } == nil, "another key's blind index does not find it")
    }

    @Test("patients: saved, replaced, merged (the prior record still reads), kept apart by authority; observations oldest first", arguments: StoreKind.allCases)
    func patients(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let cipher = s.cipher
        #expect(try await s.read { try $0.patient(identity("P1")) } == nil)
        let first = patientRecord("P1", family: "First"), second = patientRecord("P1", family: "Second", control: "MSG2")
        let sealedFirst = try cipher.seal(patient: first), sealedSecond = try cipher.seal(patient: second)
        try await s.write { tx in try tx.savePatient(sealedFirst, at: t0) }
        #expect(try await s.read { try $0.patient(identity("P1")) } == first)
        try await s.write { tx in try tx.savePatient(sealedSecond, at: t0.addingTimeInterval(1)) }
        #expect(try await s.read { try $0.patient(identity("P1")) } == second)
        #expect(try await s.read { try $0.patient(identity("P1", "2.25.2")) } == nil, "same id, another authority")
        let survivor = try cipher.seal(patient: patientRecord("P2"))
        try await s.write { tx in
            try tx.savePatient(survivor, at: t0)
            try tx.mergePatient(identity("P1"), into: identity("P2"), at: t0)
            try tx.mergePatient(identity("nobody"), into: identity("P2"), at: t0)  // no such row: nothing happens
        }
        #expect(try await s.read { try $0.patient(identity("P1")) } == second, "the prior row stays")
        #expect(try await s.read { try $0.patient(identity("nobody")) } == nil)

        #expect(try await s.read { try $0.observations(for: identity("P1")) }.isEmpty)
        try await s.write { tx in
            try tx.addObservations([observation("A"), observation("B")], for: identity("P1"), controlID: "M1", at: t0)
            try tx.addObservations([observation("X")], for: identity("P2"), controlID: "M1", at: t0)
            try tx.addObservations([], for: identity("P1"), controlID: "M2", at: t0)
        }
        try await s.write { tx in try tx.addObservations([observation("C", value: "3")], for: identity("P1"), controlID: "M3", at: t0) }
        let obs = try await s.read { try $0.observations(for: identity("P1")) }
        #expect(obs.map(\.code) == ["A", "B", "C"] && obs[2] == observation("C", value: "3"))
        #expect(try await s.read { try $0.observations(for: identity("P2")) }.map(\.code) == ["X"])
    }

    @Test("audit events: appended, read newest first up to the limit", arguments: StoreKind.allCases)
    func auditEvents(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in
            for i in 0..<5 { try tx.audit(AuditEvent(kind: "hl7.rejected", code: "c\(i)", detail: "d\(i)"), at: t0) }
        }
        let (three, all, none) = try await s.read { r in (try r.auditEvents(limit: 3), try r.auditEvents(limit: 100), try r.auditEvents(limit: 0)) }
        #expect(three.map(\.code) == ["c4", "c3", "c2"] && all.count == 5 && none.isEmpty)
        #expect(all.last == AuditEvent(kind: "hl7.rejected", code: "c0", detail: "d0"))
    }
}
