package import CaduceusPKI
package import Logging
package import ServiceLifecycle
import CaduceusAudit
import CaduceusCore
import CaduceusExchange
import CaduceusStorage
package import Foundation
import Synchronization
package import X509

/// How a node renews its own certificate (`node.certificate.*`).
package struct RenewalSettings: Sendable, Equatable {
    /// Days a renewed node certificate is valid (`node.certificate.lifetime`, default 7: short-lived, so a
    /// compromised node key is useless within days even where a revocation list does not reach).
    package var lifetimeDays: Int = 7
    /// Renew when less than this share of the certificate's whole validity is left (`node.certificate.renew`, in
    /// percent, default 33: a 7-day certificate is renewed with about 2.3 days to spare).
    package var renewAtPercentLeft: Int = 33
    /// Seconds between looks at the certificate (`node.certificate.check`, default 3600).
    package var checkSeconds: Int = 3600
    /// Off: the node never renews itself (`node.certificate.lifetime = off`).
    package var enabled = true

    package init() {}
}

/// Renews the node's own certificate before it expires, without a restart (issue #12, short-lived credentials).
///
/// When less than ``RenewalSettings/renewAtPercentLeft`` percent of the certificate's validity is left, a new
/// certificate for the same subject, DNS names and profile is issued by the CA that issued the current one — which
/// must be one this node hosts (a node whose CA lives elsewhere is renewed by its operator, `caduceus pki issue`, and
/// is warned here as its expiry nears). A key in memory is replaced by a new one of the same algorithm; a key on a
/// token is certified again (the token keeps it). Then, in this order: the files are rewritten (key first, each
/// atomically, and a half-done pair is completed at the next start: ``NodeCredentialFiles``), the running credential
/// is replaced (every new TLS handshake, envelope and assertion takes it; the old one still decrypts until it
/// expires, for peers that looked the node up before), the directory entry is published again, and the trail gets
/// `node.certificate-renewed` with both serials and a Security Alert "Security Configuration" (the node's
/// configuration fingerprint changed). The old certificate is not revoked: it expires within days.
package final class NodeCertificateRenewer: Service, Sendable {
    let runtime: NodeRuntime
    let files: NodeCredentialFiles?
    let settings: RenewalSettings
    let clock: @Sendable () -> Date
    let logger: Logger

    package init(runtime: NodeRuntime, files: NodeCredentialFiles?, settings: RenewalSettings, clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.runtime = runtime
        self.files = files
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// Whether the certificate `certificate` is due for renewal at `now`.
    package func isDue(_ certificate: Certificate, at now: Date) -> Bool {
        let whole = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
        let left = certificate.notValidAfter.timeIntervalSince(now)
        return left < whole * Double(settings.renewAtPercentLeft) / 100
    }

    /// Renews the certificate when it is due; returns the new credential, or nil when nothing was due.
    @discardableResult
    package func renewIfDue() async throws -> Credential? {
        let now = clock()
        guard isDue(runtime.node.credentials.current.certificate, at: now) else { return nil }
        return try await renew(at: now)
    }

    /// Renews the certificate now, whether due or not.
    /// - Throws: `pki.not-found` when this node does not host the issuing CA; the validator's refusal (`pki.revoked`,
    ///   `pki.expired`, …) when the current certificate is no longer good — a revoked node key is never certified
    ///   again (its operator issues a new one).
    @discardableResult
    package func renew(at now: Date) async throws -> Credential {
        let current = runtime.node.credentials.current
        guard let ca = try issuer(of: current.certificate) else {
            throw PKIError(.notFound, "the CA that issued this node's certificate is not hosted by this node: renew it where that CA is (caduceus pki issue)")
        }
        let verdict = await runtime.trust.validator().validate(current.certificate, intermediates: current.chain, usage: .tlsServer, validityTime: now, now: now)
        guard case .trusted = verdict else {
            throw PKIError(.revoked, "the node's current certificate is not valid (revoked, expired or its status unknown): it is not renewed")
        }
        let key: PrivateKeyMaterial
        switch current.key.backing {
        case .external: key = current.key
        case .p256: key = try .generate(.p256)
        case .rsa(let rsa): key = try .generate(rsa.keySizeInBits >= 3072 ? .rsa3072 : .rsa2048)
        }
        let dnsNames = (try? current.certificate.extensions.subjectAlternativeNames)?.compactMap { name -> String? in
            if case .dnsName(let dns) = name { return dns }
            return nil
        } ?? []
        let certificate = try ca.issue(profile: .node(dnsNames: dnsNames), subject: current.certificate.subject, publicKey: key.publicKey, now: now, validityDays: settings.lifetimeDays)
        let renewed = try Credential(key: key, certificate: certificate, chain: Array(try ca.chain().dropLast()))
        if let files { try files.write(renewed) }
        try runtime.node.credentials.replace(with: renewed, now: now)
        // A replaced certificate that would outlive a renewed one (the first renewal of a long-lived certificate) is
        // revoked as superseded, so its key is worth nothing once it stops decrypting (``RenewableCredential``).
        if current.certificate.notValidAfter.timeIntervalSince(now) > Double(settings.lifetimeDays) * 86_400 {
            do {
                try ca.revoke(serial: current.certificate.serialNumber, reason: .superseded, now: now)
                await runtime.publishRevocations()
            } catch {
                logger.warning("the replaced node certificate could not be revoked", metadata: ["error.code": "\((error as? any CaduceusError)?.code ?? "pki.io")"])
            }
        }
        await publishIfNeeded()
        do { try await runtime.recordRenewal(from: current.certificate, to: certificate, at: now) } catch {
            logger.error("the renewal could not be put on the audit trail", metadata: ["error.code": "\((error as? any CaduceusError)?.code ?? "storage.io")"])
        }
        logger.notice("node certificate renewed", metadata: [
            "certificate.serial": "\(Hex.encode(certificate.serialNumber.bytes))", "certificate.not-after": "\(certificate.notValidAfter)",
        ])
        return renewed
    }

    /// The generation of the credential last published in the directory (-1: none since start; the node publishes
    /// itself at start).
    let published = Mutex(0)

    /// Publishes the directory entry when the credential changed since the last publication; a failure is retried at
    /// the renewer's next look (peers holding the old entry reach the node meanwhile: the old key decrypts for an
    /// hour, and their cached entries expire within minutes).
    func publishIfNeeded() async {
        let generation = runtime.node.credentials.generation
        guard published.withLock({ $0 }) != generation else { return }
        do {
            try await runtime.node.publishSelf()
            published.withLock { $0 = max($0, generation) }
        } catch {
            logger.warning("the renewed certificate could not be published in the directory; retried at the next look", metadata: ["error.code": "\((error as? any CaduceusError)?.code ?? "exchange.peer-unavailable")"])
        }
    }

    /// The hosted CA whose current key issued `certificate`.
    package func issuer(of certificate: Certificate) throws -> CAStore? {
        for store in runtime.hostedAuthorities {
            guard let ca = try? store.chain().first, ca.subject == certificate.issuer else { continue }
            if (try? ca.publicKey.isValidSignature(certificate.signature, for: certificate)) == true { return store }
        }
        return nil
    }

    package func run() async throws {
        guard settings.enabled else { return }
        // A look at start, then one per check interval; the loop ends when graceful shutdown begins.
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                do {
                    try await renewIfDue()
                    await publishIfNeeded()
                } catch {
                    let left = runtime.node.credentials.current.certificate.notValidAfter.timeIntervalSince(clock())
                    logger.error("the node certificate could not be renewed", metadata: [
                        "error.code": "\((error as? any CaduceusError)?.code ?? "pki.renewal-failed")", "certificate.seconds-left": "\(Int(left))",
                    ])
                }
                try await Task.sleep(for: .seconds(settings.checkSeconds))
            }
        }
    }
}

