import CaduceusCore
@testable import CaduceusPKI
import CaduceusTestSupport
import Foundation
import SwiftASN1
import Testing
import X509

/// RFC 6960 on both sides, pure: the CA store's delegated responder, ``OCSPResponder``'s answers, ``OCSPVerifier``'s
/// refusals — and OpenSSL's responder (`openssl ocsp -index`) read by our verifier.
@Suite("OCSP responder and verifier (RFC 6960)")
struct OCSPTests {
    let dir: TemporaryDirectory
    let root: CAStore, hospital: CAStore, other: CAStore
    let good: Certificate, revoked: Certificate
    let now: Date
    let revokedAt: Date

    init() throws {
        let now = Date()
        self.now = now
        dir = try TemporaryDirectory()
        root = try CAStore.createRoot(at: dir.file("root"), subject: try federationName(commonName: "OCSP Test Root"), now: now)
        let regional = try root.createSubordinate(at: dir.file("regional"), subject: try federationName(commonName: "OCSP Test Regional"), pathLength: 1, namespace: .unrestricted, now: now)
        let hospital = try regional.createSubordinate(at: dir.file("hospital"), subject: try federationName(commonName: "OCSP Test Hospital CA"), pathLength: 0, namespace: .unrestricted, now: now)
        self.hospital = hospital
        other = try regional.createSubordinate(at: dir.file("other"), subject: try federationName(commonName: "OCSP Test Other CA"), pathLength: 0, namespace: .unrestricted, now: now)
        func card(_ name: String) throws -> Certificate {
            try hospital.issue(profile: .person(email: "\(name)@hospital.test"), subject: try federationName(commonName: name, organization: "node.hospital", unit: "nurse"), publicKey: try PrivateKeyMaterial.generate(.p256).publicKey, now: now)
        }
        good = try card("good")
        revoked = try card("revoked")
        let revokedAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - 60).rounded(.down))
        self.revokedAt = revokedAt
        try hospital.revoke(serial: revoked.serialNumber, reason: .keyCompromise, now: revokedAt)
    }

    func responder(_ store: CAStore? = nil, validity: TimeInterval = 600) throws -> OCSPResponder {
        let ca = store ?? hospital
        let chain = try ca.chain()
        return OCSPResponder(authority: chain[0], parents: Array(chain.dropFirst()), signer: try ca.ocspSigner(now: now), records: try ca.records(), validity: validity)
    }

    var issuer: Certificate { get throws { try hospital.chain()[0] } }

    /// Asks our responder about `certificate` and verifies the answer.
    func ask(_ certificate: Certificate, hash: OCSPCertificateID.HashAlgorithm = .sha256, at when: Date? = nil) throws -> OCSPVerdict {
        let request = try OCSPRequest.make(for: certificate, issuer: try issuer, hash: hash)
        let answer = try responder().respond(to: request.derEncoded, now: now)
        return try OCSPVerifier.verify(answer, request: request, certificate: certificate, issuer: try issuer, now: when ?? now)
    }

    func code(_ body: () throws -> Void) -> String? {
        do { try body() } catch let error as PKIError { return error.code } catch { return "other" }
        return nil
    }

    @Test("the CA store keeps a delegated responder: EKU id-kp-OCSPSigning, id-pkix-ocsp-nocheck, 7 days, no federation identity; reused, then renewed near expiry; its key is private")
    func delegatedSigner() throws {
        let signer = try hospital.ocspSigner(now: now)
        let certificate = signer.certificate
        #expect(try certificate.extensions.extendedKeyUsage == ExtendedKeyUsage([.ocspSigning]))
        #expect(certificate.extensions[oid: CaduceusOID.ocspNoCheck]?.value == [0x05, 0x00])
        #expect(try certificate.extensions.keyUsage?.digitalSignature == true)
        #expect(FederationIdentity(certificate) == nil, "no Caduceus policy: it validates as no federation identity")
        #expect(certificate.notValidAfter.timeIntervalSince(now) <= 7 * 86_400 + 1 && certificate.notValidAfter.timeIntervalSince(now) > 6 * 86_400)
        #expect(OCSPSigner.isDelegated(certificate, by: try issuer))
        #expect(try hospital.ocspSigner(now: now.addingTimeInterval(86_400)).certificate == certificate, "reused while more than 3 days are left")
        let renewed = try hospital.ocspSigner(now: now.addingTimeInterval(5 * 86_400)).certificate
        #expect(renewed != certificate && renewed.publicKey != certificate.publicKey)
        #expect(try hospital.records().filter { $0.profile == "ocsp" }.count == 2, "each signer is journaled like any issuance")
        let attributes = try FileManager.default.attributesOfItem(atPath: hospital.directory + "/ocsp.key.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // Another CA's signer is not this CA's delegate.
        #expect(!OCSPSigner.isDelegated(try other.ocspSigner(now: now).certificate, by: try issuer))
        #expect(throws: PKIError(.profileViolation, "")) { try OCSPSigner(certificate: try other.ocspSigner(now: now).certificate, key: try other.ocspSigner(now: now).key, issuer: try issuer) }
    }

    @Test("good, revoked (time and reason) and unknown answers, for SHA-1 and SHA-256 CertIDs, signed by the delegated responder", arguments: [OCSPCertificateID.HashAlgorithm.sha1, .sha256])
    func statuses(hash: OCSPCertificateID.HashAlgorithm) throws {
        let goodVerdict = try ask(good, hash: hash)
        #expect(goodVerdict.status == .good && goodVerdict.delegated)
        #expect(goodVerdict.nextUpdate.map { $0.timeIntervalSince(goodVerdict.thisUpdate) } == 600)
        #expect(try ask(revoked, hash: hash).status == .revoked(time: revokedAt, reason: .keyCompromise))
        // A serial this CA never issued (a certificate made with its key outside the store), and a certificate of
        // another CA asked of this one (the issuer hashes are not this CA's).
        let outside = try hospital.authority().issue(profile: .person(email: "x@hospital.test"), subject: try federationName(commonName: "outside", organization: "node.hospital", unit: "nurse"), publicKey: try PrivateKeyMaterial.generate(.p256).publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
        #expect(try ask(outside, hash: hash).status == .unknown)
        let foreign = try other.issue(profile: .person(email: "y@other.test"), subject: try federationName(commonName: "foreign", organization: "node.other", unit: "nurse"), publicKey: try PrivateKeyMaterial.generate(.p256).publicKey, now: now)
        let request = try OCSPRequest.make(for: foreign, issuer: try other.chain()[0], hash: hash)
        let answer = try OCSPResponse(derEncoded: try responder().respond(to: request.derEncoded, now: now))
        #expect(answer.basic?.responses.map(\.status) == [.unknown])
    }

    @Test("the nonce is echoed byte for byte; several certificates are answered in order; the CA may sign its own answers")
    func nonceAndSeveral() throws {
        let ids = try [good, revoked].map { try OCSPCertificateID(serialNumber: $0.serialNumber, issuer: try issuer) }
        let request = try OCSPRequest(certificateIDs: ids, nonce: [0x04, 0x02, 0xAB, 0xCD])
        let answer = try OCSPResponse(derEncoded: try responder().respond(to: request.derEncoded, now: now))
        #expect(answer.status == .successful && answer.basic?.nonce == [0x04, 0x02, 0xAB, 0xCD])
        #expect(answer.basic?.responses.map(\.status) == [.good, .revoked(time: revokedAt, reason: .keyCompromise)])
        // Signed by the CA itself (RFC 6960 §4.2.2.2, first case): verifies, not delegated.
        let chain = try hospital.chain()
        let byCA = OCSPResponder(authority: chain[0], parents: Array(chain.dropFirst()), signer: OCSPSigner(authority: try hospital.authority()), records: try hospital.records())
        let single = try OCSPRequest.make(for: good, issuer: chain[0])
        let verdict = try OCSPVerifier.verify(byCA.respond(to: single.derEncoded, now: now), request: single, certificate: good, issuer: chain[0], now: now)
        #expect(verdict.status == .good && !verdict.delegated)
    }

    @Test("what is not a request gets malformedRequest; a node hosting no CA answers unauthorized; neither is a status to consider")
    func badInput() throws {
        let garbage: [[UInt8]] = [[], [0x30, 0x00], [0x30, 0x03, 0x30, 0x01, 0x30], Array(repeating: 0x41, count: 100), Array(repeating: 0, count: OCSPRequest.maxSize + 1)]
        for bytes in garbage {
            #expect(try OCSPResponse(derEncoded: try responder().respond(to: bytes, now: now)).status == .malformedRequest)
        }
        // An empty request list is malformed.
        var empty = DER.Serializer()
        try empty.appendConstructedNode(identifier: .sequence) { r in try r.appendConstructedNode(identifier: .sequence) { t in try t.appendConstructedNode(identifier: .sequence) { _ in } } }
        #expect(throws: PKIError(.malformed, "")) { try OCSPRequest(derEncoded: empty.serializedBytes) }
        let request = try OCSPRequest.make(for: good, issuer: try issuer)
        let unauthorized = OCSPResponder.respond(to: request.derEncoded, among: [], now: now)
        #expect(try OCSPResponse(derEncoded: unauthorized).status == .unauthorized)
        #expect(code { _ = try OCSPVerifier.verify(unauthorized, request: request, certificate: good, issuer: try issuer, now: now) } == "pki.ocsp-unavailable")
    }

    @Test("a forged answer is refused (pki.ocsp-invalid): signed by an impostor CA of the same name, by another CA's delegated responder, or altered after signing")
    func forged() throws {
        let request = try OCSPRequest.make(for: revoked, issuer: try issuer)
        // An impostor CA with the hospital CA's exact name and its own key, declaring the revoked card good.
        let impostor = try CAStore.createRoot(at: dir.file("impostor"), subject: try issuer.subject, now: now)
        let forgedRecords = try hospital.records().map { r -> CAStore.Record in var r = r; r.status = r.status == "revoked" ? "issued" : r.status; return r }
        let byImpostor = OCSPResponder(authority: try issuer, parents: [], signer: OCSPSigner(uncheckedCertificate: try impostor.authority().certificate, key: try impostor.authority().key), records: forgedRecords)
        #expect(code { _ = try OCSPVerifier.verify(byImpostor.respond(to: request, now: now), request: request, certificate: revoked, issuer: try issuer, now: now) } == "pki.ocsp-invalid")
        // Another CA's genuine delegated responder, answering for this CA's card.
        let otherSigner = try other.ocspSigner(now: now)
        let byOther = OCSPResponder(authority: try issuer, parents: [], signer: OCSPSigner(uncheckedCertificate: otherSigner.certificate, key: otherSigner.key), records: forgedRecords)
        #expect(code { _ = try OCSPVerifier.verify(byOther.respond(to: request, now: now), request: request, certificate: revoked, issuer: try issuer, now: now) } == "pki.ocsp-invalid")
        // The genuine answer with its revocation time moved by a second (still valid DER): the signature breaks.
        var genuine = try responder().respond(to: request, now: now)
        #expect(try OCSPVerifier.verify(genuine, request: request, certificate: revoked, issuer: try issuer, now: now).status != .good)
        let index = try #require(genuine.firstRange(of: [0xA1, 0x16, 0x18, 0x0F])?.lowerBound, "RevokedInfo: a GeneralizedTime and a reason")
        genuine[index + 4 + 13] ^= 0x01
        #expect(code { _ = try OCSPVerifier.verify(genuine, request: request, certificate: revoked, issuer: try issuer, now: now) } == "pki.ocsp-invalid")
        // Not an OCSP response at all.
        #expect(code { _ = try OCSPVerifier.verify([0x30, 0x03, 0x02, 0x01, 0x00], request: request, certificate: revoked, issuer: try issuer, now: now) } == "pki.ocsp-invalid")
    }

    @Test("a stale answer (nextUpdate past, by the clock given), one from the future, a replay with another nonce, and an answer about another certificate are refused")
    func staleReplayedMisdirected() throws {
        let request = try OCSPRequest.make(for: good, issuer: try issuer)
        let answer = try responder(validity: 600).respond(to: request, now: now)
        #expect(try OCSPVerifier.verify(answer, request: request, certificate: good, issuer: try issuer, now: now.addingTimeInterval(600 + 299)).status == .good, "within nextUpdate plus the skew")
        #expect(code { _ = try OCSPVerifier.verify(answer, request: request, certificate: good, issuer: try issuer, now: now.addingTimeInterval(600 + 301)) } == "pki.ocsp-invalid")
        #expect(code { _ = try OCSPVerifier.verify(answer, request: request, certificate: good, issuer: try issuer, now: now.addingTimeInterval(-301)) } == "pki.ocsp-invalid")
        // The same question again (a new nonce) answered with the first answer: a replay.
        let again = try OCSPRequest.make(for: good, issuer: try issuer)
        #expect(code { _ = try OCSPVerifier.verify(answer, request: again, certificate: good, issuer: try issuer, now: now) } == "pki.ocsp-invalid")
        // An answer to a request without a nonce, presented for one with a nonce.
        let plain = try OCSPRequest(certificateIDs: request.certificateIDs, nonce: nil)
        #expect(code { _ = try OCSPVerifier.verify(try responder().respond(to: plain, now: now), request: request, certificate: good, issuer: try issuer, now: now) } == "pki.ocsp-invalid")
        // A genuine answer about the revoked card presented as the answer about the good one.
        let aboutRevoked = try OCSPRequest.make(for: revoked, issuer: try issuer)
        let revokedAnswer = try responder().respond(to: aboutRevoked, now: now)
        #expect(code { _ = try OCSPVerifier.verify(revokedAnswer, request: aboutRevoked, certificate: good, issuer: try issuer, now: now) } == "pki.ocsp-invalid")
    }

    /// OpenSSL's `index.txt` line for a certificate (RFC-less, `openssl ca`'s database format).
    func indexLine(_ certificate: Certificate, revokedAt: Date? = nil, reason: String = "keyCompromise") -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyMMddHHmmss'Z'"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let serial = Hex.encode(OCSPCertificateID.canonical(certificate.serialNumber)).uppercased()
        let revocation = revokedAt.map { formatter.string(from: $0) + "," + reason } ?? ""
        return [revokedAt == nil ? "V" : "R", formatter.string(from: certificate.notValidAfter), revocation, serial, "unknown", "/CN=card"].joined(separator: "\t")
    }

    @Test("our verifier reads OpenSSL's responder (openssl ocsp -index … -reqin -respout): good, revoked with reason, unknown; signed by our delegated responder or by the CA itself, by name or by key id, with or without nextUpdate", arguments: [["-ndays", "1"], ["-resp_key_id"], ["-nmin", "5", "-sign_by_ca"]])
    func opensslResponder(options: [String]) throws {
        let work = try TemporaryDirectory()
        try work.write("index.txt", indexLine(good) + "\n" + indexLine(revoked, revokedAt: revokedAt) + "\n")
        try work.write("index.txt.attr", "unique_subject = no\n")
        try work.write("ca.pem", try PEM.encode([try issuer]))
        let byCA = options.contains("-sign_by_ca")
        if byCA {
            try work.write("signer.pem", try PEM.encode([try issuer]))
            try work.write("signer.key", try hospital.authority().key.pkcs8PEM)
        } else {
            let signer = try hospital.ocspSigner(now: now)
            try work.write("signer.pem", try PEM.encode([signer.certificate]))
            try work.write("signer.key", signer.key.pkcs8PEM)
        }
        let outside = try hospital.authority().issue(profile: .person(email: "z@hospital.test"), subject: try federationName(commonName: "outside", organization: "node.hospital", unit: "nurse"), publicKey: try PrivateKeyMaterial.generate(.p256).publicKey, serialNumber: SerialNumberGenerator.random(), now: now)
        let cases: [(Certificate, OCSPCertificateStatus)] = [(good, .good), (revoked, .revoked(time: revokedAt, reason: .keyCompromise)), (outside, .unknown)]
        for (certificate, expected) in cases {
            let request = try OCSPRequest.make(for: certificate, issuer: try issuer, hash: .sha1)
            try work.write("req.der", Data(request.derEncoded))
            let run = try ProcessRunner.openssl(["ocsp", "-index", "index.txt", "-rsigner", "signer.pem", "-rkey", "signer.key", "-CA", "ca.pem", "-reqin", "req.der", "-respout", "resp.der"] + options.filter { $0 != "-sign_by_ca" }, in: work.url)
            #expect(run.ok, "\(run.stderr)")
            let verdict = try OCSPVerifier.verify(Array(try work.read("resp.der")), request: request, certificate: certificate, issuer: try issuer, now: now)
            #expect(verdict.status == expected && verdict.delegated == !byCA)
        }
    }
}
