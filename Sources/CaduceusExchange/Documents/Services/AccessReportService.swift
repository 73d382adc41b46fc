import CaduceusPKI
import CaduceusStorage
import CaduceusDocuments
import CaduceusCore
import X509
import CaduceusCMS
import CaduceusAudit
import CaduceusPolicy
import CaduceusPatientIndex
import Foundation
import Synchronization

// The patient access report across the federation. Each node's trail names patients only by that node's pseudonym,
// so no single store can join them: the regional node, which links every identifier of a person in its MPI, asks
// every node of the directory for the events naming any of them (each node computes its own pseudonyms), and merges.

/// The patient access report across the federation: the regional node gathers every node's events naming any identifier linked to the patient.
struct AccessReportService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    /// `user.accessreport`: the patient for themselves (by the identifier on their card), or a role the policy names
    /// as an access-report reader.
    func userAccessReport(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        _ = try await core.authorize(o, allowPatients: true)
        let request = try o.message.decodeBody(AccessReportRequest.self)
        o.audit.patient(request.patient)
        _ = try core.consentService.requireOwnRecord(o, request.patient, or: core.policy.policy.accessReportReaders ?? [])
        if core.configuration.roles.contains(.regional) { return try core.reply(o, try await federatedReport(request.patient)) }
        let opened = try await core.call(.accessReport, to: core.configuration.regionalNode, body: request)
        return try core.reply(o, try opened.message.decodeBody(AccessReport.self))
    }

    func accessReport(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let request = try o.message.decodeBody(AccessReportRequest.self)
        o.audit.patient(request.patient)
        return try core.reply(o, try await federatedReport(request.patient))
    }

    /// Only the node's own regional node may gather its events for a report.
    func accessEvents(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        guard o.identity.commonName == core.configuration.regionalNode else {
            throw ExchangeError(.forbidden, "only this node's regional node gathers access reports")
        }
        let request = try o.message.decodeBody(AccessEventsRequest.self)
        guard request.identifiers.count <= 100 else { throw ExchangeError(.badRequest, "at most 100 identifiers per request") }
        for p in request.identifiers { o.audit.patient(p) }
        return try core.reply(o, try await localAccessEntries(request.identifiers))
    }

    /// This node's events naming any of `identifiers`, oldest first.
    func localAccessEntries(_ identifiers: [PatientIdentifier]) async throws -> [AccessReportEntry] {
        let node = core.id
        return try await core.store.read { r in
            var seen = Set<UInt64>()
            var entries: [(UInt64, AccessReportEntry)] = []
            for p in identifiers {
                for (sequence, m) in try r.auditMessages(AuditFilter(patient: p.description, limit: 10_000)) where seen.insert(sequence).inserted {
                    let requestor = m.participants.first { $0.isRequestor }
                    entries.append((sequence, AccessReportEntry(
                        time: m.time, node: node, who: requestor?.userID ?? "unknown", role: requestor?.roles.first?.code ?? "",
                        purpose: m.purposeOfUse, action: m.eventTypes.first?.code ?? m.eventID.display, event: m.eventID.code,
                        outcome: m.outcome == .success ? "ok" : (m.errorCode.isEmpty ? "failed" : m.errorCode), emergency: m.emergency,
                        documents: m.objects.filter { $0.typeCode == 2 && $0.role == 3 }.map(\.id),
                        rules: m.eventTypes.filter { $0.system == "caduceus-policy" }.map(\.code))))
                }
            }
            return entries.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The regional node's report: every identifier the MPI links to the patient, this node's events, and every other
    /// directory node's (nodes that do not answer are listed as unavailable).
    func federatedReport(_ patient: PatientIdentifier) async throws -> AccessReport {
        let mpi = try core.regionalMPIService.regionalMPI()
        let global = try core.regionalMPIService.globalPatient(patient)
        let locals = mpi.read { index in index.members(of: global.id).compactMap { index.identity(of: $0) } }
        let identifiers = [global] + locals.map { PatientIdentifier(id: $0.id, authority: $0.authority) }
        var entries = try await localAccessEntries(identifiers)
        var unavailable: [String] = []
        let listed = await core.otherNodes()
        if listed == nil { unavailable.append("directory") }
        let others = listed ?? []
        await withTaskGroup(of: (String, [AccessReportEntry]?).self) { group in
            for node in others {
                group.addTask {
                    let opened = try? await core.call(.accessEvents, to: node, body: AccessEventsRequest(identifiers: identifiers))
                    return (node, opened.flatMap { try? $0.message.decodeBody([AccessReportEntry].self) })
                }
            }
            for await (node, answer) in group {
                if let answer { entries += answer } else { unavailable.append(node) }
            }
        }
        entries.sort { ($0.time, $0.node) < ($1.time, $1.node) }
        return AccessReport(patientId: global, entries: entries, unavailable: unavailable.sorted())
    }
}
