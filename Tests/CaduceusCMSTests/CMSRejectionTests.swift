import CaduceusCMS
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing
import X509

@Suite("CMS rejections: each failure has its own code; decryption failures are uniform")
struct CMSRejectionTests {
    let pki: TestPKI
    let signer: Credential
    let recipient: Credential
    let content = Array("OBX|1|TX|SYNTHETIC^TEST||result text\r".utf8)

    init() throws {
        pki = try TestPKI()
        signer = try pki.credential(.person(email: "sig@hospital-a.test"), name: "Signer")
        recipient = try pki.credential(.node(dnsNames: ["recipient.hospital-b.test"]), name: "Recipient")
    }

    func expectSignerError(_ code: CMSError.Code, credential: Credential, validator: ChainValidator? = nil, now: Date = Date()) async throws {
        let cms = try SignedData.sign(content[...], signers: [credential], detached: false, signingTime: now)
        await #expect(throws: CMSError(code, "")) {
            try await SignedData.verify(cms[...], validator: validator ?? pki.validator(), now: now)
        }
    }

    @Test func tamperedContentIsDigestMismatch() async throws {
        let cms = try SignedData.sign(content[...], signers: [signer], detached: true, signingTime: Date())
        var altered = content
        altered[4] ^= 0x01
        await #expect(throws: CMSError(.digestMismatch, "")) {
            try await SignedData.verify(cms[...], detachedContent: altered[...], validator: pki.validator(), now: Date())
        }
        // The untouched content still verifies: the test above can only fail for the alteration.
        let ok = try await SignedData.verify(cms[...], detachedContent: content[...], validator: pki.validator(), now: Date())
        #expect(Array(ok.content) == content)
    }

    @Test(arguments: [KeyAlgorithm.p256, .rsa2048])
    func tamperedSignatureIsBadSignature(key: KeyAlgorithm) async throws {
        let credential = try pki.credential(.person(email: "t@hospital-a.test"), name: "Tamper", key: key)
        var cms = try SignedData.sign(content[...], signers: [credential], detached: false, signingTime: Date())
        cms[cms.count - 1] ^= 0x01  // the last byte is inside the signature value
        await #expect(throws: CMSError(.badSignature, "")) {
            try await SignedData.verify(cms[...], validator: pki.validator(), now: Date())
        }
    }

    @Test func expiredSigner() async throws {
        let now = Date()
        let expired = try pki.customCredential(
            .person(email: "old@hospital-a.test"), name: "Expired", notBefore: now.addingTimeInterval(-86_400 * 30),
            notAfter: now.addingTimeInterval(-86_400))
        try await expectSignerError(.signerRejected(.expired), credential: expired)
    }

    @Test func notYetValidSigner() async throws {
        let now = Date()
        let future = try pki.customCredential(
            .person(email: "new@hospital-a.test"), name: "Future", notBefore: now.addingTimeInterval(86_400),
            notAfter: now.addingTimeInterval(86_400 * 30))
        try await expectSignerError(.signerRejected(.notYetValid), credential: future)
    }

    @Test func revokedSigner() async throws {
        let crl = try CertificateRevocationList.make(
            authority: pki.hospital,
            entries: [.init(serialNumber: signer.certificate.serialNumber, revocationDate: Date(), reason: .keyCompromise)],
            crlNumber: 1, thisUpdate: Date().addingTimeInterval(-60), nextUpdate: Date().addingTimeInterval(86_400))
        try await expectSignerError(.signerRejected(.revoked), credential: signer, validator: pki.validator(crls: [crl]))
        // Another signer under the same CRL is fine.
        let other = try pki.credential(.person(email: "ok@hospital-a.test"), name: "Not revoked")
        let cms = try SignedData.sign(content[...], signers: [other], detached: false, signingTime: Date())
        _ = try await SignedData.verify(cms[...], validator: pki.validator(crls: [crl], revocation: .leaf), now: Date())
    }

    @Test func missingCRLWhenRequired() async throws {
        try await expectSignerError(.signerRejected(.crlMissing), credential: signer, validator: pki.validator(revocation: .leaf))
    }

    @Test func untrustedAnchor() async throws {
        let stranger = try TestPKI()
        try await expectSignerError(.signerRejected(.untrusted), credential: signer, validator: stranger.validator())
    }

    @Test func wrongExtendedKeyUsage() async throws {
        let now = Date()
        let key = try PrivateKeyMaterial.generate(.p256)
        let extensions = try Certificate.Extensions([
            try .init(BasicConstraints.notCertificateAuthority, critical: true),
            try .init(KeyUsage(digitalSignature: true), critical: true),
            try .init(ExtendedKeyUsage([.serverAuth]), critical: false),
        ])
        let certificate = try pki.hospital.issueUnchecked(
            profile: .node(dnsNames: ["tls-only.test"]), subject: try federationName(commonName: "TLS only"),
            publicKey: key.publicKey, notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(86_400),
            extensions: extensions)
        let tlsOnly = try Credential(key: key, certificate: certificate, chain: [pki.hospital.certificate, pki.regional.certificate])
        try await expectSignerError(.signerRejected(.keyUsage), credential: tlsOnly)
    }

    @Test func signatureMadeWhileValidStillVerifiesAfterExpiry() async throws {
        let signedAt = Date()
        let cms = try SignedData.sign(content[...], signers: [signer], detached: false, signingTime: signedAt)
        let threeYearsLater = signedAt.addingTimeInterval(86_400 * 365 * 3)
        let verified = try await SignedData.verify(cms[...], validator: pki.validator(), now: threeYearsLater)
        #expect(verified.signers.first?.signingTime != nil)
    }

    @Test func signingTimeInTheFutureIsRefused() async throws {
        let cms = try SignedData.sign(content[...], signers: [signer], detached: false, signingTime: Date().addingTimeInterval(3600))
        await #expect(throws: CMSError(.badSignedAttributes, "")) {
            try await SignedData.verify(cms[...], validator: pki.validator(), now: Date())
        }
    }

    @Test func malformedAndTruncatedInput() async throws {
        let cms = try SignedData.sign(content[...], signers: [signer], detached: false, signingTime: Date())
        await #expect(throws: CMSError(.malformed, "")) {
            try await SignedData.verify(cms.prefix(cms.count / 2), validator: pki.validator(), now: Date())
        }
        await #expect(throws: CMSError(.malformed, "")) {
            try await SignedData.verify([0x30, 0x03, 0x02, 0x01][...], validator: pki.validator(), now: Date())
        }
        await #expect(throws: CMSError(.malformed, "")) {
            try await SMIME.verify([][...], validator: pki.validator(), now: Date())
        }
        let envelope = try EnvelopedData.encrypt(content[...], recipients: [recipient.certificate])
        #expect(throws: CMSError(.malformed, "")) {
            try EnvelopedData.decrypt(envelope.prefix(envelope.count - 10), credential: recipient)
        }
        #expect(throws: CMSError(.mimeMalformed, "")) {
            try SMIME.decrypt(Array("Content-Type: text/plain\r\n\r\nhello".utf8)[...], credential: recipient)
        }
    }

    @Test("every decryption failure has the same code and the same text", arguments: ContentCipher.allCases)
    func decryptionFailuresAreUniform(cipher: ContentCipher) throws {
        let other = try pki.credential(.node(dnsNames: ["other.hospital-c.test"]), name: "Other")
        let rsaRecipient = try pki.credential(.node(dnsNames: ["rsa.hospital-b.test"]), name: "RSA", key: .rsa2048)
        var failures: [CMSError] = []
        var implicitRejections = 0
        func capture(_ body: () throws -> Void) {
            do {
                try body()
                // A corrupted key with CBC: the decryptor continues with a random key (implicit rejection, RFC 3218 §2.3)
                // and unauthenticated CBC may then unpad by chance (about 1 in 256), returning garbage, which the
                // signature inside a sealed message refuses. That is the designed outcome, not a leak.
                if cipher.isAuthenticated { Issue.record("decryption unexpectedly succeeded") } else { implicitRejections += 1 }
            } catch let error as CMSError {
                failures.append(error)
            } catch { Issue.record("unexpected error type \(error)") }
        }
        let cms = try EnvelopedData.encrypt(content[...], recipients: [recipient.certificate, rsaRecipient.certificate], cipher: cipher)
        #expect(try EnvelopedData.decrypt(cms[...], credential: recipient).content == content)
        capture { _ = try EnvelopedData.decrypt(cms[...], credential: other) }  // not a recipient
        var body = cms
        body[body.count - 20] ^= 0x40  // ciphertext or tag
        capture { _ = try EnvelopedData.decrypt(body[...], credential: recipient) }
        capture { _ = try EnvelopedData.decrypt(body[...], credential: rsaRecipient) }
        // Flip a byte inside each recipient's encrypted key: locate the encrypted keys by their known length.
        // RecipientInfos is a DER SET OF, so the RSA KTRI (a SEQUENCE) precedes the KARI ([1]); the EC key is searched
        // after the RSA key's 256 random bytes, which could hold its two-byte marker by chance.
        let rsaKey = cms.firstRange(of: [0x04, 0x82, 0x01, 0x00] as [UInt8])
        for (credential, keyLength) in [(recipient, cipher.rawValue.contains("256") ? 40 : 24), (rsaRecipient, 256)] {
            var corrupted = cms
            let marker: [UInt8] = keyLength < 128 ? [0x04, UInt8(keyLength)] : [0x04, 0x82, 0x01, 0x00]
            let from = keyLength < 128 ? (rsaKey.map { $0.upperBound + 256 } ?? 0) : 0
            // The marker can also occur by chance (the ECDH ephemeral key starts 0x04, then a random byte), so take the
            // occurrence that the EncryptedContentInfo (a SEQUENCE, 0x30) follows: the encrypted key ends RecipientInfos.
            var found: Range<Int>?
            var search = from
            while let r = corrupted[search...].firstRange(of: marker) {
                if keyLength >= 128 || (r.upperBound + keyLength < corrupted.count && corrupted[r.upperBound + keyLength] == 0x30) { found = r; break }
                search = r.lowerBound + 1
            }
            guard let at = found else { Issue.record("encrypted key not found"); continue }
            corrupted[at.upperBound + 3] ^= 0x01
            capture { _ = try EnvelopedData.decrypt(corrupted[...], credential: credential) }
        }
        #expect(failures.count + implicitRejections == 5)
        #expect(implicitRejections <= 2, "only the two corrupted-key cases can end in implicit rejection")
        for failure in failures {
            #expect(failure.kind == .decryptionFailed)
            #expect(failure.description == CMSError.decryptionFailed.description)
        }
    }

    @Test func recipientThatCannotReceiveIsRefused() throws {
        let now = Date()
        let key = try PrivateKeyMaterial.generate(.p256)
        let signOnly = try pki.hospital.issueUnchecked(
            profile: .node(dnsNames: ["sign-only.test"]), subject: try federationName(commonName: "Sign only"),
            publicKey: key.publicKey, notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(86_400),
            extensions: try Certificate.Extensions([try .init(KeyUsage(digitalSignature: true), critical: true)]))
        #expect(throws: CMSError(.recipientRejected, "")) {
            try EnvelopedData.encrypt(content[...], recipients: [signOnly])
        }
    }
}

