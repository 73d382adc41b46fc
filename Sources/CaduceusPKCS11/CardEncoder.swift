package import CaduceusCore
import CaduceusPKI
import Synchronization
package import X509

/// The card encoder attached to a node that serves a card station: a PKCS#11 module (OpenSC for PIV cards, SoftHSM2
/// in tests and the demo) whose tokens take a card's key. Only the device work is here — find the blank tokens, log
/// in, generate the key on the token, have the token sign a PKCS#10 request, store the certificate the CA returned
/// beside the key; whether the card may be issued, and the issuing itself, are the card service's (the `certify` step
/// the caller passes in).
///
/// The card key lives under ``cardKeyId`` (`01`: the id OpenSC gives a PIV card's authentication key, slot 9A), is
/// private, sensitive and never extractable (``PKCS11Token/generateP256Key(id:keyLabel:)``), and its certificate and
/// chain are stored under the same id as `caduceus token import-cert` does. A token takes a card when it is
/// initialised, has a user PIN, and holds nothing under that id yet.
///
/// Errors are ``PKCS11Error``s with stable codes: `pkcs11.token-not-found`, `pkcs11.pin-incorrect`, `pkcs11.pin-locked`,
/// `pkcs11.token-full` (the id is taken, or `CKR_DEVICE_MEMORY`), `pkcs11.token-in-use` (this process is logged in to
/// the token already, so a login would not check the PIN), `pkcs11.module-load`; and
/// `pkcs11.certificate-not-stored` for a failure after the certificate was issued (the key stays on the token).
package struct CardEncoder: Sendable {
    /// The PKCS#11 module's path (`cards.encoder.module`).
    package let modulePath: String

    /// `CKA_ID` of a card's key and certificate on its token.
    package static let cardKeyId: [UInt8] = [0x01]
    /// `CKA_LABEL` of a card's key and certificate (no name of the holder: the public objects are readable by anyone
    /// holding the token).
    package static let cardKeyLabel = "Caduceus card"

    /// The tokens being encoded in this process (module path and label): one card at a time per token, so two
    /// officers cannot interleave a login, a free-place check and a key generation on the same token.
    static let busy = Mutex<Set<String>>([])

    /// An encoder for the module at `modulePath` (loaded when used).
    package init(modulePath: String) { self.modulePath = modulePath }

    /// A token that can take a card.
    package struct BlankToken: Sendable, Hashable {
        /// Its label (how the officer chooses it; slot numbers are not stable).
        package let label: String
        /// Manufacturer and model, as the token reports them.
        package let manufacturer: String
        package let model: String
        /// Its serial number.
        package let serialNumber: String
    }

    /// What was written to a token.
    package struct Written: Sendable {
        /// The token's label.
        package let tokenLabel: String
        /// The key's `CKA_ID`.
        package let keyId: [UInt8]
        /// The card's certificate (stored under the key's id).
        package let certificate: Certificate
        /// How many certificates were stored (the card's and its chain, minus any the token held already).
        package let certificatesStored: Int
    }

    /// The tokens present in the module's slots that can take a card: initialised, with a user PIN, and nothing
    /// under ``cardKeyId`` among their public objects (the private ones are looked at again after login).
    package func blankTokens() throws -> [BlankToken] {
        let module = try PKCS11Module(path: modulePath)
        var blanks: [BlankToken] = []
        for slot in try module.slots() {
            guard let token = slot.token, token.initialized, token.userPINInitialized else { continue }
            let session = try PKCS11Session(module: module, slot: slot)
            guard try session.find([.bytes(CK.A_ID, Self.cardKeyId)]).isEmpty else { continue }
            blanks.append(BlankToken(label: token.label, manufacturer: token.manufacturer, model: token.model, serialNumber: token.serialNumber))
        }
        return blanks.sorted { $0.label < $1.label }
    }

    /// Encodes a card on the token labelled `label`: logs in with `pin` (refusing a token this process is logged in
    /// to already), checks the card key's place is free, generates the key on the token, makes a PKCS#10 request the
    /// token signs, and hands its PEM to `certify`, which returns the certificate and its chain as PEM (the card issued).
    /// Then stores them beside the key.
    ///
    /// Nothing is left on the token when a step before `certify` returns fails, or when `certify` throws (the key
    /// made for it is destroyed, its error rethrown). A failure after `certify` returned — the card is issued — is
    /// `pkcs11.certificate-not-stored`: the key stays on the token, so the certificate can still be stored there
    /// (`caduceus token import-cert --id 01`).
    package func encode(
        token label: String, pin: Sensitive<String>, certify: (_ csrPEM: String) async throws -> String
    ) async throws -> Written {
        let claim = modulePath + "\u{0}" + label
        guard Self.busy.withLock({ $0.insert(claim).inserted }) else {
            throw PKCS11Error(.tokenInUse, "another card is being written to this token; use another token or try again")
        }
        defer { _ = Self.busy.withLock { $0.remove(claim) } }
        let token = try PKCS11Token(modulePath: modulePath, label: label, pin: nil)
        try token.session.login(pin: pin, exclusive: true)
        guard try !token.holdsObject(id: Self.cardKeyId) else {
            throw PKCS11Error(.tokenFull, "the token holds a card key already (an object under id 01); use a blank token")
        }
        let key = try token.generateP256Key(id: Self.cardKeyId, keyLabel: Self.cardKeyLabel)
        let chainPEM: String
        do {
            let material = try PrivateKeyMaterial(.external(key))
            let request = try CertificationRequest.make(subject: try DistinguishedName { CommonName(Self.cardKeyLabel) }, key: material)
            chainPEM = try await certify(try request.serializeAsPEM().pemString)
        } catch {
            try? token.destroyKeyPair(id: Self.cardKeyId)
            throw error
        }
        // From here the card is issued: the key stays, whatever fails (the certificate can be stored later).
        do {
            let certificates = try PEM.certificates(fromPEM: chainPEM)
            guard let leaf = certificates.first, leaf.publicKey == Certificate.PublicKey(key.publicKey) else {
                throw PKCS11Error(.certificateMismatch, "the certificate returned is not for the key on the token")
            }
            let before = try token.certificates().count
            try token.storeCertificates(certificates, id: Self.cardKeyId, keyLabel: Self.cardKeyLabel)
            return Written(tokenLabel: label, keyId: Self.cardKeyId, certificate: leaf, certificatesStored: try token.certificates().count - before)
        } catch {
            let code = (error as? any CaduceusError)?.code ?? "pkcs11.function-failed"
            throw PKCS11Error(.certificateNotStored, "the card was issued, but its certificate could not be written to the token (\(code))")
        }
    }
}
