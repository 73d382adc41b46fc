import CaduceusAudit
import CaduceusCMS
@testable import CaduceusExchange
import CaduceusPKI
import Foundation
import Testing

@Suite("A refusal for unknown revocation status raises a Security Alert")
struct RevocationAlertTests {
    @Test("pki.revocation-unknown, as it is or as a CMS signer refusal, adds a Node Authentication alert (110126) beside the operation's event; other refusals and successes do not", arguments: [
        (PKIError(.revocationUnknown, "x") as any Error, 2),
        (CMSError(.signerRejected(.revocationUnknown), "x") as any Error, 2),
        (PKIError(.revoked, "x") as any Error, 1),
        (ExchangeError(.forbidden, "x") as any Error, 1),
    ])
    func alert(_ error: any Error, _ count: Int) {
        let messages = AuditNotes.messages(for: .signIn, notes: AuditNotes(), node: "node.a", endpoint: "https://a", error: error, time: Date())
        #expect(messages.count == count)
        #expect(messages[0].eventID != .securityAlert && messages[0].outcome != .success)
        if count == 2 {
            #expect(messages[1].eventID == .securityAlert && messages[1].eventTypes.map(\.code) == ["110126"])
            #expect(messages[1].errorCode == messages[0].errorCode && messages[1].errorCode.hasSuffix("revocation-unknown"))
        }
        #expect(AuditNotes.messages(for: .signIn, notes: AuditNotes(), node: "node.a", endpoint: "https://a", error: nil, time: Date()).count == 1)
    }
}
