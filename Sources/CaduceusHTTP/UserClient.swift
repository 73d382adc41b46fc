package import CaduceusExchange
package import CaduceusStorage
package import CaduceusPKI
package import CaduceusDocuments
package import X509
import CaduceusCore
package import CaduceusPolicy
import Foundation
import Synchronization

/// A person (signed in with their card credential) talking to their node: requests are envelopes signed with the
/// card's key and encrypted to the node; replies are opened with the card's key and must be signed by that node.
package struct UserClient: Sendable {
    let credential: Credential
    let transport: PeerClient
    let trust: @Sendable () -> ChainValidator
    /// The node's id, endpoint and certificate.
    package let nodeId: String
    let endpoint: String
    let nodeCertificate: Certificate
    let session = Session()

    /// The current sign-in assertion.
    final class Session: Sendable {
        let token = Mutex<String?>(nil)
    }

    /// A client for `credential` at node `nodeId`.
    package init(credential: Credential, nodeId: String, endpoint: String, nodeCertificate: Certificate, anchorsPEM: String, validator: @escaping @Sendable () -> ChainValidator) throws {
        self.credential = credential
        self.nodeId = nodeId
        self.endpoint = endpoint
        self.nodeCertificate = nodeCertificate
        self.trust = validator
        self.transport = try PeerClient(credential: credential, anchorsPEM: anchorsPEM, validator: validator)
    }

    /// Sends one request and opens the reply.
    package func call(_ operation: ExchangeOperation, body: some Encodable, documents: [MIMEPart] = []) async throws -> OpenedEnvelope {
        let audience = FederationIdentity(credential.certificate)?.commonName ?? ""
        let message = ExchangeMessage(
            header: EnvelopeHeader(operation: operation, audience: nodeId, requestId: UUID().uuidString.lowercased(), issuedAt: Date(), body: try JSONEncoder.wire.encode(body), assertion: session.token.withLock { $0 }),
            documents: documents)
        let sealed = try Envelope.seal(message, from: credential, to: nodeCertificate, now: Date())
        let answer = try await transport.post(endpoint, path: operation.path, envelope: sealed)
        let opened = try await Envelope.open(answer, as: audience, credential: credential, validator: trust(), expecting: operation, now: Date())
        guard opened.identity.kind == .node, opened.identity.commonName == nodeId, opened.message.header.requestId == message.header.requestId else {
            throw ExchangeError(.signerRejected, "the reply is not signed by the node that was asked, or answers another request")
        }
        return opened
    }

    /// Signs in at the node with the card (the request's signature is the proof of possession) for a purpose of use;
    /// later requests carry the signed assertion. ETREAT (break-glass) needs a reason.
    @discardableResult
    package func signIn(purpose: String = "TREAT", reason: String? = nil) async throws -> SignInResponse {
        let response = try await call(.signIn, body: SignInRequest(purpose: purpose, reason: reason)).message.decodeBody(SignInResponse.self)
        session.token.withLock { $0 = response.assertion }
        return response
    }

    /// Signs out: the node refuses the assertion from now on.
    package func signOut() async throws {
        _ = try await call(.signOut, body: ["signOut": true])
    }

    /// Uses an assertion obtained elsewhere (another node's sign-in).
    package func use(assertion: String?) { session.token.withLock { $0 = assertion } }

    /// Provide-and-register.
    package func submit(_ documents: [MIMEPart], patient: PatientIdentifier, confidentiality: String? = nil, replaces: String? = nil) async throws -> [DocumentEntry] {
        try await call(.submit, body: SubmitRequest(patient: patient, confidentiality: confidentiality, replaces: replaces), documents: documents)
            .message.decodeBody(EntriesResponse.self).entries
    }

    /// A stored query.
    package func query(_ query: StoredQuery) async throws -> [DocumentEntry] {
        try await call(.userQuery, body: query).message.decodeBody(EntriesResponse.self).entries
    }

    /// Patients by demographics.
    package func findPatients(_ request: FindPatientsRequest) async throws -> [PatientMatch] {
        try await call(.userFindPatients, body: request).message.decodeBody([PatientMatch].self)
    }

    /// Documents by unique id, from wherever they are held.
    package func retrieve(_ uniqueIds: [String]) async throws -> (RetrieveResponse, [MIMEPart]) {
        let opened = try await call(.userRetrieve, body: RetrieveRequest(uniqueIds: uniqueIds))
        return (try opened.message.decodeBody(RetrieveResponse.self), opened.message.documents)
    }

    /// Push documents held at this node to another node; returns its signed receipt.
    package func transfer(_ uniqueIds: [String], to nodeId: String, reason: String) async throws -> TransferReceipt {
        try await call(.userTransfer, body: TransferRequest(to: nodeId, uniqueIds: uniqueIds, reason: reason)).message.decodeBody(TransferReceipt.self)
    }

    /// States a consent directive, signed with this card, at the node (which has the regional registry record it).
    package func stateConsent(_ directive: ConsentDirective) async throws -> ConsentRecord {
        let statement = try CompactJWS.sign(json: directive, type: ConsentStatement.directiveType, by: credential)
        return try await call(.userConsent, body: ConsentStatement(statement: statement)).message.decodeBody(ConsentRecord.self)
    }

    /// Revokes a consent directive, by a revocation signed with this card.
    package func revokeConsent(_ consentId: String, patient: PatientIdentifier) async throws -> ConsentRecord {
        let revocation = ConsentRevocation(consentId: consentId, patient: patient.description, issuedAt: Date())
        let statement = try CompactJWS.sign(json: revocation, type: ConsentStatement.revocationType, by: credential)
        return try await call(.userConsent, body: ConsentStatement(statement: statement)).message.decodeBody(ConsentRecord.self)
    }

    /// A patient's consents as the regional registry holds them.
    package func consents(of patient: PatientIdentifier) async throws -> ConsentsResponse {
        try await call(.userConsents, body: ConsentQuery(patient: patient)).message.decodeBody(ConsentsResponse.self)
    }

    /// A patient's access report across the federation (the patient's own, or any for an access-report reader).
    package func accessReport(of patient: PatientIdentifier) async throws -> AccessReport {
        try await call(.userAccessReport, body: AccessReportRequest(patient: patient)).message.decodeBody(AccessReport.self)
    }

    /// The node's break-glass review queue (a privacy officer).
    package func emergencies(unreviewedOnly: Bool = true) async throws -> [EmergencyAccess] {
        try await call(.userEmergencies, body: EmergencyQueueRequest(unreviewedOnly: unreviewedOnly)).message.decodeBody([EmergencyAccess].self)
    }

    /// Records the review of an emergency access at the node (a privacy officer).
    package func reviewEmergency(_ id: String, note: String) async throws -> EmergencyAccess {
        try await call(.userEmergencyReview, body: EmergencyReviewRequest(id: id, note: note)).message.decodeBody(EmergencyAccess.self)
    }

    /// A search of the node's audit trail (a privacy officer); `export` records it as an export.
    package func auditSearch(_ request: AuditSearchRequest, export: Bool = false) async throws -> AuditSearchResponse {
        try await call(export ? .userAuditExport : .userAuditSearch, body: request).message.decodeBody(AuditSearchResponse.self)
    }

    // MARK: - Personnel and card stations

    /// Imports an HR export (CSV) into the node's personnel registry (a personnel administrator).
    package func importStaff(csv: String) async throws -> StaffImportResponse {
        try await call(.staffImport, body: StaffImportRequest(csv: csv)).message.decodeBody(StaffImportResponse.self)
    }

    /// The node's personnel registry.
    package func staff(includeInactive: Bool = false) async throws -> [StaffMember] {
        try await call(.staffList, body: StaffListRequest(includeInactive: includeInactive)).message.decodeBody([StaffMember].self)
    }

    /// Enrols a staff member or a patient for a card (a card officer).
    package func enrollCard(_ request: CardEnrollRequest) async throws -> CardRecord {
        try await call(.cardEnroll, body: request).message.decodeBody(CardRecord.self)
    }

    /// A move of a card's lifecycle (approve: a card approver; the rest: a card officer).
    package func cardAction(_ card: String, _ action: CardLifecycle.Action, csr: String? = nil) async throws -> CardActionResponse {
        try await call(.cardAction, body: CardActionRequest(card: card, action: action, csr: csr)).message.decodeBody(CardActionResponse.self)
    }

    /// The node's card registry (or one card, or one staff member's cards).
    /// The registry entry of the card this client presents (nil: this node's registry does not hold it).
    package func ownCard() async throws -> CardRecord? {
        try await call(.userCard, body: [String: String]()).message.decodeBody(OwnCardResponse.self).record
    }

    package func cards(_ request: CardListRequest = CardListRequest()) async throws -> [CardRecord] {
        try await call(.cardList, body: request).message.decodeBody([CardRecord].self)
    }

    // MARK: - Admin station

    /// The hospital's entities and the federation's infrastructure as the node sees them (a personnel administrator).
    package func adminOverview(probeHealth: Bool = true) async throws -> AdminOverview {
        try await call(.adminOverview, body: AdminOverviewRequest(probeHealth: probeHealth)).message.decodeBody(AdminOverview.self)
    }

    /// The node's code tables (and the versions of one).
    package func codeTables(history: CodeTableName? = nil) async throws -> CodeTablesResponse {
        try await call(.adminCodes, body: CodeTablesRequest(history: history)).message.decodeBody(CodeTablesResponse.self)
    }

    /// Saves a new version of a code table, made from version `base`.
    package func saveCodeTable(_ request: CodeTableSaveRequest) async throws -> CodeTableVersion {
        try await call(.adminCodesSave, body: request).message.decodeBody(CodeTableVersion.self)
    }

    // MARK: - Patients, the MPI's review queue, transfers

    /// Searches the hospital's patient registry, or opens one patient with the regional MPI's links.
    package func adminPatients(_ request: AdminPatientsRequest) async throws -> AdminPatientsResponse {
        try await call(.adminPatients, body: request).message.decodeBody(AdminPatientsResponse.self)
    }

    /// The regional MPI's possible matches involving this hospital's patients.
    package func mpiReview() async throws -> [MPIReviewItem] {
        try await call(.adminMPIReview, body: MPIReviewRequest()).message.decodeBody([MPIReviewItem].self)
    }

    /// Accepts or rejects one possible match at the regional MPI.
    package func mpiDecide(_ review: Int64, _ decision: MPIDecisionRequest.Decision) async throws -> MPIDecisionResponse {
        try await call(.adminMPIDecide, body: MPIDecisionRequest(review: review, decision: decision)).message.decodeBody(MPIDecisionResponse.self)
    }

    /// The transfers the hospital received (the inbox) and sent.
    package func transfers() async throws -> TransfersResponse {
        try await call(.userTransfers, body: TransfersRequest()).message.decodeBody(TransfersResponse.self)
    }

    /// Accepts a received transfer (under the patient the MPI links, or the hospital's patient `localId`).
    package func acceptTransfer(_ id: String, localId: String? = nil) async throws -> InboxTransfer {
        try await call(.userTransferAccept, body: TransferAcceptRequest(transfer: id, localId: localId)).message.decodeBody(InboxTransfer.self)
    }
}
