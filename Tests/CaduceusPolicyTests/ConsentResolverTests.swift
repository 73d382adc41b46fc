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

    /// The states a general directive can be in, for the decision table below.
    enum Standing: CaseIterable { case absent, permit, deny, revokedPermit, revokedDeny, expiredPermit, expiredDeny }

    func records(_ standing: Standing, org: String?, issued: TimeInterval) -> [ConsentRecord] {
        switch standing {
        case .absent: return []
        case .permit: return [record(.permit, org: org, issued: issued)]
        case .deny: return [record(.deny, org: org, issued: issued)]
        case .revokedPermit: return [record(.permit, org: org, issued: issued, revoked: true)]
        case .revokedDeny: return [record(.deny, org: org, issued: issued, revoked: true)]
        case .expiredPermit: return [record(.permit, org: org, issued: issued, until: -1)]
        case .expiredDeny: return [record(.deny, org: org, issued: issued, until: -1)]
        }
    }

    /// What one directive alone means.
    func alone(_ standing: Standing) -> ConsentState {
        switch standing {
        case .absent, .revokedDeny: return .none
        case .permit: return .optIn
        case .deny: return .optOut
        case .revokedPermit: return .revoked
        case .expiredPermit, .expiredDeny: return .expired
        }
    }

    @Test("decision table: an organisation-scoped directive × a general one, each absent, in force, revoked or lapsed, in either order of issue: a scoped directive in force wins; one that is not never masks a general one in force")
    func scopedOverGeneral() {
        for scoped in Standing.allCases {
            for general in Standing.allCases {
                for scopedIsNewer in [true, false] {
                    let all = records(scoped, org: "node.b", issued: scopedIsNewer ? -50 : -150) + records(general, org: nil, issued: -100)
                    let inForce: (Standing) -> Bool = { $0 == .permit || $0 == .deny }
                    let expected: ConsentState
                    if inForce(scoped) { expected = alone(scoped) }
                    else if inForce(general) { expected = alone(general) }
                    else if scoped != .absent { expected = alone(scoped) }
                    else { expected = alone(general) }
                    #expect(state(all) == expected, "scoped \(scoped), general \(general)")
                }
            }
        }
        // The attack: a revoked or lapsed permit for hospital B must not mask the patient's general opt-out.
        #expect(state([record(.permit, org: "node.b", issued: -50, revoked: true), record(.deny, issued: -100)]) == .optOut)
        #expect(state([record(.permit, org: "node.b", issued: -50, until: -1), record(.deny, issued: -100)]) == .optOut)
        // Several statements in one tier: a lapsed or revoked newer one does not undo an older one still in force.
        #expect(state([record(.permit, issued: -300), record(.deny, org: "node.b", issued: -200), record(.permit, org: "node.b", issued: -100, until: -1)]) == .optOut)
        #expect(state([record(.deny, issued: -200), record(.permit, issued: -100, revoked: true)]) == .optOut)
        #expect(state([record(.deny, org: "node.b", issued: -200, revoked: true), record(.permit, org: "node.b", issued: -100, until: -1)]) == .expired, "nothing in force: the newest says why")
        // Another organisation's directives are no tier of this one's.
        #expect(state([record(.permit, org: "node.c", issued: -50), record(.deny, issued: -100)]) == .optOut)
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
