import CaduceusApp
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPatientIndex
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing

/// Saves `codes` as the next version of `table` in a node's store (as the admin station's save does).
func saveTable(_ fed: LocalFederation, at node: String, _ table: CodeTableName, _ codes: [String]) async throws {
    try await fed.runtimes[node]!.store.write { tx in
        let version = (try tx.codeTable(table)?.version ?? 0) + 1
        try tx.saveCodeTable(CodeTableVersion(
            table: table, version: version, entries: codes.map { CodeTableEntry(code: $0, display: $0) }, changedBy: "Admin (synthetic)",
            changedAt: Date(), note: "test"))
    }
}

/// A new CCD of hospital A's demo patient (a fresh document id each time); with `facility`, its header names the kind
/// of facility (`componentOf/encompassingEncounter/location/healthCareFacility/code`).
func freshCCD(_ fed: LocalFederation, facility: String? = nil) async throws -> [UInt8] {
    let a = fed.runtimes[LocalFederation.hospitalA]!
    let ccd = try await CCDComposer.compose(
        for: LocalIdentity(id: DemoData.mrnA, authority: LocalFederation.domainA), store: a.store, nodeId: LocalFederation.hospitalA,
        organization: "Hospital A (synthetic)", now: Date())
    guard let facility else { return ccd }
    let text = String(decoding: ccd, as: UTF8.self)
    let range = try #require(text.range(of: "<component>"))
    let encounter = """
        <componentOf><encompassingEncounter><effectiveTime value="20261120"/><location><healthCareFacility>\
        <code code="\(facility)" codeSystem="2.16.840.1.113883.5.111"/></healthCareFacility></location></encompassingEncounter></componentOf>
        """
    return Array(text.replacingCharacters(in: range.lowerBound..<range.lowerBound, with: encounter).utf8)
}

@Suite("Code tables in force on the next document", .serialized)
struct CodeTableDocumentTests {
    @Test(
        "at the hospital's repository, each document table refuses a code outside its newest version (exchange.unknown-code naming field and table, nothing stored anywhere, one audit record) and accepts one in it; a table never saved enforces nothing; a new version takes effect on the next document"
    )
    func hospitalTables() async throws {
        try await withSeededFederation(shipAudit: false) { fed, _, _, patientA in
            let a = LocalFederation.hospitalA
            // Never saved: nothing enforced.
            _ = try await fileAtA(fed, try await freshCCD(fed, facility: "HOSP"), patient: patientA)
            let physician = try fed.client("clinician.hospital-a", at: a)
            try await physician.signIn()
            func submit(_ ccd: [UInt8], confidentiality: String? = nil) async throws {
                _ = try await physician.submit([MIMEPart(contentType: "text/xml", id: "doc", body: ccd)], patient: patientA, confidentiality: confidentiality)
            }
            // (table, a version without the document's code, the next version with it, the field the refusal names)
            let cases: [(CodeTableName, [String], [String], String)] = [
                (.documentClass, ["Note"], ["Note", "Summary"], "classCode"),
                (.documentType, ["11506-3"], ["11506-3", "34133-9"], "typeCode"),
                (.confidentiality, ["R", "V"], ["N", "R", "V"], "confidentialityCode"),
                (.facility, ["ER"], ["ER", "HOSP"], "healthcareFacilityTypeCode"),
                (.assigningAuthority, [LocalFederation.domainB], [LocalFederation.domainA, LocalFederation.domainB], "sourcePatientId"),
            ]
            for (table, without, with, field) in cases {
                try await saveTable(fed, at: a, table, without)
                var message = ""
                let refused = try await attack(fed, auditedAt: a) {
                    do { try await submit(try await freshCCD(fed, facility: "HOSP")) } catch let e as any CaduceusError {
                        message = e.message
                        throw e
                    }
                }
                #expect(refused == "exchange.unknown-code", "\(table)")
                #expect(message.contains(field) && message.contains(table.rawValue), "\(message)")
                #expect(!message.contains(DemoData.mrnA) && !message.contains(DemoData.family))
                try await saveTable(fed, at: a, table, with)
                try await submit(try await freshCCD(fed, facility: "HOSP"))
            }
            // A document that names no facility is not checked against the facility table.
            try await saveTable(fed, at: a, .facility, ["ER"])
            try await submit(try await freshCCD(fed))
            // The submitter's confidentiality override is checked too.
            try await saveTable(fed, at: a, .confidentiality, ["N"])
            #expect(try await attack(fed, auditedAt: a) { try await submit(try await freshCCD(fed), confidentiality: "R") } == "exchange.unknown-code")
        }
    }

    @Test(
        "the regional registry checks its own tables in the registration's commit: a submission with a type outside them is refused there, nothing is registered or left in hospital A's repository; a received transfer is checked against the receiving hospital's tables"
    )
    func registryAndTransfer() async throws {
        try await withSeededFederation(shipAudit: false) { fed, ccd, _, patientA in
            try await saveTable(fed, at: LocalFederation.regional, .documentType, ["11506-3"])
            // The submitter's signed envelope is kept at the registry whatever becomes of it (evidence): the
            // repository and the registry are what must not change.
            let before = try await counts(fed)
            let head = try await auditHead(fed, LocalFederation.regional)
            let refused = await code { _ = try await fileAtA(fed, try await freshCCD(fed), patient: patientA) }
            #expect(refused == "exchange.unknown-code")
            let after = try await counts(fed)
            #expect(after.registry == before.registry && after.repositoryA == before.repositoryA)
            let trail = try await fed.runtimes[LocalFederation.regional]!.store.read { try $0.auditMessages(AuditFilter(limit: 10)) }.filter { $0.sequence > head }
            #expect(trail.count == 1 && trail.first?.message.errorCode == "exchange.unknown-code")
            try await saveTable(fed, at: LocalFederation.regional, .documentType, ["11506-3", "34133-9"])
            let entry = try await fileAtA(fed, ccd, patient: patientA)
            // Hospital B's class table lacks the CCD's class: B refuses the transfer, files nothing, keeps no inbox row.
            try await saveTable(fed, at: LocalFederation.hospitalB, .documentClass, ["Note"])
            let physician = try fed.client("clinician.hospital-a", at: LocalFederation.hospitalA)
            try await physician.signIn()
            let refusedAtB = try await attack(fed, auditedAt: LocalFederation.hospitalB) {
                _ = try await physician.transfer([entry.uniqueId], to: LocalFederation.hospitalB, reason: "Referral (synthetic)")
            }
            #expect(refusedAtB == "exchange.unknown-code")
            #expect(try await fed.runtimes[LocalFederation.hospitalB]!.store.read { try $0.transfers(.received, limit: 10) }.isEmpty)
            // B's assigning-authority table does not list A's domain: a transfer names the patient in the sender's
            // domain, and is not refused for it.
            try await saveTable(fed, at: LocalFederation.hospitalB, .documentClass, ["Note", "Summary"])
            try await saveTable(fed, at: LocalFederation.hospitalB, .assigningAuthority, [LocalFederation.domainB])
            let receipt = try await physician.transfer([entry.uniqueId], to: LocalFederation.hospitalB, reason: "Referral (synthetic)")
            #expect(receipt.documents.map(\.uniqueId) == [entry.uniqueId])
        }
    }
}
