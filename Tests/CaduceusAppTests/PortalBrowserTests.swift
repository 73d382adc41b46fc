import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKCS11
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Logging
import Synchronization
import Testing

private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Every log line of the federation, message and metadata, for the no-PHI-in-logs check.
final class CapturedLog: Sendable {
    let lines = Mutex<[String]>([])
    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func logger() -> Logger {
        var l = Logger(label: "portal-test") { _ in CapturingHandler(log: self) }
        l.logLevel = .debug
        return l
    }
}

struct CapturingHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, b in b }
        log.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
    }
}

/// A copy of `ccd` with another document id and title, confidentiality `R`, and hostile markup in its first section:
/// a `<script>` in the CDA and the XHTML namespaces, an external multimedia reference, an external link.
func hostileCCD(_ ccd: [UInt8]) -> [UInt8] {
    var text = String(decoding: ccd, as: UTF8.self)
    if let idRange = text.range(of: "<id root=\""), let end = text[idRange.upperBound...].firstIndex(of: "\"") {
        text.replaceSubrange(idRange.upperBound..<end, with: "2.25.\(UInt64.random(in: 1...UInt64.max))")
    }
    text = text.replacingOccurrences(of: "<title>Continuity of Care Document</title>", with: "<title>Discharge note (hostile markup test)</title>")
    text = text.replacingOccurrences(of: "code=\"N\" codeSystem=\"2.16.840.1.113883.5.25\"", with: "code=\"R\" codeSystem=\"2.16.840.1.113883.5.25\"")
    if let first = text.range(of: "<text>") {
        text.insert(contentsOf: """
            <paragraph>Markup check: <content styleCode="Bold">this line is inert</content>.</paragraph>\
            <script>document.title='pwned'</script>\
            <x:script xmlns:x="http://www.w3.org/1999/xhtml">document.title='pwned'</x:script>\
            <x:img xmlns:x="http://www.w3.org/1999/xhtml" src="https://evil.caduceus.test/pixel.png"/>\
            <renderMultiMedia referencedObject="img-1"/>\
            <linkHtml href="https://evil.caduceus.test/steal">external link</linkHtml>
            """, at: first.upperBound)
    }
    return Array(text.utf8)
}

