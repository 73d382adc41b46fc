import CaduceusHL7
import CaduceusPatientIndex
import Foundation

/// PIX (IHE ITI-9, QBP^Q23 → RSP^K23) and PDQ (IHE ITI-21, QBP^Q22 → RSP^K22) answered from the MPI.
extension HL7Receiver {
    /// Domains a query may name: the configured assigning authorities and the X-PID authority.
    func knownDomains() -> Set<String> { configuration.knownAuthorities.union([mpi.globalAuthority]) }

    /// Domains asked for in `field` of QPD (PIX QPD-4, PDQ QPD-8); nil = all. AE 204 for an unknown one.
    func requestedDomains(_ qpd: QPDSegment, field: Int) throws(HL7Error) -> Set<String>? {
        let reps = qpd.repetitions(field)
        guard !reps.isEmpty else { return nil }
        let known = knownDomains()
        var out = Set<String>()
        for (i, rep) in reps.enumerated() {
            let cx = try rep.cx(qpd.dialect)
            let authority = Self.authority(cx)
            guard known.contains(authority) else {
                throw HL7Error(.unknownKey, "QPD-\(field) names a domain this node does not know", at: HL7Location(segment: "QPD", field: field, repetition: i + 1, component: 4))
            }
            out.insert(authority)
        }
        return out
    }

    func cxRepetition(_ identity: LocalIdentity, _ d: HL7Delimiters) -> HL7Repetition {
        let isOID = identity.authority.first?.isNumber == true && identity.authority.contains(".")
        let hd = isOID ? HD(universalID: identity.authority, universalIDType: "ISO") : HD(namespaceID: identity.authority)
        return CX(id: identity.id, assigningAuthority: hd, identifierTypeCode: "PI").repetition(d)
    }

    func text(_ s: String, _ d: HL7Delimiters) -> HL7Field { HL7Field(HL7Text(value: s, delimiters: d)) }

    func qak(_ tag: String, _ status: String, _ name: HL7Field, _ d: HL7Delimiters, hits: (Int, Int, Int)? = nil) -> HL7Segment {
        var seg = try! HL7Segment(id: "QAK")
        seg[1] = text(tag, d)
        seg[2] = text(status, d)
        seg[3] = name
        if let hits {
            seg[4] = text(String(hits.0), d)
            seg[5] = text(String(hits.1), d)
            seg[6] = text(String(hits.2), d)
        }
        return seg
    }

    func queryResponse(_ context: HL7AckContext, type: String, code: HL7AcknowledgmentCode, errors: [HL7Error], body: [HL7Segment]) -> HL7Message {
        HL7Acknowledgement.response(
            for: context, messageType: ["RSP", type, "RSP_" + type], code: code, errors: errors, controlID: nextControlID(),
            timestamp: Self.timestamp(Date()), body: body)
    }

    func pix(_ message: HL7Message, _ context: HL7AckContext) throws -> HL7Message {
        guard let qpd = message.view(QPDSegment.self) else {
            throw HL7Error(.requiredFieldMissing, "a QPD segment is required", at: HL7Location(segment: "QPD"))
        }
        let d = context.dialect.delimiters
        let tag = try qpd.queryTag
        let name = qpd.segment[1]
        func answer(_ error: HL7Error) -> HL7Message {
            queryResponse(context, type: "K23", code: .applicationError, errors: [error], body: [qak(tag, "AE", name, d), qpd.segment])
        }
        let domains: Set<String>?
        do { domains = try requestedDomains(qpd, field: 4) } catch { return answer(error) }
        guard let rep = qpd.parameter(1).first, case let cx = try rep.cx(qpd.dialect), !cx.id.isEmpty else {
            return answer(HL7Error(.requiredFieldMissing, "QPD-3 is required", at: HL7Location(segment: "QPD", field: 3, repetition: 1, component: 1)))
        }
        let authority = Self.authority(cx)
        guard knownDomains().contains(authority) else {
            return answer(HL7Error(.unknownKey, "QPD-3 names an assigning authority this node does not know", at: HL7Location(segment: "QPD", field: 3, repetition: 1, component: 4)))
        }
        let identity = LocalIdentity(id: cx.id, authority: authority)
        let global = mpi.globalAuthority
        let found: (person: String, identities: [LocalIdentity])?
        if authority == global {
            found = mpi.read { m in
                m.members(of: cx.id).first.flatMap { m.identity(of: $0) }.flatMap { m.crossReferences(of: $0, domains: domains) }
            }
        } else {
            found = mpi.read { $0.crossReferences(of: identity, domains: domains) }
        }
        guard let found else {
            return answer(HL7Error(.unknownKey, "QPD-3 names a patient this node does not know", at: HL7Location(segment: "QPD", field: 3, repetition: 1, component: 1)))
        }
        var ids = found.identities.filter { $0 != identity }
        if domains?.contains(global) ?? true, authority != global { ids.append(LocalIdentity(id: found.person, authority: global)) }
        guard !ids.isEmpty else {
            return queryResponse(context, type: "K23", code: .applicationAccept, errors: [], body: [qak(tag, "NF", name, d), qpd.segment])
        }
        var pid = try! HL7Segment(id: "PID")
        pid[3] = HL7Field(repetitions: ids.map { cxRepetition($0, d) })
        return queryResponse(context, type: "K23", code: .applicationAccept, errors: [], body: [qak(tag, "OK", name, d), qpd.segment, pid])
    }

