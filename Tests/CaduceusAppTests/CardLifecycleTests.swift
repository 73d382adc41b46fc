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
import X509

/// The personnel registry and the card station at hospital B, against the running federation: every move of a card
/// takes effect at every node at once (no restart), and every step is on B's trail.
@Suite("Cards: personnel registry and card lifecycle", .serialized)
struct CardLifecycleTests {
    static let hrExport = """
        Employee ID,Last Name,First Name,Department,Role,Email,Status\r
        E100,Okafor,Ngozi,Emergency,nurse,ngozi.okafor@hospital-b.caduceus.test,Active\r
        E101,"Lindqvist, Jr",Per,Cardiology,physician;researcher,per.lindqvist@hospital-b.caduceus.test,Active\r
        E102,Haddad,Samir,Radiology,physician,samir.haddad@hospital-b.caduceus.test,Terminated\r

        """

    /// The clerk (card officer) and a second administrator (the approver), signed in at B for operations.
    static func station(_ fed: LocalFederation) async throws -> (officer: UserClient, approver: UserClient) {
        let officer = try fed.client("clerk.hospital-b", at: LocalFederation.hospitalB)
        try await officer.signIn(purpose: "HOPERAT")
        let admin = try fed.issueCard("Admin Two (synthetic)", ca: "hospital-b", role: "administrative")
        let approver = try fed.client(card: admin, at: LocalFederation.hospitalB)
        try await approver.signIn(purpose: "HOPERAT")
        return (officer, approver)
    }

    /// Signs in with `card` at `node` over a new connection (its handshake sees the node's lists as they are now).
    static func signInCode(_ fed: LocalFederation, _ card: Credential, at node: String) async -> String? {
        await code { _ = try await fed.client(card: card, at: node).signIn() }
    }

