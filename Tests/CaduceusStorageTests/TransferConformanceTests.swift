import CaduceusDocuments
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Storage conformance: the transfer inbox and outbox, the patient list")
struct TransferConformanceTests {
    let sender = PatientIdentifier(id: "A-77", authority: "2.16.840.1.113883.19.5.1")
    let local = PatientIdentifier(id: "B-12", authority: "2.16.840.1.113883.19.5.2")

    func received(_ id: String, at day: Double) -> TransferRecord {
        TransferRecord(
            id: id, direction: .received, peer: "node.hospital-a", at: t0.addingTimeInterval(day * 86400),
            reason: "Referral (synthetic)", sentBy: "Dr Synthetic",
            entries: [documentEntry(Int(day) + 1, patient: sender)])
    }

    @Test(
        "received and sent transfers are kept apart, newest first, sealed; a unit of work sees its own write",
        arguments: StoreKind.allCases)
    func keep(_ kind: StoreKind) async throws {
        let s = try kind.make()
        #expect(try await s.read { try $0.transfers(.received, limit: 10) }.isEmpty)
        try await s.write { tx in
            try tx.saveTransfer(self.received("t1", at: 0))
            try tx.saveTransfer(self.received("t2", at: 1))
            var sent = self.received("t1", at: 2)
            sent.direction = .sent
            sent.peer = "node.hospital-c"
            try tx.saveTransfer(sent)
        }
        #expect(try await s.read { try $0.transfers(.received, limit: 10) }.map(\.id) == ["t2", "t1"])
        #expect(try await s.read { try $0.transfers(.received, limit: 1) }.map(\.id) == ["t2"])
        #expect(try await s.read { try $0.transfers(.sent, limit: 10) }.map(\.peer) == ["node.hospital-c"])
        let one = try #require(try await s.read { try $0.transfer(id: "t1", .received) })
        #expect(one == received("t1", at: 0) && one.entries.first?.sourcePatientId == sender)
        #expect(try await s.read { try $0.transfer(id: "t9", .received) } == nil)
        #expect(
            await code { try await s.write { tx in try tx.saveTransfer(self.received("t1", at: 5)) } }
                == "storage.conflict", "one record per transfer")
    }

    @Test(
        "a transfer is accepted once: a second acceptance is storage.conflict and changes nothing; an unknown one storage.not-found; a failed unit of work keeps nothing",
        arguments: StoreKind.allCases)
    func acceptOnce(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in try tx.saveTransfer(self.received("t1", at: 0)) }
        let first = TransferAcceptance(patient: local, by: "Dr First", at: t0)
        await #expect(throws: BodyFailed()) {
            try await s.write { tx in
                _ = try tx.acceptTransfer(id: "t1", first); throw BodyFailed()
            }
        }
        #expect(try await s.read { try $0.transfer(id: "t1", .received) }?.accepted == nil, "rolled back")
        let accepted = try await s.write { tx in try tx.acceptTransfer(id: "t1", first) }
        #expect(accepted.accepted == first)
        let again = TransferAcceptance(
            patient: PatientIdentifier(id: "B-99", authority: local.authority), by: "Dr Second", at: t0)
        #expect(
            await code { try await s.write { tx in _ = try tx.acceptTransfer(id: "t1", again) } } == "storage.conflict")
        #expect(
            await code { try await s.write { tx in _ = try tx.acceptTransfer(id: "nope", again) } }
                == "storage.not-found")
        #expect(
            try await s.read { try $0.transfer(id: "t1", .received) }?.accepted == first, "the first acceptance stands")
    }

    @Test("the patient list: registry patients not merged, newest first, bounded", arguments: StoreKind.allCases)
    func patients(_ kind: StoreKind) async throws {
        let s = try kind.make()
        let cipher = s.cipher
        let p1 = try cipher.seal(patient: patientRecord("P1")), p2 = try cipher.seal(patient: patientRecord("P2")),
            p3 = try cipher.seal(patient: patientRecord("P3"))
        try await s.write { tx in
            try tx.savePatient(p1, at: t0)
            try tx.savePatient(p2, at: t0.addingTimeInterval(60))
            try tx.savePatient(p3, at: t0.addingTimeInterval(120))
        }
        #expect(try await s.read { try $0.patients(limit: 10) }.map(\.identity.id) == ["P3", "P2", "P1"])
        #expect(try await s.read { try $0.patients(limit: 2) }.count == 2)
        let survivor = try #require(
            try await s.read { try $0.patients(limit: 10) }.first { $0.identity.id == "P1" }?.identity)
        let prior = try #require(
            try await s.read { try $0.patients(limit: 10) }.first { $0.identity.id == "P2" }?.identity)
        try await s.write { tx in try tx.mergePatient(prior, into: survivor, at: t0.addingTimeInterval(180)) }
        #expect(
            try await s.read { try $0.patients(limit: 10) }.map(\.identity.id) == ["P3", "P1"],
            "a merged record is not listed")
    }
}
