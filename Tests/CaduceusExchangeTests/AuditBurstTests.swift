import CaduceusAudit
@testable import CaduceusExchange
import Foundation
import Testing

/// The privacy console's burst alerts: five refusals of one requestor within ten minutes.
@Suite("Audit bursts: refusals and failed sign-ins grouped per requestor")
struct AuditBurstTests {
    let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    func refusal(_ user: String, at seconds: Double, code: String = "exchange.forbidden", operation: ExchangeOperation = .userQuery, outcome: AuditOutcome = .minorFailure) -> AuditMessage {
        AuditMessage(
            eventID: AuditCode.query, eventTypes: [AuditCode(operation.rawValue, system: "caduceus-operation", display: operation.rawValue)],
            action: .execute, outcome: outcome, time: t0.addingTimeInterval(seconds), sourceID: "node.test", errorCode: code,
            participants: [AuditParticipant(userID: user, isRequestor: true)])
    }

    @Test("five refusals within ten minutes make a burst; four, or five spread wider, do not; successes never count")
    func thresholds() {
        let burst = (0..<5).map { refusal("Dr Probe", at: Double($0) * 100) }
        let found = AuditSearchService.bursts(burst)
        #expect(found == [AuditBurst(user: "Dr Probe", from: t0, to: t0.addingTimeInterval(400), count: 5, errorCode: "exchange.forbidden", signIn: false)])
        #expect(AuditSearchService.bursts(Array(burst.prefix(4))).isEmpty)
        #expect(AuditSearchService.bursts((0..<5).map { refusal("Dr Slow", at: Double($0) * 200) }).isEmpty, "spread over 800 s")
        let successes = (0..<10).map { refusal("Dr Busy", at: Double($0), code: "", outcome: .success) }
        #expect(AuditSearchService.bursts(successes).isEmpty)
        // Two people each refused four times in the same minutes: no burst (counted per requestor).
        let mixed = (0..<4).map { refusal("A", at: Double($0)) } + (0..<4).map { refusal("B", at: Double($0)) }
        #expect(AuditSearchService.bursts(mixed).isEmpty)
    }

    @Test("a burst extends while refusals keep coming; failed sign-ins are marked; the most frequent code is named; newest first")
    func shape() {
        // Refusals every 100 s for 20 minutes: one burst of 13, not several.
        let steady = (0...12).map { refusal("Dr Steady", at: Double($0) * 100) }
        let one = AuditSearchService.bursts(steady)
        #expect(one.count == 1 && one[0].count == 13)
        // Sign-in failures, mostly revoked cards.
        let signIns = (0..<6).map { refusal("Dr Revoked", at: 10_000 + Double($0), code: $0 < 4 ? "exchange.signer-rejected" : "assertion.expired", operation: .signIn) }
        let both = AuditSearchService.bursts(steady + signIns)
        #expect(both.map(\.user) == ["Dr Revoked", "Dr Steady"])
        #expect(both[0].signIn && both[0].errorCode == "exchange.signer-rejected" && both[0].count == 6)
        // Two bursts of one requestor an hour apart are two.
        let twice = (0..<5).map { refusal("Dr Twice", at: Double($0)) } + (0..<5).map { refusal("Dr Twice", at: 7_200 + Double($0)) }
        #expect(AuditSearchService.bursts(twice).count == 2)
    }
}
