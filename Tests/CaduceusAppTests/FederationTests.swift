import CaduceusApp
import CaduceusAudit
import Crypto
import CaduceusCMS
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Logging
import Testing
import X509

let quiet: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}()

/// Feeds hospital A (and B) with HL7, registers the patient with the region, and returns A's CCD and DICOM.
func seed(_ fed: LocalFederation) async throws -> (ccd: [UInt8], dicom: [UInt8], patientA: PatientIdentifier) {
    let a = fed.runtimes[LocalFederation.hospitalA]!, b = fed.runtimes[LocalFederation.hospitalB]!
    for message in [DemoData.adtA04(), DemoData.oruR01()] {
        let ack = String(decoding: await a.hl7!.receive(message), as: UTF8.self)
        #expect(ack.contains("MSA|AA"), "\(ack)")
    }
    #expect(String(decoding: await b.hl7!.receive(DemoData.adtA04B()), as: UTF8.self).contains("MSA|AA"))
    let idA = LocalIdentity(id: DemoData.mrnA, authority: LocalFederation.domainA)
    let xA = try await a.node.registerWithRegion(idA)
    let xB = try await b.node.registerWithRegion(LocalIdentity(id: DemoData.mrnB, authority: LocalFederation.domainB))
    #expect(xA == xB, "the regional MPI links the two hospitals' records of one person")
    let ccd = try await CCDComposer.compose(for: idA, store: a.store, nodeId: LocalFederation.hospitalA, organization: "Hospital A (synthetic)", now: Date())
    return (ccd, DemoData.dicom(), PatientIdentifier(id: DemoData.mrnA, authority: LocalFederation.domainA))
}

/// Creates the four-node federation in a temporary directory, runs it, seeds it (HL7 at both hospitals, identities at
/// the region, A's CCD and DICOM), and runs `body`.
func withSeededFederation(shipAudit: Bool = true, _ body: @escaping @Sendable (LocalFederation, _ ccd: [UInt8], _ dicom: [UInt8], _ patientA: PatientIdentifier) async throws -> Void) async throws {
    let dir = try TemporaryDirectory()
    let fed = try await LocalFederation.create(at: dir.path + "/fed", logger: quiet)
    try await fed.run(logger: quiet, shipAudit: shipAudit) { fed in
        let (ccd, dicom, patientA) = try await seed(fed)
        try await body(fed, ccd, dicom, patientA)
    }
    _ = dir
}

/// Every file under `dir`, concatenated (database, WAL, blobs, keys' neighbours…).
func everyByte(under dir: String) -> [UInt8] {
    var out: [UInt8] = []
    let e = FileManager.default.enumerator(atPath: dir)
    while let name = e?.nextObject() as? String {
        var isDir: ObjCBool = false
        let path = dir + "/" + name
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue, let d = FileManager.default.contents(atPath: path) {
            out += Array(d)
        }
    }
    return out
}

func contains(_ haystack: [UInt8], _ needle: String) -> Bool { haystack.firstRange(of: Array(needle.utf8)) != nil }

