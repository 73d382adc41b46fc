import CaduceusAudit
import CaduceusCore
import CaduceusExchange
import CaduceusPolicy
import CaduceusStorage
import Crypto
import Foundation
import X509
import SwiftASN1

/// Puts the security configuration in force on the trail when it first comes into force and whenever it differs at
/// start: the access policy (`policy.loaded`: version and SHA-256 of its canonical JSON) and the node's configuration
/// (`configuration.loaded`: id, roles, endpoints, regional node, directory, HL7 domains, the node certificate's
/// SHA-256). A change also raises a Security Alert "Security Configuration" (DCM 110129) naming the old and the new
/// state (`policy.changed`, `configuration.changed`), whoever made it. Nothing here is PHI or key material.
enum ConfigurationAudit {
    /// `version@sha256:…` of the policy as the node holds it (canonical JSON, sorted keys).
    static func fingerprint(_ policy: PolicySet) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return policy.version + "@sha256:" + Hex.encode(SHA256.hash(data: try e.encode(policy)))
    }

    /// The node's configuration as one line (`key=value;…`).
    static func fingerprint(_ configuration: ExchangeConfiguration, hl7Domains: Set<String>, certificate: Certificate) throws -> String {
        var s = DER.Serializer()
        try s.serialize(certificate)
        return [
            "id=" + configuration.nodeId, "roles=" + configuration.roles.map(\.rawValue).sorted().joined(separator: ","),
            "endpoint=" + configuration.endpoint, "regional=" + configuration.regionalNode, "directory=" + configuration.directoryEndpoint,
            "hl7=" + hl7Domains.sorted().joined(separator: ","), "certificate=sha256:" + Hex.encode(SHA256.hash(data: s.serializedBytes)),
        ].joined(separator: ";")
    }

    static func record(_ policy: PolicySet, configuration: ExchangeConfiguration, hl7Domains: Set<String>, certificate: Certificate, store: any CaduceusStore) async throws {
        try await record("policy", try fingerprint(policy), display: "Access policy version", store: store, node: configuration.nodeId, endpoint: configuration.endpoint)
        try await record("configuration", try fingerprint(configuration, hl7Domains: hl7Domains, certificate: certificate), display: "Node configuration", store: store, node: configuration.nodeId, endpoint: configuration.endpoint)
    }

    static func record(_ kind: String, _ current: String, display: String, store: any CaduceusStore, node: String, endpoint: String) async throws {
        let loaded = kind + ".loaded"
        // These events name a requestor of their own, so the last one is found through the user index, not by
        // reading the node's whole trail at start-up.
        let requestor = kind + "@" + node
        let previous = try await store.read { r in
            try r.auditMessages(AuditFilter(user: requestor, limit: 20))
                .first { $0.message.eventTypes.first?.code == loaded }?.message.objects.first?.id
        }
        // Recorded when it first comes into force and whenever it changes (not at every restart).
        guard previous != current else { return }
        let now = Date()
        func object(_ value: String) -> AuditObject {
            AuditObject(typeCode: 2, role: 13, idType: AuditCode(kind, system: "caduceus-audit", display: display), id: value)
        }
        let participants = [
            AuditParticipant(userID: requestor, roles: [AuditCode("configuration", system: "caduceus-audit", display: "the node's configuration at start")], isRequestor: true),
            AuditParticipant(userID: node, isRequestor: false, networkAccessPoint: endpoint),
        ]
        var messages = [AuditMessage(
            eventID: .applicationActivity, eventTypes: [AuditCode(loaded, system: "caduceus-operation", display: display + " in force")],
            action: .execute, outcome: .success, time: now, sourceID: node, participants: participants, objects: [object(current)])]
        if let previous {
            messages.append(AuditMessage(
                eventID: .securityAlert, eventTypes: [.securityConfiguration, AuditCode(kind + ".changed", system: "caduceus-operation", display: display + " changed")],
                action: .update, outcome: .success, time: now, sourceID: node, participants: participants, objects: [object(previous), object(current)]))
        }
        let frozen = messages
        try await store.write { tx in _ = try tx.appendAudit(frozen) }
    }
}
