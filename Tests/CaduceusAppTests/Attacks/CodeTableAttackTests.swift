import CaduceusApp
import CaduceusCore
import CaduceusExchange
import CaduceusPatientIndex
import CaduceusStorage
import Foundation
import Testing

// The code tables as a security property (issue 14): once an administrator saved the assigning authorities a node
// knows, a patient id in any other domain cannot enter — not through an EMR's ADT, not as a submitted document's
// patient, not as an identity a node registers with the regional MPI. Each refusal is audited once where it happens
// and changes nothing.

@Suite("Attacks: identities outside the assigning-authority table", .serialized)
struct CodeTableAttackTests {
    @Test(
        "an ADT whose PID-3 is in a domain hospital A's table does not hold cannot register a patient: AE 204, audited once at A, nothing stored, nothing reaches the regional MPI"
    )
    func adtOutsideTheTable() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let a = fed.runtimes[LocalFederation.hospitalA]!
            try await saveTable(fed, at: LocalFederation.hospitalA, .assigningAuthority, [LocalFederation.domainB])
            let newcomer = LocalIdentity(id: "A-66001", authority: LocalFederation.domainA)
            var ack = ""
            _ = try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                ack = String(decoding: await a.hl7!.receive(DemoData.adtA04(mrn: newcomer.id, control: "A-ADT-66")), as: UTF8.self)
            }
            #expect(ack.contains("MSA|AE") && ack.contains("|204^"), "\(ack)")
            #expect(try await a.store.read { try $0.patient(newcomer) } == nil)
            // Listed again: the next message is accepted.
            try await saveTable(fed, at: LocalFederation.hospitalA, .assigningAuthority, [LocalFederation.domainA, LocalFederation.domainB])
            let accepted = String(decoding: await a.hl7!.receive(DemoData.adtA04(mrn: newcomer.id, control: "A-ADT-67")), as: UTF8.self)
            #expect(accepted.contains("MSA|AA"))
        }
    }

    @Test(
        "a node cannot register an identity with the regional MPI in a domain the region's table does not hold: exchange.unknown-code, audited once at the region, the MPI unchanged"
    )
    func registrationOutsideTheRegionsTable() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            try await saveTable(fed, at: LocalFederation.regional, .assigningAuthority, [LocalFederation.domainA])
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let refused = try await attack(fed, auditedAt: LocalFederation.regional) {
                _ = try await b.registerWithRegion(LocalIdentity(id: DemoData.mrnB, authority: LocalFederation.domainB))
            }
            #expect(refused == "exchange.unknown-code")
            // Hospital A's domain is in the table: its registration goes through.
            _ = try await fed.runtimes[LocalFederation.hospitalA]!.node.registerWithRegion(LocalIdentity(id: DemoData.mrnA, authority: LocalFederation.domainA))
        }
    }
}
