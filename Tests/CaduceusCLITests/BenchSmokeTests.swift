import CaduceusTestSupport
import Foundation
import Testing

/// The benchmark commands run end to end on tiny inputs (their figures are for docs/benchmarks.md, never asserted).
@Suite("bench commands run")
struct BenchSmokeTests {
    @Test("bench exchange, audit, ship, policy and revocation complete and print their comparison lines")
    func smoke() throws {
        let smime = try CaduceusBinary.run(["bench", "smime", "--sizes", "2k,1m", "--rounds", "1"])
        #expect(smime.ok && smime.text.contains("decrypt+verify"), "\(smime.stderr)")
        let exchange = try CaduceusBinary.run(["bench", "exchange", "--sizes", "2k", "--count", "1", "--entries", "20", "--queries", "3"])
        #expect(exchange.ok && exchange.text.contains("provide-and-register") && exchange.text.contains("FindDocuments through API"), "\(exchange.stderr)")
        let audit = try CaduceusBinary.run(["bench", "audit", "--events", "800", "--writers", "4", "--batch", "10"])
        #expect(audit.ok && audit.text.contains("verify: 800 records"), "\(audit.stderr)")
        let ship = try CaduceusBinary.run(["bench", "ship", "--events", "300"])
        #expect(ship.ok && ship.text.contains("ship: 300 records") && ship.text.contains("× Python"), "\(ship.stderr)")
        let policy = try CaduceusBinary.run(["bench", "policy", "--rounds", "2"])
        #expect(policy.ok && policy.text.contains("decisions/s"), "\(policy.stderr)")
        let revocation = try CaduceusBinary.run(["bench", "revocation", "--rounds", "1"])
        #expect(revocation.ok && revocation.text.contains("farthest node: median"), "\(revocation.stderr)")
    }
}