@Suite("Portal in a real browser", .serialized)
struct PortalBrowserTests {
    /// The demo federation with the portal on every node; the demo patient's documents at hospital A (a CCD, and a
    /// restricted note with hostile markup); then headless Chromium, one HOME and NSS database per card, walks the
    /// patient portal (hospital A), the medical station as hospital B's nurse (treatment, then break-glass), the
    /// privacy officer's review queue (hospital B), and a revoked card; raw HTTPS probes check CSRF and the cookie's
    /// binding to its certificate. Screenshots: `.build/portal-screenshots/`.
    @Test("stations walked in headless Chromium with each person's card")
    func walk() async throws {
        let chromium = "/usr/bin/chromium", driver = "/usr/bin/chromedriver", python = repo.appendingPathComponent(".venv/bin/python").path
        for tool in [chromium, driver, python, "/usr/bin/pk12util", "/usr/bin/certutil"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/bootstrap.sh")
        }
        let log = CapturedLog()
        let dir = try TemporaryDirectory()
        // Hospital B's card station has SoftHSM2 as its card encoder: the officer issues a card onto a token.
        let walkToken = try SoftHSM.token("station-walk")
        let fed = try await LocalFederation.create(at: dir.path + "/fed", cardEncoder: CardEncoder(modulePath: walkToken.module), logger: log.logger())
        let shots = repo.appendingPathComponent(".build/portal-screenshots").path
        try? FileManager.default.removeItem(atPath: shots)
        try await fed.run(logger: log.logger()) { fed in
            let (ccd, _, patientA) = try await seed(fed)
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physicianA.signIn()
            let normal = try await physicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)[0]
            let restricted = try await physicianA.submit([MIMEPart(contentType: "text/xml", id: "note", body: hostileCCD(ccd))], patient: patientA, confidentiality: "R")[0]
            #expect(restricted.confidentialityCode.code == "R")

            // DICOM images written by pydicom for the same (synthetic) patient: a 16-bit CT with a window, and the same
            // image RLE-compressed (no preview).
            for (kind, name) in [("ct16", "ct.dcm"), ("rle16", "ct-rle.dcm")] {
                let written = try ProcessRunner.run(python, [repo.appendingPathComponent("scripts/oracles/dicom_preview.py").path, "write", dir.file(name), kind,
                                                             DemoData.mrnA, "\(DemoData.family)^\(DemoData.given)", DemoData.birthDate, "F"])
                try #require(written.ok, "pydicom: \(written.stderr)")
                _ = try await physicianA.submit([MIMEPart(contentType: "application/dicom", id: kind, body: Array(try Data(contentsOf: URL(fileURLWithPath: dir.file(name)))))], patient: patientA)
            }
            // A second MRN at hospital B for the same person: the regional MPI queues the pair for B's administrator.
            #expect(String(decoding: await fed.runtimes[LocalFederation.hospitalB]!.hl7!.receive(DemoData.adtA04BDuplicate()), as: UTF8.self).contains("MSA|AA"))
            let regionalStore = fed.runtimes[LocalFederation.regional]!.store
            let queued = Date().addingTimeInterval(15)
            while try await regionalStore.read({ try $0.mpiSnapshot().reviews.isEmpty }), Date() < queued { try await Task.sleep(for: .milliseconds(50)) }
            let reviewsBefore = try await regionalStore.read { try $0.mpiSnapshot().reviews.count }
            try #require(reviewsBefore > 0, "the duplicate is queued for review")

            // A patient B has never seen, transferred from A: B's nurse registers her from the inbox.
            _ = try await RecordAttackTests.unlinkedTransferToB(fed)

            // A nurse's card revoked at hospital B's CA, published before the browser tries it.
            let revoked = try fed.issueCard("Nurse Revoked (synthetic)", ca: "hospital-b", role: "nurse")
            try AtomicFile.write(Data(try PKCS12.export(revoked, password: Sensitive("revoked-pw"))), to: fed.base + "/users/revoked.p12", permissions: 0o600)
            try await fed.revoke(serial: revoked.certificate.serialNumber, ca: "hospital-b")
            await fed.publishCRLs()

            func url(_ node: String, _ path: String) -> String {
                let port = URL(string: fed.endpoint(node))!.port!
                return "https://\(node).caduceus.test:\(port)\(path)"
            }
            func card(_ name: String) throws -> [String: Any] {
                let password = try String(contentsOfFile: "\(fed.base)/users/\(name).password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                return ["p12": "\(fed.base)/users/\(name).p12", "password": password]
            }
            let a = LocalFederation.hospitalA, b = LocalFederation.hospitalB
            let hostileRow = "//tr[td[contains(., 'hostile markup')]]//a"
            var people: [[String: Any]] = []
            func walker(_ name: String, _ card: [String: Any], _ steps: [[String: Any]]) -> [String: Any] {
                card.merging(["name": name, "steps": steps]) { _, b in b }
            }
            people.append(walker("patient", try card(LocalFederation.patientCard), [
                ["get": url(a, "/portal")], ["shot": "01-patient-entry"],
                ["press": "button.primary"], ["shot": "02-patient-home"],
                ["click": "My documents"], ["shot": "03-patient-documents"],
                ["xpath": hostileRow], ["shot": "04-patient-document"],
                ["get": url(a, "/portal/patient/documents")],
                ["get": url(a, "/portal/patient/consents")], ["shot": "05-patient-consents"],
                // She opts in for everyone, is told a kind of document can only be withheld, withholds one, withdraws it.
                ["press": "form.consent-form button.primary"], ["shot": "05a-patient-consent-recorded"],
                ["press": "#scope-kind"], ["press": "form.consent-form button.primary"], ["shot": "05b-patient-consent-refused"],
                ["press": "#decision-deny"], ["press": "#scope-kind"], ["press": "form.consent-form button.primary"], ["shot": "05c-patient-consent-withheld"],
                ["press": "table form.inline button"], ["shot": "05d-patient-consent-withdrawn"],
                ["get": url(a, "/portal/card")], ["shot": "06-patient-card"],
            ]))
            people.append(walker("nurse", try card("clinician.hospital-b"), [
                ["get": url(b, "/portal")], ["shot": "07-nurse-entry"],
                ["press": "button.primary"],
                ["click": "Find a patient"],
                ["fill": ["#family": DemoData.family]], ["press": "form.search-form button.primary"], ["shot": "08-nurse-search"],
                ["press": "table form.inline button"], ["shot": "09-nurse-patient-treat"],
                ["get": url(b, "/portal/breakglass")], ["shot": "10-nurse-breakglass"],
                ["fill": ["#reason": "Unconscious patient in the emergency department"]], ["press": "button.danger"],
                ["click": "Find a patient"],
                ["fill": ["#family": DemoData.family]], ["press": "form.search-form button.primary"],
                ["press": "table form.inline button"], ["shot": "11-nurse-patient-breakglass"],
                ["xpath": hostileRow], ["shot": "12-nurse-document-breakglass"],
            ]))
            people.append(walker("privacy", try card("privacy.hospital-b"), [
                ["get": url(b, "/portal")], ["press": "button.primary"], ["shot": "13-privacy-home"],
                ["click": "Break-glass review"], ["shot": "14-privacy-queue"],
                ["fill": ["input[name=note]": "Reviewed: emergency confirmed by the ward"]], ["press": "form.review-form button"], ["shot": "15-privacy-reviewed"],
                ["click": "Audit trail"], ["shot": "15a-privacy-audit"],
            ]))
            // Hospital A's physician sends two documents to hospital B from the portal; B's nurse opens the DICOM images
            // and accepts the transfer from her inbox.
            let choice = { (title: String) in "//div[@class='choice'][label[contains(., '\(title)')]]/input" }
            people.append(walker("physician", try card("clinician.hospital-a"), [
                ["get": url(a, "/portal")], ["press": "button.primary"],
                ["click": "Find a patient"], ["fill": ["#family": DemoData.family]], ["press": "form.search-form button.primary"],
                ["press": "table form.inline button"], ["click": "Transfers"],
                ["xpath": choice("CT chest (synthetic)")], ["xpath": choice("Continuity of Care Document")],
                ["fill": ["#reason": "Referral to cardiology (synthetic)"]],
                ["press": "form[action='/portal/medical/transfers/send'] button.primary"], ["shot": "40-physician-transfer-sent"],
            ]))
            people.append(walker("nurse-records", try card("clinician.hospital-b"), [
                ["get": url(b, "/portal")], ["press": "button.primary"],
                ["click": "Find a patient"], ["fill": ["#family": DemoData.family]], ["press": "form.search-form button.primary"],
                ["press": "table form.inline button"],
                ["xpath": "//tr[td[contains(., 'CT chest (synthetic)')]]//a"],
                ["js": "(function(){ const i = document.querySelector('figure.dicom-preview img'); return i && i.complete ? i.naturalWidth : -1; })()"],
                ["shot": "34-nurse-dicom-view"],
                ["get": url(b, "/portal/medical/patient")], ["xpath": "//tr[td[contains(., 'CT chest, compressed (synthetic)')]]//a"], ["shot": "35-nurse-dicom-compressed"],
                ["click": "Transfers"], ["shot": "32-nurse-transfers-inbox"],
                ["press": "form[action='/portal/medical/transfers/accept'] button.primary"], ["shot": "33-nurse-transfer-accepted"],
                ["press": "form[action='/portal/medical/transfers/register/form'] button"], ["shot": "33a-nurse-transfer-register"],
                ["fill": ["#mrn": "B-30078"]], ["press": "form[action='/portal/medical/transfers/register'] button.primary"],
                ["shot": "33b-nurse-transfer-registered"],
            ]))
            people.append(walker("revoked", ["p12": fed.base + "/users/revoked.p12", "password": "revoked-pw"], [
                ["get": url(b, "/portal"), "mayFail": true], ["shot": "16-revoked-card"],
            ]))
            // The admin station (hospital B's clerk, administrative: personnel administrator and card officer), then the
            // card station with a second officer (four eyes), and a nurse who tries the admin station.
            let officer = try fed.issueCard("Officer Two (synthetic)", ca: "hospital-b", role: "administrative")
            try AtomicFile.write(Data(try PKCS12.export(officer, password: Sensitive("officer-pw"))), to: fed.base + "/users/officer2.p12", permissions: 0o600)
            let hrExport = "Employee ID,Last Name,First Name,Department,Role,Email,Status\nE-3001,Okafor,Ngozi,Emergency,nurse,ngozi.okafor@hospital-b.caduceus.test,Active\nE-3002,Lindqvist,Per,Cardiology,physician;researcher,per.lindqvist@hospital-b.caduceus.test,Active\n"
            people.append(walker("admin", try card("clerk.hospital-b"), [
                ["get": url(b, "/portal")], ["press": "#purpose-HOPERAT"], ["press": "button.primary"], ["shot": "18-admin-home"],
                ["click": "Administration"], ["shot": "19-admin-overview"],
                ["click": "Personnel"], ["fill": ["#csv": hrExport]], ["press": "form[action='/portal/admin/staff/import'] button.primary"], ["shot": "20-admin-personnel"],
                ["press": "table form.inline button"], ["shot": "21-admin-staff-edit"],
                ["fill": ["#department": "Emergency medicine"]], ["press": "form.search-form button.primary"], ["shot": "22-admin-staff-saved"],
                ["click": "Code tables"], ["shot": "23-admin-codes"],
                ["click": "Administrative sex"], ["fill": ["#note": "Adopt HL7 table 0001 as published"]], ["press": "form.card button.primary"], ["shot": "24-admin-code-saved"],
                ["click": "Card station"], ["press": "form[action='/portal/cards/enroll'] button.primary"], ["shot": "25-cards-enrolled"],
                ["xpath": "//select[@id='person']/option[contains(., 'Lindqvist') and contains(., 'physician')]"],
                ["press": "form[action='/portal/cards/enroll'] button.primary"],
                ["click": "Patients"], ["fill": ["#family": DemoData.family]], ["press": "form.search-form button.primary"], ["shot": "36-admin-patients"],
                ["xpath": "//tr[td[contains(., '\(DemoData.mrnB)')]]//button"], ["shot": "37-admin-patient"],
                ["click": "Possible matches"], ["shot": "38-admin-matches"],
                ["press": "form.review-form button.primary"], ["shot": "39-admin-match-accepted"],
            ]))
            people.append(walker("officer", ["p12": fed.base + "/users/officer2.p12", "password": "officer-pw"], [
                ["get": url(b, "/portal")], ["press": "#purpose-HOPERAT"], ["press": "button.primary"],
                ["click": "Card station"], ["xpath": "//button[normalize-space()='Approve']"], ["shot": "26-cards-approved"],
                ["xpath": "//button[normalize-space()='Approve']"],
                ["xpath": "//tr[td[contains(., 'Ngozi')]]//button[normalize-space()='Issue']"], ["shot": "27-cards-issued"],
                ["click": "Card face"], ["shot": "28-card-face"],
                ["get": url(b, "/portal/cards")], ["xpath": "//button[normalize-space()='Block']"], ["shot": "29-cards-blocked"],
                // The second card onto a token in the card encoder: choose it by label, type its PIN.
                ["xpath": "//tr[td[contains(., 'Lindqvist')]]//a[normalize-space()='Issue to token']"], ["shot": "41-cards-token-form"],
                ["xpath": "//select[@id='token']/option[@value='\(walkToken.label)']"], ["fill": ["#pin": SoftHSM.userPIN]],
                ["press": "form[action='/portal/cards/token'] button.primary"], ["shot": "42-cards-token-issued"],
            ]))
            people.append(walker("nurse-admin", try card("clinician.hospital-b"), [
                ["get": url(b, "/portal")], ["press": "button.primary"], ["get": url(b, "/portal/admin")], ["shot": "30-nurse-admin-refused"],
                ["get": url(b, "/portal/cards")], ["shot": "31-nurse-cards-refused"],
                // Three more tries: five refusals within ten minutes, a burst on the privacy officer's alerts.
                ["get": url(b, "/portal/admin")], ["get": url(b, "/portal/cards")], ["get": url(b, "/portal/admin/codes")],
            ]))
            people.append(walker("privacy-alerts", try card("privacy.hospital-b"), [
                ["get": url(b, "/portal")], ["press": "button.primary"], ["click": "Audit trail"], ["shot": "43-privacy-burst"],
            ]))
            // The patient's access report, read last: it then lists the nurse's break-glass.
            people.append(walker("patient-report", try card(LocalFederation.patientCard), [
                ["get": url(a, "/portal")], ["press": "button.primary"],
                ["click": "Who accessed my record"], ["shot": "17-patient-access-report"],
            ]))

            // Raw probes (Python's ssl with a card's PEM files) at hospital B.
            let nurse = fed.users["clinician.hospital-b"]!, physician = fed.users["clinician.hospital-a"]!
            let nurseCert = try dir.write("nurse.pem", try PEM.encode([nurse.certificate] + nurse.chain))
            let nurseKey = try dir.write("nurse.key", try nurse.key.pkcs8PEM)
            let physicianCert = try dir.write("physician.pem", try PEM.encode([physician.certificate] + physician.chain))
            let physicianKey = try dir.write("physician.key", try physician.key.pkcs8PEM)
            let clerk = fed.users["clerk.hospital-b"]!
            let clerkCert = try dir.write("clerk.pem", try PEM.encode([clerk.certificate] + clerk.chain))
            let clerkKey = try dir.write("clerk.key", try clerk.key.pkcs8PEM)
            let portB = URL(string: fed.endpoint(b))!.port!
            let root = try dir.write("root.pem", fed.trust.anchorsPEM)
            func probe(_ name: String, _ cert: String, _ key: String, _ method: String, _ path: String, body: String? = nil, extra: [String: Any] = [:]) -> [String: Any] {
                var p: [String: Any] = ["name": name, "cert": cert, "key": key, "method": method, "path": path, "port": portB, "root": root]
                if let body { p["body"] = body }
                for (k, v) in extra { p[k] = v }
                return p
            }
            let probes: [[String: Any]] = [
                probe("entry", nurseCert, nurseKey, "GET", "/portal"),
                probe("signin-without-csrf", nurseCert, nurseKey, "POST", "/portal/signin", body: "purpose=TREAT"),
                probe("signin", nurseCert, nurseKey, "POST", "/portal/signin", body: "purpose=TREAT", extra: ["csrfFrom": "entry"]),
                probe("own-card", nurseCert, nurseKey, "GET", "/portal/medical", extra: ["cookieFrom": "signin"]),
                probe("other-card", physicianCert, physicianKey, "GET", "/portal/medical", extra: ["cookieFrom": "signin"]),
                probe("search-without-csrf", nurseCert, nurseKey, "POST", "/portal/medical/search", body: "family=\(DemoData.family)", extra: ["cookieFrom": "signin"]),
                probe("clerk-entry", clerkCert, clerkKey, "GET", "/portal"),
                probe("clerk-signin", clerkCert, clerkKey, "POST", "/portal/signin", body: "purpose=HOPERAT", extra: ["csrfFrom": "clerk-entry"]),
                probe("codes-save-without-csrf", clerkCert, clerkKey, "POST", "/portal/admin/codes/administrative-sex", body: "base=1&entries=X&note=forged", extra: ["cookieFrom": "clerk-signin"]),
                probe("staff-import-without-csrf", clerkCert, clerkKey, "POST", "/portal/admin/staff/import", body: "csv=Employee+ID", extra: ["cookieFrom": "clerk-signin"]),
                probe("cards-action-without-csrf", clerkCert, clerkKey, "POST", "/portal/cards/action", body: "card=x&action=terminate", extra: ["cookieFrom": "clerk-signin"]),
                probe("match-decide-without-csrf", clerkCert, clerkKey, "POST", "/portal/admin/matches/decide", body: "match=x&decision=accept", extra: ["cookieFrom": "clerk-signin"]),
                probe("transfer-accept-without-csrf", nurseCert, nurseKey, "POST", "/portal/medical/transfers/accept", body: "transfer=x", extra: ["cookieFrom": "signin"]),
                probe("transfer-register-without-csrf", nurseCert, nurseKey, "POST", "/portal/medical/transfers/register", body: "transfer=x&mrn=B-1&family=X", extra: ["cookieFrom": "signin"]),
                // The DICOM preview the nurse's browser was given, asked for from another session of the same card, and
                // with no session at all.
                probe("preview-other-session", nurseCert, nurseKey, "GET", "/portal/documents/x/preview", extra: [
                    "cookieFrom": "signin", "pathFrom": ["person": "nurse-records", "shot": "34-nurse-dicom-view", "start": "/portal/documents/", "end": "/preview"] as [String: String]]),
                probe("preview-no-session", nurseCert, nurseKey, "GET", "/portal/documents/x/preview", extra: [
                    "pathFrom": ["person": "nurse-records", "shot": "34-nurse-dicom-view", "start": "/portal/documents/", "end": "/preview"] as [String: String]]),
            ]
            let plan: [String: Any] = [
                "chromium": chromium, "chromedriver": driver, "root": root, "work": dir.path + "/browser", "screenshots": shots,
                "hostRules": "MAP *.caduceus.test 127.0.0.1", "people": people, "probes": probes,
            ]
            let planPath = try dir.write("plan.json", try JSONSerialization.data(withJSONObject: plan))
            let resultPath = dir.file("result.json")
            // On a thread of its own, not a cooperative one: the walk waits on the portal, whose handlers need the pool.
            let arguments = [repo.appendingPathComponent("scripts/portal/browser_walk.py").path, planPath, resultPath]
            let run = try await withCheckedThrowingContinuation { (done: CheckedContinuation<ProcessRunner.Result, any Error>) in
                Thread { done.resume(with: Result { try ProcessRunner.run(python, arguments) }) }.start()
            }
            try #require(run.ok, "browser walk failed: \(run.stderr)")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: resultPath))) as? [String: Any])
            print("portal screenshots: \(shots)")
            try check(result, normal: normal, restricted: restricted, log: log)
            try await checkStations(result, fed)
            try await checkConsents(result, fed, patientA)
            try await checkRecords(result, fed, reviewsBefore: reviewsBefore)
        }
        _ = dir
    }

