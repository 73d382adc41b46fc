public import X509
public import CaduceusCore
public import struct Foundation.Date
import Foundation
import SwiftASN1

/// A certificate authority kept in a directory: its certificate and key, the chain above it, every certificate it
/// issued, its revocations and its CRL number.
///
/// ```
/// <dir>/ca.pem          the CA certificate           <dir>/state.json   serials, revocations, CRL number
/// <dir>/ca.key.pem      PKCS#8 key, mode 0600         <dir>/issued/<serial>.pem
/// <dir>/parents.pem     chain above the CA            <dir>/crl.der / crl.pem (last CRL written)
/// <dir>/ocsp.pem        delegated OCSP responder       <dir>/ocsp.key.pem (its key, mode 0600; made on first use)
/// ```
///
/// Every write is atomic (temp file, fsync, rename, directory fsync) and every mutation holds an exclusive `flock` on
/// `<dir>/.lock`. Issuance is journaled: the serial is recorded as *reserved* before the certificate is signed, the
/// certificate file is written, then the record becomes *issued*. A crash at any point leaves a serial that is never
/// handed out again, so two certificates never share a serial.
public struct CAStore: Sendable {
    /// Steps of issuance, for crash tests.
    package enum IssuePhase: Sendable { case afterReserve, afterCertificateWritten }

    /// One certificate this CA issued.
    public struct Record: Codable, Sendable, Equatable {
        /// Hex serial.
        public var serial: String
        /// `reserved` (journaled, never completed), `issued` or `revoked`.
        public var status: String
        /// Issuance profile name.
        public var profile: String
        /// Subject DN as text (node names, staff names, pseudonymous patient-card ids).
        public var subject: String
        /// End of validity.
        public var notAfter: Date?
        /// When revoked.
        public var revokedAt: Date?
        /// RFC 5280 reason code.
        public var reason: Int?
    }

    struct State: Codable {
        var version = 1
        var nextCRLNumber: UInt64 = 1
        var records: [Record] = []
    }

    /// The CA's directory.
    public let directory: String
    /// For tests: throw at a phase to simulate a crash.
    package var crashAt: IssuePhase?

    private var statePath: String { directory + "/state.json" }
    private var lockPath: String { directory + "/.lock" }

    /// Opens an existing CA directory, completing any issuance a crash interrupted.
    public init(opening directory: String) throws {
        self.directory = directory
        guard FileManager.default.fileExists(atPath: directory + "/ca.pem"),
            FileManager.default.fileExists(atPath: directory + "/state.json")
        else { throw PKIError(.notFound, "the directory is not a Caduceus CA (ca.pem / state.json missing)") }
        try locked { try recover() }
    }

    private init(uncheckedDirectory: String) { self.directory = uncheckedDirectory }

    /// Creates a root CA in a new directory.
    public static func createRoot(
        at directory: String, subject: DistinguishedName, keyAlgorithm: KeyAlgorithm = .p256, now: Date,
        validityDays: Int? = nil, pathLength: Int = 2, namespace: IssuerNamespace = .unrestricted
    ) throws -> CAStore {
        let key = try PrivateKeyMaterial.generate(keyAlgorithm)
        let authority = try CertificateAuthority.makeRoot(
            subject: subject, key: key, now: now, validityDays: validityDays, pathLength: pathLength, namespace: namespace)
        return try create(at: directory, authority: authority)
    }

    /// Creates an issuing CA in a new directory, certified by `parent` (which records the issuance). `namespace` is
    /// what it may vouch for: node ids, organisations, assigning authorities, roles (inside this CA's own).
    public func createSubordinate(
        at childDirectory: String, subject: DistinguishedName, pathLength: Int, permittedDNSDomains: [String] = [],
        namespace: IssuerNamespace, keyAlgorithm: KeyAlgorithm = .p256, now: Date, validityDays: Int? = nil
    ) throws -> CAStore {
        guard !FileManager.default.fileExists(atPath: childDirectory + "/ca.pem") else {
            throw PKIError(.alreadyExists, "a CA exists in that directory already")
        }
        let key = try PrivateKeyMaterial.generate(keyAlgorithm)
        let certificate = try issue(
            profile: .issuingCA(pathLength: pathLength, permittedDNSDomains: permittedDNSDomains, namespace: namespace),
            subject: subject, publicKey: key.publicKey, now: now, validityDays: validityDays)
        let authority = try CertificateAuthority(
            certificate: certificate, key: key, parents: try self.authority().chain)
        return try Self.create(at: childDirectory, authority: authority)
    }

