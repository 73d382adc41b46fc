import CaduceusCore
import CaduceusPKI
@testable import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

@Suite("File-based CA store: durable state, journaled serials, monotonic CRL numbers")
struct CAStoreTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    func makeHierarchy() throws -> (root: CAStore, hospital: CAStore) {
        let root = try CAStore.createRoot(at: dir.file("root"), subject: try federationName(commonName: "Store Root"), now: Date())
        let regional = try root.createSubordinate(
            at: dir.file("regional"), subject: try federationName(commonName: "Store Regional"), pathLength: 1, namespace: .unrestricted, now: Date())
        let hospital = try regional.createSubordinate(
            at: dir.file("hospital"), subject: try federationName(commonName: "Store Hospital"), pathLength: 0,
            permittedDNSDomains: ["hospital-a.test"], namespace: .unrestricted, now: Date())
        return (root, hospital)
    }

    @Test func issueRevokeAndCRL() throws {
        let (root, hospital) = try makeHierarchy()
        let key = try PrivateKeyMaterial.generate(.p256)
        let cert = try hospital.issue(profile: .node(dnsNames: ["n1.hospital-a.test"]), subject: try federationName(commonName: "n1"), publicKey: key.publicKey, now: Date())
        #expect(try hospital.records().map(\.status) == ["issued"])
        #expect(try hospital.certificate(serial: cert.serialNumber) == cert)
        #expect(try hospital.authority().parents.count == 2)
        #expect(try root.records().count == 1)  // the regional CA

        try hospital.revoke(serial: cert.serialNumber, reason: .superseded, now: Date())
        #expect(throws: PKIError(.alreadyRevoked, "")) { try hospital.revoke(serial: cert.serialNumber, reason: .superseded, now: Date()) }
        #expect(throws: PKIError(.notFound, "")) { try hospital.revoke(serial: Certificate.SerialNumber(bytes: [1, 2, 3]), reason: .superseded, now: Date()) }
        let crl1 = try hospital.makeCRL(now: Date())
        let crl2 = try CAStore(opening: hospital.directory).makeCRL(now: Date())
        #expect(crl1.crlNumber == [1])
        #expect(crl2.crlNumber == [2])
        #expect(crl2.entry(for: cert.serialNumber)?.reason == .superseded)
        let onDisk = try CertificateRevocationList(pemOrDER: Array(try Data(contentsOf: URL(fileURLWithPath: hospital.directory + "/crl.der"))))
        #expect(onDisk.crlNumber == [2])
        // Key file is private.
        let attributes = try FileManager.default.attributesOfItem(atPath: hospital.directory + "/ca.key.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: PKIError(.alreadyExists, "")) {
            try CAStore.createRoot(at: root.directory, subject: try federationName(commonName: "Again"), now: Date())
        }
    }

    @Test("a hold (certificateHold) is on the CRL until lifted; a final revocation cannot be lifted; a held certificate can still be revoked for good")
    func holdAndRelease() throws {
        let (_, hospital) = try makeHierarchy()
        let key = try PrivateKeyMaterial.generate(.p256)
        let cert = try hospital.issue(profile: .person(email: "held@hospital-a.test"), subject: try federationName(commonName: "Held Person", organization: "hospital-a.test"), publicKey: key.publicKey, now: Date())
        #expect(throws: PKIError(.notFound, "")) { try hospital.releaseHold(serial: cert.serialNumber) }
        try hospital.revoke(serial: cert.serialNumber, reason: .certificateHold, now: Date())
        #expect(try hospital.makeCRL(now: Date()).entry(for: cert.serialNumber)?.reason == .certificateHold)
        try hospital.releaseHold(serial: cert.serialNumber)
        #expect(try hospital.record(serial: cert.serialNumber)?.status == "issued")
        #expect(try hospital.makeCRL(now: Date()).entry(for: cert.serialNumber) == nil)
        // Held again, then reported lost: the hold becomes a final revocation, which no release lifts.
        try hospital.revoke(serial: cert.serialNumber, reason: .certificateHold, now: Date())
        #expect(throws: PKIError(.alreadyRevoked, "")) { try hospital.revoke(serial: cert.serialNumber, reason: .certificateHold, now: Date()) }
        try hospital.revoke(serial: cert.serialNumber, reason: .keyCompromise, now: Date())
        #expect(throws: PKIError(.alreadyRevoked, "")) { try hospital.releaseHold(serial: cert.serialNumber) }
        #expect(try hospital.makeCRL(now: Date()).entry(for: cert.serialNumber)?.reason == .keyCompromise)
    }

    @Test("a crash after reserving a serial never lets that serial be used again")
    func crashAfterReserve() throws {
        let (_, hospital) = try makeHierarchy()
        var crashing = hospital
        crashing.crashAt = .afterReserve
        let key = try PrivateKeyMaterial.generate(.p256)
        #expect(throws: PKIError(.io, "")) {
            try crashing.issue(profile: .node(dnsNames: ["c.hospital-a.test"]), subject: try federationName(commonName: "c"), publicKey: key.publicKey, now: Date())
        }
        let reopened = try CAStore(opening: hospital.directory)
        let reserved = try reopened.records()
        #expect(reserved.map(\.status) == ["reserved"])
        let cert = try reopened.issue(profile: .node(dnsNames: ["c.hospital-a.test"]), subject: try federationName(commonName: "c"), publicKey: key.publicKey, now: Date())
        #expect(Hex.encode(cert.serialNumber.bytes) != reserved[0].serial)
        #expect(try reopened.records().map(\.status) == ["reserved", "issued"])
    }

    @Test("a crash after writing the certificate is completed on reopening")
    func crashAfterWrite() throws {
        let (_, hospital) = try makeHierarchy()
        var crashing = hospital
        crashing.crashAt = .afterCertificateWritten
        let key = try PrivateKeyMaterial.generate(.p256)
        #expect(throws: PKIError(.io, "")) {
            try crashing.issue(profile: .person(email: "p@hospital-a.test"), subject: try federationName(commonName: "p"), publicKey: key.publicKey, now: Date())
        }
        let reopened = try CAStore(opening: hospital.directory)
        let records = try reopened.records()
        #expect(records.map(\.status) == ["issued"])
        #expect(records[0].notAfter != nil)
    }

    @Test("serials stay unique over many issuances and processes' worth of reopenings")
    func uniqueSerials() throws {
        let (_, hospital) = try makeHierarchy()
        let key = try PrivateKeyMaterial.generate(.p256)
        for i in 0..<40 {
            let store = try CAStore(opening: hospital.directory)
            _ = try store.issue(profile: .patient(email: nil), subject: try federationName(commonName: "card \(i)"), publicKey: key.publicKey, now: Date())
        }
        let serials = try hospital.records().map(\.serial)
        #expect(serials.count == 40)
        #expect(Set(serials).count == 40)
    }

    @Test func refusals() throws {
        let (_, hospital) = try makeHierarchy()
        let key = try PrivateKeyMaterial.generate(.p256)
        #expect(throws: PKIError(.profileViolation, "")) {
            try hospital.issue(profile: .node(dnsNames: []), subject: try federationName(commonName: "n"), publicKey: key.publicKey, now: Date())
        }
        #expect(throws: PKIError(.profileViolation, "")) {
            try hospital.issue(profile: .person(email: "not-an-email"), subject: try federationName(commonName: "n"), publicKey: key.publicKey, now: Date())
        }
        #expect(try hospital.records().isEmpty)  // refusals leave no trace
        #expect(throws: PKIError(.notFound, "")) { try CAStore(opening: dir.file("nowhere")) }
    }
}

