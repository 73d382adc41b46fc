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

/// Attacks on sessions, consent resolution and the trail.
@Suite("Attacks: sessions, consent and the trail", .serialized)
struct SessionAndTrailAttackTests {
    @Test("a node ends a sign-in it did not issue: refused; the issuer's own sign-out reaches it and survives its restart")
    func foreignSessionRevocation() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            let signedIn = try await physicianA.signIn()
            let claims = try await SignedAssertion.verify(signedIn.assertion, audience: ExchangeNode.federationAudience, validator: fed.trust.validator(), now: Date())
            // Hospital B (not the issuer) tries to end A's physician's sign-in at the regional node.
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let regionalCert = try nodeCredential(fed, LocalFederation.regional).certificate
            let forged = try envelope(.revokeSession, to: LocalFederation.regional, body: SessionRevocation(jti: claims.jti, expires: claims.exp, assertion: signedIn.assertion), from: nodeB, encryptedTo: regionalCert)
            let refused = try await attack(fed, auditedAt: LocalFederation.regional) {
                _ = try await transport(fed, as: nodeB).post(fed.endpoint(LocalFederation.regional), path: ExchangeOperation.revokeSession.path, envelope: forged)
            }
            #expect(refused == "exchange.forbidden")
            let atB = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalB)
            atB.use(assertion: signedIn.assertion)
            #expect(try await atB.query(.findDocuments(.init(patientId: patientA))).isEmpty, "still signed in")
            // Her own sign-out at A reaches B, and B remembers it on disk.
            try await physicianA.signOut()
            #expect(await code { _ = try await atB.query(.findDocuments(.init(patientId: patientA))) } == "assertion.revoked")
            let b = fed.runtimes[LocalFederation.hospitalB]!
            #expect(try await b.store.read { try $0.signOuts(now: Date()) }[claims.jti] == claims.exp)
        }
    }

    @Test("a privacy officer cannot review her own emergency access")
    func selfReviewOfEmergency() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let officer = try fed.client("privacy.hospital-b", at: LocalFederation.hospitalB)
            try await officer.signIn(purpose: "ETREAT", reason: "called to the ward, chart needed")
            try await officer.signOut()
            try await officer.signIn(purpose: "HOPERAT")
            let own = try #require(try await officer.emergencies().first)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await officer.reviewEmergency(own.id, note: "fine") }
            #expect(refused == "exchange.forbidden")
            #expect(try await officer.emergencies().count == 1, "still awaiting another reviewer")
        }
    }

    @Test("a revoked organisation-specific permit does not mask the patient's general opt-out (end to end)")
    func revokedScopedConsentDoesNotMaskOptOut() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let entry = try await fileAtA(fed, ccd, patient: patientA)
            _ = try await patientStates(fed, .deny, patient: patientA)
            let (patient, permitB) = try await patientStates(fed, .permit, organization: LocalFederation.hospitalB, patient: patientA)
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn()
            #expect(try await nurseB.retrieve([entry.uniqueId]).1.count == 1, "the permit for B is in force")
            _ = try await patient.revokeConsent(permitB.directive.id, patient: patientA)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) { _ = try await nurseB.retrieve([entry.uniqueId]) }
            #expect(refused == "exchange.forbidden", "the general opt-out applies again")
        }
    }

    @Test("the access report sees a GetDocuments by id, and an event naming several patients is found under each")
    func accessReportMisses() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let entry = try await fileAtA(fed, ccd, patient: patientA)
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn()
            #expect(try await nurseB.query(.getDocuments(uniqueIds: [entry.uniqueId])).count == 1)
            // At the registry and at B, the GetDocuments names the patient (under the global id the registry holds).
            let global = entry.patientId.description
            for node in [LocalFederation.regional, LocalFederation.hospitalB] {
                let events = try await fed.runtimes[node]!.store.read { try $0.auditMessages(AuditFilter(patient: global)) }
                #expect(events.contains { $0.message.eventTypes.first?.code == (node == LocalFederation.regional ? "registry.query" : "user.query") }, "\(node)")
            }
            let patient = try fed.client(LocalFederation.patientCard, at: LocalFederation.hospitalA)
            try await patient.signIn(purpose: "PATRQT")
            let report = try await patient.accessReport(of: patientA)
            #expect(report.entries.contains { $0.node == LocalFederation.hospitalB && $0.action == "user.query" && $0.who.contains("clinician.hospital-b") })
            // One event about two patients is found under each.
            let a = fed.runtimes[LocalFederation.hospitalA]!
            let first = PatientIdentifier(id: "A-1", authority: LocalFederation.domainA), second = PatientIdentifier(id: "A-2", authority: LocalFederation.domainA)
            let message = AuditMessage(
                eventID: .query, eventTypes: [AuditCode("test.two-patients", system: "caduceus-operation", display: "test")], action: .execute, outcome: .success,
                time: Date(), sourceID: LocalFederation.hospitalA, participants: [AuditParticipant(userID: "tester", isRequestor: true)],
                objects: [.patient(first.description), .patient(second.description)])
            _ = try await a.store.write { tx in try tx.appendAudit([message]) }
            for p in [first, second] {
                let found = try await a.store.read { try $0.auditMessages(AuditFilter(patient: p.description)) }
                #expect(found.contains { $0.message.eventTypes.first?.code == "test.two-patients" }, "\(p.id)")
            }
        }
    }

    @Test("metrics keep a bounded number of series whatever paths and codes a scanner sends")
    func metricsLabelsBounded() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let client = try transport(fed, as: nodeB)
            for i in 0..<300 {
                _ = try? await client.post(fed.endpoint(LocalFederation.regional), path: "/v1/scan/\(i)/x", envelope: [0x30, 0x00])
            }
            let text = String(decoding: try await client.get(fed.endpoint(LocalFederation.regional), path: "/metrics"), as: UTF8.self)
            let series = text.split(separator: "\n").filter { $0.hasPrefix("caduceus_requests_total{") }
            #expect(series.count < 40, "\(series.count) series")
            #expect(!text.contains("/v1/scan/"))
        }
    }
}