    /// The patient's consent changes as her browser saw them, and what the regional registry holds: each attested by
    /// her home node for her card.
    func checkConsents(_ result: [String: Any], _ fed: LocalFederation, _ patientA: PatientIdentifier) async throws {
        let people = try #require(result["people"] as? [[String: Any]])
        func text(_ shot: String) -> String {
            let p = people.first { $0["name"] as? String == "patient" }
            let step = (p?["steps"] as? [[String: Any]])?.first { ($0["step"] as? [String: Any])?["shot"] as? String == shot }
            return step?["text"] as? String ?? ""
        }
        #expect(text("05-patient-consents").contains("Make a new choice"))
        #expect(text("05a-patient-consent-recorded").contains("Recorded by the regional registry: Sharing is on for every organisation"), "\(text("05a-patient-consent-recorded"))")
        #expect(text("05b-patient-consent-refused").contains("Not recorded") && text("05b-patient-consent-refused").contains("can only withhold"))
        #expect(text("05c-patient-consent-withheld").contains("Sharing is off for documents of kind"))
        #expect(text("05d-patient-consent-withdrawn").contains("Withdrawn: documents of kind"))
        let reader = try fed.client(LocalFederation.patientCard, at: LocalFederation.regional)
        try await reader.signIn(purpose: "PATRQT")
        let held = try await reader.consents(of: patientA).consents
        #expect(held.count == 2 && held.allSatisfy { $0.attestedBy == LocalFederation.hospitalA && $0.signedBy == DemoData.mrnA })
        #expect(held.filter { $0.revokedTime != nil }.map(\.directive.decision) == [.deny], "the withholding was withdrawn, the opt-in stands")
    }

