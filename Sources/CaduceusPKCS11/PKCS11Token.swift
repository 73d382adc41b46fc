import CCaduceusPKCS11
package import CaduceusCore
package import CaduceusPKI
package import X509
import Crypto
import SwiftASN1

/// A token chosen by its label in a module, with a logged-in session: where Caduceus generates P-256 keys that never
/// leave it (`CKA_SENSITIVE`, not `CKA_EXTRACTABLE`), stores their certificates, and finds them again to sign and
/// decrypt. SoftHSM2 in tests, OpenSC for PIV cards, an HSM's module for a node.
package final class PKCS11Token: Sendable {
    /// The token's label.
    package let label: String
    let session: PKCS11Session

    /// Loads `modulePath`, finds the token labelled `label` and opens a session, logged in as the user when `pin` is
    /// given. Throws `pkcs11.module-load`, `pkcs11.token-not-found`, `pkcs11.pin-incorrect`, `pkcs11.pin-locked`.
    package init(modulePath: String, label: String, pin: Sensitive<String>?) throws {
        let module = try PKCS11Module(path: modulePath)
        let slot = try module.slot(tokenLabel: label)
        self.label = label
        session = try PKCS11Session(module: module, slot: slot)
        if let pin { try session.login(pin: pin) }
    }

    /// Generates a P-256 key pair on the token (`CKM_EC_KEY_PAIR_GEN`): both halves token objects under `id` and
    /// `keyLabel`; the private half private, sensitive and not extractable (so never extractable), allowed to sign
    /// and to derive (ECDH for CMS decryption) and nothing else. Refuses an `id` already used by a key
    /// (`pkcs11.already-exists`).
    package func generateP256Key(id: [UInt8], keyLabel: String) throws -> PKCS11TokenKey {
        guard !id.isEmpty else { throw PKCS11Error(.keyNotFound, "a key id (CKA_ID) must not be empty") }
        let existing = try session.find([.ulong(CK.A_CLASS, CK.O_PRIVATE_KEY), .bytes(CK.A_ID, id)])
            + session.find([.ulong(CK.A_CLASS, CK.O_PUBLIC_KEY), .bytes(CK.A_ID, id)])
        guard existing.isEmpty else { throw PKCS11Error(.alreadyExists, "the token already holds a key with that id") }
        let name = Array(keyLabel.utf8)
        let publicTemplate: [Attribute] = [
            .bool(CK.A_TOKEN, true), .bool(CK.A_PRIVATE, false), .bytes(CK.A_EC_PARAMS, CK.p256Parameters),
            .bool(CK.A_VERIFY, true), .bytes(CK.A_ID, id), .bytes(CK.A_LABEL, name),
        ]
        let privateTemplate: [Attribute] = [
            .bool(CK.A_TOKEN, true), .bool(CK.A_PRIVATE, true), .bool(CK.A_SENSITIVE, true),
            .bool(CK.A_EXTRACTABLE, false), .bool(CK.A_SIGN, true), .bool(CK.A_DERIVE, true),
            .bytes(CK.A_ID, id), .bytes(CK.A_LABEL, name),
        ]
        var publicHandle: CK_OBJECT_HANDLE = 0
        var privateHandle: CK_OBJECT_HANDLE = 0
        try session.run { handle, f in
            var mechanism = CK_MECHANISM(mechanism: CK.M_EC_KEY_PAIR_GEN, pParameter: nil, ulParameterLen: 0)
            try PKCS11Session.withTemplate(publicTemplate) { publicAttributes, publicCount in
                try PKCS11Session.withTemplate(privateTemplate) { privateAttributes, privateCount in
                    try check(
                        f.C_GenerateKeyPair!(
                            handle, &mechanism, publicAttributes, publicCount, privateAttributes, privateCount,
                            &publicHandle, &privateHandle),
                        "C_GenerateKeyPair")
                }
            }
        }
        return PKCS11TokenKey(
            token: self, handle: privateHandle, id: id, publicKey: try publicKey(ofPublicObject: publicHandle))
    }

    /// Removes the key pair stored under `id` (its private and public key objects), e.g. a key made for a certificate
    /// that was then refused. Certificates under the id stay.
    package func destroyKeyPair(id: [UInt8]) throws {
        let handles = try session.find([.ulong(CK.A_CLASS, CK.O_PRIVATE_KEY), .bytes(CK.A_ID, id)])
            + session.find([.ulong(CK.A_CLASS, CK.O_PUBLIC_KEY), .bytes(CK.A_ID, id)])
        for handle in handles { try session.destroy(handle) }
    }

    /// Whether any object (key, certificate) is stored under `id`; private objects count only when logged in.
    package func holdsObject(id: [UInt8]) throws -> Bool {
        try !session.find([.bytes(CK.A_ID, id)]).isEmpty
    }

    /// The private key with `id`, or the token's only private key when `id` is nil. Its public half comes from the
    /// public key object, or else the certificate, with the same id. Throws `pkcs11.key-not-found`,
    /// `pkcs11.key-ambiguous`, `pkcs11.unsupported-key` (not P-256 EC).
    package func privateKey(id: [UInt8]?) throws -> PKCS11TokenKey {
        var template: [Attribute] = [.ulong(CK.A_CLASS, CK.O_PRIVATE_KEY)]
        if let id { template.append(.bytes(CK.A_ID, id)) }
        let handles = try session.find(template)
        guard let handle = handles.first else {
            throw PKCS11Error(.keyNotFound, id == nil ? "the token holds no private key" : "the token holds no private key with that id")
        }
        guard handles.count == 1 else {
            throw PKCS11Error(.keyAmbiguous, "the token holds several private keys: choose one by its id")
        }
        guard try session.ulong(CK.A_KEY_TYPE, of: handle) == CK.K_EC else {
            throw PKCS11Error(.unsupportedKey, "the key on the token is not an EC key (Caduceus uses P-256 on tokens)")
        }
        let keyId = try session.attribute(CK.A_ID, of: handle) ?? []
        let publicKey: P256.Signing.PublicKey
        if let object = try session.find([.ulong(CK.A_CLASS, CK.O_PUBLIC_KEY), .bytes(CK.A_ID, keyId)]).first {
            publicKey = try self.publicKey(ofPublicObject: object)
        } else if let certificate = try certificates().first(where: { $0.id == keyId })?.certificate,
            let key = P256.Signing.PublicKey(certificate.publicKey)
        {
            publicKey = key
        } else {
            throw PKCS11Error(.keyNotFound, "the key's public half is not on the token (no public key or certificate with its id)")
        }
        return PKCS11TokenKey(token: self, handle: handle, id: keyId, publicKey: publicKey)
    }

    /// Reads `CKA_EC_POINT` (an uncompressed point, DER-wrapped in an OCTET STRING as the specification says, or
    /// raw as some modules return it) and checks `CKA_EC_PARAMS` names P-256.
    private func publicKey(ofPublicObject object: CK_OBJECT_HANDLE) throws -> P256.Signing.PublicKey {
        guard try session.attribute(CK.A_EC_PARAMS, of: object) == CK.p256Parameters else {
            throw PKCS11Error(.unsupportedKey, "the key on the token is not on the P-256 curve")
        }
        guard var point = try session.attribute(CK.A_EC_POINT, of: object) else {
            throw PKCS11Error(.unsupportedKey, "the token did not return the key's EC point")
        }
        if point.count == 67, point[0] == 0x04, point[1] == 65 { point = Array(point.dropFirst(2)) }
        do { return try P256.Signing.PublicKey(x963Representation: point) } catch {
            throw PKCS11Error(.unsupportedKey, "the token's EC point is not an uncompressed P-256 point")
        }
    }

    /// Stores `certificates` on the token as public X.509 certificate objects (`CKO_CERTIFICATE`, `CKC_X_509`): the
    /// first under the key's `id` and `keyLabel` (the convention by which PKCS#11 applications pair a certificate
    /// with its key), the rest (its CA chain) without an id. A certificate already on the token is not stored twice.
    package func storeCertificates(_ certificates: [Certificate], id: [UInt8], keyLabel: String) throws {
        let present = try self.certificates().map(\.certificate)
        for (index, certificate) in certificates.enumerated() where !present.contains(certificate) {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            var subject = DER.Serializer()
            try subject.serialize(certificate.subject)
            var issuer = DER.Serializer()
            try issuer.serialize(certificate.issuer)
            let serial = Array(certificate.serialNumber.bytes)
            var template: [Attribute] = [
                .ulong(CK.A_CLASS, CK.O_CERTIFICATE), .ulong(CK.A_CERTIFICATE_TYPE, CK.C_X_509), .bool(CK.A_TOKEN, true),
                .bool(CK.A_PRIVATE, false), .bytes(CK.A_SUBJECT, subject.serializedBytes),
                .bytes(CK.A_ISSUER, issuer.serializedBytes),
                .bytes(CK.A_SERIAL_NUMBER, [0x02, UInt8(serial.count)] + serial),
                .bytes(CK.A_VALUE, serializer.serializedBytes),
            ]
            if index == 0 {
                template += [.bytes(CK.A_ID, id), .bytes(CK.A_LABEL, Array(keyLabel.utf8))]
            } else {
                template += [.bytes(CK.A_LABEL, Array("ca-\(index)".utf8))]
            }
            try session.create(template)
        }
    }

    /// Stores `value` as a data object (`CKO_DATA`) under `application` and `label`, replacing one stored there before
    /// (a card's data set re-personalised). `isPrivate`: readable only after login.
    package func storeData(_ value: [UInt8], application: String, label: String, isPrivate: Bool = false) throws {
        // The new object first, then the old ones go: a failure in between leaves the old set, never none.
        let old = try dataObjects(application: application, label: label)
        _ = try session.create([
            .ulong(CK.A_CLASS, CK.O_DATA), .bool(CK.A_TOKEN, true), .bool(CK.A_PRIVATE, isPrivate),
            .bytes(CK.A_APPLICATION, Array(application.utf8)), .bytes(CK.A_LABEL, Array(label.utf8)), .bytes(CK.A_VALUE, value),
        ])
        for handle in old { try session.destroy(handle) }
    }

    /// The value of the data object stored under `application` and `label`, or nil when there is none.
    /// Throws `pkcs11.already-exists` when several objects answer (which one is meant cannot be told).
    package func data(application: String, label: String) throws -> [UInt8]? {
        let handles = try dataObjects(application: application, label: label)
        guard handles.count <= 1 else { throw PKCS11Error(.alreadyExists, "the token holds several data objects under that application and label") }
        guard let handle = handles.first else { return nil }
        return try session.attribute(CK.A_VALUE, of: handle)
    }

    func dataObjects(application: String, label: String) throws -> [CK_OBJECT_HANDLE] {
        try session.find([.ulong(CK.A_CLASS, CK.O_DATA), .bytes(CK.A_APPLICATION, Array(application.utf8)), .bytes(CK.A_LABEL, Array(label.utf8))])
    }

    /// The X.509 certificates on the token, with their `CKA_ID` (empty when none).
    package func certificates() throws -> [(id: [UInt8], certificate: Certificate)] {
        try session.find([.ulong(CK.A_CLASS, CK.O_CERTIFICATE), .ulong(CK.A_CERTIFICATE_TYPE, CK.C_X_509)]).compactMap { handle in
            guard let der = try session.attribute(CK.A_VALUE, of: handle),
                let certificate = try? Certificate(derEncoded: der)
            else { return nil }
            return (try session.attribute(CK.A_ID, of: handle) ?? [], certificate)
        }
    }

    /// A credential whose key stays on the token: the private key with `id` (or the only one), the certificate
    /// stored under the same id — or the first of `certificates` when given — and its chain, built from the other
    /// certificates given and those on the token. Throws `pkcs11.certificate-not-found` when there is no
    /// certificate for the key, `pki.profile-violation` when it does not match the key.
    package func credential(id: [UInt8]?, certificates given: [Certificate] = []) throws -> Credential {
        let key = try privateKey(id: id)
        let onToken = try certificates()
        let leaf: Certificate
        if let first = given.first {
            leaf = first
        } else if let stored = onToken.first(where: { $0.id == key.id })?.certificate {
            leaf = stored
        } else {
            throw PKCS11Error(.certificateNotFound, "the token holds no certificate for the key; import one or give --cert")
        }
        // The chain: issuers of the leaf, nearest first, from what was given and what the token holds.
        let pool = Array(given.dropFirst()) + onToken.map(\.certificate).filter { $0 != leaf }
        var chain: [Certificate] = []
        var current = leaf
        while current.issuer != current.subject, let parent = pool.first(where: { $0.subject == current.issuer && !chain.contains($0) }) {
            chain.append(parent)
            current = parent
        }
        return try Credential(key: try PrivateKeyMaterial(.external(key)), certificate: leaf, chain: chain)
    }

    /// What the token holds, for listing (`caduceus token list`): class, label, id and — for private keys — the
    /// flags that show whether the key can ever leave (`CKA_SENSITIVE`, `CKA_EXTRACTABLE`, `CKA_NEVER_EXTRACTABLE`).
    /// Private objects are listed only in a logged-in session.
    package func objects() throws -> [ObjectSummary] {
        try session.find([]).map { handle in
            let kind: ObjectSummary.Kind
            switch try session.ulong(CK.A_CLASS, of: handle) {
            case CK.O_PRIVATE_KEY: kind = .privateKey
            case CK.O_PUBLIC_KEY: kind = .publicKey
            case CK.O_CERTIFICATE: kind = .certificate
            case CK.O_SECRET_KEY: kind = .secretKey
            default: kind = .other
            }
            let label = String(decoding: try session.attribute(CK.A_LABEL, of: handle) ?? [], as: UTF8.self)
            let id = try session.attribute(CK.A_ID, of: handle) ?? []
            var subject: String?
            if kind == .certificate, let der = try session.attribute(CK.A_VALUE, of: handle) {
                subject = (try? Certificate(derEncoded: der)).map { String(describing: $0.subject) }
            }
            return ObjectSummary(
                kind: kind, label: label, id: id,
                sensitive: kind == .privateKey ? try session.flag(CK.A_SENSITIVE, of: handle) : nil,
                extractable: kind == .privateKey ? try session.flag(CK.A_EXTRACTABLE, of: handle) : nil,
                neverExtractable: kind == .privateKey ? try session.flag(CK.A_NEVER_EXTRACTABLE, of: handle) : nil,
                subject: subject)
        }
    }

    /// One object on a token, as ``objects()`` lists it.
    package struct ObjectSummary: Sendable, Hashable {
        /// The object class.
        package enum Kind: String, Sendable {
            /// `CKO_PRIVATE_KEY`.
            case privateKey = "private key"
            /// `CKO_PUBLIC_KEY`.
            case publicKey = "public key"
            /// `CKO_CERTIFICATE`.
            case certificate
            /// `CKO_SECRET_KEY`.
            case secretKey = "secret key"
            /// Any other class (data objects, vendor classes).
            case other
        }
        /// Its class.
        package let kind: Kind
        /// `CKA_LABEL`.
        package let label: String
        /// `CKA_ID`.
        package let id: [UInt8]
        /// `CKA_SENSITIVE` (private keys).
        package let sensitive: Bool?
        /// `CKA_EXTRACTABLE` (private keys).
        package let extractable: Bool?
        /// `CKA_NEVER_EXTRACTABLE` (private keys).
        package let neverExtractable: Bool?
        /// The certificate's subject (certificates).
        package let subject: String?
    }
}
