import CaduceusApp
import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPKI
import CaduceusPolicy
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

// Consent from the portal (issue 14): the browser uses the card for TLS only, so the patient's home node attests
// what she asked for, and the regional registry takes that attestation from her home node alone. Each attack below
// fails if the registry, or a node, lets another party speak for a patient. The attacks on the regional registry run
// without audit shipping (the regional node's trail then holds only what the attack did).

/// The consents the regional registry holds for the demo patient (as she reads them, with the statements).
func consentsOnFile(_ fed: LocalFederation, _ patient: PatientIdentifier) async throws -> [ConsentRecord] {
    let reader = try fed.client(LocalFederation.patientCard, at: LocalFederation.regional)
    try await reader.signIn(purpose: "PATRQT")
    return try await reader.consents(of: patient).consents
}

/// Signs in at `node`'s portal door with `card`; returns the session's assertion.
func portalSignIn(_ fed: LocalFederation, _ card: Credential, at node: String, purpose: String) async throws -> String {
    let signed = try await fed.runtimes[node]!.node.portal(.signIn, body: SignInRequest(purpose: purpose), assertion: nil, client: card.certificate, presented: [card.certificate] + card.chain)
    return try signed.decodeBody(SignInResponse.self).assertion
}

/// A directive as the portal's form sends it (the node sets id, patient and time).
func formDirective(_ decision: ConsentDirective.Decision, organization: String? = nil, classCode: String? = nil, patient: String = "") -> ConsentDirective {
    ConsentDirective(id: "", patient: patient, decision: decision, organization: organization, classCode: classCode, validFrom: Date().addingTimeInterval(-60), issuedAt: Date(timeIntervalSince1970: 0))
}

