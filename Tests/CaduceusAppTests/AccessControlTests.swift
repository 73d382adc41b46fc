import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Access control across the federation", .serialized)
struct AccessControlTests {
    @Test("sign-in assertions travel between nodes; the policy point filters and refuses; break-glass grants, is audited, and ends")
    func federation() async throws {
        try await withSeededFederation { fed, ccd, dicom, patientA in
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            // No sign-in, no access.
            #expect(await code { _ = try await physicianA.query(.findDocuments(.init(patientId: patientA))) } == "exchange.forbidden")
            let signedIn = try await physicianA.signIn(purpose: "TREAT")
            // A normal CCD and a restricted (R) imaging study.
            let entries = try await physicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)
            let restricted = try await physicianA.submit([MIMEPart(contentType: "application/dicom", id: "cxr", body: dicom)], patient: patientA, confidentiality: "R")
            let all = [entries[0].uniqueId, restricted[0].uniqueId]

            // A's assertion is accepted at hospital B (another node, another CA) for the same physician.
            let physicianAtB = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalB)
            physicianAtB.use(assertion: signedIn.assertion)
            #expect(try await physicianAtB.query(.findDocuments(.init(patientId: patientA))).count == 2, "a physician sees N and R")

            // Someone else presenting that assertion is refused.
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            nurseB.use(assertion: signedIn.assertion)
            #expect(await code { _ = try await nurseB.query(.findDocuments(.init(patientId: patientA))) } == "assertion.replayed")

            // A nurse for treatment sees only what her role may: the R study is not even listed, and cannot be fetched.
            try await nurseB.signIn(purpose: "TREAT")
            let visible = try await nurseB.query(.findDocuments(.init(patientId: patientA)))
            #expect(visible.map(\.uniqueId) == [entries[0].uniqueId])
            #expect(await code { _ = try await nurseB.retrieve(all) } == "exchange.forbidden")
            #expect(try await nurseB.retrieve([entries[0].uniqueId]).1.count == 1)

            // Break-glass: a reason is required; then the R study opens, for her, for a limited time, audited as an
            // emergency override.
            #expect(await code { try await nurseB.signIn(purpose: "ETREAT") } == "exchange.bad-request")
            let glass = try await nurseB.signIn(purpose: "ETREAT", reason: "unconscious patient in the emergency department")
            #expect(glass.expires.timeIntervalSinceNow <= 3600 + 5)
            let (_, parts) = try await nurseB.retrieve(all)
            #expect(parts.count == 2)
            let trail = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
            let override = try #require(trail.first { $0.eventTypes.first?.code == "user.retrieve" && $0.outcome == .success && $0.emergency })
            #expect(override.purposeOfUse == "ETREAT" && override.participants.first?.userID == "Nurse clinician.hospital-b (synthetic)")
            // Signing out ends it.
            try await nurseB.signOut()
            #expect(await code { _ = try await nurseB.retrieve(all) } == "assertion.revoked")

            // An administrative clerk (operations, ceiling M) sees no clinical document and cannot fetch one.
            let clerk = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
            try await clerk.signIn(purpose: "HOPERAT")
            #expect(try await clerk.query(.findDocuments(.init(patientId: patientA))).isEmpty)
            #expect(await code { _ = try await clerk.retrieve([entries[0].uniqueId]) } == "exchange.forbidden")
            // ... nor may she claim a purpose her role lacks.
            try await clerk.signIn(purpose: "TREAT")
            #expect(await code { _ = try await clerk.query(.findDocuments(.init(patientId: patientA))) } == nil, "a query runs, but shows nothing")
            #expect(try await clerk.query(.findDocuments(.init(patientId: patientA))).isEmpty)