@Suite("More PKI refusals")
struct MorePKIRefusalTests {
    @Test func corruptStateIsReported() throws {
        let dir = try TemporaryDirectory()
        let root = try CAStore.createRoot(at: dir.file("root"), subject: try federationName(commonName: "Corrupt"), now: Date())
        try dir.write("root/state.json", "{ not json")
        #expect(throws: PKIError(.storeCorrupt, "")) { try CAStore(opening: root.directory) }
        try FileManager.default.removeItem(atPath: dir.file("root/ca.key.pem"))
        try dir.write("root/state.json", "{\"version\":1,\"nextCRLNumber\":1,\"records\":[]}")
        #expect(throws: PKIError(.storeCorrupt, "")) { try CAStore(opening: root.directory).makeCRL(now: Date()) }
    }

    @Test func pkcs12NeedsAPassword() throws {
        let pki = try TestPKI()
        let credential = try pki.credential(.person(email: "p@hospital-a.test"), name: "P")
        #expect(throws: PKIError(.profileViolation, "")) { try PKCS12.export(credential, password: Sensitive("")) }
        #expect(throws: PKIError(.weakAlgorithm, "")) { try PKCS12.export(credential, password: Sensitive("x"), iterations: 10) }
    }

    @Test("full-chain revocation needs a CRL from every issuer")
    func fullChainRevocation() async throws {
        let pki = try TestPKI()
        let leaf = try pki.credential(.node(dnsNames: ["n.hospital-a.test"]), name: "n")
        func crl(_ authority: CertificateAuthority) throws -> CertificateRevocationList {
            try CertificateRevocationList.make(
                authority: authority, entries: [], crlNumber: 1, thisUpdate: Date().addingTimeInterval(-60),
                nextUpdate: Date().addingTimeInterval(3600))
        }
        let hospitalOnly = await pki.validator(crls: [try crl(pki.hospital)], revocation: .fullChain).validate(
            leaf.certificate, intermediates: leaf.chain, usage: .tlsServer, validityTime: Date(), now: Date())
        guard case .rejected(let error) = hospitalOnly else { Issue.record("accepted without the regional and root CRLs"); return }
        #expect(error.kind == .crlMissing)
        let all = await pki.validator(crls: [try crl(pki.hospital), try crl(pki.regional), try crl(pki.root)], revocation: .fullChain)
            .validate(leaf.certificate, intermediates: leaf.chain, usage: .tlsServer, validityTime: Date(), now: Date())
        guard case .trusted = all else { Issue.record("refused with every CRL present: \(all)"); return }
        // A stale CRL does not count.
        let stale = try CertificateRevocationList.make(
            authority: pki.hospital, entries: [], crlNumber: 2, thisUpdate: Date().addingTimeInterval(-7200),
            nextUpdate: Date().addingTimeInterval(-3600))
        let verdict = await pki.validator(crls: [stale], revocation: .leaf).validate(
            leaf.certificate, intermediates: leaf.chain, usage: .tlsServer, validityTime: Date(), now: Date())
        guard case .rejected(let staleError) = verdict else { Issue.record("accepted with a stale CRL"); return }
        #expect(staleError.kind == .crlInvalid)
    }

