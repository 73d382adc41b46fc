import CaduceusPolicy
import Foundation
import Testing

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/policy")

@Suite("Policy decision point")
struct DecisionTableTests {
    @Test("every combination of 6 roles × 6 confidentiality codes × 6 purposes × 6 consent states agrees with the expected table")
    func table() throws {
        let pdp = PolicyDecisionPoint(policy: try PolicySet.shippedDefault())
        let rows = try String(contentsOf: fixtures.appendingPathComponent("expected-decisions.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(rows.count == 6 * 6 * 6 * 6)
        var agree = 0
        for row in rows {
            let f = row.split(separator: ",").map(String.init)
            let request = AccessRequest(role: f[0], purpose: PurposeOfUse(rawValue: f[2])!, confidentiality: Confidentiality(rawValue: f[1])!, consent: ConsentState(rawValue: f[3])!)
            let d = pdp.decide(request)
            let emergency = d.obligations.contains("audit-emergency") && d.obligations.contains("notify-privacy-officer")
            if d.effect.rawValue == f[4], emergency == (f[5] == "yes") { agree += 1 } else {
                Issue.record("\(row): got \(d.effect.rawValue) \(d.reasons)")
            }
        }
        #expect(agree == rows.count)
    }

    @Test("default deny and deny-overrides, with reasons")
    func semantics() throws {
        let pdp = PolicyDecisionPoint(policy: try PolicySet.shippedDefault())
        let unknown = pdp.decide(AccessRequest(role: "janitor", purpose: .TREAT, confidentiality: .N, consent: .optIn))
        #expect(!unknown.isPermit && unknown.reasons == ["role.unknown"])
        let both = pdp.decide(AccessRequest(role: "physician", purpose: .TREAT, confidentiality: .N, consent: .documentDeny))
        #expect(!both.isPermit && both.reasons == ["consent.document-deny"], "a permitting role rule does not outweigh a denying consent")
        let glass = pdp.decide(AccessRequest(role: "nurse", purpose: .ETREAT, confidentiality: .R, consent: .optOut))
        #expect(glass.isPermit && glass.reasons.contains("consent.emergency-override") && glass.obligations.contains("notify-privacy-officer"))
    }

    @Test("policy files are validated")
    func validation() {
        #expect(throws: PolicyError.self) { try PolicySet.load(Data("{}".utf8)) }
        #expect(throws: PolicyError.self) { try PolicySet.load(Data(#"{"version":"1","roles":{"x":{"ceilings":{"SHOPPING":"N"}}},"permittedWithoutConsent":[],"overridesOptOut":[],"neverReleased":[]}"#.utf8)) }
    }
}
