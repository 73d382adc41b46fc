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
