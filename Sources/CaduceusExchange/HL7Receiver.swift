import CaduceusHL7
import CaduceusCore
import CaduceusPatientIndex
package import CaduceusStorage
import Foundation
import CaduceusPolicy
import CaduceusAudit
import Synchronization

/// The interface engine use case: one HL7 v2 message in, one ACK (or query response) out.
///
/// - ADT A01/A04/A08/A28/A31 create or update the patient in the registry and feed the MPI; A40 merges (MRG-1 into
///   PID-3); ORU^R01 stores observations. The effect, the encrypted raw message and the ACK commit together, and
///   the ACK is returned only after the commit is durable. A repeated MSH-10 from the same sender (MSH-3 + MSH-4)
///   gets the stored ACK and changes nothing.
/// - QBP^Q23 (PIX) and QBP^Q22 (PDQ) are answered from the MPI.
/// - A rejected message (AR) or one in error (AE) changes nothing but one audit event, which holds codes, never
///   message content.
package final class HL7Receiver: Sendable {
    let store: any CaduceusStore
    let mpi: MPIService
    /// The configuration.
    package let configuration: HL7ReceiverConfiguration
    let counter = Mutex<UInt64>(0)
    let instance = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    /// A receiver over a store and an MPI.
    package init(store: any CaduceusStore, mpi: MPIService, configuration: HL7ReceiverConfiguration) {
        self.store = store
        self.mpi = mpi
        self.configuration = configuration
    }

    struct Failure: Error {
        let outcome: HL7Outcome
    }

    func nextControlID() -> String {
        let n = counter.withLock { c -> UInt64 in
            c += 1
            return c
        }
        return "CAD\(instance)\(n)"
    }

    static func timestamp(_ date: Date) -> String {
        let s = Int(date.timeIntervalSince1970)
        let days = s / 86_400, secs = s % 86_400
        // Civil from days (Howard Hinnant's algorithm), UTC.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func p(_ n: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(n).count)) + String(n) }
        return p(y, 4) + p(m, 2) + p(d, 2) + p(secs / 3600, 2) + p(secs / 60 % 60, 2) + p(secs % 60, 2) + "+0000"
    }

    /// Processes one message from `peer` and returns the bytes of the answer (never throws: every failure is an ACK).
    /// A peer that may not send this message (``HL7Peer``) gets AR `hl7.peer-not-authorized` and one audit record.
    package func receive(_ bytes: [UInt8], from peer: HL7Peer = .inProcess) async -> [UInt8] {
        await receiveAll([bytes], from: peer)[0].bytes
    }

    /// Processes messages from `peer` in order — each exactly as ``receive(_:from:)`` would, with its own outcome,
    /// its own message-log entry and audit record — but commits their units of work together (``CaduceusStore/
    /// writeAll(_:)``): a message sees the effect of every one before it (an ORU^R01 the patient its A01 created
    /// just before), and the batch shares one durable commit. A query waits for the messages before it to commit.
    package func receiveAll(_ messages: [[UInt8]], from peer: HL7Peer = .inProcess) async -> [HL7Answer] {
        var answers: [HL7Answer?] = Array(repeating: nil, count: messages.count)
        var pending: [(index: Int, unit: WriteUnit)] = []
        for (index, bytes) in messages.enumerated() {
            switch stage(bytes, from: peer, now: Date()) {
            case .write(let unit):
                pending.append((index, unit))
            case .query(let run):
                for (i, answer) in await commit(pending) { answers[i] = answer }
                pending = []
                answers[index] = await run()
            }
        }
        for (i, answer) in await commit(pending) { answers[i] = answer }
        return answers.map { $0! }
    }

    /// What one message needs done: a unit of work to commit (with what to answer once it has), or a query to run.
    enum Staged {
        case write(WriteUnit)
        case query(@Sendable () async -> HL7Answer)
    }

    /// A unit of work and how its outcome becomes the answer.
    struct WriteUnit: Sendable {
        let body: @Sendable (any StoreTransaction) throws -> UnitResult
        let finish: @Sendable (Result<UnitResult, any Error>) async -> HL7Answer
    }

    /// What a committed unit returns: the answer, and whether it was fresh (not the stored answer to a repeat).
    struct UnitResult: Sendable {
        let answer: [UInt8]
        let fresh: Bool
    }

    /// Commits the staged units together, in order; rebuilds the MPI once if any failed for a reason other than the
    /// message (the index may hold a change the store does not).
    func commit(_ units: [(index: Int, unit: WriteUnit)]) async -> [(Int, HL7Answer)] {
        guard !units.isEmpty else { return [] }
        let results = await store.writeAll(units.map(\.unit.body))
        let storageFailed = results.contains { result in
            guard case .failure(let error) = result else { return false }
            return !(error is Failure) && !(error is HL7Error)
        }
        if storageFailed { try? await mpi.reload() }
        var answers: [(Int, HL7Answer)] = []
        for (staged, result) in zip(units, results) { answers.append((staged.index, await staged.unit.finish(result))) }
        return answers
    }

    /// Parses and checks one message and stages what it does. Synchronous: nothing here waits for the store.
    func stage(_ bytes: [UInt8], from peer: HL7Peer, now: Date) -> Staged {
        let message: HL7Message
        do {
            message = try HL7Message(parsing: bytes, options: configuration.parseOptions)
        } catch {
            return .write(rejection(HL7AckContext(salvaging: bytes), .rejected([error]), now: now))
        }
        let context = HL7AckContext(message)
        let msh = message.msh
        let version = (try? msh.versionID) ?? ""
        guard configuration.supportedVersions.contains(version) else {
            return .write(rejection(context, .rejected([HL7Error(.unsupportedVersion, "MSH-12 names a version this node does not accept", at: HL7Location(segment: "MSH", field: 12))]), now: now))
        }
        let processing = (try? msh.processingID) ?? ""
        guard configuration.processingIDs.contains(processing) else {
            return .write(rejection(context, .rejected([HL7Error(.unsupportedProcessingID, "MSH-11 names a processing id this node does not accept", at: HL7Location(segment: "MSH", field: 11))]), now: now))
        }
        let code = (try? msh.messageCode) ?? ""
        let event = (try? msh.triggerEvent) ?? ""
        if let refusal = peer.refusal(message, code: code, event: event) {
            return .write(rejection(context, .rejected([HL7Error(.peerNotAuthorized, refusal, at: HL7Location(segment: "MSH", field: 3))]), now: now, peer: peer))
        }
        switch (code, event) {
        case ("ADT", "A01"), ("ADT", "A04"), ("ADT", "A08"), ("ADT", "A28"), ("ADT", "A31"), ("ADT", "A40"), ("ORU", "R01"), ("RDE", "O11"):
            return .write(process(message, context, raw: bytes, now: now, peer: peer))
        case ("QBP", "Q23"):
            return .query { HL7Answer(bytes: await self.query(context, now: now) { try self.pix(message, context) }, kind: .response) }
        case ("QBP", "Q22"):
            return .query { HL7Answer(bytes: await self.query(context, now: now) { try self.pdq(message, context) }, kind: .response) }
        case ("ADT", _), ("ORU", _), ("QBP", _), ("RDE", _):
            return .write(rejection(context, .rejected([HL7Error(.unsupportedMessageType, "MSH-9.2 names a trigger event this node does not process", at: HL7Location(segment: "MSH", field: 9, repetition: 1, component: 2), hl7Code: .unsupportedEvent)]), now: now))
        default:
            return .write(rejection(context, .rejected([HL7Error(.unsupportedMessageType, "MSH-9 names a message type this node does not process", at: HL7Location(segment: "MSH", field: 9, repetition: 1, component: 1))]), now: now))
        }
    }

    /// Registers a patient the node itself enters: `bytes` is an ADT^A04 the node built (the transfer inbox's
    /// "register a new patient", ``TransferInboxService``). It is the unit of work of an EMR's A04 — parse rules, the
    /// code tables, the MPI, the message log, the audit record, and the hook that forwards the identity to the
    /// regional MPI — except that PID-3's identity must be new: one the node holds already is refused in that unit
    /// of work (AE 205 `hl7.duplicate-key`), never updated. Anything but an ADT^A04 is refused (AR).
    package func registerNew(_ bytes: [UInt8]) async -> HL7Answer {
        let now = Date()
        guard let message = try? HL7Message(parsing: bytes, options: configuration.parseOptions),
              (try? message.msh.messageCode) == "ADT", (try? message.msh.triggerEvent) == "A04"
        else {
            let refusal = HL7Error(.unsupportedMessageType, "a registration is one ADT^A04", at: HL7Location(segment: "MSH", field: 9))
            return HL7Answer(bytes: await reject(HL7AckContext(salvaging: bytes), .rejected([refusal]), now: now), kind: .refused)
        }
        let unit = process(message, HL7AckContext(message), raw: bytes, now: now, peer: .inProcess, createOnly: true)
        return await commit([(0, unit)])[0].1
    }

    /// Answers a message that exceeded the transport's size cap (given its first bytes): AR with ERR-3 207, one
    /// audit event, nothing else.
    package func rejectOversized(head: [UInt8]) async -> [UInt8] {
        await reject(HL7AckContext(salvaging: head), .rejected([HL7Error(.limitExceeded, "the message exceeds the size limit of this receiver")]), now: Date())
    }

    /// The sender as MSH-3|MSH-4 say, prefixed by the authenticated peer's name when there is one.
    func sender(_ context: HL7AckContext, peer: HL7Peer = .inProcess) -> String {
        let d = context.dialect.delimiters
        func text(_ f: HL7Field) -> String {
            f.first.components.map { $0.subcomponents.map(\.raw).joined(separator: String(UnicodeScalar(d.subcomponent))) }
                .joined(separator: String(UnicodeScalar(d.component)))
        }
        let declared = text(context.sendingApplication) + "|" + text(context.sendingFacility)
        return peer.name.isEmpty ? declared : peer.name + " " + declared
    }

    func ackBytes(_ context: HL7AckContext, _ outcome: HL7Outcome, now: Date) -> [UInt8] {
        let ack = HL7Acknowledgement.ack(for: context, outcome: outcome, controlID: nextControlID(), timestamp: Self.timestamp(now))
        return (try? ack.encoded()) ?? []
    }

    /// The audit message for an HL7 interaction: the sending application and facility as requestor, this receiver,
    /// the patient by identifier only (CX form), the message type and control id as event type, the ERR codes.
    func auditMessage(_ context: HL7AckContext, event: AuditCode, action: AuditAction, outcome: AuditOutcome, errorCode: String, patient: LocalIdentity?, now: Date, type: String = "", peer: HL7Peer = .inProcess) -> AuditMessage {
        AuditMessage(
            eventID: event, eventTypes: [AuditCode(type.isEmpty ? "hl7" : type, system: "HL7v2", display: "control-id " + String(context.controlID.prefix(64)))],
            action: action, outcome: outcome, time: now, sourceID: configuration.application + "|" + configuration.facility, errorCode: errorCode,
            participants: [
                AuditParticipant(userID: sender(context, peer: peer), isRequestor: true),
                AuditParticipant(userID: configuration.application + "|" + configuration.facility, isRequestor: false),
            ],
            objects: patient.map { [.patient("\($0.id)^^^&\($0.authority)&ISO")] } ?? [])
    }

    /// AR/AE: nothing stored but one audit event with the codes.
    func reject(_ context: HL7AckContext, _ outcome: HL7Outcome, now: Date, peer: HL7Peer = .inProcess) async -> [UInt8] {
        let unit = rejection(context, outcome, now: now, peer: peer)
        let result: Result<UnitResult, any Error>
        do { result = .success(try await store.write(unit.body)) } catch { result = .failure(error) }
        return await unit.finish(result).bytes
    }

    /// AR/AE as a unit of work: its one audit event. The answer is sent even if the audit write fails (best effort).
    func rejection(_ context: HL7AckContext, _ outcome: HL7Outcome, now: Date, peer: HL7Peer = .inProcess) -> WriteUnit {
        let codes = outcome.errors.map(\.code).joined(separator: ",")
        let rejected: Bool
        switch outcome {
        case .rejected: rejected = true
        default: rejected = false
        }
        let message = auditMessage(context, event: rejected ? .securityAlert : .import, action: .create, outcome: .minorFailure, errorCode: codes, patient: nil, now: now, peer: peer)
        let answer = ackBytes(context, outcome, now: now)
        return WriteUnit(
            body: { tx in
                try tx.appendAudit([message])
                return UnitResult(answer: answer, fresh: true)
            },
            finish: { _ in HL7Answer(bytes: answer, kind: .refused) })
    }

    /// An ADT/ORU/RDE message as a unit of work: a repeat (same authenticated sender, same control id, same bytes)
    /// gets the stored answer; the same control id with other content is refused, never silently dropped; otherwise
    /// the effect, the sealed message and ACK, and the audit record commit together.
    ///
    /// With `createOnly` (``registerNew(_:)``), a PID-3 identity the node holds already is refused in the unit of
    /// work (AE 205), never updated.
    func process(_ message: HL7Message, _ context: HL7AckContext, raw: [UInt8], now: Date, peer: HL7Peer, createOnly: Bool = false) -> WriteUnit {
        let sender = sender(context, peer: peer)
        let controlID = context.controlID
        guard !controlID.isEmpty else {
            return rejection(context, .rejected([HL7Error(.requiredFieldMissing, "MSH-10 is required", at: HL7Location(segment: "MSH", field: 10))]), now: now)
        }
        let ack = ackBytes(context, .accepted, now: now)
        let type = ((try? message.msh.messageCode) ?? "") + "^" + ((try? message.msh.triggerEvent) ?? "")
        let prepared: Prepared
        do {
            prepared = try prepare(message, raw: raw, ack: ack)
        } catch let error as HL7Error {
            return rejection(context, .error([error]), now: now, peer: peer)
        } catch {
            return rejection(context, .error([HL7Error(.applicationError, "the message could not be stored; retry")]), now: now)
        }
        let audit = auditMessage(context, event: .patientRecord, action: .create, outcome: .success, errorCode: "", patient: prepared.identity, now: now, type: type, peer: peer)
        return WriteUnit(
            body: { [self] tx in
                if let previous = try tx.loggedMessage(sender: sender, controlID: controlID) {
                    guard previous.raw == raw else { throw Failure(outcome: .rejected([HL7Error(.duplicateControlID, "MSH-10 was used before by this sender for a different message", at: HL7Location(segment: "MSH", field: 10))])) }
                    return UnitResult(answer: previous.ack, fresh: false)
                }
                if createOnly, try tx.patient(prepared.identity) != nil {
                    throw HL7Error(.duplicateKey, "PID-3 names a patient this node holds already", at: HL7Location(segment: "PID", field: 3, repetition: 1, component: 1))
                }
                try apply(prepared, controlID: controlID, tx: tx, now: now)
                try tx.logMessage(sender: sender, controlID: controlID, messageType: type, outcome: "AA", sealed: prepared.message, at: now)
                // The audit record commits with the effect it records.
                try tx.appendAudit([audit])
                return UnitResult(answer: ack, fresh: true)
            },
            finish: { [self] result in
                switch result {
                case .success(let unit):
                    if unit.fresh, let hook = configuration.onPatientStored {
                        switch prepared.effect {
                        case .upsert(let identity, _, _, _, _), .merge(let identity, _, _, _, _): await hook(identity)
                        case .results, .medications: break
                        }
                    }
                    return HL7Answer(bytes: unit.answer, kind: .accepted)
                case .failure(let failure as Failure):
                    return HL7Answer(bytes: await reject(context, failure.outcome, now: now, peer: peer), kind: .refused)
                case .failure(let error as HL7Error):
                    return HL7Answer(bytes: await reject(context, .error([error]), now: now, peer: peer), kind: .refused)
                case .failure:
                    // Storage failed (the MPI was rebuilt by the caller): AE 207, so the sender retries.
                    return HL7Answer(bytes: await reject(context, .error([HL7Error(.applicationError, "the message could not be stored; retry")]), now: now), kind: .refused)
                }
            })
    }

    func query(_ context: HL7AckContext, now: Date, _ body: @escaping @Sendable () throws -> HL7Message) async -> [UInt8] {
        do {
            if let pdp = configuration.queryPolicy {
                let decision = pdp.decide(AccessRequest(role: configuration.queryRole, purpose: .TREAT, confidentiality: .N, consent: .none))
                guard decision.isPermit else {
                    throw HL7Error(.notAuthorized, "the access policy does not permit patient queries from interfaces (\(decision.reasons.joined(separator: ", ")))")
                }
            }
            let response = try body()
            let message = auditMessage(context, event: .query, action: .execute, outcome: .success, errorCode: "", patient: nil, now: now)
            _ = try? await store.write { tx in try tx.appendAudit([message]) }
            return (try? response.encoded()) ?? []
        } catch let error as HL7Error {
            return await reject(context, .error([error]), now: now)
        } catch {
            return await reject(context, .error([HL7Error(.applicationError, "the query could not be answered; retry")]), now: now)
        }
    }
}

/// The answer to one message: its bytes, and what it says.
package struct HL7Answer: Sendable {
    /// What the answer says.
    package enum Kind: Sendable, Hashable {
        /// AA (or CA): the message's effect is committed, or it was a repeat of one that was.
        case accepted
        /// AE or AR (CE or CR): nothing changed but the audit record.
        case refused
        /// A query response (RSP).
        case response
    }

    /// The ER7 bytes.
    package let bytes: [UInt8]
    /// What they say.
    package let kind: Kind
}