            // A revoked card cannot sign in (its TLS handshake is refused).
            try await fed.revoke(serial: fed.users["clerk.hospital-b"]!.certificate.serialNumber, ca: "hospital-b")
            let revokedClerk = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
            #expect(await code { try await revokedClerk.signIn() } == "exchange.peer-unavailable")
        }
    }

    @Test("break-glass: granted with a reason for one hour, only to its holder, counted in every node's review queue, stopped at sign-out, and on the trail as overrides")
    func breakGlass() async throws {
        try await withSeededFederation { fed, ccd, _, patientA in
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physicianA.signIn()
            let restricted = try await physicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA, confidentiality: "R")[0]
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn()
            #expect(await code { _ = try await nurseB.retrieve([restricted.uniqueId]) } == "exchange.forbidden", "R is above a nurse's treatment ceiling")

            let glass = try await nurseB.signIn(purpose: "ETREAT", reason: "cardiac arrest, history needed")
            #expect(try await nurseB.retrieve([restricted.uniqueId]).1.count == 1, "granted")
            // Only to her: the same assertion in anyone else's envelope is refused, and is not counted as a use.
            let clerk = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
            clerk.use(assertion: glass.assertion)
            #expect(await code { _ = try await clerk.retrieve([restricted.uniqueId]) } == "assertion.replayed")
            // Limited in time: one hour, after which every node refuses it.
            let t = Date()
            #expect(glass.expires.timeIntervalSince(t) <= 3600 && glass.expires.timeIntervalSince(t) > 3500)
            let lapsed = await code { _ = try await SignedAssertion.verify(glass.assertion, audience: ExchangeNode.federationAudience, validator: fed.trust.validator(), now: glass.expires.addingTimeInterval(120)) }
            #expect(lapsed == "assertion.expired")
            // Used at another node (hospital A), it is counted in A's queue too, without the reason (kept at B).
            let nurseAtA = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalA)
            nurseAtA.use(assertion: glass.assertion)
            #expect(try await nurseAtA.query(.findDocuments(.init(patientId: patientA))).count == 1)

            let queueB = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.emergencyAccesses(unreviewedOnly: true) }
            #expect(queueB.count == 1 && queueB[0].uses == 1 && queueB[0].reason == "cardiac arrest, history needed" && queueB[0].declaredAt == LocalFederation.hospitalB)
            let queueA = try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.emergencyAccesses(unreviewedOnly: true) }
            // Two uses at A: its repository released the restricted document under the override (it decides for the
            // user itself), and the query made there.
            #expect(queueA.count == 1 && queueA[0].uses == 2 && queueA[0].reason.isEmpty && queueA[0].declaredAt == LocalFederation.hospitalB)

            // Sign-out ends it; the queue keeps it for review.
            try await nurseB.signOut()
            #expect(await code { _ = try await nurseB.retrieve([restricted.uniqueId]) } == "assertion.revoked")
            let ended = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.emergencyAccesses(unreviewedOnly: true) }
            #expect(ended.count == 1 && ended[0].ended != nil && !ended[0].isOpen(at: Date()))

            // The trail at B: override started, the emergency retrieve, override stopped.
            let trail = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message).reversed()
            let alerts = trail.filter { $0.eventID == .securityAlert && $0.outcome == .success }.map { $0.eventTypes.first?.code }
            #expect(alerts == ["110127", "110138"])
            #expect(trail.contains { $0.eventTypes.first?.code == "user.retrieve" && $0.emergency && $0.outcome == .success })
            #expect(trail.contains { $0.eventTypes.first?.code == "user.retrieve" && $0.outcome != .success && $0.participants.first?.userID == "Clerk clerk.hospital-b (synthetic)" })
        }
    }

    @Test("a sign-out at one node ends the assertion at every node of the federation")
    func signOutPropagates() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            let signedIn = try await physicianA.signIn()
            let atB = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalB)
            atB.use(assertion: signedIn.assertion)
            #expect(try await atB.query(.findDocuments(.init(patientId: patientA))).isEmpty, "accepted at B")
            try await physicianA.signOut()
            #expect(await code { _ = try await atB.query(.findDocuments(.init(patientId: patientA))) } == "assertion.revoked")
            let told = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter()) }
                .filter { $0.message.eventTypes.first?.code == "session.revoke" && $0.message.outcome == .success }
            #expect(told.count == 1 && told[0].message.participants.first?.userID == LocalFederation.hospitalA)
            // A card claiming a system role (the MLLP interfaces' role in the policy): no hospital CA may grant it.
            let caB = fed.authorities["hospital-b"]!
            let key = try PrivateKeyMaterial.generate(.p256)
            #expect(throws: PKIError(.outsideNamespace, "")) {
                try caB.issue(profile: .person(email: "emr@hospital-b.caduceus.test"), subject: try federationName(commonName: "EMR impostor (synthetic)", organization: LocalFederation.hospitalB, unit: "system:interface"), publicKey: key.publicKey, now: Date())
            }
            // A person cannot send the node-to-node revocation.
            #expect(await code { _ = try await physicianA.call(.revokeSession, body: SessionRevocation(jti: "x", expires: 0)) } == "exchange.forbidden")
        }
    }

    @Test("the privacy officer reads a node's break-glass queue through the API, with the reasons, and records the review; nobody else may")
    func privacyOfficerReview() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn(purpose: "ETREAT", reason: "cardiac arrest, history needed")
            try await nurseB.signOut()
            try await nurseB.signIn()
            let refused = await code { _ = try await nurseB.emergencies() }
            #expect(refused == "exchange.forbidden")
            let officer = try fed.client("privacy.hospital-b", at: LocalFederation.hospitalB)
            try await officer.signIn(purpose: "HOPERAT")
            let queued = try await officer.emergencies()
            #expect(queued.count == 1)
            let id = try #require(queued.first?.id)
            #expect(queued.first?.reason == "cardiac arrest, history needed" && queued.first?.ended != nil)
            let blank = await code { _ = try await officer.reviewEmergency(id, note: "  ") }
            #expect(blank == "exchange.bad-request")
            let unknown = await code { _ = try await officer.reviewEmergency("no-such-id", note: "justified") }
            #expect(unknown == "documents.not-found")
            let reviewed = try await officer.reviewEmergency(id, note: "justified: resuscitation")
            #expect(reviewed.reviewer == "Officer privacy.hospital-b (synthetic)" && reviewed.reviewNote == "justified: resuscitation")
            let awaiting = try await officer.emergencies()
            let everything = try await officer.emergencies(unreviewedOnly: false)
            #expect(awaiting.isEmpty && everything.count == 1)
            let trail = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
            #expect(trail.contains { $0.eventTypes.first?.code == "user.emergency.review" && $0.outcome == .success && $0.objects.contains { $0.id == id } })
        }
    }
}
