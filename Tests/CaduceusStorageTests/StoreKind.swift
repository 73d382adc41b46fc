import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusStorageSQLite
import CaduceusTestSupport
import Foundation
import Testing

/// The adapters the conformance suite holds to one contract. A PostgreSQL adapter adds a case here (and a way to
/// make an empty database in ``make()``); every test then runs against it too.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case memory

    var testDescription: String { rawValue }

    /// A fresh, empty store (with whatever must outlive the test, such as its directory).
    func make(nodeKey: NodeKey = NodeKey(bytes: Data(repeating: 7, count: 32))) throws -> StoreUnderTest {
        switch self {
        case .sqlite:
            let dir = try TemporaryDirectory()
            return StoreUnderTest(store: try SQLiteStore(path: dir.file("conformance.sqlite"), nodeKey: nodeKey), keepAlive: dir)
        case .memory:
            return StoreUnderTest(store: try InMemoryStore(nodeKey: nodeKey), keepAlive: nil)
        }
    }
}

/// A store under test and what must live as long as it.
struct StoreUnderTest: Sendable {
    let store: any CaduceusStore
    let keepAlive: TemporaryDirectory?

    var cipher: PHICipher { store.cipher }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T { try await store.write(body) }
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T { try await store.read(body) }
}

/// The code of the coded error `body` throws; nil when it succeeds, "uncoded" for any other error.
func code(_ body: () async throws -> Void) async -> String? {
    do { try await body(); return nil } catch let e as any CaduceusError { return e.code } catch { return "uncoded" }
}

/// An error no adapter throws: a body's own failure.
struct BodyFailed: Error, Equatable {}

// MARK: - Sample data (synthetic)

let authority = "2.25.1"
let t0 = Date(timeIntervalSince1970: 1_700_000_000)

func identity(_ id: String, _ authority: String = authority) -> LocalIdentity { LocalIdentity(id: id, authority: authority) }

func patientRecord(_ id: String, family: String = "Synthetic", control: String = "MSG1") -> PatientRecord {
    PatientRecord(
        identity: identity(id), identifiers: [identity(id)], demographics: Demographics(family: family, given: "Test", birthDate: "19800101", sex: "F"),
        otherNames: ["Alias^Test"], contacts: [.init(name: "Kin^Test", relationship: "SPO", role: "C", phone: "555-0100")],
        insurance: [.init(plan: "P1", company: "Synthetic Mutual", policyNumber: "POL-1", groupNumber: "G-1")], primaryCareProvider: "Dr^Synthetic",
        lastMessageControlID: control)
}

func observation(_ code: String, value: String = "1") -> Observation {
    Observation(code: code, codeSystem: "LN", text: "Synthetic \(code)", valueType: "NM", values: [value], units: "mg/dL", status: "F", observedAt: "20240101", orderCode: "ORD")
}

func documentEntry(_ i: Int, patient: PatientIdentifier, cls: String = "Summary", type: String = "34133-9", conf: String = "N", day: Double = 0, hash: String? = nil) -> DocumentEntry {
    DocumentEntry(
        entryUUID: "urn:uuid:e\(i)", uniqueId: "2.25.\(i)", patientId: patient, sourcePatientId: patient,
        classCode: Code(cls, scheme: "s"), typeCode: Code(type, scheme: "2.16.840.1.113883.6.1"), confidentialityCode: Code(conf, scheme: "2.16.840.1.113883.5.25"),
        formatCode: Code("f", scheme: "s"), mimeType: "text/xml", hash: hash ?? String(format: "%064x", i), size: 10 + i,
        creationTime: t0.addingTimeInterval(day * 86400), title: "Synthetic \(i)", repositoryId: "node.a")
}

func submission(_ id: String, _ patient: PatientIdentifier, _ entries: [DocumentEntry]) -> SubmissionSet {
    SubmissionSet(uniqueId: id, sourceId: "node.a", submissionTime: t0, patientId: patient, entries: entries)
}

func auditMessage(_ event: AuditCode = .query, user: String? = "user.a", patients: [String] = [], documents: [String] = [], at time: Date = t0) -> AuditMessage {
    var participants = [AuditParticipant(userID: "node.a", isRequestor: false)]
    if let user { participants.append(AuditParticipant(userID: user, isRequestor: true)) }
    return AuditMessage(
        eventID: event, action: .read, outcome: .success, time: time, sourceID: "node.a", participants: participants,
        objects: patients.map(AuditObject.patient) + documents.map(AuditObject.document))
}
