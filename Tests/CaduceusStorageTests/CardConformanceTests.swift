import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Storage conformance: the personnel registry and the card registry")
struct CardConformanceTests {
    func member(_ id: String, family: String = "Rivera", active: Bool = true) -> StaffMember {
        StaffMember(id: id, family: family, given: "Ana", organization: "node.a", department: "Cardiology", roles: ["physician"], email: "\(id)@a.test", active: active, updated: t0, source: "hr-import")
    }

    func card(_ id: String, at offset: TimeInterval, status: CardStatus = .requested) -> CardRecord {
        CardRecord(id: id, holderKind: "staff", holder: "E1", commonName: "Ana Rivera", role: "physician", organization: "node.a", status: status, history: [CardEvent(action: "enroll", by: "officer", at: t0.addingTimeInterval(offset))])
    }

    @Test("staff: saved and replaced by id, listed by id, sealed at rest, a failed unit of work keeps nothing", arguments: StoreKind.allCases)
    func staff(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in
            try tx.saveStaff(member("E2"))
            try tx.saveStaff(member("E1"))
            #expect(try tx.staffMember(id: "E1") == member("E1"), "a unit of work sees its own write")
        }
        try await s.write { tx in try tx.saveStaff(member("E2", family: "Okafor", active: false)) }
        #expect(try await s.read { try $0.staff() } == [member("E1"), member("E2", family: "Okafor", active: false)])
        #expect(try await s.read { try $0.staffMember(id: "nope") } == nil)
        await #expect(throws: BodyFailed()) {
            try await s.write { tx in try tx.saveStaff(member("E3")); throw BodyFailed() }
        }
        #expect(try await s.read { try $0.staffMember(id: "E3") } == nil)
    }

    @Test("cards: saved and updated by id, listed oldest enrolment first (same time: by id), updates keep the order", arguments: StoreKind.allCases)
    func cards(_ kind: StoreKind) async throws {
        let s = try kind.make()
        try await s.write { tx in
            try tx.saveCard(card("c", at: 10))
            try tx.saveCard(card("a", at: 20))
            try tx.saveCard(card("b", at: 10))
            #expect(try tx.cards().map(\.id) == ["b", "c", "a"])
        }
        var issued = card("b", at: 10, status: .issued)
        issued.serial = "0A1B"
        issued.history.append(CardEvent(action: "issue", by: "officer", at: t0.addingTimeInterval(500)))
        try await s.write { [issued] tx in try tx.saveCard(issued) }
        #expect(try await s.read { try $0.cards() }.map(\.id) == ["b", "c", "a"], "an update does not move a card")
        #expect(try await s.read { try $0.card(id: "b") } == issued)
        #expect(try await s.read { try $0.card(id: "zz") } == nil)
        await #expect(throws: BodyFailed()) {
            try await s.write { tx in try tx.saveCard(card("a", at: 20, status: .rejected)); throw BodyFailed() }
        }
        #expect(try await s.read { try $0.card(id: "a") }?.status == .requested)
    }
}