/// Where a node's certificate chain and key live on disk (`tls.certificate`, `tls.key`), written back on renewal.
///
/// A renewal writes `KEY.next` and `CERT.next`, then renames the key, then the certificate. A start that finds the key
/// and the certificate not matching, and a `CERT.next` matching the key, completes the renewal it finds half done.
package struct NodeCredentialFiles: Sendable {
    package let certificate: String
    package let key: String?

    /// `key` nil: the key lives on a token, and only the certificate is written.
    package init(certificate: String, key: String?) {
        self.certificate = certificate
        self.key = key
    }

    /// Writes `credential` (its chain, and its key unless it lives on a token).
    package func write(_ credential: Credential) throws {
        let chain = Data(try PEM.encode([credential.certificate] + credential.chain).utf8)
        if let key {
            try AtomicFile.write(Data(try credential.key.pkcs8PEM.utf8), to: key + ".next", permissions: 0o600)
            try AtomicFile.write(chain, to: certificate + ".next")
            try AtomicFile.move(key + ".next", to: key)
        } else {
            try AtomicFile.write(chain, to: certificate + ".next")
        }
        try AtomicFile.move(certificate + ".next", to: certificate)
    }

    /// Reads the chain and the key (`tokenKey`: the key from a token instead of the key file), completing a renewal
    /// left half done.
    package func load(tokenKey: PrivateKeyMaterial? = nil) throws -> Credential {
        func read() throws -> Credential {
            let chain = try PEM.certificates(fromFile: certificate)
            guard let leaf = chain.first else { throw PKIError(.notFound, "the node certificate file holds no certificate") }
            let material = try tokenKey ?? PrivateKeyMaterial(pemEncoded: String(contentsOfFile: key ?? "", encoding: .utf8))
            return try Credential(key: material, certificate: leaf, chain: Array(chain.dropFirst()))
        }
        do {
            return try read()
        } catch let e as PKIError where e.kind == .profileViolation {
            // The key no longer matches the certificate: a renewal stopped between its two renames. `CERT.next` is
            // taken only when it is that renewal's: it matches the key and names the subject the old certificate named.
            guard FileManager.default.fileExists(atPath: certificate + ".next"),
                  let next = try? PEM.certificates(fromFile: certificate + ".next").first,
                  let old = try? PEM.certificates(fromFile: certificate).first, next.subject == old.subject,
                  let material = try? tokenKey ?? PrivateKeyMaterial(pemEncoded: String(contentsOfFile: key ?? "", encoding: .utf8)),
                  material.publicKey == next.publicKey
            else { throw e }
            try AtomicFile.move(certificate + ".next", to: certificate)
            return try read()
        }
    }
}