    @Test("fail closed: a missing CRL, one stale beyond the grace, or one signed by another key is pki.revocation-unknown; a fresh one lets the card back in; a listed one is pki.revoked")
    func failClosedRevocation() async throws {
        let start = Date()
        let pki = try TestPKI(now: start.addingTimeInterval(-86_400))
        let card = try pki.credential(.person(email: "n@hospital-a.test"), name: "nurse")
        let grace: Double = 3600
        func crl(_ authority: CertificateAuthority, issued: Date, hours: Double = 24, revoked: [Certificate] = [], number: UInt64 = 1) throws -> CertificateRevocationList {
            try CertificateRevocationList.make(
                authority: authority, entries: revoked.map { .init(serialNumber: $0.serialNumber, revocationDate: issued, reason: .keyCompromise) },
                crlNumber: number, thisUpdate: issued, nextUpdate: issued.addingTimeInterval(hours * 3600))
        }
        func verdict(_ crls: [CertificateRevocationList], at now: Date) async -> String {
            let v = await pki.validator(crls: crls, revocation: .failClosed(grace: grace)).validate(
                card.certificate, intermediates: card.chain, usage: .smimeSigning, validityTime: now, now: now)
            switch v {
            case .trusted: return "trusted"
            case .rejected(let e): return e.kind.rawValue
            }
        }
        let fresh = [try crl(pki.hospital, issued: start), try crl(pki.regional, issued: start), try crl(pki.root, issued: start)]
        #expect(await verdict(fresh, at: start) == "trusted")
        // Missing: the hospital CA's CRL, or only an intermediate's.
        #expect(await verdict(Array(fresh.dropFirst()), at: start) == "pki.revocation-unknown")
        #expect(await verdict([fresh[0], fresh[2]], at: start) == "pki.revocation-unknown")
        // Stale: past nextUpdate but inside the grace still counts; beyond it nothing does (the clock moves, not the CRLs).
        #expect(await verdict(fresh, at: start.addingTimeInterval(24 * 3600 + grace - 60)) == "trusted")
        #expect(await verdict(fresh, at: start.addingTimeInterval(24 * 3600 + grace + 60)) == "pki.revocation-unknown")
        // A fresh set issued later lets the good card back in at that later time.
        let later = start.addingTimeInterval(24 * 3600 + grace + 60)
        let renewed = [try crl(pki.hospital, issued: later, number: 2), try crl(pki.regional, issued: later, number: 2), try crl(pki.root, issued: later, number: 2)]
        #expect(await verdict(fresh + renewed, at: later) == "trusted")
        // A CRL naming the hospital CA but signed by another key (a second PKI's CA of the same name) is not its CRL.
        let impostor = try TestPKI(now: start.addingTimeInterval(-86_400))
        #expect(impostor.hospital.certificate.subject == pki.hospital.certificate.subject)
        #expect(await verdict([try crl(impostor.hospital, issued: start), fresh[1], fresh[2]], at: start) == "pki.revocation-unknown")
        // On the list: revoked, whatever the other CRLs say.
        let listing = try crl(pki.hospital, issued: start, revoked: [card.certificate], number: 3)
        #expect(await verdict([listing, fresh[1], fresh[2]], at: start) == "pki.revoked")
        // Best effort (the CLI's default, like openssl without -crl_check) still accepts without CRLs.
        let lax = await pki.validator(crls: [], revocation: .bestEffort).validate(card.certificate, intermediates: card.chain, usage: .smimeSigning, validityTime: start, now: start)
        guard case .trusted = lax else { Issue.record("best effort refused: \(lax)"); return }
    }
}
