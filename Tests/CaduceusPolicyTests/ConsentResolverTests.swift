import CaduceusPolicy
import Foundation
import Testing

@Suite("Consent resolution")
struct ConsentResolverTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let patient = "G-1^^^&2.16.840.1.113883.19.99&ISO"

    func record(_ decision: ConsentDirective.Decision, org: String? = nil, doc: String? = nil, cls: String? = nil, issued: TimeInterval = -100, from: TimeInterval = -1000, until: TimeInterval? = nil, revoked: Bool = false) -> ConsentRecord {
        let d = ConsentDirective(
            id: UUID().uuidString, patient: patient, decision: decision, organization: org, documentId: doc, classCode: cls,
            validFrom: now.addingTimeInterval(from), validUntil: until.map { now.addingTimeInterval($0) }, issuedAt: now.addingTimeInterval(issued))
        return ConsentRecord(directive: d, patientId: patient, signedBy: "p", recordedAt: "n", recordedTime: now.addingTimeInterval(issued), revokedTime: revoked ? now : nil)
    }

    func state(_ records: [ConsentRecord], org: String = "node.b", doc: String = "2.25.1", cls: String = "34133-9") -> ConsentState {
        ConsentResolver.state(records, organization: org, documentId: doc, classCode: cls, at: now)
    }

    @Test("each consent state arises from the records that should produce it")
    func states() {
        #expect(state([]) == ConsentState.none)
        #expect(state([record(.permit)]) == .optIn)
        #expect(state([record(.deny)]) == .optOut)
        #expect(state([record(.permit, until: -1)]) == .expired)
        #expect(state([record(.permit, revoked: true)]) == .revoked)
        #expect(state([record(.deny, revoked: true)]) == ConsentState.none, "revoking an opt-out restores the default")
        #expect(state([record(.permit, from: 100)]) == ConsentState.none, "a consent not yet valid is ignored")
        #expect(state([record(.permit), record(.deny, doc: "2.25.1")]) == .documentDeny)
        #expect(state([record(.permit), record(.deny, cls: "34133-9")]) == .documentDeny)
    }

    @Test("scope: other documents, classes and organisations are untouched; the organisation's own directive wins; the latest statement wins")
    func scope() {
        #expect(state([record(.permit), record(.deny, doc: "2.25.2")]) == .optIn)
        #expect(state([record(.permit), record(.deny, cls: "18748-4")]) == .optIn)
        #expect(state([record(.deny, org: "node.c")]) == ConsentState.none)
        #expect(state([record(.deny, org: "node.c", doc: "2.25.1")]) == ConsentState.none)
        #expect(state([record(.deny, doc: "2.25.1", revoked: true)]) == ConsentState.none)
        #expect(state([record(.deny, doc: "2.25.1", until: -5)]) == ConsentState.none, "a lapsed withholding no longer withholds")
        #expect(state([record(.deny, issued: -200), record(.permit, issued: -100)]) == .optIn)
        #expect(state([record(.permit, issued: -200), record(.deny, issued: -100)]) == .optOut)
        #expect(state([record(.deny, org: "node.b", issued: -200), record(.permit, issued: -100)]) == .optOut, "an organisation-specific directive is more specific")
    }

    @Test("directives are validated before they are recorded")
    func validation() {
        var d = record(.deny).directive
        #expect(throws: Never.self) { try d.validate() }
        d.validUntil = d.validFrom
        #expect((try? d.validate()) == nil)
        let specificPermit = record(.permit, doc: "2.25.1").directive
        #expect(throws: PolicyError.self) { try specificPermit.validate() }
        var noId = record(.deny).directive
        noId.id = ""
        #expect(throws: PolicyError.self) { try noId.validate() }
    }
}
