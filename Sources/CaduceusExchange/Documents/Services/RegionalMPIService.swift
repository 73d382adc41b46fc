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

/// The regional MPI's door: identity registrations (only in the assigning authorities the registering node's CA vouches for), PDQ, and global ids.
struct RegionalMPIService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    func regionalMPI() throws(ExchangeError) -> MPIService {
        try core.require(.regional)
        guard let mpi = core.mpi else { throw ExchangeError(.wrongRole, "this node has no MPI") }
        return mpi
    }

    func registerIdentity(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let mpi = try regionalMPI()
        let request = try o.message.decodeBody(RegisterIdentityRequest.self)
        guard !request.identity.id.isEmpty, !request.identity.authority.isEmpty else {
            throw ExchangeError(.badRequest, "an identity needs an id and an assigning authority")
        }
        // A node registers identities only in the assigning authorities its CA vouches for.
        guard let namespace = o.issuerNamespace, IssuerNamespace.admits(namespace.authorities, request.identity.authority) else {
            throw ExchangeError(.forbidden, "this node may not register identities of this assigning authority")
        }
        let sealed = try core.store.cipher.seal(mpiIdentity: request.identity, demographics: request.demographics)
        let now = core.clock.now(), actor = "node:" + o.identity.commonName, e = try core.evidence(o)
        let record = try await core.store.write { tx in
            // The regional node's assigning-authority table, in this write (``CodeTableRules``).
            if let table = try CodeTableRules([.assigningAuthority], read: { try tx.codeTable($0) }).refusing(request.identity.authority, in: .assigningAuthority) {
                throw CodeTableRules.refusal("the identity's assigning authority", .assigningAuthority, table)
            }
            try tx.keepEvidence(e, at: now)
            return try mpi.register(request.identity, request.demographics, sealed: sealed, in: tx, actor: actor, at: now).record
        }
        let person = mpi.read { $0.person(of: record) } ?? ""
        o.audit.patient(PatientIdentifier(id: request.identity.id, authority: request.identity.authority))
        return try core.reply(o, RegisterIdentityResponse(patientId: PatientIdentifier(id: person, authority: mpi.globalAuthority)))
    }

    func findPatients(_ request: FindPatientsRequest, _ o: ExchangeRequest) throws -> [PatientMatch] {
        let mpi = try regionalMPI()
        return mpi.read { index in
            var seen = Set<String>()
            var out: [PatientMatch] = []
            for hit in index.search(request.criteria, limit: max(1, min(request.limit, 100)) * 4) where seen.insert(hit.person).inserted {
                let identities = index.members(of: hit.person).compactMap { index.identity(of: $0) }
                out.append(PatientMatch(
                    patientId: PatientIdentifier(id: hit.person, authority: mpi.globalAuthority), identities: identities,
                    demographics: index.demographics(of: hit.record) ?? Demographics(), weight: hit.weight))
                if out.count >= request.limit { break }
            }
            return out
        }
    }

    /// The global id of a patient named in any domain the MPI knows (or the global domain itself).
    func globalPatient(_ p: PatientIdentifier) throws -> PatientIdentifier {
        let mpi = try regionalMPI()
        if p.authority == mpi.globalAuthority { return p }
        let person = mpi.read { index in index.record(of: LocalIdentity(id: p.id, authority: p.authority)).flatMap { index.person(of: $0) } }
        guard let person else { throw ExchangeError(.unknownPatient, "the MPI does not know this patient identity") }
        return PatientIdentifier(id: person, authority: mpi.globalAuthority)
    }


    /// Registers a locally stored patient with the regional MPI; returns the global id.
    func registerWithRegion(_ identity: LocalIdentity) async throws -> PatientIdentifier {
        let record = try await core.store.read { r in try r.patient(identity) }
        guard let record else { throw ExchangeError(.unknownPatient, "this node holds no patient with this identity") }
        let opened = try await core.call(.registerIdentity, to: core.configuration.regionalNode, body: RegisterIdentityRequest(identity: identity, demographics: record.demographics))
        try await core.keep(opened, audit: nil)
        return try opened.message.decodeBody(RegisterIdentityResponse.self).patientId
    }
}
