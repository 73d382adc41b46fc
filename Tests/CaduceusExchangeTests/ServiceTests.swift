import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPKI
import CaduceusPolicy
import CaduceusStorage
import CaduceusTestSupport
import Foundation
import Testing
import X509

/// The code of the coded error `body` throws (nil when it succeeds).
func failure(_ body: () async throws -> Void) async -> String? {
    do { try await body(); return nil } catch let e as any CaduceusError { return e.code } catch { return "uncoded" }
}

@Suite("Use-case services on in-memory stores and the in-process transport")
struct ServiceTests {
    typealias Fed = InProcessFederation

    @Test("directory: both nodes are published at the global node; look-ups, unknown nodes and non-directory nodes answer as over HTTPS")
    func directory() async throws {
        let fed = try await Fed()
        let listed = try await fed.region.store.read { try $0.directoryNodes() }
        #expect(listed.map(\.id) == [Fed.hospitalId, Fed.regionId])
        #expect(listed[0].roles == ["hospital"] && listed[0].region == Fed.regionId && listed[0].endpoint == Fed.hospitalEndpoint)
        #expect(listed[1].roles == ["global", "regional"] && listed[1].region.isEmpty)
        #expect(try await fed.hospital.store.read { try $0.directoryNodes() }.isEmpty, "only the global node holds the directory")
        // The hospital's publication went node to node, as an envelope; the region's was a local write.
        #expect(fed.network.posts.map(\.path) == [ExchangeOperation.publishNode.path])
        #expect(fed.network.posts.map(\.endpoint) == [Fed.regionEndpoint])

        let (entry, certificate) = try await fed.region.lookUp(Fed.hospitalId)
        #expect(entry.id == Fed.hospitalId && certificate == fed.hospitalCredential.certificate)
        #expect(await failure { _ = try await fed.hospital.lookUp("node.nobody") } == "exchange.unknown-node")
        let transport = fed.network.transport(for: fed.hospitalCredential.certificate)
        #expect(await failure { _ = try await transport.get(Fed.hospitalEndpoint, path: "/v1/directory/nodes") } == "exchange.wrong-role")
        #expect(await failure { _ = try await transport.get("https://nowhere.unit.test:1", path: "/v1/directory/nodes") } == "exchange.peer-unavailable")
        #expect(await failure { _ = try await transport.get(Fed.regionEndpoint, path: "/v1/elsewhere") } == "exchange.peer-unavailable")
        let me = try JSONDecoder.exchange.decode(DirectoryNode.self, from: Data(try await transport.get(Fed.hospitalEndpoint, path: "/v1/node")))
        #expect(me.id == Fed.hospitalId)
        // A node publishes only its own entry, whoever carries it.
        var forged = try fed.hospital.selfDescription()
        forged.id = Fed.regionId
        let refused = await failure { _ = try await fed.hospital.call(.publishNode, to: Fed.regionId, body: forged) }
        #expect(refused == "exchange.forbidden")
        #expect(try await fed.region.store.read { try $0.directoryNode(id: Fed.regionId) }?.endpoint == Fed.regionEndpoint)
    }

