import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusPolicy
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

/// The refusal's code and message, or nil when `body` succeeds.
func refusal(_ body: () async throws -> Void) async -> (code: String, message: String)? {
    do { try await body(); return nil } catch let e as any CaduceusError { return (e.code, e.message) } catch { return ("uncoded", "") }
}

@Suite("Consent across the federation", .serialized)
struct ConsentTests {
    func directive(_ patient: PatientIdentifier, _ decision: ConsentDirective.Decision, organization: String? = nil, documentId: String? = nil, validUntil: Date? = nil) -> ConsentDirective {
        ConsentDirective(
            id: UUID().uuidString.lowercased(), patient: patient.description, decision: decision, organization: organization,
            documentId: documentId, validFrom: Date().addingTimeInterval(-60), validUntil: validUntil, issuedAt: Date())
    }

    @Test("a patient opts in at hospital A, withholds one document from hospital B, revokes at the regional node; the next request anywhere follows")
    func consentTakesEffectEverywhere() async throws {
        try await withSeededFederation { fed, ccd, dicom, patientA in
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physicianA.signIn()
            let ccdEntry = try await physicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)[0]
            let imageEntry = try await physicianA.submit([MIMEPart(contentType: "application/dicom", id: "cxr", body: dicom)], patient: patientA)[0]
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn()
            #expect(try await nurseB.retrieve([ccdEntry.uniqueId]).1.count == 1, "no consent on file: treatment is the default")

            // The patient signs in with their own card (purpose "patient request" only) and opts in to sharing.
            let patient = try fed.client(LocalFederation.patientCard, at: LocalFederation.hospitalA)
            #expect(await code { try await patient.signIn(purpose: "TREAT") } == "exchange.bad-request")
            try await patient.signIn(purpose: "PATRQT")
            let optIn = try await patient.stateConsent(directive(patientA, .permit))
            #expect(optIn.recordedAt == LocalFederation.hospitalA && optIn.signedBy == DemoData.mrnA)
            #expect(optIn.patientId != patientA.description, "the regional registry files it under the global id")
            // ... and withholds the image from hospital B only.
            _ = try await patient.stateConsent(directive(patientA, .deny, organization: LocalFederation.hospitalB, documentId: imageEntry.uniqueId))
            #expect(try await nurseB.query(.findDocuments(.init(patientId: patientA))).map(\.uniqueId) == [ccdEntry.uniqueId], "the withheld image is not even listed at B")
            let withheld = await refusal { _ = try await nurseB.retrieve([imageEntry.uniqueId]) }
            #expect(withheld?.code == "exchange.forbidden" && withheld?.message.contains("consent.document-deny") == true)
            #expect(try await physicianA.query(.findDocuments(.init(patientId: patientA))).count == 2, "hospital A is not concerned by the withholding")

            // The patient revokes the opt-in at the regional node, under another of their identifiers' nodes.
            let atRegion = try fed.client(LocalFederation.patientCard, at: LocalFederation.regional)
            try await atRegion.signIn(purpose: "PATRQT")
            let revoked = try await atRegion.revokeConsent(optIn.directive.id, patient: patientA)
            #expect(revoked.revokedTime != nil && revoked.revokedBy == DemoData.mrnA)
            // The very next retrieve at hospital B is refused, naming the rule.
            let blocked = await refusal { _ = try await nurseB.retrieve([ccdEntry.uniqueId]) }
            #expect(blocked?.code == "exchange.forbidden" && blocked?.message.contains("consent.revoked") == true, "\(String(describing: blocked))")
            #expect(try await nurseB.query(.findDocuments(.init(patientId: patientA))).isEmpty)

            // The patient sees their consents, with the signed statements, which verify as JWS by the card.
            let mine = try await patient.consents(of: patientA)
            #expect(mine.consents.count == 2 && mine.consents.allSatisfy { $0.statement != nil })
            let verified = try await CompactJWS.verify(mine.consents[0].statement!, domain: "consent", validator: fed.trust.validator(), now: Date())
            #expect(verified.signer?.kind == .patient && verified.type == ConsentStatement.directiveType)
            #expect(mine.consents.first { $0.directive.id == optIn.directive.id }?.revocationStatement != nil)
            // A nurse may read the summaries (she may search patients for treatment), not the statements.
            #expect(try await nurseB.consents(of: patientA).consents.allSatisfy { $0.statement == nil })

            // Break-glass overrides the revocation (not the withholding of a document), audited as an override.
            let glass = try await nurseB.signIn(purpose: "ETREAT", reason: "patient unconscious, allergy history needed")
            #expect(try await nurseB.retrieve([ccdEntry.uniqueId]).1.count == 1)
            #expect(await code { _ = try await nurseB.retrieve([imageEntry.uniqueId]) } == "exchange.forbidden")
            _ = glass

            // The regional trail records each consent change as a Security Alert beside the operation, naming the
            // patient only by pseudonym.
            let regionalTrail = try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
            let changes = regionalTrail.filter { $0.eventID == .securityAlert && $0.eventTypes.first == .objectSecurityAttributesChanged }
            #expect(changes.count == 3, "two directives and one revocation")
            #expect(changes.allSatisfy { $0.objects.allSatisfy { !$0.id.contains(DemoData.mrnA) } })
        }
    }

    @Test("consent statements that are forged, foreign, stale, out of role or about an unknown patient are refused, store nothing, and are audited")
    func consentRefusals() async throws {
        try await withSeededFederation { fed, ccd, _, patientA in
            let patient = try fed.client(LocalFederation.patientCard, at: LocalFederation.hospitalA)
            try await patient.signIn(purpose: "PATRQT")
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn()
            let clerkB = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
            try await clerkB.signIn(purpose: "HOPERAT")
            let regional = fed.runtimes[LocalFederation.regional]!.store
            func stored() async throws -> Int {
                try await regional.read { r in try r.auditMessages(AuditFilter()).filter { $0.message.eventID == .securityAlert }.count }
            }
            func failures(at node: String) async throws -> Int {
                try await fed.runtimes[node]!.store.read { r in
                    try r.auditMessages(AuditFilter()).filter { $0.message.eventTypes.first?.code == "user.consent" && $0.message.outcome != .success }.count
                }
            }
            let before = try await stored()

            // A nurse is not a consent recorder.
            #expect(await code { _ = try await nurseB.stateConsent(directive(patientA, .deny)) } == "exchange.forbidden")
            // A document-specific consent can only withhold.
            #expect(await code { _ = try await patient.stateConsent(directive(patientA, .permit, documentId: "2.25.1")) } == "consent.invalid")
            // Validity must end after it starts.
            var backwards = directive(patientA, .deny)
            backwards.validUntil = backwards.validFrom.addingTimeInterval(-1)
            #expect(await code { _ = try await patient.stateConsent(backwards) } == "consent.invalid")
            // A stale statement (made two hours ago).
            var stale = directive(patientA, .deny)
            stale.issuedAt = Date().addingTimeInterval(-7200)
            #expect(await code { _ = try await patient.stateConsent(stale) } == "consent.invalid")
            // A patient the MPI does not know.
            #expect(await code { _ = try await patient.stateConsent(directive(PatientIdentifier(id: "NOBODY-1", authority: LocalFederation.domainA), .deny)) } == "exchange.unknown-patient")
            // Revoking a consent that does not exist.
            #expect(await code { _ = try await patient.revokeConsent("no-such-consent", patient: patientA) } == "documents.not-found")
            // A statement signed by someone else, sent by the patient.
            let nurseCard = fed.users["clinician.hospital-b"]!
            let foreign = try CompactJWS.sign(json: directive(patientA, .deny), type: ConsentStatement.directiveType, by: nurseCard)
            #expect(await code { _ = try await patient.call(.userConsent, body: ConsentStatement(statement: foreign)) } == "exchange.forbidden")
            // A forged statement: the patient's signature over other content.
            let genuine = try CompactJWS.sign(json: directive(patientA, .permit), type: ConsentStatement.directiveType, by: fed.users[LocalFederation.patientCard]!)
            let parts = genuine.split(separator: ".")
            let otherPayload = try CompactJWS.sign(json: directive(patientA, .deny), type: ConsentStatement.directiveType, by: fed.users[LocalFederation.patientCard]!).split(separator: ".")[1]
            let forged = [parts[0], otherPayload, parts[2]].joined(separator: ".")
            #expect(await code { _ = try await patient.call(.userConsent, body: ConsentStatement(statement: forged)) } == "consent.bad-signature")
            // An unsigned one.
            #expect(await code { _ = try await patient.call(.userConsent, body: ConsentStatement(statement: "eyJhbGciOiJub25lIn0.e30.")) } == "consent.malformed")
            // Nobody states a consent without signing in.
            let stranger = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
            stranger.use(assertion: nil)
            #expect(await code { _ = try await stranger.stateConsent(directive(patientA, .deny)) } == "exchange.forbidden")

            #expect(try await stored() == before, "nothing was recorded")
            #expect(try await failures(at: LocalFederation.hospitalA) == 8, "one audit event per refusal at the patient's node")

            // The clerk, a consent recorder by policy, records a paper opt-out on the patient's behalf.
            let paper = try await clerkB.stateConsent(directive(patientA, .deny))
            #expect(paper.signedBy == "Clerk clerk.hospital-b (synthetic)" && paper.recordedAt == LocalFederation.hospitalB)
            #expect(try await clerkB.consents(of: patientA).consents.first?.statement != nil, "a recorder sees the statements")
            // The same statement cannot be recorded twice.
            #expect(await code { _ = try await clerkB.call(.userConsent, body: ConsentStatement(statement: paper.statement!)) } == "storage.conflict")
            // The opt-out takes effect on the next treatment request elsewhere; the author's own node may still file.
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physicianA.signIn()
            let filed = try await physicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)[0]
            #expect(try await nurseB.query(.findDocuments(.init(patientId: patientA))).isEmpty)
            let optedOut = await refusal { _ = try await nurseB.retrieve([filed.uniqueId]) }
            #expect(optedOut?.code == "exchange.forbidden" && optedOut?.message.contains("consent.opt-out") == true)
        }
    }
}

