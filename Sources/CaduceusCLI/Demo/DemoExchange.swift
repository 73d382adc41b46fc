import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPatientIndex
import CaduceusPKI
import CaduceusPolicy
import CaduceusStorage
import CaduceusHTTP
import Foundation
import UnixSignals
import Logging

/// The exchange part of `caduceus demo`: four nodes on loopback (global, regional, hospitals A and B), each with its
/// own data directory and certificate, talking HTTPS with mutual TLS and signed, encrypted envelopes.
enum DemoExchange {
    static func run(report: Report, base: String, keep: Bool) async throws {
        var logger = Logger(label: "caduceus.demo")
        logger.logLevel = .warning
        report.step("A federation of four nodes")
        // Beside the federation's directory (which must not exist before it is made).
        let encoder = DemoCardEncoder.prepare(base: URL(fileURLWithPath: base).deletingLastPathComponent().path)
        let fed = try await report.timedAsync("PKI (root, regional, two hospital CAs), node certificates, two staff cards; data directories under \(base)") {
            try await LocalFederation.create(at: base, cardEncoder: encoder.encoder, logger: logger)
        }
        report.note(encoder.note)
        try await fed.run(logger: logger) { fed in
            for id in [LocalFederation.global, LocalFederation.regional, LocalFederation.hospitalA, LocalFederation.hospitalB] {
                report.note("\(id): \(fed.endpoint(id)) (mutual TLS; published in the directory at \(LocalFederation.global))")
            }
            let a = fed.runtimes[LocalFederation.hospitalA]!, b = fed.runtimes[LocalFederation.hospitalB]!

            report.step("Hospital A's EMR feeds HL7 v2; both hospitals register the patient with the regional MPI")
            for (name, message) in [("ADT^A04", DemoData.adtA04()), ("ORU^R01 (two results)", DemoData.oruR01())] {
                let ack = await report.timedAsync("\(name) parsed, stored encrypted, ACKed after commit") { String(decoding: await a.hl7!.receive(message), as: UTF8.self) }
                guard ack.contains("MSA|AA") else { throw CLIError(code: "demo.failed", message: "hospital A refused the HL7 feed") }
            }
            _ = await b.hl7!.receive(DemoData.adtA04B())
            let idA = LocalIdentity(id: DemoData.mrnA, authority: LocalFederation.domainA)
            let xA = try await report.timedAsync("hospital A → regional: mpi.register (envelope signed by node.hospital-a, encrypted to node.region-north)") {
                try await a.node.registerWithRegion(idA)
            }
            let xB = try await report.timedAsync("hospital B → regional: mpi.register for B's own MRN") {
                try await b.node.registerWithRegion(LocalIdentity(id: DemoData.mrnB, authority: LocalFederation.domainB))
            }
            report.note("global patient id: \(xA.id) — both hospitals' records linked: \(xA == xB)")

            report.step("Hospital A publishes a generated CCD and a DICOM image")
            let ccd = try await report.timedAsync("C-CDA 2.1 CCD generated from A's stored demographics and results") {
                try await CCDComposer.compose(for: idA, store: a.store, nodeId: LocalFederation.hospitalA, organization: "Hospital A (synthetic)", now: Date())
            }
            let dicom = DemoData.dicom()
            let clinicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            _ = try await report.timedAsync("a physician at A signs in with her card: node A issues a signed assertion (ES256, x5c) for TREAT") {
                try await clinicianA.signIn(purpose: "TREAT")
            }
            let patientA = PatientIdentifier(id: DemoData.mrnA, authority: LocalFederation.domainA)
            let entries = try await report.timedAsync("clinician at A → node A: user.submit (signed with the clinician's card); A stores both encrypted, registers them at the regional registry") {
                try await clinicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd), MIMEPart(contentType: "application/dicom", id: "cxr", body: dicom)], patient: patientA)
            }
            for e in entries { report.note("registered \(e.uniqueId): \(e.typeCode.display.isEmpty ? e.typeCode.code : e.typeCode.display), \(e.mimeType), \(e.size) bytes, SHA-256 \(e.hash.prefix(16))…") }

            report.step("A clinician at hospital B finds the patient and the documents")
            let clinicianB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            _ = try await report.timedAsync("a nurse at B signs in (role from her card, purpose TREAT); every request she makes is decided by B's policy point") {
                try await clinicianB.signIn(purpose: "TREAT")
            }
            let found = try await report.timedAsync("PDQ by family name, given name and birth date (through node B to the regional MPI)") {
                try await clinicianB.findPatients(FindPatientsRequest(criteria: Demographics(family: DemoData.family, given: DemoData.given, birthDate: DemoData.birthDate)))
            }
            guard let patient = found.first else { throw CLIError(code: "demo.failed", message: "the patient was not found") }
            report.note("match: global id \(patient.patientId.id), linked ids \(patient.identities.map { "\($0.id)@\($0.authority)" }.joined(separator: ", "))")
            let listed = try await report.timedAsync("registry stored query FindDocuments for the global id") {
                try await clinicianB.query(.findDocuments(.init(patientId: patient.patientId)))
            }
            report.note("\(listed.count) entries; repository: \(Set(listed.map(\.repositoryId)).sorted().joined(separator: ", "))")
            let (response, parts) = try await report.timedAsync("retrieve: node B asks node A's repository; A decrypts, re-encrypts to B and signs; B checks hash and size") {
                try await clinicianB.retrieve(listed.map(\.uniqueId))
            }
            let ccdEntry = listed.first { $0.mimeType == "text/xml" }!
            let same = parts.first { $0.contentID == ccdEntry.uniqueId }?.body == ccd
            report.note("CCD retrieved at B is byte-identical to what A stored: \(same); served by \(response.servedBy[ccdEntry.uniqueId] ?? "?")")
            guard same else { throw CLIError(code: "demo.failed", message: "the retrieved CCD differs") }

            report.step("Hospital A pushes a transfer of care to hospital B")
            let receipt = try await report.timedAsync("transfer.push: envelope signed by A, encrypted to B; B verifies, stores, answers with a signed receipt") {
                try await clinicianA.transfer([ccdEntry.uniqueId], to: LocalFederation.hospitalB, reason: "transfer of care")
            }
            report.note("receipt from \(receipt.receivedBy) for envelope SHA-256 \(receipt.envelopeSHA256.prefix(16))…: \(receipt.documents.count) document(s)")
            let inbox = try await report.timedAsync("user.transfers: the transfer waits in hospital B's inbox; the regional MPI (mpi.pix) names B's own record of the patient") {
                try await clinicianB.transfers()
            }
            guard let pending = inbox.received.first(where: { $0.transfer.accepted == nil }), pending.linkedPatient != nil else {
                throw CLIError(code: "demo.failed", message: "the transfer is not in B's inbox, or no patient of B is linked to it")
            }
            let filed = try await report.timedAsync("user.transfer.accept: the nurse at B files it under B's patient (registered at the regional registry as held by B)") {
                try await clinicianB.acceptTransfer(pending.transfer.id)
            }
            report.note("\(filed.transfer.entries.count) document(s) from \(pending.transfer.peer) filed; a second acceptance is refused")

            report.step("The patient's consent, and a break-glass access")
            let patientCard = try fed.client(LocalFederation.patientCard, at: LocalFederation.hospitalA)
            _ = try await report.timedAsync("the patient signs in at A with her own card (identifier, no name, on it), purpose PATRQT") {
                try await patientCard.signIn(purpose: ExchangeNode.patientPurpose)
            }
            let optOut = try await report.timedAsync("she opts out of sharing: a consent directive signed with her card (JWS), recorded by the regional registry") {
                try await patientCard.stateConsent(ConsentDirective(
                    id: UUID().uuidString.lowercased(), patient: patientA.description, decision: .deny, validFrom: Date().addingTimeInterval(-60), issuedAt: Date()))
            }
            do {
                _ = try await clinicianB.retrieve([ccdEntry.uniqueId])
                throw CLIError(code: "demo.failed", message: "an opt-out did not stop a retrieve")
            } catch let e as RemoteError {
                report.note("the nurse at B retrieves again: refused (\(e.code): \(e.message))")
            }
            _ = try await report.timedAsync("emergency: the nurse declares break-glass (ETREAT, with a reason; one hour, only for her)") {
                try await clinicianB.signIn(purpose: "ETREAT", reason: "patient unresponsive in the emergency department")
            }
            let (_, emergencyParts) = try await report.timedAsync("retrieve under break-glass: permitted as an emergency override, audited as such") {
                try await clinicianB.retrieve([ccdEntry.uniqueId])
            }
            report.note("\(emergencyParts.count) document(s) released under the override")
            try await clinicianB.signOut()
            let officer = try fed.client("privacy.hospital-b", at: LocalFederation.hospitalB)
            try await officer.signIn(purpose: "HOPERAT")
            let queue = try await officer.emergencies()
            report.note("hospital B's privacy officer reads the break-glass queue through the API: \(queue.count) entry awaiting review")
            if let first = queue.first {
                _ = try await report.timedAsync("she records her finding (audited)") { try await officer.reviewEmergency(first.id, note: "justified: emergency department") }
            }
            let trail = try await officer.auditSearch(AuditSearchRequest(patient: patientA, summary: true))
            _ = try await officer.auditSearch(AuditSearchRequest(patient: patientA), export: true)
            report.note("she searches hospital B's trail for the patient: \(trail.rows.count) event(s), \(trail.alerts.count) security alert(s); and exports the search (both audited)")
            let atRegion = try fed.client(LocalFederation.patientCard, at: LocalFederation.regional)
            try await atRegion.signIn(purpose: ExchangeNode.patientPurpose)
            _ = try await report.timedAsync("the patient revokes her opt-out at the regional node (signed revocation): sharing returns to the default") {
                try await atRegion.revokeConsent(optOut.directive.id, patient: patientA)
            }
            let consents = try await atRegion.consents(of: patientA)
            report.note("her consents at the registry: \(consents.consents.count), revoked: \(consents.consents.filter { $0.revokedTime != nil }.count)")
            try await clinicianB.signIn(purpose: "TREAT")
            _ = try await report.timedAsync("the nurse, signed in for treatment again, retrieves the CCD") {
                try await clinicianB.retrieve([ccdEntry.uniqueId])
            }

            report.step("Who looked at her record: the access report across the federation")
            let ownCard = try await patientCard.ownCard()
            report.note("her card at hospital A's card registry: \(ownCard.map { $0.status.rawValue } ?? "not held there (the demo issued it outside the card station)")")
            let accesses = try await report.timedAsync("the patient asks node A; the regional node resolves every identifier linked to her and gathers each node's trail") {
                try await patientCard.accessReport(of: patientA)
            }
            for (node, group) in Dictionary(grouping: accesses.entries, by: \.node).sorted(by: { $0.key < $1.key }) {
                let people = Set(group.filter { $0.who != "patient" && !$0.who.hasPrefix("node.") }.map(\.who)).sorted()
                report.note("\(node): \(group.count) event(s); people: \(people.isEmpty ? "-" : people.joined(separator: ", ")); emergency overrides: \(group.filter(\.emergency).count)")
            }
            if !accesses.unavailable.isEmpty { report.note("not answering: \(accesses.unavailable.joined(separator: ", "))") }

            report.step("The card station at hospital B: HR import, enrolment, a second administrator's approval, issue, block and unblock")
            let cardOfficer = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
            try await cardOfficer.signIn(purpose: "HOPERAT")
            let approver = try fed.client(card: try fed.issueCard("Administrator Two (synthetic)", ca: "hospital-b", role: "administrative"), at: LocalFederation.hospitalB)
            try await approver.signIn(purpose: "HOPERAT")
            let imported = try await cardOfficer.importStaff(csv: "Employee ID,Last Name,First Name,Department,Role,Email,Status\r\nE-2001,Marlowe,Tamsin,Emergency,nurse,tamsin.marlowe@hospital-b.caduceus.test,Active\r\nE-2002,Okonkwo,Adaeze,Cardiology,physician,adaeze.okonkwo@hospital-b.caduceus.test,Active\r\n")
            report.note("the HR export: \(imported.added) staff added; registry: \(try await cardOfficer.staff().count) active")
            let enrolment = try await cardOfficer.enrollCard(CardEnrollRequest(staffId: "E-2001", role: "nurse"))
            _ = try await approver.cardAction(enrolment.id, .approve)
            let issuedCard = try await cardOfficer.cardAction(enrolment.id, .issue)
            let newCard = try PKCS12.importCredential(Array(issuedCard.issued?.pkcs12 ?? Data()), password: Sensitive(issuedCard.issued?.password ?? ""))
            report.note("enrolled by the clerk, approved by a second administrator, issued as a PKCS#12 under a one-time password")
            _ = try await fed.client(card: newCard, at: LocalFederation.regional).signIn()
            _ = try await cardOfficer.cardAction(enrolment.id, .block)
            let blocked = (try? await fed.client(card: newCard, at: LocalFederation.regional).signIn()) == nil
            _ = try await cardOfficer.cardAction(enrolment.id, .unblock)
            let back = (try? await fed.client(card: newCard, at: LocalFederation.regional).signIn()) != nil
            report.note("the new nurse signs in at the regional node; blocked: \(blocked ? "refused" : "still accepted"); unblocked: \(back ? "accepted" : "still refused")")
            if encoder.encoder != nil {
                // A second card, approved, waits for the portal: the clerk issues it onto one of the demo's tokens.
                let waiting = try await cardOfficer.enrollCard(CardEnrollRequest(staffId: "E-2002", role: "physician"))
                _ = try await approver.cardAction(waiting.id, .approve)
                report.note("a physician's card is approved and waits at the card station: sign in at hospital B's portal as the clerk and issue it onto token \(DemoCardEncoder.labels[0])")
            }
            report.note("hospital B's card registry: \(try await cardOfficer.cards().map { $0.status.rawValue }.joined(separator: ", "))")

            report.step("The admin station at hospital B: the federation's nodes and their health, a code table saved as a new version")
            let overview = try await cardOfficer.adminOverview()
            report.note("nodes: \((overview.nodes ?? []).map { "\($0.id) \($0.health)" }.joined(separator: ", "))")
            let sexTable = try await cardOfficer.codeTables().tables.first { $0.name == .administrativeSex }
            let savedTable = try await cardOfficer.saveCodeTable(CodeTableSaveRequest(table: .administrativeSex, base: sexTable?.current?.version ?? 0, entries: sexTable?.standard ?? [], note: "HL7 table 0001 as published"))
            report.note("administrative sex: version \(savedTable.version) in force from the next ADT message")
            let search = try await cardOfficer.adminPatients(AdminPatientsRequest(criteria: Demographics(family: DemoData.family)))
            let openedPatient = try await cardOfficer.adminPatients(AdminPatientsRequest(patient: search.patients.first?.identity))
            report.note("patients at B matching the family name: \(search.patients.count); the regional MPI links \(openedPatient.links?.identities.count ?? 0) identities to her global id")
            _ = await b.hl7!.receive(DemoData.adtA04BDuplicate())
            // B's node forwards what its feed registered to the regional MPI on its own; the MPI queues the pair.
            var matches: [MPIReviewItem] = []
            let queued = Date().addingTimeInterval(15)
            while matches.isEmpty, Date() < queued {
                matches = try await cardOfficer.mpiReview()
                if matches.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            guard let possible = matches.first else { throw CLIError(code: "demo.failed", message: "the duplicate registration was not queued for review") }
            let decided = try await cardOfficer.mpiDecide(possible.id, .accept)
            report.note("a duplicate MRN at B queued by the regional MPI (\(possible.reason)); the clerk accepts it from B's admin station: \(decided.relinked) record(s) relinked")

            report.step("A lost card is revoked: every node refuses it within seconds, without a restart")
            let clerk = "clerk.hospital-b", clerkCard = fed.users[clerk]!
            _ = try await fed.client(clerk, at: LocalFederation.hospitalA).signIn(purpose: "HOPERAT")
            report.note("the clerk of hospital B signs in at hospital A: accepted")
            // As `caduceus pki revoke --ca pki/hospital-b` would: only the CA's files change. Hospital B's node hosts
            // that CA; it sees the revocation, signs a new list and pushes it to every node.
            try fed.authorities["hospital-b"]!.revoke(serial: clerkCard.certificate.serialNumber, reason: .keyCompromise, now: Date())
            let revokedAt = ContinuousClock.now
            var refusal: String?
            while refusal == nil, revokedAt.duration(to: .now) < .seconds(30) {
                do {
                    _ = try await fed.client(clerk, at: LocalFederation.hospitalA).signIn(purpose: "HOPERAT")
                    try await Task.sleep(for: .milliseconds(20))
                } catch {
                    refusal = (error as? any CaduceusError)?.code ?? "refused"
                }
            }
            let elapsed = revokedAt.duration(to: .now)
            report.note("hospital B's CA revokes her card (key compromise); her next sign-in at hospital A: \(refusal.map { "refused (\($0))" } ?? "still accepted") after \(Int(elapsed.seconds * 1000)) ms")

            report.step("The regional audit repository")
            let regionalStore = fed.runtimes[LocalFederation.regional]!.store
            let shippers = [LocalFederation.global, LocalFederation.hospitalA, LocalFederation.hospitalB]
            try await report.timedAsync("each node's hash-chained trail arrives as RFC 5424 syslog over mutual TLS (RFC 5425), gap-free") {
                let deadline = Date().addingTimeInterval(20)
                for node in shippers {
                    let local = try await fed.runtimes[node]!.store.read { try $0.auditHead().sequence }
                    while try await regionalStore.read({ try $0.repositoryHead(node: node).sequence }) < local {
                        guard Date() < deadline else { throw CLIError(code: "demo.failed", message: "an audit trail did not reach the repository") }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            let held = try await regionalStore.read { try $0.repositoryNodes() }
            report.note("held: " + held.sorted { $0.key < $1.key }.map { "\($0.key) 1…\($0.value)" }.joined(separator: ", "))

            report.step("What the regional node holds")
            let regional = fed.runtimes[LocalFederation.regional]!
            let (registry, repository, evidence) = try await regional.store.read { r in (try r.registryCount(), try r.repositoryCount(), try r.evidenceCount(operation: nil)) }
            report.note("registry entries: \(registry); document content: \(repository) (the registry is an index); signed envelopes kept as evidence: \(evidence)")

            report.step("The web portal (every node serves it; your card is the TLS client certificate, no password)")
            for (node, who) in [
                (LocalFederation.hospitalA, "the patient: users/\(LocalFederation.patientCard).p12 (her documents, consents, who accessed her record); the physician: users/clinician.hospital-a.p12"),
                (LocalFederation.hospitalB, "the nurse: users/clinician.hospital-b.p12 (medical station, break-glass); the privacy officer: users/privacy.hospital-b.p12 (review queue, audit console); the clerk: users/clerk.hospital-b.p12 (admin and card stations)"),
            ] {
                let port = URL(string: fed.endpoint(node))?.port ?? 0
                report.note("https://\(node).caduceus.test:\(port)/portal (resolve it to 127.0.0.1) — \(who)")
            }
            report.note("import a card into the browser (e.g. pk12util -d sql:$HOME/.pki/nssdb -i CARD.p12, password in CARD.password) and trust \(base)/root.pem; " + (keep ? "the nodes stay up below" : "run with --keep to leave them open"))

            if keep {
                report.step("Nodes keep running (Ctrl-C to stop)")
                report.note("staff cards: \(base)/users/*.p12 (passwords beside them); root: \(base)/root.pem")
                report.note("try: curl --cacert \(base)/root.pem --cert \(base)/nodes/node.hospital-b/node.chain.pem --key \(base)/nodes/node.hospital-b/node.key.pem \(fed.endpoint(LocalFederation.regional))/health")
                for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { break }
            }
        }
    }
}
