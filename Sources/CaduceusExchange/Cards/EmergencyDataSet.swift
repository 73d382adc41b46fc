package import CaduceusPKI
package import X509
import CaduceusCore
package import Foundation
import CaduceusCMS
package import CaduceusStorage

/// The emergency data set of a patient card (as MIX puts on the card): allergies, medications, blood type and
/// emergency contacts, taken from what the hospital's HL7 feeds hold (AL1, RXE/RXO, OBX 882-1, NK1). Signed by the
/// issuing node as CMS SignedData (RFC 5652, attached, id-data) over the JSON, so any node — or `openssl cms -verify`
/// with the federation root — verifies it offline; one changed byte fails the signature.
package struct EmergencyDataSet: Codable, Sendable, Equatable {
    /// The format, so a reader can refuse what it does not know.
    package var format = "caduceus-emergency-data-set/1"
    /// The patient's identifier at the issuing hospital, `id^^^&authority&ISO` (the card's CN and OU).
    package var patient: String
    /// The issuing node (its certificate signs the set).
    package var issuer: String
    /// The serial (hex) of the card the set belongs to.
    package var cardSerial: String
    package var issued: Date
    package var allergies: [Item]
    package var medications: [Item]
    /// ABO and Rh group (LOINC 882-1) from the newest result, `""` when the feeds carried none.
    package var bloodType: String
    package var contacts: [Contact]
    /// The end of the card's validity: the set is not taken after it (a lost or renewed card's set goes with it).
    package var expires: Date?

    /// A coded clinical item.
    package struct Item: Codable, Sendable, Equatable {
        package var code: String
        package var text: String
        package var system: String
        /// Reaction (allergy) or instructions (medication).
        package var detail: String
        /// Allergy severity (`SV`, `MO`, `MI`), `""` otherwise.
        package var severity: String
    }

    /// An emergency contact (NK1).
    package struct Contact: Codable, Sendable, Equatable {
        package var name: String
        package var relationship: String
        package var phone: String
    }

    /// The set for `record`, from its stored clinical data.
    package init(record: PatientRecord, observations: [Observation], issuer: String, cardSerial: String, issued: Date, expires: Date? = nil) {
        self.expires = expires
        patient = "\(record.identity.id)^^^&\(record.identity.authority)&ISO"
        self.issuer = issuer
        self.cardSerial = cardSerial
        self.issued = issued
        allergies = (record.allergies ?? []).map { Item(code: $0.code, text: $0.text, system: $0.system, detail: $0.detail, severity: $0.severity) }
        medications = (record.medications ?? []).map { Item(code: $0.code, text: $0.text, system: $0.system, detail: $0.detail, severity: "") }
        bloodType = observations.last { $0.code == "882-1" }?.values.first ?? ""
        contacts = record.contacts.map { Contact(name: $0.name, relationship: $0.relationship, phone: $0.phone) }
    }

    /// Signs the set with the node's credential: DER SignedData.
    package func signed(by credential: Credential, at time: Date) throws -> [UInt8] {
        let encoder = JSONEncoder.exchange
        encoder.outputFormatting = [.sortedKeys]
        return try SignedData.sign(ArraySlice(try encoder.encode(self)), signers: [credential], detached: false, signingTime: time)
    }

    /// Where a patient's token keeps the signed set: a public data object (`CKO_DATA`) under this application and
    /// label, readable without the PIN — an emergency team reads it as it would a medical-alert bracelet, and the
    /// node's signature, not the token, makes it trustworthy.
    package static let tokenApplication = "caduceus emergency data set"
    /// See ``tokenApplication``.
    package static let tokenLabel = "emergency-data-set"

    /// Verifies a signed set against the federation's anchors (and whatever revocation lists `validator` holds):
    /// the signature, the signer's chain, and that the signer is the node the set names as its issuer.
    /// - Throws: the CMS error of a bad signature or chain; `exchange.bad-request` when the content is not a set
    ///   or the signer is not its issuer.
    /// With `card` (the patient card the set came with), the set must also be that card's: its serial, the patient
    /// it names (CN and OU), the node of its organisation as signer.
    package static func verify(_ signed: [UInt8], validator: ChainValidator, now: Date, card: Certificate? = nil) async throws -> EmergencyDataSet {
        let verified = try await SignedData.verify(ArraySlice(signed), validator: validator, now: now)
        guard let set = try? JSONDecoder.exchange.decode(EmergencyDataSet.self, from: Data(verified.content)),
              set.format == "caduceus-emergency-data-set/1"
        else { throw ExchangeError(.badRequest, "the signed content is not an emergency data set") }
        guard verified.signers.count == 1, let signer = FederationIdentity(verified.signers[0].certificate),
              signer.kind == .node, signer.commonName == set.issuer
        else { throw ExchangeError(.signerRejected, "an emergency data set must be signed by the node it names as issuer") }
        if let expires = set.expires, now > expires { throw ExchangeError(.badRequest, "the emergency data set has expired with its card") }
        if let card {
            guard let holder = FederationIdentity(card), holder.kind == .patient,
                  set.cardSerial == Hex.encode(card.serialNumber.bytes), set.patient == "\(holder.commonName)^^^&\(holder.role ?? "")&ISO",
                  holder.organization == set.issuer
            else { throw ExchangeError(.badRequest, "the emergency data set is not this card's") }
        }
        return set
    }
}
