import CaduceusCore
import CaduceusDocuments
import CaduceusPKI
package import CaduceusStorage
import Foundation

/// `user.card`'s answer: the presenting card's entry in this node's card registry, when this node issued it.
package struct OwnCardResponse: Codable, Sendable {
    /// The registry entry (nil: this node's registry does not hold the card — issued elsewhere, or outside the
    /// station, as the demo's cards are).
    package var record: CardRecord?
    package init(record: CardRecord?) { self.record = record }
}

extension CardService {
    /// `user.card`: a signed-in holder reads the entry of the card they present — matched by its serial number and
    /// issuer, never by a name they could share with another card — and nothing else of the registry.
    func ownCard(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        _ = try await core.authorize(o, allowPatients: true)
        let serial = Hex.encode(o.envelope.signer.serialNumber.bytes)
        let issuer = String(describing: o.envelope.signer.issuer)
        let record = try await core.store.read { r in try r.cards() }.first { $0.serial?.lowercased() == serial.lowercased() && $0.issuer == issuer }
        if let record, record.holderKind == "patient", let patient = PatientIdentifier(cx: record.holder) { o.audit.patient(patient) }
        return try core.reply(o, OwnCardResponse(record: record))
    }
}
