import ArgumentParser
import CaduceusApp
import CaduceusCore
import CaduceusHTTP
import CaduceusPKI
import Foundation
import Logging

/// `caduceus bench revocation`: from a revocation in hospital B's CA files (as `caduceus pki revoke` makes it) to the
/// first refusal of the card at every other node of a running four-node federation, over new connections (each a
/// full handshake against the node's lists as they are). No node restarts. The parts: hospital B's publisher looks at
/// its CA every 200 ms (a stat of its state file), signs a new list, pushes it to every node; each swaps it in.
struct RevocationBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revocation",
        abstract: "Time from a card's revocation at its CA to its refusal at the farthest running node.")

    @Option(help: "Rounds (a new card each).") var rounds = 5

    func run() async throws {
        try await reportingErrors {
            var logger = Logger(label: "caduceus.bench")
            logger.logLevel = .critical
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-bench-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let fed = try await LocalFederation.create(at: dir, logger: logger)
            let rounds = self.rounds
            try await fed.run(logger: logger, shipAudit: false) { fed in
                let others = [LocalFederation.hospitalA, LocalFederation.regional, LocalFederation.global]
                print("round   " + others.map { $0.padding(toLength: 22, withPad: " ", startingAt: 0) }.joined() + "farthest")
                var farthest: [Double] = []
                for round in 1...rounds {
                    let card = try fed.issueCard("Nurse \(round) (synthetic)", ca: "hospital-b", role: "nurse")
                    for node in others { _ = try await fed.client(card: card, at: node).signIn() }
                    try fed.authorities["hospital-b"]!.revoke(serial: card.certificate.serialNumber, reason: .keyCompromise, now: Date())
                    let start = ContinuousClock.now
                    var refusedAfter: [String: Double] = [:]
                    while refusedAfter.count < others.count, start.duration(to: .now) < .seconds(60) {
                        for node in others where refusedAfter[node] == nil {
                            do { _ = try await fed.client(card: card, at: node).signIn() } catch { refusedAfter[node] = start.duration(to: .now).seconds }
                        }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    guard refusedAfter.count == others.count else { throw CLIError(code: "bench.failed", message: "a node still accepted the revoked card after 60 s") }
                    let worst = refusedAfter.values.max() ?? 0
                    farthest.append(worst)
                    print("\(round)".padding(toLength: 8, withPad: " ", startingAt: 0) + others.map { String(format: "%.0f ms", refusedAfter[$0]! * 1000).padding(toLength: 22, withPad: " ", startingAt: 0) }.joined() + String(format: "%.0f ms", worst * 1000))
                }
                let sorted = farthest.sorted()
                print(String(format: "farthest node: median %.0f ms, max %.0f ms over %d rounds (the host looks at its CA every 200 ms; aim: under 5 s)", sorted[sorted.count / 2] * 1000, sorted.last! * 1000, rounds))
            }
        }
    }
}