    @Test("provide-and-register: the hospital files the documents, the region's registry indexes them under the global id; both keep evidence, the region audits it")
    func provideAndRegister() async throws {
        let fed = try await Fed()
        let mrn = try await fed.admit("MRN-1")
        let global = try await fed.hospital.registerWithRegion(mrn)
        #expect(global.authority == Fed.globalAuthority && !global.id.isEmpty)
        let docs = [fed.document(1, patient: mrn), fed.document(2, patient: mrn)]
        let local = PatientIdentifier(id: mrn.id, authority: mrn.authority)
        let registered = try await fed.hospital.publish(docs, patient: local)
        #expect(registered.map(\.uniqueId) == ["2.25.7.1", "2.25.7.2"])
        #expect(registered.allSatisfy { $0.patientId == global && $0.sourcePatientId == local && $0.repositoryId == Fed.hospitalId })

        // The hospital holds the content (encrypted, in its blob store); the region holds the metadata only.
        let atHospital = try await fed.hospital.store.read { r in (try r.repositoryCount(), try r.registryCount(), try r.repositoryDocument(uniqueId: "2.25.7.2")) }
        #expect(atHospital.0 == 2 && atHospital.1 == 0)
        let row = try #require(atHospital.2)
        #expect(try fed.hospital.blobs.get(row) == docs[1].1)
        let atRegion = try await fed.region.store.read { r in (try r.repositoryCount(), try r.findDocuments(.init(patientId: global), limit: 10)) }
        #expect(atRegion.0 == 0 && atRegion.1.map(\.uniqueId) == ["2.25.7.2", "2.25.7.1"], "newest first")
        // Non-repudiation on both sides: the request at the region, the signed answer at the hospital.
        let register = ExchangeOperation.registerSubmission.rawValue
        #expect(try await fed.region.store.read { try $0.evidenceCount(operation: register) } == 1)
        #expect(try await fed.hospital.store.read { try $0.evidenceCount(operation: register) } == 1)
        // The region's audit trail names the patient (by pseudonym) for the registration and the identity.
        let trail = try await fed.region.store.read { try $0.auditMessages(AuditFilter(patient: global.description)) }
        #expect(trail.count >= 1 && trail.allSatisfy { $0.message.outcome == .success })
        let chained = try await fed.region.store.read { r -> (UInt64, Bool) in
            var previous = AuditChain.genesis, n: UInt64 = 0, linked = true
            try r.forEachAuditRecord { record in
                n += 1
                linked = linked && record.sequence == n && record.previousHash == previous
                    && ChainedRecord.hash(sequence: record.sequence, previous: record.previousHash, body: record.body) == record.hash
                previous = record.hash
                return true
            }
            return (n, linked)
        }
        #expect(chained.0 >= 3 && chained.1, "every operation the region answered is on its hash chain")

        // The hospital's query by its own identifier is answered by the region under the global id.
        let found = try await fed.hospital.queryRegistry(.findDocuments(.init(patientId: local)))
        #expect(found.map(\.uniqueId) == ["2.25.7.2", "2.25.7.1"] && found.allSatisfy { $0.patientId == global })
        let posts = fed.network.posts.map(\.path)
        #expect(posts.suffix(3) == [ExchangeOperation.registerIdentity.path, ExchangeOperation.registerSubmission.path, ExchangeOperation.query.path])
    }