@Suite("Attacks: consent made at the portal", .serialized)
struct ConsentAttackTests {
    @Test("a patient opts out of hospital B at her home portal: the node attests it, the registry records it under her card, B's next request is refused; she withdraws it and B may read again")
    func portalConsentTakesEffect() async throws {
        try await withSeededFederation { fed, ccd, _, patientA in
            let physicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physicianA.signIn()
            let entry = try await physicianA.submit([MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)[0]
            let nurseB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await nurseB.signIn()
            #expect(try await nurseB.retrieve([entry.uniqueId]).1.count == 1)

            let a = fed.runtimes[LocalFederation.hospitalA]!.node
            let card = fed.users[LocalFederation.patientCard]!
            let presented = [card.certificate] + card.chain
            let assertion = try await portalSignIn(fed, card, at: LocalFederation.hospitalA, purpose: "PATRQT")
            // The form names another patient; the node states it for the card's own record whatever the form says.
            let other = PatientIdentifier(id: "A-99999", authority: LocalFederation.domainA)
            let reply = try await a.portal(
                .userConsent, body: ConsentRequest(directive: formDirective(.deny, organization: LocalFederation.hospitalB, patient: other.description)),
                assertion: assertion, client: card.certificate, presented: presented)
            let record = try reply.decodeBody(ConsentRecord.self)
            #expect(record.attestedBy == LocalFederation.hospitalA && record.signedBy == DemoData.mrnA && record.recordedAt == LocalFederation.hospitalA)
            #expect(record.directive.patient == patientA.description, "the node fixes the patient to the card's own identifier")
            #expect(!record.directive.id.isEmpty && abs(record.directive.issuedAt.timeIntervalSinceNow) < 600, "the node fixes the id and time")

            // What the registry holds is the node's signed attestation, naming her card and her portal session.
            let held = try #require(try await consentsOnFile(fed, patientA).first { $0.directive.id == record.directive.id })
            let verified = try await CompactJWS.verify(try #require(held.statement), domain: "consent", validator: fed.trust.validator(), now: Date())
            #expect(verified.type == ConsentStatement.attestedType && verified.signer?.commonName == LocalFederation.hospitalA && verified.signer?.kind == .node)
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let attested = try decoder.decode(AttestedConsent.self, from: verified.payload)
            let cardDER = Data(try card.certificate.derBytes()).base64EncodedString()
            #expect(attested.door == "portal" && attested.card.first == cardDER)
            let claims = try await SignedAssertion.verify(assertion, audience: ExchangeNode.federationAudience, validator: fed.trust.validator(), now: Date())
            #expect(claims.jti == attested.session, "the attestation names the session it was made in")

            // B's next request follows it.
            let blocked = await refusal { _ = try await nurseB.retrieve([entry.uniqueId]) }
            #expect(blocked?.code == "exchange.forbidden" && blocked?.message.contains("consent.opt-out") == true, "\(String(describing: blocked))")

            // She withdraws it at the portal: sharing follows the default again.
            let withdrawn = try await a.portal(
                .userConsent, body: ConsentRequest(revocation: ConsentRevocation(consentId: record.directive.id, patient: "", issuedAt: Date(timeIntervalSince1970: 0))),
                assertion: assertion, client: card.certificate, presented: presented
            ).decodeBody(ConsentRecord.self)
            #expect(withdrawn.revokedTime != nil && withdrawn.revokedBy == DemoData.mrnA)
            // Withdrawn again (a replayed form): the first revocation stands, and no second alert is raised.
            func alerts() async throws -> Int {
                try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
                    .filter { $0.eventID == .securityAlert && $0.eventTypes.first == .objectSecurityAttributesChanged }.count
            }
            let alertsBefore = try await alerts()
            let again = try await a.portal(
                .userConsent, body: ConsentRequest(revocation: ConsentRevocation(consentId: record.directive.id, patient: "", issuedAt: Date())),
                assertion: assertion, client: card.certificate, presented: presented
            ).decodeBody(ConsentRecord.self)
            #expect(again.revokedTime == withdrawn.revokedTime)
            #expect(try await alerts() == alertsBefore)
            #expect(try await nurseB.retrieve([entry.uniqueId]).1.count == 1)
        }
    }

    @Test("the portal's shortcut is the portal's: an unsigned directive through the API is refused (exchange.bad-request)")
    func unsignedDirectiveThroughTheAPI() async throws {
        try await withSeededFederation { fed, _, _, patientA in
            let patient = try fed.client(LocalFederation.patientCard, at: LocalFederation.hospitalA)
            try await patient.signIn(purpose: "PATRQT")
            let before = try await consentsOnFile(fed, patientA).count
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await patient.call(.userConsent, body: ConsentRequest(directive: formDirective(.deny, patient: patientA.description)))
            }
            #expect(refused == "exchange.bad-request")
            #expect(try await consentsOnFile(fed, patientA).count == before)
        }
    }

    @Test("staff at the portal cannot have the node attest a consent (exchange.forbidden); a patient of A cannot at B's portal (exchange.forbidden)")
    func onlyPatientsAtTheirHomePortal() async throws {
        try await withSeededFederation { fed, _, _, patientA in
            let before = try await consentsOnFile(fed, patientA).count
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let nurse = fed.users["clinician.hospital-b"]!
            let staffAssertion = try await portalSignIn(fed, nurse, at: LocalFederation.hospitalB, purpose: "TREAT")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await b.portal(.userConsent, body: ConsentRequest(directive: formDirective(.deny, patient: patientA.description)), assertion: staffAssertion, client: nurse.certificate, presented: [nurse.certificate] + nurse.chain)
            } == "exchange.forbidden")
            let card = fed.users[LocalFederation.patientCard]!
            let patientAtB = try await portalSignIn(fed, card, at: LocalFederation.hospitalB, purpose: "PATRQT")
            var message: String?
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                do {
                    _ = try await b.portal(.userConsent, body: ConsentRequest(directive: formDirective(.deny)), assertion: patientAtB, client: card.certificate, presented: [card.certificate] + card.chain)
                } catch let e as any CaduceusError { message = e.message; throw e }
            } == "exchange.forbidden")
            #expect(message?.contains("home organisation") == true)
            #expect(try await consentsOnFile(fed, patientA).count == before)
        }
    }

    /// Hospital B's node, holding its own key, attests a consent for hospital A's patient and sends it to the
    /// regional registry itself.
    @Test("hospital B's node attests a consent for A's patient: the registry refuses it (exchange.forbidden), records nothing")
    func otherNodeAttests() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let card = fed.users[LocalFederation.patientCard]!
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let regional = try nodeCredential(fed, LocalFederation.regional).certificate
            let before = try await consentsOnFile(fed, patientA).count
            let forged = try attestation(formDirective(.deny, patient: patientA.description), for: card, by: nodeB)
            let refused = try await attack(fed, auditedAt: LocalFederation.regional) {
                let sealed = try envelope(.registerConsent, to: LocalFederation.regional, body: ConsentStatement(statement: forged), from: nodeB, encryptedTo: regional)
                _ = try await transport(fed, as: nodeB).post(fed.endpoint(LocalFederation.regional), path: ExchangeOperation.registerConsent.path, envelope: sealed)
            }
            #expect(refused == "exchange.forbidden")
            #expect(try await consentsOnFile(fed, patientA).count == before)
        }
    }

    @Test("attestations the registry refuses: for a staff card, signed by a card, from another door, stale, for another registry, relayed by another node, made by the global node, naming a revoked card")
    func attestationsRefused() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let nodeA = try nodeCredential(fed, LocalFederation.hospitalA)
            let regional = try nodeCredential(fed, LocalFederation.regional).certificate
            let patientCard = fed.users[LocalFederation.patientCard]!
            let before = try await consentsOnFile(fed, patientA).count
            func send(_ statement: String) async throws -> String? {
                try await attack(fed, auditedAt: LocalFederation.regional) {
                    let sealed = try envelope(.registerConsent, to: LocalFederation.regional, body: ConsentStatement(statement: statement), from: nodeA, encryptedTo: regional)
                    _ = try await transport(fed, as: nodeA).post(fed.endpoint(LocalFederation.regional), path: ExchangeOperation.registerConsent.path, envelope: sealed)
                }
            }
            // A's node speaking for A's physician (a staff card): only patients' statements are attested.
            let physician = fed.users["clinician.hospital-a"]!
            #expect(try await send(try attestation(formDirective(.deny, patient: patientA.description), for: physician, by: nodeA)) == "exchange.forbidden")
            // The patient's own card signing an "attestation" of herself.
            #expect(try await send(try attestation(formDirective(.deny, patient: patientA.description), for: patientCard, by: patientCard)) == "exchange.forbidden")
            // A door other than the portal.
            #expect(try await send(try attestation(formDirective(.deny, patient: patientA.description), for: patientCard, by: nodeA, door: "envelope")) == "consent.invalid")
            // A directive and a revocation at once.
            #expect(try await send(try attestation(formDirective(.deny, patient: patientA.description), for: patientCard, by: nodeA, alsoRevoking: "x")) == "consent.invalid")
            // Made more than an hour ago; addressed to another registry.
            #expect(try await send(try attestation(formDirective(.deny, patient: patientA.description), for: patientCard, by: nodeA, at: Date().addingTimeInterval(-7200))) == "consent.invalid")
            #expect(try await send(try attestation(formDirective(.deny, patient: patientA.description), for: patientCard, by: nodeA, registry: "node.region-south")) == "consent.invalid")
            // A's genuine attestation relayed by B (it is A's to submit), and the global node attesting for A's patient.
            let nodeB = try nodeCredential(fed, LocalFederation.hospitalB)
            let genuine = try attestation(formDirective(.deny, patient: patientA.description), for: patientCard, by: nodeA)
            #expect(try await attack(fed, auditedAt: LocalFederation.regional) {
                let sealed = try envelope(.registerConsent, to: LocalFederation.regional, body: ConsentStatement(statement: genuine), from: nodeB, encryptedTo: regional)
                _ = try await transport(fed, as: nodeB).post(fed.endpoint(LocalFederation.regional), path: ExchangeOperation.registerConsent.path, envelope: sealed)
            } == "exchange.forbidden")
            let global = try nodeCredential(fed, LocalFederation.global)
            #expect(try await attack(fed, auditedAt: LocalFederation.regional) {
                let forged = try attestation(formDirective(.deny, patient: patientA.description), for: patientCard, by: global)
                let sealed = try envelope(.registerConsent, to: LocalFederation.regional, body: ConsentStatement(statement: forged), from: global, encryptedTo: regional)
                _ = try await transport(fed, as: global).post(fed.endpoint(LocalFederation.regional), path: ExchangeOperation.registerConsent.path, envelope: sealed)
            } == "exchange.forbidden")
            // A card of A's revoked after its session began: it speaks no more.
            let revoked = try patientCardOfA(fed, mrn: DemoData.mrnA)
            try await fed.revoke(serial: revoked.certificate.serialNumber, ca: "hospital-a")
            #expect(try await send(try attestation(formDirective(.deny, patient: patientA.description), for: revoked, by: nodeA)) == "exchange.signer-rejected")
            #expect(try await consentsOnFile(fed, patientA).count == before)
            // The same attestation for the valid card is recorded (the refusals above are the rules, not the path).
            let ok = try attestation(formDirective(.deny, organization: LocalFederation.hospitalB, patient: patientA.description), for: patientCard, by: nodeA)
            let sealed = try envelope(.registerConsent, to: LocalFederation.regional, body: ConsentStatement(statement: ok), from: nodeA, encryptedTo: regional)
            _ = try await transport(fed, as: nodeA).post(fed.endpoint(LocalFederation.regional), path: ExchangeOperation.registerConsent.path, envelope: sealed)
            #expect(try await consentsOnFile(fed, patientA).count == before + 1)
        }
    }

    /// A second patient card for the demo patient at hospital A's CA (her replacement card, say).
    func patientCardOfA(_ fed: LocalFederation, mrn: String) throws -> Credential {
        let store = fed.authorities["hospital-a"]!
        let key = try PrivateKeyMaterial.generate(.p256)
        let cert = try store.issue(
            profile: .patient(email: nil), subject: try federationName(commonName: mrn, organization: LocalFederation.hospitalA, unit: LocalFederation.domainA),
            publicKey: key.publicKey, now: Date())
        return try Credential(key: key, certificate: cert, chain: try store.authority().chain.dropLast().map { $0 })
    }

    /// An attestation as a node would make it (a test may make it with any key).
    func attestation(_ directive: ConsentDirective, for card: Credential, by signer: Credential, door: String = "portal", alsoRevoking: String? = nil, registry: String = LocalFederation.regional, at time: Date = Date()) throws -> String {
        var d = directive
        d.id = UUID().uuidString.lowercased()
        d.issuedAt = Date()
        let revocation = alsoRevoking.map { ConsentRevocation(consentId: $0, patient: d.patient, issuedAt: Date()) }
        let chain = try ([card.certificate] + card.chain).map { Data(try $0.derBytes()).base64EncodedString() }
        let attested = AttestedConsent(directive: d, revocation: revocation, card: chain, door: door, registry: registry, session: "s", attestedAt: time)
        return try CompactJWS.sign(json: attested, type: ConsentStatement.attestedType, by: signer)
    }
}
