import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPatientIndex
import CaduceusPKI
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

// The admin station's patients section and the medical station's transfer inbox (issue 14), attacked through the
// portal door in process: each is a gate operation, so a card that may not run it is refused with a reason, audited
// once at the node that refused, and nothing changes — not the regional MPI's queue, not the inbox, not the registry.
// A DICOM preview handle used from another session is attacked over HTTPS in PortalBrowserTests.

@Suite("Attacks: patients, the MPI's review queue, the transfer inbox", .serialized)
struct RecordAttackTests {
    static func signIn(_ node: ExchangeNode, _ card: Credential, purpose: String) async throws -> String {
        try await StationAttackTests.signIn(node, card, purpose: purpose)
    }

    /// Hospital B registers a second MRN for the demo patient: the regional MPI queues the pair for review.
    static func duplicateAtB(_ fed: LocalFederation) async throws -> Int64 {
        let b = fed.runtimes[LocalFederation.hospitalB]!
        #expect(String(decoding: await b.hl7!.receive(DemoData.adtA04BDuplicate()), as: UTF8.self).contains("MSA|AA"))
        // The node forwards what its HL7 feed registered to the regional MPI on its own (RegistrationForwarder).
        let deadline = Date().addingTimeInterval(15)
        while try await reviewQueue(fed).isEmpty, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return try #require(try await reviewQueue(fed).first, "the duplicate is queued for review")
    }