    @Test("provide-and-register is all or nothing: a patient the region does not know leaves nothing in the hospital's repository")
    func registrationFailureCompensates() async throws {
        let fed = try await Fed()
        let mrn = try await fed.admit("MRN-404")
        let doc = fed.document(3, patient: mrn)
        let refusal = await #expect(throws: RemoteError.self, "the region's refusal, as received over the wire") {
            _ = try await fed.hospital.publish([doc], patient: PatientIdentifier(id: mrn.id, authority: mrn.authority))
        }
        #expect(refusal?.code == "exchange.unknown-patient" && refusal?.category == .notFound, "its code and category kept")
        #expect(try await fed.hospital.store.read { try $0.repositoryCount() } == 0)
        #expect(try await fed.region.store.read { try $0.registryCount() } == 0)
        let files = FileManager.default.enumerator(atPath: fed.hospital.blobs.directory)?.compactMap { $0 as? String }.filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: fed.hospital.blobs.directory + "/" + $0, isDirectory: &isDirectory) && !isDirectory.boolValue
        } ?? []
        #expect(files.isEmpty, "the encrypted content was removed again")
        // The refusal is on the region's audit trail, with its code.
        let refusals = try await fed.region.store.read { try $0.auditMessages(AuditFilter()) }.filter { $0.message.errorCode == "exchange.unknown-patient" }
        #expect(refusals.count == 1 && refusals[0].message.outcome != .success)
    }

    @Test("a user's submission commits once with its event; a refused one files nothing and leaves no blob but keeps the signed envelope; a document already filed is refused before its blob is written")
    func userSubmissionCommit() async throws {
        let fed = try await Fed()
        let mrn = try await fed.admit("MRN-9")
        let doctor = try fed.card("Dr Submit (synthetic)", role: "physician")
        let token = try await fed.signIn(doctor, purpose: "TREAT", at: fed.hospital)
        let ccd = try await CCDComposer.compose(for: mrn, store: fed.hospital.store, nodeId: Fed.hospitalId, organization: "Hospital (synthetic)", now: Date())
        let patient = PatientIdentifier(id: mrn.id, authority: mrn.authority)
        let part = MIMEPart(contentType: "text/xml", id: "d", body: ccd)
        func blobFiles() -> [String] {
            (FileManager.default.enumerator(atPath: fed.hospital.blobs.directory)?.compactMap { $0 as? String } ?? []).filter {
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: fed.hospital.blobs.directory + "/" + $0, isDirectory: &isDirectory) && !isDirectory.boolValue
            }
        }
        let submit = ExchangeOperation.submit.rawValue
        // The region does not know the patient yet: refused there; nothing filed here, no blob left, and the doctor's
        // signed envelope kept as evidence with the failure event.
        #expect(await failure { _ = try await fed.userCall(.submit, SubmitRequest(patient: patient), card: doctor, at: fed.hospital, assertion: token, documents: [part]) } == "exchange.unknown-patient")
        #expect(try await fed.hospital.store.read { try $0.repositoryCount() } == 0)
        #expect(blobFiles().isEmpty)
        #expect(try await fed.hospital.store.read { try $0.evidenceCount(operation: submit) } == 1)
        // Registered with the region: filed, registered, both legs' evidence kept, one success event.
        _ = try await fed.hospital.registerWithRegion(mrn)
        let reply = try await fed.userCall(.submit, SubmitRequest(patient: patient), card: doctor, at: fed.hospital, assertion: token, documents: [part])
        let entries = try reply.message.decodeBody(EntriesResponse.self).entries
        #expect(entries.count == 1 && entries[0].repositoryId == Fed.hospitalId)
        #expect(try await fed.hospital.store.read { try $0.repositoryCount() } == 1 && blobFiles().count == 1)
        #expect(try await fed.region.store.read { try $0.registryCount() } == 1)
        #expect(try await fed.hospital.store.read { try $0.evidenceCount(operation: submit) } == 2)
        #expect(try await fed.hospital.store.read { try $0.evidenceCount(operation: ExchangeOperation.registerSubmission.rawValue) } == 1)
        // The same document again: refused before anything is written (no second blob), the envelope kept.
        #expect(await failure { _ = try await fed.userCall(.submit, SubmitRequest(patient: patient), card: doctor, at: fed.hospital, assertion: token, documents: [part]) } == "documents.duplicate-unique-id")
        #expect(try await fed.hospital.store.read { try $0.repositoryCount() } == 1 && blobFiles().count == 1)
        #expect(try await fed.hospital.store.read { try $0.evidenceCount(operation: submit) } == 3)
        let events = try await fed.hospital.store.read { try $0.auditMessages(AuditFilter()) }.filter { $0.message.eventTypes.contains { $0.code == submit } }
        #expect(events.map(\.message.outcome) .filter { $0 == .success }.count == 1 && events.count == 3)
    }

    @Test("consent: a recorder's statement made at the hospital is verified and recorded by the regional registry under the global id, once")
    func consentRegistration() async throws {
        let fed = try await Fed()
        let mrn = try await fed.admit("MRN-2")
        let global = try await fed.hospital.registerWithRegion(mrn)
        let clerk = try fed.card("Clerk (synthetic)", role: "administrative")
        let token = try await fed.signIn(clerk, purpose: "HOPERAT", at: fed.hospital)
        let local = PatientIdentifier(id: mrn.id, authority: mrn.authority)
        let directive = ConsentDirective(id: UUID().uuidString.lowercased(), patient: local.description, decision: .deny, organization: "node.elsewhere", validFrom: Date().addingTimeInterval(-60), issuedAt: Date())
        let statement = ConsentStatement(statement: try CompactJWS.sign(json: directive, type: ConsentStatement.directiveType, by: clerk))
        let reply = try await fed.userCall(.userConsent, statement, card: clerk, at: fed.hospital, assertion: token)
        let record = try reply.message.decodeBody(ConsentRecord.self)
        #expect(record.patientId == global.description && record.recordedAt == Fed.hospitalId && record.signedBy == "Clerk (synthetic)")
        // The statement's times travel as ISO 8601 (whole seconds); the rest as made.
        #expect(record.directive.id == directive.id && record.directive.decision == .deny && record.directive.organization == "node.elsewhere")
        #expect(record.directive.patient == local.description && abs(record.directive.issuedAt.timeIntervalSince(directive.issuedAt)) < 1)

        // Recorded at the region only, with the signed statement; the hospital keeps the evidence of both legs.
        let atRegion = try await fed.region.store.read { try $0.consents(patientId: global.description) }
        #expect(atRegion.count == 1 && atRegion[0].statement == statement.statement && atRegion[0].directive.id == directive.id)
        #expect(try await fed.hospital.store.read { try $0.consents(patientId: global.description) }.isEmpty)
        #expect(try await fed.hospital.store.read { try $0.evidenceCount(operation: ExchangeOperation.registerConsent.rawValue) } == 1)
        // The consent comes back with registry answers, as a summary.
        let summaries = try await fed.hospital.consentsAtRegion(ConsentQuery(patient: local))
        #expect(summaries.patientId == global && summaries.consents.map(\.directive.id) == [directive.id] && summaries.consents[0].statement == nil)
        // The same statement again is a conflict at the registry, passed on as such.
        #expect(await failure { _ = try await fed.userCall(.userConsent, statement, card: clerk, at: fed.hospital, assertion: token) } == "storage.conflict")
        // A role that does not record consents is refused by the registry itself.
        let nurse = try fed.card("Nurse (synthetic)", role: "nurse")
        let nurseToken = try await fed.signIn(nurse, purpose: "TREAT", at: fed.hospital)
        let other = ConsentDirective(id: UUID().uuidString.lowercased(), patient: local.description, decision: .permit, validFrom: Date(), issuedAt: Date())
        let nurseStatement = ConsentStatement(statement: try CompactJWS.sign(json: other, type: ConsentStatement.directiveType, by: nurse))
        #expect(await failure { _ = try await fed.userCall(.userConsent, nurseStatement, card: nurse, at: fed.hospital, assertion: nurseToken) } == "exchange.forbidden")
        #expect(try await fed.region.store.read { try $0.consents(patientId: global.description) }.count == 1)
    }

    @Test("the transport presents the caller's certificate: an envelope signed by one node over another's connection is refused")
    func tlsClientIsTheCaller() async throws {
        let fed = try await Fed()
        let header = EnvelopeHeader(operation: .query, audience: Fed.regionId, requestId: UUID().uuidString, issuedAt: Date(), body: try JSONEncoder.exchange.encode(StoredQuery.getDocuments(uniqueIds: ["2.25.1"])))
        let sealed = try Envelope.seal(ExchangeMessage(header: header), from: fed.hospitalCredential, to: fed.regionCredential.certificate, now: Date())
        let intruder = try fed.pki.credential(.node(dnsNames: ["intruder.unit.test"]), name: "node.intruder")
        let wrongConnection = fed.network.transport(for: intruder.certificate)
        #expect(await failure { _ = try await wrongConnection.post(Fed.regionEndpoint, path: ExchangeOperation.query.path, envelope: sealed) } == "exchange.peer-mismatch")
        let rightConnection = fed.network.transport(for: fed.hospitalCredential.certificate)
        let reply = try await rightConnection.post(Fed.regionEndpoint, path: ExchangeOperation.query.path, envelope: sealed)
        #expect(!reply.isEmpty)
        #expect(await failure { _ = try await rightConnection.post(Fed.regionEndpoint, path: ExchangeOperation.query.path, envelope: sealed) } == "exchange.replayed")
        #expect(await failure { _ = try await rightConnection.post(Fed.regionEndpoint, path: "/v1/nothing", envelope: sealed) } == "exchange.bad-request")
    }

    @Test("the replay cache outlives the node: a node restarted on the same store refuses an envelope its predecessor accepted")
    func replayCacheSurvivesRestart() async throws {
        let f = try await GateFixture()
        let other = try f.pki.credential(.node(dnsNames: ["other.unit.test"]), name: "node.other")
        let sealed = try f.seal(.query, StoredQuery.getDocuments(uniqueIds: ["2.25.1"]), from: other)
        _ = try await f.node.handle(path: ExchangeOperation.query.path, envelope: sealed, tlsClient: other.certificate)
        #expect(try await f.store.read { try $0.seenRequests(now: Date()) }.count == 1)
        let validator = f.pki.validator()
        let restarted = ExchangeNode(
            configuration: f.node.configuration, credential: f.nodeCredential, validator: { validator }, store: f.store, blobs: f.node.blobs,
            mpi: try await MPIService(store: f.store, globalAuthority: "2.25.99"), transport: InProcessNetwork().transport(for: f.nodeCredential.certificate),
            policy: f.node.policy)
        try await restarted.restoreState()
        await #expect(throws: ExchangeError(.replayed, "")) {
            _ = try await restarted.handle(path: ExchangeOperation.query.path, envelope: sealed, tlsClient: other.certificate)
        }
    }
}
