import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusPKI
import CaduceusPolicy
import CaduceusStorage
import Foundation

/// The privacy officer's search of this node's audit trail (`user.audit.search`, and `user.audit.export` for the
/// same search as a download): filters by patient (looked up by this node's pseudonym of her identifier), user,
/// event id, outcome and time; with `summary`, events and refusals per UTC day for the last 14 days and the recent
/// Security Alerts (integrity alarms marked). Authorised by the same rule as the break-glass review queue: a
/// signed-in person of this node whose functional role the policy names among `emergencyReviewers`. The search is
/// itself one event on the trail (the patient searched, if any, as its object).
struct AuditSearchService: Sendable {
    let core: NodeCore

    /// How many events a summary reads at most (the 14-day chart; beyond it the counts are lower bounds).
    static let summaryScan = 50_000

    func search(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await core.authorize(o)
        try core.requireHome(claims)
        let decision = Self.decide(role: claims.role, reviewers: core.policy.policy.emergencyReviewers ?? [])
        o.audit.decision(decision)
        guard decision.isPermit else {
            throw ExchangeError(.forbidden, "this functional role may not search the audit trail")
        }
        let request = try o.message.decodeBody(AuditSearchRequest.self)
        guard (1...5000).contains(request.limit) else { throw ExchangeError(.badRequest, "a search returns 1 to 5000 events") }
        if let from = request.from, let to = request.to, from >= to { throw ExchangeError(.badRequest, "the time range is empty") }
        if let p = request.patient { o.audit.patient(p) }
        let pseudonym = request.patient.map { core.store.cipher.auditPseudonym($0.description) }
        let now = core.clock.now()
        let filter = AuditFilter(
            patient: pseudonym, user: request.user, eventID: request.eventID, from: request.from, to: request.to,
            limit: request.outcome == nil ? request.limit + 1 : 20_000)
        let (found, scanned, alerts) = try await core.store.read { r in
            let found = try r.auditMessages(filter)
            guard request.summary else { return (found, [(sequence: UInt64, message: AuditMessage)](), [(sequence: UInt64, message: AuditMessage)]()) }
            let scanned = try r.auditMessages(AuditFilter(from: Self.firstDay(now), limit: Self.summaryScan))
            let alerts = try r.auditMessages(AuditFilter(eventID: AuditCode.securityAlert.code, limit: 50))
            return (found, scanned, alerts)
        }
        let matching = found.filter { row in
            switch request.outcome {
            case nil: return true
            case .success?: return row.message.outcome == .success
            case .failure?: return row.message.outcome != .success
            }
        }
        let response = AuditSearchResponse(
            rows: matching.prefix(request.limit).map(Self.row), truncated: matching.count > request.limit, patientPseudonym: pseudonym,
            days: request.summary ? Self.days(scanned.map(\.message), now: now) : [], alerts: alerts.map(Self.row),
            bursts: request.summary ? Self.bursts(scanned.map(\.message)) : nil)
        return try core.reply(o, response)
    }

    /// A burst is this many refusals of one requestor …
    static let burstSize = 5
    /// … within this many seconds.
    static let burstWindow: TimeInterval = 600

    /// Bursts of refusals (any outcome but success, a failed sign-in included) per requestor: a window of
    /// ``burstWindow`` holding at least ``burstSize`` of them, extended while the next refusal falls within the window
    /// of the last; newest first, at most 20.
    static func bursts(_ messages: [AuditMessage]) -> [AuditBurst] {
        var byUser: [String: [AuditMessage]] = [:]
        for m in messages where m.outcome != .success {
            byUser[m.participants.first { $0.isRequestor }?.userID ?? "unknown", default: []].append(m)
        }
        var out: [AuditBurst] = []
        for (user, refusals) in byUser {
            let sorted = refusals.sorted { $0.time < $1.time }
            var start = 0
            while start < sorted.count {
                // The refusals from `start` within the window, then as long as each next one is within the window of
                // the one before it.
                var end = start
                while end + 1 < sorted.count, sorted[end + 1].time.timeIntervalSince(sorted[start].time) <= burstWindow { end += 1 }
                guard end - start + 1 >= burstSize else { start += 1; continue }
                while end + 1 < sorted.count, sorted[end + 1].time.timeIntervalSince(sorted[end].time) <= burstWindow { end += 1 }
                let group = sorted[start...end]
                var tally: [String: Int] = [:]
                for m in group { tally[m.errorCode, default: 0] += 1 }
                // The most frequent code (the alphabetically first of equals, so the answer is stable).
                let codes = tally.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.first?.key ?? ""
                let signIn = group.contains { $0.eventTypes.contains { $0.code == ExchangeOperation.signIn.rawValue } }
                out.append(AuditBurst(user: user, from: group.first!.time, to: group.last!.time, count: group.count, errorCode: codes, signIn: signIn))
                start = end + 1
            }
        }
        return Array(out.sorted { $0.to > $1.to }.prefix(20))
    }

    /// The policy decision: permit only a role the policy names as a reviewer of emergency access (privacy officers).
    static func decide(role: String, reviewers: [String]) -> Decision {
        reviewers.contains(role)
            ? Decision(effect: .permit, reasons: ["audit-search.reviewer-role"], obligations: [])
            : Decision(effect: .deny, reasons: ["audit-search.not-a-reviewer-role"], obligations: [])
    }

    /// Midnight UTC, 13 days before today's.
    static func firstDay(_ now: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(byAdding: .day, value: -13, to: calendar.startOfDay(for: now))!
    }

    /// Events and refusals per UTC day, the 14 days ending today, oldest first (days without events included).
    static func days(_ messages: [AuditMessage], now: Date) -> [AuditDay] {
        let first = firstDay(now)
        var out = (0..<14).map { AuditDay(day: first.addingTimeInterval(Double($0) * 86_400), events: 0, refusals: 0) }
        for m in messages {
            let i = Int(m.time.timeIntervalSince(first) / 86_400)
            guard out.indices.contains(i) else { continue }
            out[i].events += 1
            if m.outcome != .success { out[i].refusals += 1 }
        }
        return out
    }

    static func row(_ entry: (sequence: UInt64, message: AuditMessage)) -> AuditSearchRow {
        let m = entry.message
        let requestor = m.participants.first { $0.isRequestor }
        let integrity = m.eventID.code == AuditCode.securityAlert.code && m.eventTypes.contains { $0.system == "caduceus-audit" }
        // The operation, else a DICOM event type by its display (a Security Alert's "Emergency Override Started"),
        // else the first event type's code (an HL7 message type, an integrity alarm's kind).
        let operation = m.eventTypes.first { $0.system == "caduceus-operation" }?.code
            ?? m.eventTypes.first { $0.system == "DCM" }?.display ?? m.eventTypes.first?.code ?? ""
        return AuditSearchRow(
            sequence: entry.sequence, time: m.time, eventID: m.eventID.code, event: m.eventID.display, operation: operation,
            outcome: m.outcome.rawValue, errorCode: m.errorCode, user: requestor?.userID ?? "", role: requestor?.roles.first?.display ?? "",
            purpose: m.purposeOfUse, emergency: m.emergency,
            patients: m.objects.filter { $0.typeCode == 1 && $0.role == 1 }.map(\.id), integrity: integrity)
    }
}