    func pdq(_ message: HL7Message, _ context: HL7AckContext) throws -> HL7Message {
        guard let qpd = message.view(QPDSegment.self) else {
            throw HL7Error(.requiredFieldMissing, "a QPD segment is required", at: HL7Location(segment: "QPD"))
        }
        let d = context.dialect.delimiters
        let dialect = message.dialect
        let tag = try qpd.queryTag
        let name = qpd.segment[1]
        func answer(_ error: HL7Error) -> HL7Message {
            queryResponse(context, type: "K22", code: .applicationError, errors: [error], body: [qak(tag, "AE", name, d), qpd.segment])
        }
        var criteria = Demographics()
        var idValue = "", idAuthority = ""
        for (i, rep) in qpd.parameter(1).enumerated() {
            let field = try rep[1].first.value(dialect)
            let value = try rep[2].first.value(dialect)
            switch field {
            case "@PID.5.1.1", "@PID.5.1", "@PID.5": criteria.family = value
            case "@PID.5.2": criteria.given = value
            case "@PID.7.1", "@PID.7": criteria.birthDate = value
            case "@PID.8": criteria.sex = value
            case "@PID.11.1.1", "@PID.11.1": criteria.street = value
            case "@PID.11.3": criteria.city = value
            case "@PID.11.5": criteria.postalCode = value
            case "@PID.13.1", "@PID.13": criteria.phone = value
            case "@PID.3.1": idValue = value
            case "@PID.3.4.1", "@PID.3.4.2", "@PID.3.4": idAuthority = value
            default:
                return answer(HL7Error(.badDataType, "QPD-3 names a field PDQ here does not search on", at: HL7Location(segment: "QPD", field: 3, repetition: i + 1, component: 1)))
            }
        }
        let domains: Set<String>?
        do { domains = try requestedDomains(qpd, field: 8) } catch { return answer(error) }
        var limit = configuration.maxQueryResults
        if let rcp = message.view(RCPSegment.self), let n = Int(try rcp.quantityLimit), n > 0 { limit = min(n, limit) }
        var offset = 0
        if let dsc = message.first("DSC"), let n = Int(try dsc.text(1).value(dialect)), n >= 0 { offset = n }

        var persons: [(person: String, record: Int64)] = []
        if !idValue.isEmpty {
            let identity = LocalIdentity(id: idValue, authority: idAuthority)
            if let r = mpi.read({ $0.record(of: identity) }), let p = mpi.read({ $0.person(of: r) }) { persons = [(p, r)] }
        } else {
            guard criteria != Demographics() else {
                return answer(HL7Error(.requiredFieldMissing, "QPD-3 must name at least one search field", at: HL7Location(segment: "QPD", field: 3)))
            }
            persons = mpi.read { $0.search(criteria) }.map { ($0.person, $0.record) }
        }
        if let domains {
            // Only people with an identifier in a domain asked for (ITI-21): a query limited to its own domains
            // discloses nobody else.
            persons = persons.filter { hit in
                domains.contains(mpi.globalAuthority) || mpi.read { m in m.members(of: hit.person).contains { m.identity(of: $0).map { domains.contains($0.authority) } ?? false } }
            }
        }
        let page = Array(persons.dropFirst(offset).prefix(limit))
        let remaining = max(0, persons.count - offset - page.count)
        var body = [qak(tag, page.isEmpty ? "NF" : "OK", name, d, hits: (persons.count, page.count, remaining)), qpd.segment]
        let global = mpi.globalAuthority
        for (i, hit) in page.enumerated() {
            let (ids, demo) = mpi.read { m -> ([LocalIdentity], Demographics?) in
                let ids = m.members(of: hit.person).compactMap { m.identity(of: $0) }.filter { domains?.contains($0.authority) ?? true }
                return (ids.sorted(), m.demographics(of: hit.record))
            }
            var all = ids
            if domains?.contains(global) ?? true { all.append(LocalIdentity(id: hit.person, authority: global)) }
            var pid = try! HL7Segment(id: "PID")
            pid[1] = text(String(i + 1), d)
            pid[3] = HL7Field(repetitions: all.map { cxRepetition($0, d) })
            if let demo {
                pid[5] = HL7Field(HL7Repetition(components: [HL7Component(HL7Text(value: demo.family, delimiters: d)), HL7Component(HL7Text(value: demo.given, delimiters: d))]))
                pid[7] = text(demo.birthDate, d)
                pid[8] = text(demo.sex, d)
                pid[11] = HL7Field(HL7Repetition(components: [demo.street, "", demo.city, "", demo.postalCode].map { HL7Component(HL7Text(value: $0, delimiters: d)) }))
                pid[13] = text(demo.phone, d)
            }
            body.append(pid)
        }
        if remaining > 0 {
            var dsc = try! HL7Segment(id: "DSC")
            dsc[1] = text(String(offset + page.count), d)
            dsc[2] = text("I", d)
            body.append(dsc)
        }
        return queryResponse(context, type: "K22", code: .applicationAccept, errors: [], body: body)
    }
}