    static func open(_ issued: IssuedCard?) throws -> Credential {
        let issued = try #require(issued)
        return try PKCS12.importCredential(Array(try #require(issued.pkcs12)), password: Sensitive(try #require(issued.password)))
    }

    /// Audit events of `operation` at B after `head`.
    static func trail(_ fed: LocalFederation, after head: UInt64) async throws -> [AuditMessage] {
        try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.auditMessages(AuditFilter(limit: 1000)) }.filter { $0.sequence > head }.map(\.message)
    }

    @Test("HR import, enrol, four-eyes approval, issue, block → refused everywhere, unblock → accepted, lost → old refused and replacement accepted, terminate → refused for good; each step audited")
    func staffCardLifecycle() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (officer, approver) = try await Self.station(fed)
            let head = try await auditHead(fed, LocalFederation.hospitalB)
            let imported = try await officer.importStaff(csv: Self.hrExport)
            #expect(imported == StaffImportResponse(added: 3, updated: 0, unchanged: 0, deactivated: 0, cardsTerminated: 0))
            #expect(try await officer.staff().map(\.id) == ["E100", "E101"], "active staff only")
            #expect(try await officer.staff(includeInactive: true).first { $0.id == "E101" }?.family == "Lindqvist, Jr")
            #expect(try await officer.importStaff(csv: Self.hrExport).unchanged == 3, "the same file again changes nothing")

            // Enrolment: a registry role only, never for a terminated affiliation.
            #expect(await code { _ = try await officer.enrollCard(CardEnrollRequest(staffId: "E100", role: "physician")) } == "exchange.bad-request")
            #expect(await code { _ = try await officer.enrollCard(CardEnrollRequest(staffId: "E102", role: "physician")) } == "exchange.forbidden")
            #expect(await code { _ = try await officer.enrollCard(CardEnrollRequest(staffId: "E999", role: "nurse")) } == "exchange.not-found")
            #expect(await code { _ = try await officer.cards(CardListRequest(card: "no-such-card")) } == "exchange.not-found")
            #expect(await code { _ = try await officer.cardAction("no-such-card", .block) } == "exchange.not-found")
            let enrolled = try await officer.enrollCard(CardEnrollRequest(staffId: "E100", role: "nurse"))
            #expect(enrolled.status == .requested && enrolled.commonName == "Ngozi Okafor")
            #expect(await code { _ = try await officer.enrollCard(CardEnrollRequest(staffId: "E100", role: "nurse")) } == "exchange.invalid-transition", "one live card per holder and role")
            // Four eyes; no issue before approval.
            #expect(await code { _ = try await officer.cardAction(enrolled.id, .approve) } == "exchange.forbidden")
            #expect(await code { _ = try await officer.cardAction(enrolled.id, .issue) } == "exchange.invalid-transition")
            #expect(try await approver.cardAction(enrolled.id, .approve).card.status == .approved)
            let issued = try await officer.cardAction(enrolled.id, .issue)
            #expect(issued.card.status == .issued && issued.card.keyOrigin == "node-generated" && issued.card.serial != nil)
            let card = try Self.open(issued.issued)
            #expect(FederationIdentity(card.certificate)?.role == "nurse" && FederationIdentity(card.certificate)?.organization == LocalFederation.hospitalB)
            for node in [LocalFederation.hospitalA, LocalFederation.regional, LocalFederation.hospitalB] {
                #expect(await Self.signInCode(fed, card, at: node) == nil, "issued: signs in at \(node)")
            }
            // Its holder reads its registry entry ("My card"), matched by serial and issuer; another card reads its own.
            let holder = try fed.client(card: card, at: LocalFederation.hospitalB)
            try await holder.signIn()
            #expect(try await holder.ownCard()?.id == enrolled.id)
            let demoNurse = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await demoNurse.signIn()
            #expect(try await demoNurse.ownCard() == nil, "the demo's card was issued outside the station")

            // Block: refused at every node at once (the answer came after the push); unblock: back.
            #expect(try await officer.cardAction(enrolled.id, .block).card.status == .blocked)
            for node in [LocalFederation.hospitalA, LocalFederation.regional] {
                #expect(await Self.signInCode(fed, card, at: node) != nil, "blocked: refused at \(node)")
            }
            #expect(await code { _ = try await officer.cardAction(enrolled.id, .block) } == "exchange.invalid-transition")
            #expect(try await officer.cardAction(enrolled.id, .unblock).card.status == .issued)
            for node in [LocalFederation.hospitalA, LocalFederation.regional] {
                #expect(await Self.signInCode(fed, card, at: node) == nil, "unblocked: signs in at \(node)")
            }

            // Lost: the old card is refused at once; the replacement is enrolled, approved by a second person, and
            // issued under a new key.
            let lost = try await officer.cardAction(enrolled.id, .lost)
            let replacement = try #require(lost.replacement)
            #expect(lost.card.status == .lost && lost.card.replacedBy == replacement.id && replacement.replaces == enrolled.id && replacement.status == .requested)
            #expect(lost.issued == nil)
            #expect(await code { _ = try await officer.cardAction(replacement.id, .approve) } == "exchange.forbidden")
            _ = try await approver.cardAction(replacement.id, .approve)
            let newCard = try Self.open(try await officer.cardAction(replacement.id, .issue).issued)
            #expect(newCard.certificate.publicKey != card.certificate.publicKey)
            #expect(await Self.signInCode(fed, card, at: LocalFederation.hospitalA) != nil, "lost: refused")
            #expect(await Self.signInCode(fed, newCard, at: LocalFederation.hospitalA) == nil, "replacement: accepted")
            #expect(await code { _ = try await officer.cardAction(enrolled.id, .unblock) } == "exchange.invalid-transition", "a lost card never comes back")

            // Terminate: refused for good, the affiliation ended, no new enrolment.
            #expect(try await officer.cardAction(replacement.id, .terminate).card.status == .terminated)
            #expect(await Self.signInCode(fed, newCard, at: LocalFederation.regional) != nil, "terminated: refused")
            #expect(await code { _ = try await officer.cardAction(replacement.id, .unblock) } == "exchange.invalid-transition")
            #expect(await code { _ = try await officer.enrollCard(CardEnrollRequest(staffId: "E100", role: "nurse")) } == "exchange.forbidden")
            #expect(try await officer.staff(includeInactive: true).first { $0.id == "E100" }?.active == false)
            // A stale HR file still listing her as active does not revive an affiliation ended at the station.
            _ = try await officer.importStaff(csv: Self.hrExport)
            #expect(try await officer.staff(includeInactive: true).first { $0.id == "E100" }?.active == false)
            let hold = try fed.authorities["hospital-b"]!.record(serial: newCard.certificate.serialNumber)
            #expect(hold?.reason == RevocationReason.affiliationChanged.rawValue)

            // Every step is one event at B; credential changes carry a Security Alert (110137).
            let trail = try await Self.trail(fed, after: head)
            let ops = trail.compactMap { m in m.eventTypes.first { $0.system == "caduceus-operation" }?.code }
            // 2 refused + an unknown card + approve, issue, block, refused block, unblock, lost, refused approve, approve, issue, refused unblock, terminate, refused unblock
            #expect(ops.filter { $0 == "card.action" }.count == 15, "\(ops)")
            #expect(ops.filter { $0 == "card.enroll" }.count == 6 && ops.filter { $0 == "staff.import" }.count == 3)
            let alerts = trail.filter { $0.eventTypes.contains { $0.code == "110137" } }
            #expect(alerts.count == 6, "issue, block, unblock, lost, the replacement's issue, terminate: \(alerts.count)")
            let refused = trail.filter { $0.outcome != .success }
            #expect(refused.allSatisfy { !$0.errorCode.isEmpty })
        }
    }

    @Test("renewal with a key the holder made (CSR): the successor works, the old card is superseded; an HR file ending the affiliation revokes the card")
    func renewalAndHRTermination() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let (officer, approver) = try await Self.station(fed)
            _ = try await officer.importStaff(csv: Self.hrExport)
            let enrolled = try await officer.enrollCard(CardEnrollRequest(staffId: "E101", role: "physician"))
            _ = try await approver.cardAction(enrolled.id, .approve)
            func csr() throws -> (PrivateKeyMaterial, String) {
                let key = try PrivateKeyMaterial.generate(.p256)
                let request = try CertificateSigningRequest(version: .v1, subject: try federationName(commonName: "ignored"), privateKey: key.certificateKey, attributes: CertificateSigningRequest.Attributes())
                return (key, try request.serializeAsPEM().pemString)
            }
            let (key1, csr1) = try csr()
            let issued = try await officer.cardAction(enrolled.id, .issue, csr: csr1)
            #expect(issued.card.keyOrigin == "holder" && issued.issued?.pkcs12 == nil && issued.issued?.password == nil)
            let chain1 = try PEM.certificates(fromPEM: try #require(issued.issued?.certificateChain))
            #expect(chain1[0].publicKey == key1.publicKey && FederationIdentity(chain1[0])?.commonName == "Per Lindqvist, Jr", "\(String(describing: FederationIdentity(chain1[0])?.commonName))")
            let card1 = try Credential(key: key1, certificate: chain1[0], chain: Array(chain1.dropFirst()))
            #expect(await Self.signInCode(fed, card1, at: LocalFederation.hospitalA) == nil)
            let (key2, csr2) = try csr()
            let renewal = try await officer.cardAction(enrolled.id, .renew)
            let successor = try #require(renewal.replacement)
            #expect(renewal.card.status == .issued && successor.status == .requested && successor.replaces == enrolled.id)
            #expect(await code { _ = try await officer.cardAction(enrolled.id, .renew) } == "exchange.invalid-transition", "one renewal at a time")
            #expect(await Self.signInCode(fed, card1, at: LocalFederation.hospitalA) == nil, "the old card works until its successor is out")
            _ = try await approver.cardAction(successor.id, .approve)
            // A CSR whose signature does not match its key proves nothing: refused, nothing issued.
            var forged = Array(csr2.utf8)
            forged[forged.count / 2] ^= 0x01
            #expect(await code { _ = try await officer.cardAction(successor.id, .issue, csr: String(decoding: forged, as: UTF8.self)) } != nil)
            let renewed = try await officer.cardAction(successor.id, .issue, csr: csr2)
            #expect(renewed.card.status == .issued)
            #expect(try await officer.cards(CardListRequest(card: enrolled.id)).first?.status == .superseded)
            let chain2 = try PEM.certificates(fromPEM: try #require(renewed.issued?.certificateChain))
            let card2 = try Credential(key: key2, certificate: chain2[0], chain: Array(chain2.dropFirst()))
            #expect(await Self.signInCode(fed, card1, at: LocalFederation.hospitalA) != nil, "superseded: refused")
            #expect(await Self.signInCode(fed, card2, at: LocalFederation.hospitalA) == nil, "renewed: accepted")

            // HR takes the physician role away: the import ends the card in that role.
            let demoted = try await officer.importStaff(csv: Self.hrExport.replacingOccurrences(of: "physician;researcher", with: "researcher"))
            #expect(demoted.cardsTerminated == 1 && demoted.updated == 1 && demoted.deactivated == 0)
            #expect(await Self.signInCode(fed, card2, at: LocalFederation.regional) != nil, "role taken away: refused")
            #expect(try await officer.cards(CardListRequest(staffId: "E101")).map(\.status) == [.superseded, .terminated])
            // HR ends the affiliation: recorded; no live card is left to end.
            let ended = try await officer.importStaff(csv: Self.hrExport.replacingOccurrences(of: "per.lindqvist@hospital-b.caduceus.test,Active", with: "per.lindqvist@hospital-b.caduceus.test,Terminated"))
            #expect(ended.deactivated == 1 && ended.cardsTerminated == 0)
            #expect(await code { _ = try await officer.enrollCard(CardEnrollRequest(staffId: "E101", role: "physician")) } == "exchange.forbidden")
        }
    }

    @Test("a patient card carries the emergency data set from B's HL7 feeds (AL1, RXE, OBX 882-1, NK1), signed by B: it verifies offline (ours and openssl cms), and one changed byte fails")
    func patientCardEmergencyDataSet() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let b = fed.runtimes[LocalFederation.hospitalB]!
            let pid = "PID|1||\(DemoData.mrnB)^^^HOSPB&\(LocalFederation.domainB)&ISO^MR||\(DemoData.family)^\(DemoData.given)||\(DemoData.birthDate)|F"
            let feeds = [
                ["MSH|^~\\&|EMR|HOSPB|CADUCEUS|HOSPB|20261121090000||ADT^A08^ADT_A01|B-A08-1|P|2.5.1", "EVN|A08|20261121090000", pid,
                 "NK1|1|QUILLFEATHER^HAROLD|SPO^Spouse^HL70063||^PRN^PH^^1^307^5550199||C^Emergency Contact^HL70131",
                 "AL1|1|DA|7980^Penicillin G^RXNORM|SV|Anaphylaxis"],
                ["MSH|^~\\&|PHARM|HOSPB|CADUCEUS|HOSPB|20261121100000||RDE^O11^RDE_O11|B-RDE-1|P|2.5.1", pid, "ORC|NW|ORD-B1",
                 "RXE|^BID^^20261121|860975^Metformin 500 MG Oral Tablet^RXNORM|500||mg|TAB|^Take with meals"],
                ["MSH|^~\\&|LAB|HOSPB|CADUCEUS|HOSPB|20261121110000||ORU^R01^ORU_R01|B-ORU-1|P|2.5.1", pid,
                 "OBR|1|ORD-B2|FIL-B2|882-1^ABO and Rh group^LN|||20261121103000|||||||||||||||20261121105500|||F",
                 "OBX|1|CWE|882-1^ABO and Rh group^LN||O Pos||||||F|||20261121103000"],
            ]
            for feed in feeds {
                let ack = String(decoding: await b.hl7!.receive(Array((feed.joined(separator: "\r") + "\r").utf8)), as: UTF8.self)
                #expect(ack.contains("MSA|AA"), "\(ack)")
            }
            let (officer, approver) = try await Self.station(fed)
            let patient = PatientIdentifier(id: DemoData.mrnB, authority: LocalFederation.domainB)
            #expect(await code { _ = try await officer.enrollCard(CardEnrollRequest(patient: PatientIdentifier(id: "B-00000", authority: LocalFederation.domainB))) } == "exchange.unknown-patient")
            let enrolled = try await officer.enrollCard(CardEnrollRequest(patient: patient))
            #expect(enrolled.commonName == DemoData.mrnB, "a patient card names the identifier, never the name")
            _ = try await approver.cardAction(enrolled.id, .approve)
            let issued = try await officer.cardAction(enrolled.id, .issue)
            let card = try Self.open(issued.issued)
            #expect(FederationIdentity(card.certificate)?.kind == .patient)
            // The patient signs in with the new card (for herself).
            #expect(await code { _ = try await fed.client(card: card, at: LocalFederation.hospitalB).signIn(purpose: "PATRQT") } == nil)

            let signed = Array(try #require(issued.issued?.emergencyDataSet))
            let root = try PEM.certificates(fromFile: fed.base + "/root.pem")
            let offline = ChainValidator(anchors: root)
            let set = try await EmergencyDataSet.verify(signed, validator: offline, now: Date())
            #expect(set.patient == patient.description && set.issuer == LocalFederation.hospitalB && set.cardSerial == issued.card.serial)
            #expect(set.allergies.map(\.text) == ["Penicillin G"] && set.allergies.first?.severity == "SV")
            #expect(set.medications.map(\.code) == ["860975"])
            #expect(set.bloodType == "O Pos")
            #expect(set.contacts.first?.name.contains("HAROLD") == true)
            // Tied to its card: verified with the card, refused with another card, refused after the card's end.
            _ = try await EmergencyDataSet.verify(signed, validator: offline, now: Date(), card: card.certificate)
            await #expect(throws: ExchangeError(.badRequest, "")) { _ = try await EmergencyDataSet.verify(signed, validator: offline, now: Date(), card: fed.users[LocalFederation.patientCard]!.certificate) }
            #expect(set.expires == card.certificate.notValidAfter)
            await #expect(throws: ExchangeError(.badRequest, "")) { _ = try await EmergencyDataSet.verify(signed, validator: offline, now: card.certificate.notValidAfter.addingTimeInterval(60)) }
            // openssl, default mode, with the federation root only.
            let dir = try TemporaryDirectory()
            try Data(signed).write(to: URL(fileURLWithPath: dir.file("eds.p7s")))
            let verified = try ProcessRunner.openssl(["cms", "-verify", "-inform", "DER", "-in", dir.file("eds.p7s"), "-CAfile", fed.base + "/root.pem"])
            #expect(verified.ok, "\(verified.stderr)")
            #expect(verified.text.contains("\"bloodType\":\"O Pos\""))
            // One changed byte anywhere in the content fails.
            let content = Array("\"bloodType\":\"O Pos\"".utf8)
            let at = try #require(signed.firstRange(of: content))
            var tampered = signed
            tampered[at.lowerBound + 14] = UInt8(ascii: "A")
            await #expect(throws: (any Error).self) { _ = try await EmergencyDataSet.verify(tampered, validator: offline, now: Date()) }
            try Data(tampered).write(to: URL(fileURLWithPath: dir.file("tampered.p7s")))
            #expect(!(try ProcessRunner.openssl(["cms", "-verify", "-inform", "DER", "-in", dir.file("tampered.p7s"), "-CAfile", fed.base + "/root.pem"])).ok)
            // A set signed by someone else than the node it names is refused.
            var other = set
            other.issuer = LocalFederation.hospitalA
            let resigned = try other.signed(by: try nodeCredential(fed, LocalFederation.hospitalB), at: Date())
            await #expect(throws: ExchangeError(.signerRejected, "")) { _ = try await EmergencyDataSet.verify(resigned, validator: offline, now: Date()) }
        }
    }
}