    /// The admin and card stations as the browsers saw them, and what they left on hospital B's node.
    func checkStations(_ result: [String: Any], _ fed: LocalFederation) async throws {
        let people = try #require(result["people"] as? [[String: Any]])
        func text(_ name: String, _ shot: String) -> String {
            let p = people.first { $0["name"] as? String == name }
            let step = (p?["steps"] as? [[String: Any]])?.first { ($0["step"] as? [String: Any])?["shot"] as? String == shot }
            return step?["text"] as? String ?? ""
        }
        #expect(text("admin", "18-admin-home").contains("Administration") && text("admin", "18-admin-home").contains("Card station"))
        let overview = text("admin", "19-admin-overview")
        #expect(overview.contains("Nodes of the federation") && overview.contains(LocalFederation.regional) && overview.contains("up") && overview.contains("this node"), "\(overview)")
        #expect(text("admin", "20-admin-personnel").contains("Imported: 2 added") && text("admin", "20-admin-personnel").contains("Lindqvist"))
        #expect(text("admin", "22-admin-staff-saved").contains("Emergency medicine"))
        #expect(text("admin", "24-admin-code-saved").contains("Saved as version 1"))
        #expect(text("admin", "25-cards-enrolled").contains("Enrolled Ngozi Okafor (nurse)"))
        #expect(text("officer", "26-cards-approved").contains("is now approved"))
        let issued = text("officer", "27-cards-issued")
        #expect(issued.contains("One-time password") && issued.contains("Download card-"), "\(issued)")
        #expect(text("officer", "28-card-face").contains("Ngozi Okafor") && text("officer", "28-card-face").localizedCaseInsensitiveContains("Valid until"))
        #expect(text("officer", "29-cards-blocked").contains("is now blocked"))
        for shot in ["30-nurse-admin-refused", "31-nurse-cards-refused"] {
            let refused = text("nurse-admin", shot)
            #expect(refused.contains("exchange.forbidden") && refused.contains("the policy does not let this functional role"), "\(shot): \(refused)")
        }
        // Forms without their token changed nothing: the code table is at the version the admin saved, one card.
        let probes = try #require(result["probes"] as? [[String: Any]])
        for name in ["codes-save-without-csrf", "staff-import-without-csrf", "cards-action-without-csrf"] {
            let p = probes.first { $0["name"] as? String == name }
            #expect(p?["status"] as? Int == 403 && (p?["body"] as? String ?? "").contains("portal.csrf"), "\(name)")
        }
        // The card issued onto the token: the form offered the token and a password field; the page names what was
        // written; the card's key is the token's.
        let tokenForm = text("officer", "41-cards-token-form")
        #expect(tokenForm.contains("Issue Per Lindqvist's card onto a token") && tokenForm.contains("The token's user PIN"), "\(tokenForm)")
        let written = text("officer", "42-cards-token-issued")
        #expect(written.contains("Card written to token \u{201C}station-walk\u{201D} for Per Lindqvist") && written.localizedCaseInsensitiveContains("Certificate serial"), "\(written)")
        #expect(!written.contains(SoftHSM.userPIN))
        let store = fed.runtimes[LocalFederation.hospitalB]!.store
        #expect(try await store.read { try $0.codeTableHistory(.administrativeSex) }.map(\.version) == [1])
        let cards = try await store.read { try $0.cards() }
        #expect(cards.count == 2 && cards.first { $0.commonName == "Ngozi Okafor" }?.status == .blocked)
        let onToken = cards.first { $0.commonName == "Per Lindqvist" }
        #expect(onToken?.status == .issued && onToken?.keyOrigin == "holder" && onToken.flatMap(\.serial).map { written.contains($0) } == true)
        #expect(try await store.read { try $0.staffMember(id: "E-3001") }?.department == "Emergency medicine")
    }

