import ArgumentParser
import CaduceusPolicy
import Foundation

/// `caduceus bench policy`: decisions per second of the policy decision point over every combination of the shipped
/// decision table, beside the Python rendering of the same policy.
struct PolicyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Policy decisions per second, vs the Python rendering of the policy.")
    @Option(help: "Rounds over the 1,080 combinations.") var rounds = 200
    @Option(help: "Python with the oracles.") var python = ".venv/bin/python"
    @Option(help: "Folder of the peer scripts.") var scripts = "scripts/bench"

    func run() async throws {
        try await reportingErrors {
            let pdp = PolicyDecisionPoint(policy: try PolicySet.shippedDefault())
            var requests: [AccessRequest] = []
            for role in ["physician", "nurse", "pharmacist", "administrative", "researcher", "patient"] {
                for c in Confidentiality.allCases { for p in PurposeOfUse.allCases { for k in ConsentState.allCases {
                    requests.append(AccessRequest(role: role, purpose: p, confidentiality: c, consent: k))
                } } }
            }
            var permits = 0
            let start = ContinuousClock.now
            for _ in 0..<rounds { for r in requests where pdp.decide(r).isPermit { permits += 1 } }
            let d = start.duration(to: .now)
            let rate = Double(rounds * requests.count) / d.seconds
            var line = String(format: "policy: %.0f decisions/s (%d permits per round of %d)", rate, permits / max(rounds, 1), requests.count)
            if FileManager.default.isExecutableFile(atPath: python), let peer = try? runPython(python, scripts + "/policy_decide.py", [String(rounds)])["rate"] as? Double {
                line += String(format: "; Python rendering: %.0f decisions/s (%.1f×)", peer, rate / peer)
            }
            print(line)
        }
    }
}
