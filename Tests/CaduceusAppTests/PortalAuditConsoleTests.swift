import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPKI
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The privacy officer's audit console (issue 14, item 5): the search is an operation of the gate
/// (`user.audit.search`, `user.audit.export`) open only to the roles the policy names as reviewers of emergency
/// access; every search and export is one event on the trail. Tested in process through the portal door, then over
/// HTTPS with the officer's, a nurse's and a patient's cards (raw requests, Python's ssl; no browser).
@Suite("Portal: the privacy officer's audit console", .serialized)
struct PortalAuditConsoleTests {
    @Test("audit search through the portal door: the officer searches and exports (one event each); a nurse and a patient are refused, audited")
    func gate() async throws {
        try await withSeededFederation { fed, _, _, patientA in
            let b = fed.runtimes[LocalFederation.hospitalB]!.node, a = fed.runtimes[LocalFederation.hospitalA]!.node
            let storeB = fed.runtimes[LocalFederation.hospitalB]!.store
            let officer = fed.users["privacy.hospital-b"]!, nurse = fed.users["clinician.hospital-b"]!
            func signIn(_ node: ExchangeNode, _ card: Credential, _ purpose: String) async throws -> String {
                try await node.portal(.signIn, body: SignInRequest(purpose: purpose), assertion: nil, client: card.certificate, presented: [card.certificate] + card.chain)
                    .decodeBody(SignInResponse.self).assertion
            }
            // The nurse reads the patient's documents at B (an event naming her), then tries the console.
            let nurseAssertion = try await signIn(b, nurse, "TREAT")
            _ = try await b.portal(.userQuery, body: StoredQuery.findDocuments(StoredQuery.FindDocuments(patientId: patientA)), assertion: nurseAssertion, client: nurse.certificate, presented: [nurse.certificate] + nurse.chain)
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await b.portal(.userAuditSearch, body: AuditSearchRequest(summary: true), assertion: nurseAssertion, client: nurse.certificate, presented: [nurse.certificate] + nurse.chain)
            } == "exchange.forbidden")
            let refusal = try await storeB.read { try $0.auditMessages(AuditFilter(limit: 1)) }[0].message
            #expect(refusal.eventTypes.contains { $0.code == "deny:audit-search.not-a-reviewer-role" }, "the decision's reason is on the event")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await b.portal(.userAuditExport, body: AuditSearchRequest(), assertion: nurseAssertion, client: nurse.certificate, presented: [nurse.certificate] + nurse.chain)
            } == "exchange.forbidden")
            let patient = fed.users[LocalFederation.patientCard]!
            let patientAssertion = try await signIn(a, patient, "PATRQT")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await a.portal(.userAuditSearch, body: AuditSearchRequest(), assertion: patientAssertion, client: patient.certificate, presented: [patient.certificate] + patient.chain)
            } == "exchange.forbidden")

            // Three more tries make five refusals of the nurse within ten minutes: a burst, on the officer's alerts.
            for _ in 0..<3 {
                await #expect(throws: (any Error).self) {
                    _ = try await b.portal(.userAuditSearch, body: AuditSearchRequest(summary: true), assertion: nurseAssertion, client: nurse.certificate, presented: [nurse.certificate] + nurse.chain)
                }
            }

            // The officer: a search for the patient finds the nurse's query, and is one event naming the patient.
            let officerAssertion = try await signIn(b, officer, "HOPERAT")
            let head = try await auditHead(fed, LocalFederation.hospitalB)
            let reply = try await b.portal(.userAuditSearch, body: AuditSearchRequest(patient: patientA, summary: true), assertion: officerAssertion, client: officer.certificate, presented: [officer.certificate] + officer.chain)
            let answer = try reply.decodeBody(AuditSearchResponse.self)
            #expect(answer.rows.contains { $0.user == FederationIdentity(nurse.certificate)!.commonName && $0.operation == "user.query" && $0.patients.contains(answer.patientPseudonym ?? "-") })
            #expect(answer.days.count == 14 && answer.days.last!.events > 0)
            let nurseName = FederationIdentity(nurse.certificate)!.commonName
            let bursts = try #require(answer.bursts)
            #expect(bursts.contains { $0.user == nurseName && $0.count == 5 && $0.errorCode == "exchange.forbidden" && !$0.signIn }, "\(bursts)")
            #expect(!bursts.contains { $0.user == FederationIdentity(officer.certificate)!.commonName })
            #expect(!String(decoding: try JSONEncoder().encode(answer), as: UTF8.self).contains(DemoData.mrnA), "the answer names patients by pseudonym only")
            let failures = try await b.portal(.userAuditSearch, body: AuditSearchRequest(outcome: .failure), assertion: officerAssertion, client: officer.certificate, presented: [officer.certificate] + officer.chain)
                .decodeBody(AuditSearchResponse.self)
            #expect(!failures.rows.isEmpty && failures.rows.allSatisfy { $0.outcome != 0 } && failures.rows.contains { $0.errorCode == "exchange.forbidden" })
            _ = try await b.portal(.userAuditExport, body: AuditSearchRequest(patient: patientA), assertion: officerAssertion, client: officer.certificate, presented: [officer.certificate] + officer.chain)
            let events = try await storeB.read { try $0.auditMessages(AuditFilter(limit: 10)) }.filter { $0.sequence > head }.map(\.message)
            #expect(events.count == 3, "one event per search and export")
            let search = try #require(events.last)
            #expect(search.eventTypes.contains { $0.code == "user.audit.search" } && search.eventTypes.contains { $0.code == "permit:audit-search.reviewer-role" })
            #expect(search.eventTypes.contains { $0.code == "portal" }, "the portal door is named")
            #expect(search.objects.contains { $0.typeCode == 1 && $0.role == 1 }, "the patient searched is the event's object (pseudonymised)")
            let export = try #require(events.first)
            #expect(export.eventTypes.contains { $0.code == "user.audit.export" } && export.eventID == AuditCode.export)
        }
    }

    @Test("audit console over HTTPS: search, charts, alerts and a CSV export for the officer; a nurse and a patient get the refusal page; no PHI in URLs or the log")
    func https() async throws {
        let python = "/usr/bin/python3"
        try #require(FileManager.default.isExecutableFile(atPath: python))
        let log = CapturedLog()
        let dir = try TemporaryDirectory()
        let fed = try await LocalFederation.create(at: dir.path + "/fed", logger: log.logger())
        try await fed.run(logger: log.logger()) { fed in
            _ = try await seed(fed)
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let patientA = PatientIdentifier(id: DemoData.mrnA, authority: LocalFederation.domainA)
            // A card whose name is a spreadsheet formula signs in and reads the patient's documents at B: its name
            // lands in the export, where the guard must neutralise it.
            let formula = try fed.issueCard("=HYPERLINK(1) (synthetic)", ca: "hospital-b", role: "nurse")
            let signed = try await b.portal(.signIn, body: SignInRequest(purpose: "TREAT"), assertion: nil, client: formula.certificate, presented: [formula.certificate] + formula.chain)
            _ = try await b.portal(.userQuery, body: StoredQuery.findDocuments(StoredQuery.FindDocuments(patientId: patientA)), assertion: signed.decodeBody(SignInResponse.self).assertion, client: formula.certificate, presented: [formula.certificate] + formula.chain)

            let root = try dir.write("root.pem", fed.trust.anchorsPEM)
            func pem(_ name: String, _ card: Credential) throws -> (String, String) {
                (try dir.write(name + ".pem", try PEM.encode([card.certificate] + card.chain)), try dir.write(name + ".key", try card.key.pkcs8PEM))
            }
            let officer = try pem("officer", fed.users["privacy.hospital-b"]!), nurse = try pem("nurse", fed.users["clinician.hospital-b"]!)
            let patient = try pem("patient", fed.users[LocalFederation.patientCard]!)
            let portA = URL(string: fed.endpoint(LocalFederation.hospitalA))!.port!, portB = URL(string: fed.endpoint(LocalFederation.hospitalB))!.port!
            func probe(_ name: String, _ card: (String, String), _ method: String, _ path: String, port: Int? = nil, body: String? = nil, cookie: String? = nil, csrf: String? = nil) -> [String: Any] {
                var p: [String: Any] = ["name": name, "cert": card.0, "key": card.1, "method": method, "path": path, "port": port ?? portB, "root": root]
                if let body { p["body"] = body }
                if let cookie { p["cookieFrom"] = cookie }
                if let csrf { p["csrfFrom"] = csrf }
                return p
            }
            let criteria = "patient=\(DemoData.mrnA)&authority=\(LocalFederation.domainA)&user=&event=&outcome=&from=&to="
            let probes: [[String: Any]] = [
                probe("o-entry", officer, "GET", "/portal"),
                probe("o-signin", officer, "POST", "/portal/signin", body: "purpose=HOPERAT", csrf: "o-entry"),
                probe("o-home", officer, "GET", "/portal", cookie: "o-signin"),
                probe("o-console", officer, "GET", "/portal/privacy/audit", cookie: "o-signin"),
                probe("o-search-no-csrf", officer, "POST", "/portal/privacy/audit", body: criteria, cookie: "o-signin"),
                probe("o-search", officer, "POST", "/portal/privacy/audit", body: criteria, cookie: "o-signin", csrf: "o-console"),
                probe("o-export-no-csrf", officer, "POST", "/portal/privacy/audit/export", body: "", cookie: "o-signin"),
                probe("o-export", officer, "POST", "/portal/privacy/audit/export", body: "", cookie: "o-signin", csrf: "o-console"),
                probe("n-entry", nurse, "GET", "/portal"),
                probe("n-signin", nurse, "POST", "/portal/signin", body: "purpose=TREAT", csrf: "n-entry"),
                probe("n-console", nurse, "GET", "/portal/privacy/audit", cookie: "n-signin"),
                probe("n-home", nurse, "GET", "/portal", cookie: "n-signin"),
                probe("p-entry", patient, "GET", "/portal", port: portA),
                probe("p-signin", patient, "POST", "/portal/signin", port: portA, body: "purpose=PATRQT", csrf: "p-entry"),
                probe("p-console", patient, "GET", "/portal/privacy/audit", port: portA, cookie: "p-signin"),
            ]
            let planPath = try dir.write("plan.json", try JSONSerialization.data(withJSONObject: ["probes": probes]))
            let resultPath = dir.file("result.json")
            // On a thread of its own: the probes wait on the portal, whose handlers need the cooperative pool (two
            // cores: a pool thread blocked here, and another test doing the same, would starve the servers).
            let arguments = [repo.appendingPathComponent("scripts/portal/https_probes.py").path, planPath, resultPath]
            let run = try await withCheckedThrowingContinuation { (done: CheckedContinuation<ProcessRunner.Result, any Error>) in
                Thread { done.resume(with: Result { try ProcessRunner.run(python, arguments) }) }.start()
            }
            try #require(run.ok, "probes failed: \(run.stderr)")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: resultPath))) as? [String: Any])
            let answers = try #require(result["probes"] as? [[String: Any]])
            func answer(_ name: String) throws -> (status: Int, headers: [String: String], body: String) {
                let a = try #require(answers.first { $0["name"] as? String == name })
                return (a["status"] as? Int ?? 0, a["headers"] as? [String: String] ?? [:], a["body"] as? String ?? "")
            }

            // The officer: the console (chart, alerts, latest events), the search, the export.
            let entry = try answer("o-entry"), signin = try answer("o-signin")
            #expect(entry.status == 200 && signin.status == 303, "\(entry.status) \(entry.body.prefix(300)) \(signin.status) \(signin.body.prefix(300))")
            #expect(try answer("o-home").body.contains("/portal/privacy/audit"), "the officer's navigation names the console")
            let console = try answer("o-console")
            #expect(console.status == 200)
            #expect(console.body.contains("<svg class=\"chart\"") && console.body.contains("bar-refusals") && console.body.contains("Latest events"))
            #expect(console.body.contains("Alerts") && console.body.contains("break-glass") == console.body.contains("badge-emergency"))
            #expect(!console.body.contains("style=") && !console.body.lowercased().contains("<script"), "no inline style or script (the CSP forbids both)")
            #expect(console.headers["Content-Security-Policy"]?.contains("default-src 'none'") == true)
            #expect(try answer("o-search-no-csrf").status == 403)
            let search = try answer("o-search")
            #expect(search.status == 200 && search.body.contains("Search results") && search.body.contains("searched patient"), "\(search.body.suffix(3000))")
            #expect(search.body.contains("=HYPERLINK(1) (synthetic)") && search.body.contains("user.query"))
            #expect(try answer("o-export-no-csrf").status == 403)
            let export = try answer("o-export")
            #expect(export.status == 200)
            #expect(export.headers["Content-Type"]?.hasPrefix("text/csv") == true)
            #expect(export.headers["Content-Disposition"]?.hasPrefix("attachment; filename=\"audit-node.hospital-b-") == true, "\(export.headers)")
            let rows = try CSV.parse(Array(export.body.utf8))
            #expect(rows.first?.first == "sequence" && rows.count > 1)
            #expect(rows.contains { $0.contains("'=HYPERLINK(1) (synthetic)") }, "the formula guard: \(export.body.prefix(2000))")
            #expect(!rows.dropFirst().contains { $0.contains { $0.hasPrefix("=") || $0.hasPrefix("+") || $0.hasPrefix("@") } })
            #expect(rows.dropFirst().allSatisfy { $0[11].isEmpty || $0[11].hasPrefix("pseudonym:") }, "the export's patients are pseudonyms only")
            #expect(!export.body.contains(DemoData.mrnA) && !export.body.contains(DemoData.family))

            // A nurse and a patient: the refusal page with its stable code, no console.
            for name in ["n-console", "p-console"] {
                let refused = try answer(name)
                #expect(refused.status == 403 && refused.body.contains("exchange.forbidden") && !refused.body.contains("<svg"), "\(name): \(refused.status)")
            }
            #expect(!(try answer("n-home").body.contains("/portal/privacy/audit")), "a nurse's navigation has no console")

            // The trail at B: the officer's console view, her search and her export, one event each.
            let officerEvents = try await fed.runtimes[LocalFederation.hospitalB]!.store.read {
                try $0.auditMessages(AuditFilter(user: FederationIdentity(fed.users["privacy.hospital-b"]!.certificate)!.commonName, limit: 50))
            }.map(\.message)
            #expect(officerEvents.filter { $0.eventTypes.contains { $0.code == "user.audit.search" } }.count == 2)
            #expect(officerEvents.filter { $0.eventTypes.contains { $0.code == "user.audit.export" } }.count == 1)

            // No PHI in any URL requested, nor in the server log.
            let phi = [DemoData.mrnA, DemoData.mrnB, DemoData.family, DemoData.given, DemoData.birthDate]
            let addresses = answers.flatMap { p -> [String] in
                let headers = p["headers"] as? [String: String] ?? [:]
                return [p["path"] as? String ?? "", headers["Location"] ?? ""]
            }
            #expect(addresses.count == 2 * probes.count)
            for address in addresses { for x in phi { #expect(!address.contains(x), "PHI in a URL: \(address)") } }
            let logged = log.text
            #expect(logged.contains("privacy.audit.search"), "the portal's log lines were captured")
            for x in phi { #expect(!logged.localizedCaseInsensitiveContains(x), "PHI in the server log: \(x)") }
        }
        _ = dir
    }
}
