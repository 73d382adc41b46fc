import CaduceusAudit
import CaduceusCore
import CaduceusPolicy
import CaduceusStorage
import Crypto
import Foundation

/// Puts the policy in force on the trail when it first comes into force ("policy.loaded": its version and SHA-256), and a
/// Security Alert "Security Configuration" (DCM 110129) when it differs from the one in force before: a policy change
/// is audited with the old and the new version, whoever made it.
enum PolicyAudit {
    static let loaded = "policy.loaded", changed = "policy.changed"

    /// `version@sha256:…` of the policy as the node holds it (canonical JSON, sorted keys).
    static func fingerprint(_ policy: PolicySet) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return policy.version + "@sha256:" + Hex.encode(SHA256.hash(data: try e.encode(policy)))
    }

    static func record(_ policy: PolicySet, store: any CaduceusStore, node: String, endpoint: String) async throws {
        let current = try fingerprint(policy)
        let previous = try await store.read { r in
            try r.auditMessages(AuditFilter(eventID: AuditCode.applicationActivity.code, limit: 10_000))
                .first { $0.message.eventTypes.first?.code == loaded }?.message.objects.first?.id
        }
        let now = Date()
        func object(_ fingerprint: String) -> AuditObject {
            AuditObject(typeCode: 2, role: 13, idType: AuditCode("policy", system: "caduceus-audit", display: "Access policy version"), id: fingerprint)
        }
        let participants = [AuditParticipant(userID: node, isRequestor: true, networkAccessPoint: endpoint)]
        var messages = [AuditMessage(
            eventID: .applicationActivity, eventTypes: [AuditCode(loaded, system: "caduceus-operation", display: "access policy in force")],
            action: .execute, outcome: .success, time: now, sourceID: node, participants: participants, objects: [object(current)])]
        if let previous, previous != current {
            messages.append(AuditMessage(
                eventID: .securityAlert, eventTypes: [.securityConfiguration, AuditCode(changed, system: "caduceus-operation", display: "access policy changed")],
                action: .update, outcome: .success, time: now, sourceID: node, participants: participants, objects: [object(previous), object(current)]))
        }
        // Recorded when the policy first comes into force and whenever it changes (not at every restart).
        guard previous != current else { return }
        let frozen = messages
        try await store.write { tx in _ = try tx.appendAudit(frozen) }
    }
}