    /// The patients section, the possible matches, the transfers and the DICOM view as the browsers saw them, the
    /// probes of the preview from another session, and what the pages left on the nodes.
    func checkRecords(_ result: [String: Any], _ fed: LocalFederation, reviewsBefore: Int) async throws {
        let people = try #require(result["people"] as? [[String: Any]])
        func step(_ name: String, _ shot: String) -> [String: Any] {
            let p = people.first { $0["name"] as? String == name }
            return (p?["steps"] as? [[String: Any]])?.first { ($0["step"] as? [String: Any])?["shot"] as? String == shot } ?? [:]
        }
        func text(_ name: String, _ shot: String) -> String { step(name, shot)["text"] as? String ?? "" }
        for name in ["physician", "nurse-records", "admin"] {
            let p = people.first { $0["name"] as? String == name }
            #expect(p?["error"] is NSNull, "\(name): \(p?["error"] ?? "")")
        }
        // The DICOM view: metadata, a preview the browser decoded (served from the handle), and "no preview" for RLE.
        let dicom = text("nurse-records", "34-nurse-dicom-view")
        #expect(dicom.contains("CT Image") && dicom.contains("Explicit VR Little Endian") && dicom.contains("128 × 96") && dicom.contains("centre 40, width 400"), "\(dicom)")
        let decoded = (people.first { $0["name"] as? String == "nurse-records" }?["steps"] as? [[String: Any]])?.first { ($0["step"] as? [String: Any])?["js"] != nil }?["value"] as? Int
        #expect(decoded == 128, "the preview PNG decoded in the browser: \(decoded ?? -2)")
        let compressed = text("nurse-records", "35-nurse-dicom-compressed")
        #expect(compressed.contains("No preview") && compressed.contains("compressed") && compressed.contains("RLE Lossless"), "\(compressed)")
        // The transfer: sent from A's portal, in B's inbox with the patient as A named her, accepted under B's patient.
        #expect(text("physician", "40-physician-transfer-sent").contains("Sent: 2 documents received by \(LocalFederation.hospitalB)"), "\(text("physician", "40-physician-transfer-sent"))")
        let inbox = text("nurse-records", "32-nurse-transfers-inbox")
        #expect(inbox.contains(LocalFederation.hospitalA) && inbox.contains("Referral to cardiology") && inbox.contains(DemoData.mrnA) && inbox.contains("The MPI links this hospital's patient"), "\(inbox)")
        #expect(text("nurse-records", "33-nurse-transfer-accepted").contains("Accepted: 2 documents filed under this hospital's patient \(DemoData.mrnB)"))
        // The patient B has never seen: registered from the inbox with the form her CCD's header prefilled.
        let form = text("nurse-records", "33a-nurse-transfer-register")
        #expect(form.contains("Register and accept the transfer") && form.contains("A-20078") && form.contains(LocalFederation.domainB), "\(form)")
        let registered = text("nurse-records", "33b-nurse-transfer-registered")
        #expect(registered.contains("Registered this hospital's patient B-30078 and filed 1 document under her"), "\(registered)")
        let bStore = fed.runtimes[LocalFederation.hospitalB]!.store
        #expect(try await bStore.read { try $0.transfers(.received, limit: 10) }.compactMap(\.accepted?.patient.id) == [DemoData.mrnB, "B-30078"])
        #expect(try await bStore.read { try $0.patient(LocalIdentity(id: "B-30078", authority: LocalFederation.domainB)) }?.demographics.family == "MERIDEW")
        #expect(try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.transfers(.sent, limit: 10) }.map(\.peer) == [LocalFederation.hospitalB, LocalFederation.hospitalB])
        // The admin station's patients and the possible matches.
        #expect(text("admin", "36-admin-patients").contains(DemoData.mrnB) && text("admin", "36-admin-patients").contains(DemoData.mrnBDuplicate))
        let patient = text("admin", "37-admin-patient")
        #expect(patient.contains("Global patient id") && patient.contains(DemoData.mrnA) && patient.contains("Identifiers at this hospital"), "\(patient)")
        #expect(text("admin", "38-admin-matches").contains("Accept: same person") && text("admin", "38-admin-matches").contains(DemoData.mrnBDuplicate))
        #expect(text("admin", "39-admin-match-accepted").contains("Accepted: the two records are now one person"))
        let after = try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.mpiSnapshot().reviews.count }
        #expect(after == reviewsBefore - 1, "one possible match decided")
        // Forms without their token, and the preview from another session or none.
        let probes = try #require(result["probes"] as? [[String: Any]])
        func probe(_ name: String) -> [String: Any] { probes.first { $0["name"] as? String == name } ?? [:] }
        for name in ["match-decide-without-csrf", "transfer-accept-without-csrf", "transfer-register-without-csrf"] {
            #expect(probe(name)["status"] as? Int == 403 && (probe(name)["body"] as? String ?? "").contains("portal.csrf"), "\(name)")
        }
        let other = probe("preview-other-session")
        #expect((other["path"] as? String ?? "").hasSuffix("/preview") && !(other["path"] as? String ?? "").contains("missing"), "the probe used the nurse's real handle")
        #expect(other["status"] as? Int == 404 && (other["body"] as? String ?? "").contains("portal.not-found"), "another session gets nothing: \(other["status"] ?? "")")
        #expect(!(other["headers"] as? [String: String] ?? [:]).contains { $0.key.lowercased() == "content-type" && $0.value.contains("image/png") })
        #expect(probe("preview-no-session")["status"] as? Int == 303)
        // The browser fetched the preview from its handle.
        let urls = people.flatMap { $0["urls"] as? [String] ?? [] }
        #expect(urls.contains { $0.contains("/portal/documents/") && $0.hasSuffix("/preview") })
    }

    func check(_ result: [String: Any], normal: DocumentEntry, restricted: DocumentEntry, log: CapturedLog) throws {
        let people = try #require(result["people"] as? [[String: Any]])
        func person(_ name: String) throws -> [String: Any] { try #require(people.first { $0["name"] as? String == name }) }
        func shot(_ p: [String: Any], _ name: String) -> [String: Any]? {
            (p["steps"] as? [[String: Any]])?.first { ($0["step"] as? [String: Any])?["shot"] as? String == name }
        }
        func text(_ p: [String: Any], _ name: String) -> String { shot(p, name)?["text"] as? String ?? "" }
        for p in people { #expect(p["error"] is NSNull, "\(p["name"] ?? ""): \(p["error"] ?? "")") }

        // The patient: her own documents (both, the restricted one too), rendered inert.
        let patient = try person("patient")
        let documents = text(patient, "03-patient-documents")
        #expect(documents.contains("Continuity of Care Document") && documents.contains("Discharge note (hostile markup test)"), "\(documents)")
        let view = shot(patient, "04-patient-document")
        let source = view?["source"] as? String ?? ""
        #expect(view?["title"] as? String != "pwned" && !source.contains("pwned"), "no script ran, none is in the page")
        #expect(!source.lowercased().contains("<script") && !source.contains("evil.caduceus.test") && !source.contains("<img"), "the hostile markup renders inert")
        #expect(text(patient, "05-patient-consents").contains("My consents"))
        #expect(text(patient, "06-patient-card").contains("Valid now"))

        // The nurse: under TREAT (ceiling N) the restricted note is not listed; under break-glass it is, marked.
        let nurse = try person("nurse")
        let treat = text(nurse, "09-nurse-patient-treat")
        #expect(treat.contains("Continuity of Care Document") && !treat.contains("Discharge note"), "a nurse sees only what the policy lets her see: \(treat)")
        let glass = text(nurse, "11-nurse-patient-breakglass")
        #expect(glass.contains("Discharge note (hostile markup test)") && glass.contains("Emergency access (break-glass)"), "\(glass)")

        // The privacy officer reviews the nurse's break-glass.
        let privacy = try person("privacy")
        #expect(text(privacy, "14-privacy-queue").contains("Unconscious patient"))
        #expect(text(privacy, "15-privacy-reviewed").contains("reviewed by"))
        let console = text(privacy, "15a-privacy-audit")
        #expect(console.contains("Events and refusals, last 14 days") && console.contains("Latest events") && console.contains("user.emergency.review"), "\(console)")
        let alerts = text(try person("privacy-alerts"), "43-privacy-burst")
        #expect(alerts.contains("Nurse clinician.hospital-b (synthetic)") && alerts.localizedCaseInsensitiveContains("refus"), "the nurse's burst of refusals is on the alerts: \(alerts)")

        // The revoked card gets no page at all (refused in the TLS handshake).
        let refused = text(try person("revoked"), "16-revoked-card")
        #expect(!refused.contains("Caduceus") && !refused.contains("Welcome"), "a revoked card is refused: \(refused)")

        // The patient's access report lists the nurse's break-glass, marked.
        let report = text(try person("patient-report"), "17-patient-access-report")
        #expect(report.contains("break-glass") && report.contains("ETREAT"), "\(report)")

        // CSRF and the cookie's binding to its certificate.
        let probes = try #require(result["probes"] as? [[String: Any]])
        func probe(_ name: String) throws -> [String: Any] { try #require(probes.first { $0["name"] as? String == name }) }
        #expect(try probe("entry")["status"] as? Int == 200)
        let noCSRF = try probe("signin-without-csrf")
        #expect(noCSRF["status"] as? Int == 403 && (noCSRF["body"] as? String ?? "").contains("portal.csrf"), "a form posted without its token is refused")
        let signin = try probe("signin")
        #expect(signin["status"] as? Int == 303)
        let cookie = (signin["headers"] as? [String: String])?["Set-Cookie"] ?? ""
        #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.hasPrefix("__Host-"), "\(cookie)")
        #expect(try probe("own-card")["status"] as? Int == 200)
        let other = try probe("other-card")
        #expect(other["status"] as? Int == 403 && (other["body"] as? String ?? "").contains("portal.session-not-yours"), "a cookie with another certificate gets nothing")
        #expect(!(other["body"] as? String ?? "").contains("Search the region"))
        #expect(try probe("search-without-csrf")["status"] as? Int == 403)
        let headers = try probe("entry")["headers"] as? [String: String] ?? [:]
        #expect(headers["Content-Security-Policy"]?.contains("default-src 'none'") == true)

        // No PHI in any URL the browsers visited, nor in the server log.
        let phi = [DemoData.mrnA, DemoData.mrnB, DemoData.family, DemoData.given, DemoData.birthDate, "QUILLFEATHER", "Quillfeather"]
        let urls = people.flatMap { $0["urls"] as? [String] ?? [] }
        #expect(urls.count > 20, "the browsers' requests were captured")
        for u in urls { for p in phi { #expect(!u.localizedCaseInsensitiveContains(p), "PHI in a URL: \(u)") } }
        let logged = log.text
        #expect(logged.contains("portal request"), "the portal's log lines were captured")
        for p in phi { #expect(!logged.localizedCaseInsensitiveContains(p), "PHI in the server log: \(p)") }
        #expect(!logged.contains(SoftHSM.userPIN) && !urls.contains { $0.contains(SoftHSM.userPIN) }, "the token's PIN is in no log line and no URL")
        _ = (normal, restricted)
    }
}
