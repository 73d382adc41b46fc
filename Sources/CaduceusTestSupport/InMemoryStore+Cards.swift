import CaduceusStorage
import Foundation

// The personnel registry and the card registry, sealed as SQLiteCards.swift seals them.

extension InMemoryTransaction {
    func saveStaff(_ member: StaffMember) throws(StorageError) {
        state.staff[member.id] = try cipher.seal(json: member, context: "staff.record")
    }

    func staffMember(id: String) throws(StorageError) -> StaffMember? { try reader.staffMember(id: id) }

    func saveCard(_ card: CardRecord) throws(StorageError) {
        let sealed = try cipher.seal(json: card, context: "cards.record")
        if state.cards[card.id] != nil {
            state.cards[card.id]?.record = sealed  // ON CONFLICT: the record only
        } else {
            state.cards[card.id] = (sealed, (card.history.first?.at ?? Date()).timeIntervalSince1970)
        }
    }

    func card(id: String) throws(StorageError) -> CardRecord? { try reader.card(id: id) }

    func cards() throws(StorageError) -> [CardRecord] { try reader.cards() }
}

extension InMemoryReader {
    func staff() throws(StorageError) -> [StaffMember] {
        var out: [StaffMember] = []
        for (_, sealed) in state.staff.sorted(by: { $0.key < $1.key }) {
            out.append(try cipher.open(json: sealed, as: StaffMember.self, context: "staff.record"))
        }
        return out
    }

    func staffMember(id: String) throws(StorageError) -> StaffMember? {
        guard let sealed = state.staff[id] else { return nil }
        return try cipher.open(json: sealed, as: StaffMember.self, context: "staff.record")
    }

    func cards() throws(StorageError) -> [CardRecord] {
        var out: [CardRecord] = []
        for (_, row) in state.cards.sorted(by: { ($0.value.enrolledAt, $0.key) < ($1.value.enrolledAt, $1.key) }) {
            out.append(try cipher.open(json: row.record, as: CardRecord.self, context: "cards.record"))
        }
        return out
    }

    func card(id: String) throws(StorageError) -> CardRecord? {
        guard let row = state.cards[id] else { return nil }
        return try cipher.open(json: row.record, as: CardRecord.self, context: "cards.record")
    }
}