@Suite("RSA keys under 2048 bits are refused by name")
struct WeakRSATests {
    @Test func rsa1024FromOpenSSL() async throws {
        let dir = try TemporaryDirectory()
        let key = dir.file("weak.key")
        let cert = dir.file("weak.pem")
        #expect(try ProcessRunner.openssl(["genrsa", "-traditional", "-out", key, "1024"]).ok)
        #expect(try ProcessRunner.openssl(["req", "-x509", "-new", "-key", key, "-subj", "/CN=weak", "-days", "1", "-out", cert]).ok)
        #expect(throws: PKIError(.weakAlgorithm, "")) { try PEM.certificates(fromFile: cert) }
        #expect(throws: PKIError(.weakAlgorithm, "")) { try PrivateKeyMaterial(pemEncoded: try String(contentsOfFile: key, encoding: .utf8)) }
        let pkcs8 = try ProcessRunner.openssl(["pkcs8", "-topk8", "-nocrypt", "-in", key])
        #expect(throws: PKIError(.weakAlgorithm, "")) { try PrivateKeyMaterial(pemEncoded: pkcs8.text) }
        let content = try dir.write("c.txt", "weak")
        let signed = try ProcessRunner.openssl(["cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", content, "-signer", cert, "-inkey", key, "-md", "sha256"])
        #expect(signed.ok, "\(signed.stderr)")
        let pki = try TestPKI()
        await #expect(throws: CMSError(.weakAlgorithm, "")) {
            try await SMIME.verify(Array(signed.stdout)[...], validator: pki.validator(), now: Date())
        }
    }
}