@Suite("Federation on loopback", .serialized)
struct FederationTests {
    @Test("hospital A publishes, hospital B finds, retrieves byte-identical documents, A transfers with a signed receipt")
    func endToEnd() async throws {
        try await withSeededFederation { fed, ccd, dicom, patientA in
            let clinicianA = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await clinicianA.signIn()
            let registered = try await clinicianA.submit([
                MIMEPart(contentType: "text/xml", id: "ccd", body: ccd),
                MIMEPart(contentType: "application/dicom", id: "cxr", body: dicom),
            ], patient: patientA)
            #expect(registered.count == 2)
            #expect(registered.allSatisfy { $0.repositoryId == LocalFederation.hospitalA && $0.patientId.authority != LocalFederation.domainA })

            let clinicianB = try fed.client("clinician.hospital-b", at: LocalFederation.hospitalB)
            try await clinicianB.signIn()
            let found = try await clinicianB.findPatients(FindPatientsRequest(criteria: Demographics(family: DemoData.family, given: DemoData.given, birthDate: DemoData.birthDate)))
            let patient = try #require(found.first)
            #expect(patient.identities.contains(LocalIdentity(id: DemoData.mrnA, authority: LocalFederation.domainA)))
            let entries = try await clinicianB.query(.findDocuments(.init(patientId: patient.patientId)))
            #expect(Set(entries.map(\.uniqueId)) == Set(registered.map(\.uniqueId)))
            let onlyCCD = try await clinicianB.query(.findDocuments(.init(patientId: patient.patientId, classCodes: ["Summary"])))
            #expect(onlyCCD.count == 1 && onlyCCD[0].mimeType == "text/xml")
            // B's own MRN works too: the registry resolves it through the MPI.
            let viaB = try await clinicianB.query(.findDocuments(.init(patientId: PatientIdentifier(id: DemoData.mrnB, authority: LocalFederation.domainB))))
            #expect(viaB.count == 2)

            let (response, parts) = try await clinicianB.retrieve(entries.map(\.uniqueId))
            let ccdEntry = try #require(entries.first { $0.mimeType == "text/xml" })
            let dicomEntry = try #require(entries.first { $0.mimeType == "application/dicom" })
            #expect(parts.first { $0.contentID == ccdEntry.uniqueId }?.body == ccd, "B's CCD is byte-identical to what A stored")
            #expect(parts.first { $0.contentID == dicomEntry.uniqueId }?.body == dicom)
            #expect(response.servedBy[ccdEntry.uniqueId] == LocalFederation.hospitalA)

            let receipt = try await clinicianA.transfer([ccdEntry.uniqueId], to: LocalFederation.hospitalB, reason: "transfer of care")
            #expect(receipt.receivedBy == LocalFederation.hospitalB)
            #expect(receipt.documents == [TransferReceipt.ReceiptLine(uniqueId: ccdEntry.uniqueId, hash: ccdEntry.hash)])
            let atB = try await fed.runtimes[LocalFederation.hospitalB]!.store.read { r in try r.repositoryCount() }
            #expect(atB == 1)

            // Evidence: every signed envelope received is kept.
            let regional = fed.runtimes[LocalFederation.regional]!
            #expect(try await regional.store.read { r in try r.evidenceCount(operation: "registry.register") } == 1)
            #expect(try await fed.runtimes[LocalFederation.hospitalB]!.store.read { r in try r.evidenceCount(operation: "transfer.push") } == 1)
            #expect(try await regional.store.read { r in try r.repositoryCount() } == 0)
            #expect(try await regional.store.read { r in try r.registryCount() } == 2)

            // The regional node's store holds no document content; hospital A's data holds no PHI in clear.
            let regionalBytes = everyByte(under: fed.base + "/nodes/" + LocalFederation.regional)
            for needle in ["Hemoglobin A1c", "ClinicalDocument", "Chest X-ray", DemoData.family, DemoData.birthDate] {
                #expect(!contains(regionalBytes, needle), "regional store contains \(needle)")
            }
            for node in [LocalFederation.hospitalA, LocalFederation.hospitalB] {
                let bytes = everyByte(under: fed.base + "/nodes/" + node)
                #expect(bytes.count > 10_000)
                for needle in [DemoData.family, DemoData.given, DemoData.birthDate, "Hemoglobin A1c", "Glucose", "LANTERN"] {
                    #expect(!contains(bytes, needle), "\(node) stores \(needle) in clear")
                }
            }
            // A new ADT at hospital A reaches the regional MPI on its own (forwarded after the ACK).
            let ack = String(decoding: await fed.runtimes[LocalFederation.hospitalA]!.hl7!.receive(DemoData.adtA04(mrn: "A-20001", control: "A-ADT-2")), as: UTF8.self)
            #expect(ack.contains("MSA|AA"))
            var forwarded = false
            for _ in 0..<100 where !forwarded {
                forwarded = (try? await clinicianB.query(.findDocuments(.init(patientId: PatientIdentifier(id: "A-20001", authority: LocalFederation.domainA))))) != nil
                if !forwarded { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(forwarded, "the regional MPI learned the new identity")

            // Every operation left an audit message in each node's hash-chained log, naming patients by id only.
            for (id, runtime) in fed.runtimes {
                // No checkpoint is due yet (they come every minute and at shutdown): the chain itself must hold.
                let verdict = try await runtime.store.read { try $0.verifyAuditLog(key: P256.Signing.PrivateKey().publicKey) }
                #expect(verdict.isIntact && verdict.records > 0, "\(id): \(verdict)")
                let bodies = try await runtime.store.read { r -> [UInt8] in
                    var all: [UInt8] = []
                    try r.forEachAuditRecord { all += $0.body; return true }
                    return all
                }
                for needle in [DemoData.family, DemoData.given, DemoData.birthDate, DemoData.mrnA, DemoData.mrnB] { #expect(!contains(bodies, needle), "\(id) audit names \(needle)") }
            }
            let trailA = try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
            let opsA = Set(trailA.compactMap { $0.eventTypes.first?.code })
            #expect(opsA.isSuperset(of: ["user.submit", "repository.retrieve", "user.transfer"]), "\(opsA)")
            let trailRegional = try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.auditMessages(AuditFilter()) }.map(\.message)
            let opsRegional = Set(trailRegional.compactMap { $0.eventTypes.first?.code })
            #expect(opsRegional.isSuperset(of: ["mpi.register", "mpi.pdq", "registry.register", "registry.query"]), "\(opsRegional)")
            let byPatient = try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.auditMessages(AuditFilter(patient: patient.patientId.description)) }
            #expect(byPatient.contains { $0.message.participants.first?.userID == LocalFederation.hospitalB }, "B's query for the patient is on the patient's trail")
            let submit = try #require(trailA.first { $0.eventTypes.first?.code == "user.submit" })
            #expect(submit.participants.first?.userID == "Dr clinician.hospital-a (synthetic)" && submit.outcome == .success)
            #expect(submit.objects.contains { $0.typeCode == 1 && $0.id.hasPrefix("pseudonym:") } && submit.objects.filter { $0.typeCode == 2 }.count == 2)
            let byMRN = try await fed.runtimes[LocalFederation.hospitalA]!.store.read { try $0.auditMessages(AuditFilter(patient: patientA.description)) }
            #expect(byMRN.contains { $0.message.eventTypes.first?.code == "user.submit" }, "found by the patient's id, stored under a pseudonym")

            // Metrics count the operations.
            #expect(fed.runtimes[LocalFederation.hospitalA]!.metrics.exposition().contains("operation=\"/v1/user/submit\",outcome=\"ok\"} 1"))
        }
    }
}
