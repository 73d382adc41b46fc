package import CaduceusPKI

/// Who may call an operation, and which role the answering node must play: the gate's "authorise" step for the
/// caller's kind, checked before any handler runs (the handler then decides on the request itself: the policy, the
/// consent, the namespace). One table, so a new operation cannot forget it: the switch is exhaustive.
package struct OperationRule: Sendable, Equatable {
    /// The certificate kinds that may sign the request.
    package let callers: Set<FederationIdentity.Kind>
    /// The role this node must play to answer; nil: any node answers.
    package let role: NodeRole?
    /// Whether the request must carry a sign-in assertion (a person acting; checked by the handler's `authorize`).
    package let signedIn: Bool
}

extension ExchangeOperation {
    /// The rule of this operation.
    package var rule: OperationRule {
        let node: Set<FederationIdentity.Kind> = [.node], staff: Set<FederationIdentity.Kind> = [.person]
        let people: Set<FederationIdentity.Kind> = [.person, .patient]
        switch self {
        case .registerIdentity, .findPatients, .registerSubmission, .query, .registerConsent, .queryConsents, .auditPosition, .accessReport,
            .mpiReview, .mpiDecide, .mpiLinks:
            return OperationRule(callers: node, role: .regional, signedIn: false)
        case .retrieve, .transfer:
            return OperationRule(callers: node, role: .hospital, signedIn: false)
        case .publishNode:
            return OperationRule(callers: node, role: .global, signedIn: false)
        case .revokeSession, .accessEvents, .publishCRL:
            return OperationRule(callers: node, role: nil, signedIn: false)
        case .submit, .userTransfer, .staffImport, .staffList, .cardEnroll, .cardAction, .cardList, .adminOverview, .adminCodes, .adminCodesSave,
            .adminPatients, .adminMPIReview, .adminMPIDecide, .userTransfers, .userTransferAccept:
            return OperationRule(callers: staff, role: .hospital, signedIn: true)
        case .userFindPatients, .userEmergencies, .userEmergencyReview, .userAuditSearch, .userAuditExport:
            return OperationRule(callers: staff, role: nil, signedIn: true)
        case .userQuery, .userRetrieve:
            // Patients too, on their own record only (the clinical service checks it is theirs).
            return OperationRule(callers: people, role: nil, signedIn: true)
        case .signIn:
            return OperationRule(callers: people, role: nil, signedIn: false)
        case .signOut, .userConsent, .userConsents, .userAccessReport, .userCard:
            return OperationRule(callers: people, role: nil, signedIn: true)
        }
    }
}