    static func reviewQueue(_ fed: LocalFederation) async throws -> [Int64] {
        try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.mpiSnapshot().reviews.map(\.id) }
    }

    @Test(
        "a nurse cannot search the registry, list or decide the MPI's possible matches; refused at her node with a reason, audited once; the queue is unchanged"
    )
    func nurseCannotDecide() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let review = try await Self.duplicateAtB(fed)
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let nurse = fed.users["clinician.hospital-b"]!
            let assertion = try await Self.signIn(b, nurse, purpose: "TREAT")
            let before = try await Self.reviewQueue(fed)
            for (op, body) in [
                (ExchangeOperation.adminMPIDecide, AnyEncodable(MPIDecisionRequest(review: review, decision: .accept))),
                (.adminMPIReview, AnyEncodable(MPIReviewRequest())),
                (.adminPatients, AnyEncodable(AdminPatientsRequest(criteria: Demographics(family: DemoData.family)))),
            ] {
                let refused = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                    _ = try await StationAttackTests.call(b, nurse, assertion, op, body)
                }
                #expect(refused == "exchange.forbidden", "\(op.rawValue)")
            }
            #expect(try await Self.reviewQueue(fed) == before)
        }
    }

    @Test(
        "the regional node decides again: a hospital's administrator cannot decide a possible match of another hospital's patients, and a node cannot forward a decision without an administrator"
    )
    func otherHospitalCannotDecide() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let review = try await Self.duplicateAtB(fed)
            let a = fed.runtimes[LocalFederation.hospitalA]!.node
            let adminA = try fed.issueCard("Administrator A (synthetic)", ca: "hospital-a", role: "administrative")
            let assertion = try await Self.signIn(a, adminA, purpose: "HOPERAT")
            let before = try await Self.reviewQueue(fed)
            // Hospital A's part of the queue is empty: B's duplicate is not A's to see or decide.
            let seen = try await StationAttackTests.call(a, adminA, assertion, .adminMPIReview, MPIReviewRequest())
                .decodeBody([MPIReviewItem].self)
            #expect(seen.isEmpty)
            let refused = try await attack(fed, auditedAt: LocalFederation.hospitalA) {
                _ = try await StationAttackTests.call(
                    a, adminA, assertion, .adminMPIDecide, MPIDecisionRequest(review: review, decision: .accept))
            }
            #expect(refused == "exchange.not-found")
            // Hospital B's node itself, without an administrator's assertion, is refused at the regional node.
            let refusedAtRegion = try await attack(fed, auditedAt: LocalFederation.regional) {
                _ = try await fed.runtimes[LocalFederation.hospitalB]!.node.call(
                    .mpiDecide, to: LocalFederation.regional,
                    body: MPIDecisionRequest(review: review, decision: .accept))
            }
            #expect(refusedAtRegion == "exchange.forbidden")
            #expect(try await Self.reviewQueue(fed) == before)
        }
    }

    @Test(
        "B's administrator accepts the possible match once: the records are one person, the MPI's history names her; a second decision is exchange.not-found"
    )
    func acceptOnce() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let review = try await Self.duplicateAtB(fed)
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let clerk = fed.users["clerk.hospital-b"]!
            let assertion = try await Self.signIn(b, clerk, purpose: "HOPERAT")
            let items = try await StationAttackTests.call(b, clerk, assertion, .adminMPIReview, MPIReviewRequest())
                .decodeBody([MPIReviewItem].self)
            #expect(
                items.contains { $0.id == review && $0.reason == "mpi.review.same-domain" }, "\(items.map(\.reason))")
            let decided = try await StationAttackTests.call(
                b, clerk, assertion, .adminMPIDecide, MPIDecisionRequest(review: review, decision: .accept)
            ).decodeBody(MPIDecisionResponse.self)
            #expect(decided.relinked == 1)
            let opened = try await StationAttackTests.call(
                b, clerk, assertion, .adminPatients,
                AdminPatientsRequest(
                    patient: LocalIdentity(id: DemoData.mrnBDuplicate, authority: LocalFederation.domainB))
            ).decodeBody(AdminPatientsResponse.self)
            let links = try #require(opened.links)
            #expect(
                Set(links.identities.map(\.id)) == [DemoData.mrnA, DemoData.mrnB, DemoData.mrnBDuplicate],
                "PIX for its own patient: every linked identity")
            #expect(
                links.history.contains {
                    $0.actor.contains("administrative") && $0.actor.contains(LocalFederation.hospitalB)
                })
            let again = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await StationAttackTests.call(
                    b, clerk, assertion, .adminMPIDecide, MPIDecisionRequest(review: review, decision: .reject))
            }
            #expect(again == "exchange.not-found")
        }
    }

    /// Hospital A's physician pushes the CCD to hospital B; returns the transfer's id in B's inbox.
    static func transferToB(_ fed: LocalFederation, _ ccd: [UInt8], _ patientA: PatientIdentifier) async throws
        -> String
    {
        let physician = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
        try await physician.signIn()
        let entry = try await physician.submit(
            [MIMEPart(contentType: "text/xml", id: "ccd", body: ccd)], patient: patientA)[0]
        let receipt = try await physician.transfer(
            [entry.uniqueId], to: LocalFederation.hospitalB, reason: "Referral (synthetic)")
        let inbox = try await fed.runtimes[LocalFederation.hospitalB]!.store.read {
            try $0.transfers(.received, limit: 10)
        }
        #expect(inbox.map(\.id) == [receipt.requestId] && inbox[0].sentBy.contains("clinician.hospital-a"))
        let sent = try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.transfers(.sent, limit: 10) }
        #expect(sent.map(\.id) == [receipt.requestId] && sent[0].peer == LocalFederation.hospitalB)
        return receipt.requestId
    }

    @Test(
        "a clinician of another organisation, signed in at this node, cannot see or accept its inbox; refused, audited once; the transfer stays in the inbox"
    )
    func otherOrganisationInbox() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let id = try await Self.transferToB(fed, ccd, patientA)
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let physician = fed.users["clinician.hospital-a"]!
            let assertion = try await Self.signIn(b, physician, purpose: "TREAT")
            #expect(
                try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                    _ = try await StationAttackTests.call(b, physician, assertion, .userTransfers, TransfersRequest())
                } == "exchange.forbidden")
            #expect(
                try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                    _ = try await StationAttackTests.call(
                        b, physician, assertion, .userTransferAccept, TransferAcceptRequest(transfer: id))
                } == "exchange.forbidden")
            #expect(
                try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.transfer(id: id, .received) }?
                    .accepted == nil)
        }
    }

    @Test(
        "B's nurse accepts a transfer under the patient the MPI links; accepting it twice is refused (exchange.invalid-transition), audited once, nothing changes; a patient id B does not hold is refused"
    )
    func acceptTwice() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            let id = try await Self.transferToB(fed, ccd, patientA)
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let nurse = fed.users["clinician.hospital-b"]!
            let assertion = try await Self.signIn(b, nurse, purpose: "TREAT")
            let inbox = try await StationAttackTests.call(b, nurse, assertion, .userTransfers, TransfersRequest())
                .decodeBody(TransfersResponse.self)
            let pending = try #require(inbox.received.first)
            #expect(
                pending.transfer.id == id
                    && pending.linkedPatient == PatientIdentifier(id: DemoData.mrnB, authority: LocalFederation.domainB)
            )
            #expect(pending.transfer.entries.first?.sourcePatientId == patientA, "the patient as the sender named her")
            #expect(
                try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                    _ = try await StationAttackTests.call(
                        b, nurse, assertion, .userTransferAccept,
                        TransferAcceptRequest(transfer: id, localId: "B-00000"))
                } == "exchange.unknown-patient")
            // The MPI links her already: registering her again is refused by the service (the page never offers it).
            let duplicate = NewLocalPatient(mrn: "B-99991", authority: LocalFederation.domainB, family: "DUPLICATE", given: "ATTEMPT", birthDate: "19700101", sex: "F")
            #expect(
                try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                    _ = try await StationAttackTests.call(
                        b, nurse, assertion, .userTransferAccept, TransferAcceptRequest(transfer: id, register: duplicate))
                } == "exchange.patient-exists")
            let accepted = try await StationAttackTests.call(
                b, nurse, assertion, .userTransferAccept, TransferAcceptRequest(transfer: id)
            ).decodeBody(InboxTransfer.self)
            #expect(
                accepted.transfer.accepted?.patient
                    == PatientIdentifier(id: DemoData.mrnB, authority: LocalFederation.domainB))
            let again = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await StationAttackTests.call(
                    b, nurse, assertion, .userTransferAccept,
                    TransferAcceptRequest(transfer: id, localId: DemoData.mrnB))
            }
            #expect(again == "exchange.invalid-transition")
            #expect(
                try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.transfer(id: id, .received) }?
                    .accepted?.by == accepted.transfer.accepted?.by)
        }
    }

    @Test(
        "a transfer whose patient the MPI links to nobody at B: listed without a link, refused without a named patient (exchange.unknown-patient, nothing filed), accepted under the patient the nurse names"
    )
    func noLink() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let id = try await Self.unlinkedTransferToB(fed, mrn: "A-20077")
            let b = fed.runtimes[LocalFederation.hospitalB]!.node
            let nurse = fed.users["clinician.hospital-b"]!
            let assertion = try await Self.signIn(b, nurse, purpose: "TREAT")
            let inbox = try await StationAttackTests.call(b, nurse, assertion, .userTransfers, TransfersRequest())
                .decodeBody(TransfersResponse.self)
            let pending = try #require(inbox.received.first { $0.transfer.id == id })
            #expect(pending.linkedPatient == nil && pending.linkError == nil, "looked up: nobody at B")
            #expect(
                try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                    _ = try await StationAttackTests.call(
                        b, nurse, assertion, .userTransferAccept, TransferAcceptRequest(transfer: id))
                } == "exchange.unknown-patient")
            let accepted = try await StationAttackTests.call(
                b, nurse, assertion, .userTransferAccept, TransferAcceptRequest(transfer: id, localId: DemoData.mrnB)
            ).decodeBody(InboxTransfer.self)
            #expect(
                accepted.transfer.accepted?.patient
                    == PatientIdentifier(id: DemoData.mrnB, authority: LocalFederation.domainB))
        }
    }

    // MARK: - Registering a new patient from the inbox

    /// Hospital A registers a patient B has never seen, registers her with the region, and pushes her CCD to B;
    /// returns the transfer's id in B's inbox.
    static func unlinkedTransferToB(_ fed: LocalFederation, mrn: String = "A-20078") async throws -> String {
        let a = fed.runtimes[LocalFederation.hospitalA]!
        let adt = Array(
            ([
                "MSH|^~\\&|EMR|HOSPA|CADUCEUS|HOSPA|20261120090000||ADT^A04^ADT_A01|ADT-\(mrn)|P|2.5.1",
                "EVN|A04|20261120090000",
                "PID|1||\(mrn)^^^HOSPA&\(LocalFederation.domainA)&ISO^MR||MERIDEW^ODALYS||19880704|F|||9 SYNTHETIC ROW^^HALVERTON^WY^82001^USA",
            ].joined(separator: "\r") + "\r").utf8)
        #expect(String(decoding: await a.hl7!.receive(adt), as: UTF8.self).contains("MSA|AA"))
        let other = LocalIdentity(id: mrn, authority: LocalFederation.domainA)
        _ = try await a.node.registerWithRegion(other)
        let ccd = try await CCDComposer.compose(
            for: other, store: a.store, nodeId: LocalFederation.hospitalA, organization: "Hospital A (synthetic)", now: Date())
        return try await transferToB(fed, ccd, PatientIdentifier(id: other.id, authority: other.authority))
    }

    @Test(
        "no local patient linked: B's nurse is offered the patient as the CCD's header names her, registers her under a new MRN (an ADT^A04 through B's HL7 feed), and the transfer is filed under her; the regional MPI links her to A's patient"
    )
    func registerAndAccept() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let id = try await Self.unlinkedTransferToB(fed)
            let b = fed.runtimes[LocalFederation.hospitalB]!
            let nurse = fed.users["clinician.hospital-b"]!
            let assertion = try await Self.signIn(b.node, nurse, purpose: "TREAT")
            let inbox = try await StationAttackTests.call(b.node, nurse, assertion, .userTransfers, TransfersRequest())
                .decodeBody(TransfersResponse.self)
            let pending = try #require(inbox.received.first { $0.transfer.id == id })
            let proposal = try #require(pending.registration, "offered a registration")
            #expect(
                proposal == NewLocalPatient(
                    authority: LocalFederation.domainB, family: "MERIDEW", given: "ODALYS", birthDate: "19880704", sex: "F"))
            var typed = proposal
            typed.mrn = "B-30078"
            let accepted = try await StationAttackTests.call(
                b.node, nurse, assertion, .userTransferAccept, TransferAcceptRequest(transfer: id, register: typed)
            ).decodeBody(InboxTransfer.self)
            let newcomer = PatientIdentifier(id: "B-30078", authority: LocalFederation.domainB)
            #expect(accepted.transfer.accepted?.patient == newcomer)
            #expect(try await b.store.read { try $0.transfer(id: id, .received) }?.accepted?.patient == newcomer)
            let stored = try #require(try await b.store.read { try $0.patient(LocalIdentity(id: newcomer.id, authority: newcomer.authority)) })
            #expect(stored.demographics.family == "MERIDEW" && stored.demographics.birthDate == "19880704" && stored.demographics.sex == "F")
            // Through the feed: the message log holds the A04 the node built, naming the nurse as operator.
            let logged = try await b.store.read { try $0.messages(limit: 10) }
            let a04 = try #require(logged.first { String(decoding: $0.raw.unsafeValue, as: UTF8.self).contains("CADUCEUS-INBOX") })
            #expect(String(decoding: a04.raw.unsafeValue, as: UTF8.self).contains("ADT^A04"))
            // The node's forwarder registers her with the regional MPI, which links her to A's record of her.
            let deadline = Date().addingTimeInterval(15)
            var linked: [LocalIdentity] = []
            while !linked.contains(LocalIdentity(id: newcomer.id, authority: newcomer.authority)), Date() < deadline {
                let links = try await b.node.call(
                    .mpiLinks, to: LocalFederation.regional,
                    body: MPILinksRequest(identity: LocalIdentity(id: newcomer.id, authority: newcomer.authority)))
                linked = (try? links.message.decodeBody(MPILinks.self).identities) ?? []
                if !linked.contains(LocalIdentity(id: "A-20078", authority: LocalFederation.domainA)) {
                    linked = []
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(linked.contains(LocalIdentity(id: "A-20078", authority: LocalFederation.domainA)), "\(linked)")
        }
    }

    @Test("a double submit of the registration form (two MRNs at once): one acceptance registers one patient; the other is refused (exchange.invalid-transition)")
    func doubleSubmit() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let id = try await Self.unlinkedTransferToB(fed)
            let b = fed.runtimes[LocalFederation.hospitalB]!
            let nurse = fed.users["clinician.hospital-b"]!
            let assertion = try await Self.signIn(b.node, nurse, purpose: "TREAT")
            let patientsBefore = try await b.store.read { try $0.patients(limit: 100) }.count
            func submit(_ mrn: String) async -> String? {
                let p = NewLocalPatient(mrn: mrn, authority: LocalFederation.domainB, family: "MERIDEW", given: "ODALYS", birthDate: "19880704", sex: "F")
                return await code {
                    _ = try await StationAttackTests.call(b.node, nurse, assertion, .userTransferAccept, TransferAcceptRequest(transfer: id, register: p))
                }
            }
            async let first = submit("B-40001")
            async let second = submit("B-40002")
            let outcomes = await [first, second]
            #expect(outcomes.filter { $0 == nil }.count == 1 && outcomes.contains("exchange.invalid-transition"), "\(outcomes)")
            #expect(try await b.store.read { try $0.patients(limit: 100) }.count == patientsBefore + 1, "one patient registered")
        }
    }

    @Test(
        "registering from the inbox is refused, audited once, with nothing stored: an MRN another patient holds (exchange.patient-exists), no name, a role the policy does not let register (a pharmacist), another organisation's clinician; a sex outside B's code table is refused by the feed's rules"
    )
    func registerRefusals() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, _ in
            let id = try await Self.unlinkedTransferToB(fed)
            let b = fed.runtimes[LocalFederation.hospitalB]!
            let nurse = fed.users["clinician.hospital-b"]!
            let assertion = try await Self.signIn(b.node, nurse, purpose: "TREAT")
            let patientsBefore = try await b.store.read { try $0.patients(limit: 100) }.count
            func register(_ card: Credential, _ assertion: String, _ p: NewLocalPatient) async throws {
                _ = try await StationAttackTests.call(b.node, card, assertion, .userTransferAccept, TransferAcceptRequest(transfer: id, register: p))
            }
            let taken = NewLocalPatient(mrn: DemoData.mrnB, family: "MERIDEW", given: "ODALYS", birthDate: "19880704", sex: "F")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { try await register(nurse, assertion, taken) } == "exchange.patient-exists")
            #expect(try await b.store.read { try $0.patient(LocalIdentity(id: DemoData.mrnB, authority: LocalFederation.domainB)) }?.demographics.family == DemoData.family, "the other patient is untouched")
            let nameless = NewLocalPatient(mrn: "B-30079", family: " ", given: "")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { try await register(nurse, assertion, nameless) } == "exchange.bad-request")
            let fresh = NewLocalPatient(mrn: "B-30079", family: "MERIDEW", given: "ODALYS", birthDate: "19880704", sex: "F")
            let pharmacist = try fed.issueCard("Pharmacist (synthetic)", ca: "hospital-b", role: "pharmacist")
            let pharmacistAssertion = try await Self.signIn(b.node, pharmacist, purpose: "TREAT")
            let seen = try await StationAttackTests.call(b.node, pharmacist, pharmacistAssertion, .userTransfers, TransfersRequest())
                .decodeBody(TransfersResponse.self)
            #expect(seen.received.first { $0.transfer.id == id }?.registration == nil, "no registration offered to a role that may not register")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { try await register(pharmacist, pharmacistAssertion, fresh) } == "exchange.forbidden")
            let physicianA = fed.users["clinician.hospital-a"]!
            let assertionA = try await Self.signIn(b.node, physicianA, purpose: "TREAT")
            #expect(try await attack(fed, auditedAt: LocalFederation.hospitalB) { try await register(physicianA, assertionA, fresh) } == "exchange.forbidden")
            // The feed's own rules: B's administrative sex table holds no F. Refused by the receiver (its AE is
            // audited as an HL7 message, the operation's failure by the gate).
            try await saveTable(fed, at: LocalFederation.hospitalB, .administrativeSex, ["M", "U"])
            #expect(await code { try await register(nurse, assertion, fresh) } == "exchange.unknown-code")
            #expect(try await b.store.read { try $0.patients(limit: 100) }.count == patientsBefore, "nobody registered")
            #expect(try await b.store.read { try $0.transfer(id: id, .received) }?.accepted == nil)
        }
    }
}
