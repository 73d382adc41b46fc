import CaduceusExchange
import CaduceusHL7
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Code tables in force on the next HL7 message", .serialized)
struct CodeTableEnforcementTests {
    func table(_ version: Int, _ codes: [String]) -> CodeTableVersion {
        CodeTableVersion(table: .administrativeSex, version: version, entries: codes.map { CodeTableEntry(code: $0, display: $0) }, changedBy: "Admin (synthetic)", changedAt: Date(), note: "test")
    }

    @Test("no table saved: PID-8 is not checked; a saved table refuses a code outside it (AE 102 at PID-8, nothing stored); the next version takes effect on the next message")
    func administrativeSex() async throws {
        let node = try await Node.make()
        #expect(try ackCode(try await node.send(SampleHL7.adtA01)) == "AA", "never saved: not enforced")
        try await node.store.write { tx in try tx.saveCodeTable(table(1, ["M", "U"])) }
        let refused = try await node.send(SampleHL7.adtA01.replacingOccurrences(of: "MSG00001", with: "MSG00002").replacingOccurrences(of: "DOE^JANE", with: "ROE^JANE"))
        #expect(try ackCode(refused) == "AE" && errCode(refused) == "102")
        #expect(try refused.view(ERRSegment.self)?.location?.field == 8)
        #expect(try await node.store.read { try $0.patient(LocalIdentity(id: "4711", authority: goodHealth)) }?.demographics.family == "DOE", "the refused update kept nothing")
        try await node.store.write { tx in try tx.saveCodeTable(table(2, ["F", "M", "U"])) }
        let accepted = try await node.send(SampleHL7.adtA01.replacingOccurrences(of: "MSG00001", with: "MSG00003").replacingOccurrences(of: "DOE^JANE", with: "ROE^JANE"))
        #expect(try ackCode(accepted) == "AA")
        #expect(try await node.store.read { try $0.patient(LocalIdentity(id: "4711", authority: goodHealth)) }?.demographics.family == "ROE")
    }
}

@Suite("The assigning-authority table in force on the next HL7 message", .serialized)
struct AssigningAuthorityEnforcementTests {
    func table(_ version: Int, _ authorities: [String]) -> CodeTableVersion {
        CodeTableVersion(table: .assigningAuthority, version: version, entries: authorities.map { CodeTableEntry(code: $0, display: "domain") }, changedBy: "Admin (synthetic)", changedAt: Date(), note: "test")
    }

    @Test("a saved table without PID-3's authority refuses the ADT (AE 204 at PID-3.4, nothing stored, not in the MPI, one audit record); an A40 whose MRG-1 is outside it is refused at MRG-1.4; the next version takes effect on the next message")
    func assigningAuthority() async throws {
        let node = try await Node.make()
        try await node.store.write { tx in try tx.saveCodeTable(table(1, [stMary])) }
        let auditBefore = try await node.store.read { try $0.auditHead().sequence }
        let refused = try await node.send(SampleHL7.adtA01)
        #expect(try ackCode(refused) == "AE" && errCode(refused) == "204")
        #expect(try refused.view(ERRSegment.self)?.location == HL7Location(segment: "PID", sequence: 1, field: 3, repetition: 1, component: 4))
        #expect(try await node.store.read { try $0.patient(LocalIdentity(id: "4711", authority: goodHealth)) } == nil)
        #expect(node.mpi.read { $0.recordCount } == 0)
        #expect(try await node.store.read { try $0.auditHead().sequence } == auditBefore + 1, "one audit record")
        try await node.store.write { tx in try tx.saveCodeTable(table(2, [stMary, goodHealth])) }
        #expect(try ackCode(try await node.send(SampleHL7.adtA01.replacingOccurrences(of: "MSG00001", with: "MSG00011"))) == "AA")
        #expect(node.mpi.read { $0.recordCount } == 1)
        // A merge whose prior id (MRG-1) is in a domain the table does not hold.
        let merge = SampleHL7.adtA40.replacingOccurrences(of: "MRG|4712^^^GOODH&1.2.840.114350.1&ISO^MR", with: "MRG|4712^^^STM&\(stMary)&ISO^MR")
        try await node.store.write { tx in try tx.saveCodeTable(table(3, [goodHealth])) }
        let refusedMerge = try await node.send(merge)
        #expect(try ackCode(refusedMerge) == "AE" && errCode(refusedMerge) == "204")
        #expect(try refusedMerge.view(ERRSegment.self)?.location == HL7Location(segment: "MRG", sequence: 1, field: 1, repetition: 1, component: 4))
    }
}