    private static func create(at directory: String, authority: CertificateAuthority) throws -> CAStore {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory + "/ca.pem") else {
            throw PKIError(.alreadyExists, "a CA exists in that directory already")
        }
        do {
            try fm.createDirectory(
                atPath: directory + "/issued", withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch { throw PKIError(.io, "cannot create the CA directory") }
        let store = CAStore(uncheckedDirectory: directory)
        try store.locked {
            try store.write(Data(authority.key.pkcs8PEM.utf8), "ca.key.pem", permissions: 0o600)
            try store.write(Data(try PEM.encode(authority.parents).utf8), "parents.pem")
            try store.writeState(State())
            // ca.pem last: its presence marks a complete CA directory.
            try store.write(Data(try PEM.encode([authority.certificate]).utf8), "ca.pem")
        }
        return store
    }

    /// Loads the CA's certificate, key and parents.
    public func authority() throws -> CertificateAuthority {
        let certificate = try PEM.certificates(fromFile: directory + "/ca.pem")
        guard let first = certificate.first else { throw PKIError(.storeCorrupt, "ca.pem holds no certificate") }
        let keyText: String
        do { keyText = try String(contentsOfFile: directory + "/ca.key.pem", encoding: .utf8) } catch {
            throw PKIError(.storeCorrupt, "the CA key cannot be read")
        }
        let parents = try PEM.certificates(fromFile: directory + "/parents.pem", allowEmpty: true)
        return try CertificateAuthority(
            certificate: first, key: try PrivateKeyMaterial(pemEncoded: keyText), parents: parents)
    }

    /// The CA's certificate, then the chain above it (from `ca.pem` and `parents.pem`; the key is not read).
    public func chain() throws -> [Certificate] {
        let certificate = try PEM.certificates(fromFile: directory + "/ca.pem")
        guard let first = certificate.first else { throw PKIError(.storeCorrupt, "ca.pem holds no certificate") }
        return [first] + (try PEM.certificates(fromFile: directory + "/parents.pem", allowEmpty: true))
    }

    /// Issues a certificate for a public key under `profile`, journaled as described on the type.
    public func issue(
        profile: IssuanceProfile, subject: DistinguishedName, publicKey: Certificate.PublicKey, now: Date,
        validityDays: Int? = nil
    ) throws -> Certificate {
        try locked {
            try issueHoldingLock(
                profile: profile, subject: subject, publicKey: publicKey, now: now, validityDays: validityDays)
        }
    }

    private func issueHoldingLock(
        profile: IssuanceProfile, subject: DistinguishedName, publicKey: Certificate.PublicKey, now: Date,
        validityDays: Int?
    ) throws -> Certificate {
        let authority = try self.authority()
        var state = try readState()
        let known = Set(state.records.map(\.serial))
        var serial = SerialNumberGenerator.random()
        while known.contains(Hex.encode(serial.bytes)) { serial = SerialNumberGenerator.random() }
        let serialHex = Hex.encode(serial.bytes)
        // Validate the request before reserving, so refusals leave no trace in the state.
        try CertificateAuthority.checkProfileInput(profile, subject: subject)
        try authority.checkNamespace(profile, subject: subject)
        state.records.append(
            Record(serial: serialHex, status: "reserved", profile: profile.name, subject: subject.description))
        try writeState(state)
        if crashAt == .afterReserve { throw PKIError(.io, "simulated crash after reserving a serial") }
        let certificate = try authority.issue(
            profile: profile, subject: subject, publicKey: publicKey, serialNumber: serial, now: now,
            validityDays: validityDays)
        try write(Data(try PEM.encode([certificate]).utf8), "issued/\(serialHex).pem")
        if crashAt == .afterCertificateWritten {
            throw PKIError(.io, "simulated crash after writing the certificate")
        }
        let index = state.records.firstIndex { $0.serial == serialHex }!
        state.records[index].status = "issued"
        state.records[index].notAfter = certificate.notValidAfter
        try writeState(state)
        return certificate
    }

    /// The CA's delegated OCSP responder (RFC 6960 §4.2.2.2), kept in `<dir>/ocsp.pem` and `<dir>/ocsp.key.pem`
    /// (mode 0600) beside the CA's other files. Made on first use, and made again (a new key, a new certificate,
    /// journaled like any issuance under the profile ``IssuanceProfile/ocspSigning``) when fewer than `renewBefore`
    /// seconds of its validity are left, when it no longer matches its key, or when it was not issued by this CA's
    /// current key. Under the CA's lock, so two processes never write a key and a certificate that do not match.
    public func ocspSigner(now: Date, renewBefore: TimeInterval = 3 * 86_400) throws -> OCSPSigner {
        if let current = try? loadOCSPSigner(), current.certificate.notValidAfter.timeIntervalSince(now) > renewBefore,
            current.certificate.notValidBefore <= now
        {
            return current
        }
        return try locked {
            // Another process may have renewed it while this one waited for the lock.
            if let current = try? loadOCSPSigner(),
                current.certificate.notValidAfter.timeIntervalSince(now) > renewBefore,
                current.certificate.notValidBefore <= now
            {
                return current
            }
            let authority = try self.authority()
            let key = try PrivateKeyMaterial.generate(.p256)
            let names = FederationName(authority.certificate.subject)
            let subject = try federationName(
                commonName: (names.commonName ?? "CA") + " OCSP Responder",
                organization: names.organization ?? "Caduceus Federation")
            let certificate = try issueHoldingLock(
                profile: .ocspSigning, subject: subject, publicKey: key.publicKey, now: now, validityDays: nil)
            // Key first: ocsp.pem names the pair, and a reader checks that they match.
            try write(Data(key.pkcs8PEM.utf8), "ocsp.key.pem", permissions: 0o600)
            try write(Data(try PEM.encode([certificate]).utf8), "ocsp.pem")
            return try OCSPSigner(certificate: certificate, key: key, issuer: authority.certificate)
        }
    }

    /// Reads `ocsp.pem` / `ocsp.key.pem`, checking that the pair matches and that this CA's key issued it.
    private func loadOCSPSigner() throws -> OCSPSigner {
        guard let certificate = try PEM.certificates(fromFile: directory + "/ocsp.pem").first else {
            throw PKIError(.notFound, "ocsp.pem holds no certificate")
        }
        let keyText: String
        do { keyText = try String(contentsOfFile: directory + "/ocsp.key.pem", encoding: .utf8) } catch {
            throw PKIError(.notFound, "the OCSP signing key cannot be read")
        }
        let caCertificate = try PEM.certificates(fromFile: directory + "/ca.pem")
        guard let ca = caCertificate.first else { throw PKIError(.storeCorrupt, "ca.pem holds no certificate") }
        return try OCSPSigner(certificate: certificate, key: try PrivateKeyMaterial(pemEncoded: keyText), issuer: ca)
    }

    /// Issues a certificate from a PKCS#10 request after the proof-of-possession check.
    public func issue(
        csr: CertificateSigningRequest, profile: IssuanceProfile, subject: DistinguishedName? = nil, now: Date,
        validityDays: Int? = nil
    ) throws -> Certificate {
        try CertificateAuthority.checkProofOfPossession(csr)
        return try issue(
            profile: profile, subject: subject ?? csr.subject, publicKey: csr.publicKey, now: now,
            validityDays: validityDays)
    }

    /// Revokes a certificate this CA issued.
    public func revoke(serial: Certificate.SerialNumber, reason: RevocationReason, now: Date) throws {
        try locked {
            var state = try readState()
            let hex = Hex.encode(serial.bytes)
            guard let index = state.records.firstIndex(where: { $0.serial == hex && $0.status != "reserved" }) else {
                throw PKIError(.notFound, "this CA did not issue a certificate with that serial")
            }
            // A certificate on hold may still be revoked for good (a blocked card reported lost); nothing else is
            // revoked twice.
            guard state.records[index].status != "revoked"
                || (state.records[index].reason == RevocationReason.certificateHold.rawValue && reason != .certificateHold)
            else {
                throw PKIError(.alreadyRevoked, "the certificate is already revoked")
            }
            state.records[index].status = "revoked"
            state.records[index].revokedAt = now
            state.records[index].reason = reason.rawValue
            try writeState(state)
        }
    }

    /// Lifts a certificate hold (RFC 5280 §5.3.1 `certificateHold`): the certificate is valid again and leaves the
    /// next CRL. Only a hold can be lifted; any other revocation is final.
    /// - Throws: `pki.not-found` (not issued here, or not on hold), `pki.already-revoked` (revoked for good).
    public func releaseHold(serial: Certificate.SerialNumber) throws {
        try locked {
            var state = try readState()
            let hex = Hex.encode(serial.bytes)
            guard let index = state.records.firstIndex(where: { $0.serial == hex && $0.status != "reserved" }) else {
                throw PKIError(.notFound, "this CA did not issue a certificate with that serial")
            }
            let record = state.records[index]
            guard record.status == "revoked" else { throw PKIError(.notFound, "the certificate is not on hold") }
            guard record.reason == RevocationReason.certificateHold.rawValue else {
                throw PKIError(.alreadyRevoked, "only a certificate hold can be lifted; this revocation is final")
            }
            state.records[index].status = "issued"
            state.records[index].revokedAt = nil
            state.records[index].reason = nil
            try writeState(state)
        }
    }

    /// The record of one certificate this CA issued, by serial (nil when it issued none with that serial).
    public func record(serial: Certificate.SerialNumber) throws -> Record? {
        let hex = Hex.encode(serial.bytes)
        return try readState().records.first { $0.serial == hex }
    }

    /// Signs a new CRL with the next CRL number (monotonic, persisted before the CRL is returned) and writes it to
    /// `crl.der` and `crl.pem`.
    public func makeCRL(now: Date, validityDays: Int = 1) throws -> CertificateRevocationList {
        try locked {
            let authority = try self.authority()
            var state = try readState()
            let number = state.nextCRLNumber
            state.nextCRLNumber += 1
            try writeState(state)
            let entries = state.records.filter { $0.status == "revoked" }.map { record in
                CertificateRevocationList.Entry(
                    serialNumber: Certificate.SerialNumber(bytes: Hex.decode(record.serial) ?? []),
                    revocationDate: record.revokedAt ?? now,
                    reason: record.reason.flatMap(RevocationReason.init(rawValue:)))
            }
            let crl = try CertificateRevocationList.make(
                authority: authority, entries: entries, crlNumber: number, thisUpdate: now,
                nextUpdate: now.addingTimeInterval(Double(validityDays) * 86_400))
            try write(Data(crl.derEncoded), "crl.der")
            try write(Data(crl.pemEncoded.utf8), "crl.pem")
            return crl
        }
    }

    /// Every record in the CA's state.
    public func records() throws -> [Record] { try readState().records }

    /// A certificate this CA issued, by serial.
    public func certificate(serial: Certificate.SerialNumber) throws -> Certificate {
        let path = "\(directory)/issued/\(Hex.encode(serial.bytes)).pem"
        guard let first = try PEM.certificates(fromFile: path).first else {
            throw PKIError(.notFound, "no issued certificate with that serial")
        }
        return first
    }

    // MARK: - internals

    /// Completes interrupted issuances: a reserved serial whose certificate file exists becomes issued; one without
    /// stays reserved forever (never reused).
    private func recover() throws {
        var state = try readState()
        var changed = false
        for index in state.records.indices where state.records[index].status == "reserved" {
            let path = "\(directory)/issued/\(state.records[index].serial).pem"
            if let certificate = try? PEM.certificates(fromFile: path).first {
                state.records[index].status = "issued"
                state.records[index].notAfter = certificate.notValidAfter
                changed = true
            }
        }
        if changed { try writeState(state) }
    }

    private func locked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try FileLock.withExclusiveLock(at: lockPath, body)
        } catch let error as AtomicFile.WriteError {
            throw PKIError(.io, error.message)
        }
    }

    private func readState() throws -> State {
        guard let data = FileManager.default.contents(atPath: statePath) else {
            throw PKIError(.storeCorrupt, "the CA state file cannot be read")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let state = try? decoder.decode(State.self, from: data) else {
            throw PKIError(.storeCorrupt, "the CA state file is not valid")
        }
        return state
    }

    private func writeState(_ state: State) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(try encoder.encode(state), "state.json", permissions: 0o600)
    }

    private func write(_ data: Data, _ name: String, permissions: Int = 0o644) throws {
        do { try AtomicFile.write(data, to: "\(directory)/\(name)", permissions: permissions) } catch let error
            as AtomicFile.WriteError
        {
            throw PKIError(.io, error.message)
        }
    }
}