@Suite("Patient access report across the federation", .serialized)
struct AccessReportTests {
    @Test("the patient's report gathers every node's events for every identifier linked to her, marks break-glass, names nobody's PHI; others are refused")
    func report() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physicianA.signIn()
            let entry = try await physicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA, confidentiality: "R")[0]
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn(purpose: "ETREAT", reason: "unresponsive, history needed")
            _ = try await nurseB.retrieve([entry.uniqueId])

            let patient = try fed.client(LocalFederation.patientCard, at: LocalFederation.hospitalA)
            try await patient.signIn(purpose: "PATRQT")
            let report = try await patient.accessReport(of: patientA)
            #expect(report.unavailable.isEmpty)
            #expect(report.patientId.authority != LocalFederation.domainA, "named by the global id")
            // Hospital B's own trail (it holds the patient under her global id, never under A's MRN) is in it.
            let emergency = try #require(report.entries.first { $0.node == LocalFederation.hospitalB && $0.action == "user.retrieve" })
            #expect(emergency.emergency && emergency.purpose == "ETREAT" && emergency.who == "Nurse clinician.hospital-b (synthetic)" && emergency.role == "nurse")
            #expect(emergency.documents == [entry.uniqueId])
            #expect(emergency.rules.contains("permit:role.ETREAT.ceiling"), "the policy decision is on the event: \(emergency.rules)")
            #expect(report.entries.contains { $0.node == LocalFederation.hospitalA && $0.action == "user.submit" && $0.who == "Dr clinician.hospital-a (synthetic)" })
            #expect(report.entries.contains { $0.node == LocalFederation.hospitalA && $0.action == "repository.retrieve" && $0.who == LocalFederation.hospitalB })
            #expect(report.entries.contains { $0.node == LocalFederation.regional && $0.action == "mpi.register" })
            #expect(report.entries.contains { $0.node == LocalFederation.hospitalB && $0.action == "ADT^A04" }, "found under B's own MRN, linked by the MPI")
            #expect(zip(report.entries, report.entries.dropFirst()).allSatisfy { $0.time <= $1.time }, "oldest first")
            let text = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
            #expect(!text.contains(DemoData.family) && !text.contains(DemoData.birthDate))

            // B's privacy officer may read it (a role the policy names in accessReportReaders).
            let officer = try fed.client("privacy.hospital-b", at: LocalFederation.hospitalB)
            try await officer.signIn(purpose: "HOPERAT")
            let seenByOfficer = try await officer.accessReport(of: patientA)
            #expect(seenByOfficer.entries.count > report.entries.count)
            #expect(seenByOfficer.entries.contains { $0.action == "user.accessreport" && $0.who == "patient" }, "the patient's own request is on the trail")
            // Nobody else reads it: not a nurse, not the patient for someone else, not a node but the regional one.
            #expect(await code { _ = try await nurseB.accessReport(of: patientA) } == "exchange.forbidden")
            #expect(await code { _ = try await patient.accessReport(of: PatientIdentifier(id: DemoData.mrnB, authority: LocalFederation.domainB)) } == "exchange.forbidden")
            #expect(await code { _ = try await fed.runtimes[LocalFederation.hospitalA]!.node.call(.accessEvents, to: LocalFederation.hospitalB, body: AccessEventsRequest(identifiers: [patientA])) } == "exchange.forbidden")
            // Even the regional node asks for at most 100 identifiers at a time.
            let many = (0...100).map { PatientIdentifier(id: "P\($0)", authority: LocalFederation.domainB) }
            #expect(await code { _ = try await fed.runtimes[LocalFederation.regional]!.node.call(.accessEvents, to: LocalFederation.hospitalB, body: AccessEventsRequest(identifiers: many)) } == "exchange.bad-request")
        }
    }
}
