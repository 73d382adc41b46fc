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
            let a = fed.runtimes[LocalFederation.hospitalA]!
            let adt = Array(
                ([
                    "MSH|^~\\&|EMR|HOSPA|CADUCEUS|HOSPA|20261120090000||ADT^A04^ADT_A01|A-ADT-77|P|2.5.1",
                    "EVN|A04|20261120090000",
                    "PID|1||A-20077^^^HOSPA&\(LocalFederation.domainA)&ISO^MR||MERIDEW^ODALYS||19880704|F|||9 SYNTHETIC ROW^^HALVERTON^WY^82001^USA",
                ].joined(separator: "\r") + "\r").utf8)
            #expect(String(decoding: await a.hl7!.receive(adt), as: UTF8.self).contains("MSA|AA"))
            let other = LocalIdentity(id: "A-20077", authority: LocalFederation.domainA)
            _ = try await a.node.registerWithRegion(other)
            let ccd = try await CCDComposer.compose(
                for: other, store: a.store, nodeId: LocalFederation.hospitalA, organization: "Hospital A (synthetic)",
                now: Date())
            let id = try await Self.transferToB(fed, ccd, PatientIdentifier(id: other.id, authority: other.authority))
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
}
