import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusPKI
import CaduceusTestSupport
import Foundation
import Testing

@Suite("Exchange envelopes")
struct EnvelopeTests {
    let pki: TestPKI
    let sender: Credential
    let recipient: Credential
    init() throws {
        pki = try TestPKI()
        sender = try pki.credential(.node(dnsNames: ["node.a.test"]), name: "node.a")
        recipient = try pki.credential(.node(dnsNames: ["node.b.test"]), name: "node.b", key: .rsa2048)
    }

    func message(audience: String = "node.b", operation: ExchangeOperation = .retrieve, issuedAt: Date = Date()) throws -> ExchangeMessage {
        ExchangeMessage(
            header: EnvelopeHeader(operation: operation, audience: audience, requestId: "r-1", issuedAt: issuedAt, body: try JSONEncoder.exchange.encode(RetrieveRequest(uniqueIds: ["2.25.1"]))),
            documents: [MIMEPart(contentType: "text/xml", id: "2.25.1", body: Array("<ClinicalDocument/>".utf8))])
    }

    @Test("openssl cms decrypts and verifies our envelope; we open an envelope openssl signed and encrypted")
    func openssl() async throws {
        let dir = try TemporaryDirectory()
        let sealed = try Envelope.seal(try message(), from: sender, to: recipient.certificate, now: Date())
        let path = try dir.write("env.der", Data(sealed))
        let b = try dir.write(credential: recipient, as: "b")
        let a = try dir.write(credential: sender, as: "a")
        let rootPath = try dir.write("root.pem", try PEM.encode([pki.root.certificate]))
        let inner = try ProcessRunner.openssl(["cms", "-decrypt", "-inform", "DER", "-in", path, "-recip", b.cert, "-inkey", b.key, "-binary"])
        #expect(inner.ok, "\(inner.stderr)")
        let innerPath = try dir.write("inner.der", inner.stdout)
        let verified = try ProcessRunner.openssl(["cms", "-verify", "-inform", "DER", "-in", innerPath, "-CAfile", rootPath, "-binary"])
        #expect(verified.ok, "\(verified.stderr)")
        let parts = try Multipart.decode(Array(verified.stdout))
        #expect(parts.map(\.contentID) == ["header", "2.25.1"])

        // The other way: our payload, signed and encrypted by openssl, opened by us.
        let payload = try dir.write("payload.mime", verified.stdout)
        let signed = try ProcessRunner.openssl(["cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", payload, "-signer", a.cert, "-inkey", a.key, "-certfile", try dir.write("cas.pem", try PEM.encode(sender.chain))])
        #expect(signed.ok, "\(signed.stderr)")
        let encrypted = try ProcessRunner.openssl(["cms", "-encrypt", "-binary", "-outform", "DER", "-in", try dir.write("signed.der", signed.stdout), "-aes-256-gcm", "-recip", b.cert, "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"])
        #expect(encrypted.ok, "\(encrypted.stderr)")
        let opened = try await Envelope.open(Array(encrypted.stdout), as: "node.b", credential: recipient, validator: pki.validator(), expecting: .retrieve, now: Date())
        #expect(opened.identity.commonName == "node.a" && opened.identity.kind == .node)
        #expect(try opened.message.decodeBody(RetrieveRequest.self).uniqueIds == ["2.25.1"])
        #expect(opened.message.documents.first?.body == Array("<ClinicalDocument/>".utf8))
    }

    @Test("what is kept as evidence is the signed content: openssl verifies it with the anchors alone, no node key needed")
    func evidenceVerifiesWithoutTheKey() async throws {
        let sealed = try Envelope.seal(try message(), from: sender, to: recipient.certificate, now: Date())
        let opened = try await Envelope.open(sealed, as: "node.b", credential: recipient, validator: pki.validator(), expecting: .retrieve, now: Date())
        #expect(!opened.signed.isEmpty && opened.signed != opened.raw)
        let dir = try TemporaryDirectory()
        let rootPath = try dir.write("root.pem", try PEM.encode([pki.root.certificate]))
        let verified = try ProcessRunner.openssl(["cms", "-verify", "-inform", "DER", "-in", try dir.write("evidence.der", Data(opened.signed)), "-CAfile", rootPath, "-binary", "-purpose", "any"])
        #expect(verified.ok, "\(verified.stderr)")
        #expect(try Multipart.decode(Array(verified.stdout)).map(\.contentID) == ["header", "2.25.1"])
    }

    @Test("misaddressed, wrong-operation, stale, undecryptable and foreign-signed envelopes are refused with their codes")
    func refusals() async throws {
        func code(_ bytes: [UInt8], as me: String = "node.b", credential: Credential? = nil, expecting: ExchangeOperation = .retrieve) async -> String? {
            do {
                _ = try await Envelope.open(bytes, as: me, credential: credential ?? recipient, validator: pki.validator(), expecting: expecting, now: Date())
                return nil
            } catch { return error.code }
        }
        let good = try Envelope.seal(try message(), from: sender, to: recipient.certificate, now: Date())
        #expect(await code(good) == nil)
        #expect(await code(good, expecting: .query) == "exchange.misdirected")
        #expect(await code(try Envelope.seal(try message(audience: "node.c"), from: sender, to: recipient.certificate, now: Date())) == "exchange.misdirected")
        #expect(await code(try Envelope.seal(try message(issuedAt: Date().addingTimeInterval(-3600)), from: sender, to: recipient.certificate, now: Date())) == "exchange.misdirected")
        let third = try pki.credential(.node(dnsNames: ["node.c.test"]), name: "node.c")
        #expect(await code(good, as: "node.c", credential: third) == "exchange.decryption-failed")
        var flipped = good
        flipped[flipped.count - 40] ^= 0x01
        #expect(await code(flipped) == "exchange.decryption-failed", "tampered ciphertext fails like a wrong key")
        let foreign = try TestPKI().credential(.node(dnsNames: ["node.a.test"]), name: "node.a")
        #expect(await code(try Envelope.seal(try message(), from: foreign, to: recipient.certificate, now: Date())) == "exchange.signer-rejected")
        #expect(await code(Array("not an envelope".utf8)) == "exchange.decryption-failed")
    }
}
