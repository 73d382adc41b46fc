public import CaduceusCore
import SwiftASN1
import X509
import Crypto
import CryptoExtras
import Foundation

/// PKCS#12 / PFX (RFC 7292) credential files, written the way OpenSSL 3 writes them by default: certificates in an
/// encryptedData safe and the key in a pkcs8ShroudedKeyBag, both under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), and
/// an HMAC-SHA256 MAC keyed by the RFC 7292 Appendix B KDF. Legacy PBE schemes (3DES, RC2, SHA-1 MACs) are refused.
public enum PKCS12 {
    enum OID {
        static let data: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 1]
        static let encryptedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 6]
        static let keyBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 1]
        static let shroudedKeyBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 2]
        static let certBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 3]
        static let x509Certificate: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 22, 1]
        static let friendlyName: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 20]
        static let localKeyID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 21]
        static let pbes2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 13]
        static let pbkdf2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 12]
        static let hmacWithSHA1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 7]
        static let hmacWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 9]
        static let hmacWithSHA384: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 10]
        static let hmacWithSHA512: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 11]
        static let aes128CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 2]
        static let aes192CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 22]
        static let aes256CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 42]
    }

    /// Writes a credential as a PKCS#12 file.
    /// - Parameter iterations: PBKDF2 and MAC iteration count (OpenSSL's default is 2048).
    public static func export(_ credential: Credential, password: Sensitive<String>, iterations: Int = 2048)
        throws -> [UInt8]
    {
        guard !password.unsafeValue.isEmpty else {
            throw PKIError(.profileViolation, "a PKCS#12 file needs a non-empty password")
        }
        guard iterations >= 1000 else { throw PKIError(.weakAlgorithm, "PKCS#12 iterations must be at least 1000") }
        let passwordBytes = Array(password.unsafeValue.utf8)
        let localKeyID = Array(SHA256.hash(data: try credential.certificate.derBytes()))

        // Safe 1: certificate bags (leaf first, then the chain), encrypted.
        var certBags = DER.Serializer()
        try certBags.appendConstructedNode(identifier: .sequence) { bags in
            for (index, certificate) in ([credential.certificate] + credential.chain).enumerated() {
                try bags.appendConstructedNode(identifier: .sequence) { bag in
                    try bag.serialize(OID.certBag)
                    try bag.appendConstructedNode(identifier: .context(0)) { explicit in
                        try explicit.appendConstructedNode(identifier: .sequence) { certBag in
                            try certBag.serialize(OID.x509Certificate)
                            try certBag.appendConstructedNode(identifier: .context(0)) { value in
                                try value.serialize(ASN1OctetString(contentBytes: try certificate.derBytes()[...]))
                            }
                        }
                    }
                    if index == 0 {
                        try serializeAttributes(
                            localKeyID: localKeyID, friendlyName: credential.friendlyName, into: &bag)
                    }
                }
            }
        }
        let (certAlgorithm, encryptedCerts) = try pbes2Encrypt(
            certBags.serializedBytes, password: passwordBytes, iterations: iterations)

        // Safe 2: the shrouded key bag.
        let (keyAlgorithm, encryptedKey) = try pbes2Encrypt(
            credential.key.pkcs8DER, password: passwordBytes, iterations: iterations)
        var keyBags = DER.Serializer()
        try keyBags.appendConstructedNode(identifier: .sequence) { bags in
            try bags.appendConstructedNode(identifier: .sequence) { bag in
                try bag.serialize(OID.shroudedKeyBag)
                try bag.appendConstructedNode(identifier: .context(0)) { explicit in
                    try explicit.appendConstructedNode(identifier: .sequence) { epki in
                        try epki.serialize(keyAlgorithm)
                        try epki.serialize(ASN1OctetString(contentBytes: encryptedKey[...]))
                    }
                }
                try serializeAttributes(localKeyID: localKeyID, friendlyName: credential.friendlyName, into: &bag)
            }
        }

        var authSafe = DER.Serializer()
        try authSafe.appendConstructedNode(identifier: .sequence) { safes in
            try safes.appendConstructedNode(identifier: .sequence) { ci in
                try ci.serialize(OID.encryptedData)
                try ci.appendConstructedNode(identifier: .context(0)) { explicit in
                    try explicit.appendConstructedNode(identifier: .sequence) { ed in
                        try ed.serialize(0)
                        try ed.appendConstructedNode(identifier: .sequence) { eci in
                            try eci.serialize(OID.data)
                            try eci.serialize(certAlgorithm)
                            eci.appendPrimitiveNode(identifier: .context(0)) { $0.append(contentsOf: encryptedCerts) }
                        }
                    }
                }
            }
            try safes.appendConstructedNode(identifier: .sequence) { ci in
                try ci.serialize(OID.data)
                try ci.appendConstructedNode(identifier: .context(0)) { explicit in
                    try explicit.serialize(ASN1OctetString(contentBytes: keyBags.serializedBytes[...]))
                }
            }
        }
        let authSafeBytes = authSafe.serializedBytes
        let macSalt = randomBytes(16)
        let mac = macValue(authSafeBytes, password: password.unsafeValue, salt: macSalt, iterations: iterations)

        var pfx = DER.Serializer()
        try pfx.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(3)
            try c.appendConstructedNode(identifier: .sequence) { ci in
                try ci.serialize(OID.data)
                try ci.appendConstructedNode(identifier: .context(0)) { explicit in
                    try explicit.serialize(ASN1OctetString(contentBytes: authSafeBytes[...]))
                }
            }
            try c.appendConstructedNode(identifier: .sequence) { macData in
                try macData.appendConstructedNode(identifier: .sequence) { digestInfo in
                    try digestInfo.serialize(AlgorithmIdentifierValue.withNull(DigestAlgorithms.sha256))
                    try digestInfo.serialize(ASN1OctetString(contentBytes: mac[...]))
                }
                try macData.serialize(ASN1OctetString(contentBytes: macSalt[...]))
                try macData.serialize(iterations)
            }
        }
        return pfx.serializedBytes
    }

    /// Reads a PKCS#12 file: verifies the MAC, decrypts the safes, and returns the key with its certificate and the
    /// other certificates as chain. A wrong password and an altered file give the same ``PKIError/Code/pkcs12Integrity``.
    public static func importCredential(_ bytes: [UInt8], password: Sensitive<String>) throws -> Credential {
        let passwordBytes = Array(password.unsafeValue.utf8)
        let authSafeBytes: ArraySlice<UInt8>
        do {
            let root = try BER.parse(bytes)
            let fields = try root.children()
            guard fields.count >= 2, try Int(berEncoded: fields[0]) == 3 else {
                throw PKIError(.malformed, "not a version 3 PFX")
            }
            let authSafeInfo = try fields[1].children()
            guard try ASN1ObjectIdentifier(berEncoded: authSafeInfo.node(0)) == OID.data else {
                throw PKIError(.unsupportedKey, "public-key integrity mode PFX files are not supported")
            }
            authSafeBytes = try authSafeInfo.node(1).explicit(0).octets()
            guard fields.count == 3 else { throw PKIError(.pkcs12Integrity, "the PKCS#12 file has no MAC") }
            let macData = try fields[2].children()
            let digestInfo = try macData.node(0).children()
            let digestAlgorithm = try AlgorithmIdentifierValue(berEncoded: digestInfo.node(0))
            let expected = try digestInfo.node(1).octets()
            let salt = try macData.node(1).octets()
            let iterations = macData.count > 2 ? try Int(berEncoded: macData.node(2)) : 1
            guard digestAlgorithm.algorithm == DigestAlgorithms.sha256 else {
                throw PKIError(.weakAlgorithm, "the PKCS#12 MAC must use SHA-256 (SHA-1 MACs are refused)")
            }
            guard iterations >= 1, iterations <= 10_000_000 else {
                throw PKIError(.malformed, "the PKCS#12 MAC iteration count is out of range")
            }
            let actual = macValue(authSafeBytes, password: password.unsafeValue, salt: salt, iterations: iterations)
            guard constantTimeEqual(actual, expected) else {
                throw PKIError(.pkcs12Integrity, "the PKCS#12 integrity check failed (wrong password or altered file)")
            }
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.malformed, "the PKCS#12 file is not valid DER")
        }

        var keys: [PrivateKeyMaterial] = []
        var certificates: [Certificate] = []
        var friendlyName: String?
        do {
            for contentInfo in try BER.parse(authSafeBytes).children() {
                let parts = try contentInfo.children()
                let type = try ASN1ObjectIdentifier(berEncoded: parts.node(0))
                let safeContents: ArraySlice<UInt8>
                switch type {
                case OID.data:
                    safeContents = try parts.node(1).explicit(0).octets()
                case OID.encryptedData:
                    let encryptedData = try parts.node(1).explicit(0).children()
                    let eci = try encryptedData.node(1).children()
                    let algorithm = try AlgorithmIdentifierValue(berEncoded: eci.node(1))
                    safeContents = try pbes2Decrypt(try eci.node(2).octets(), algorithm: algorithm, password: passwordBytes)[...]
                default:
                    throw PKIError(.unsupportedKey, "an unsupported PKCS#12 safe type")
                }
                for bag in try BER.parse(safeContents).children() {
                    let bagParts = try bag.children()
                    let bagID = try ASN1ObjectIdentifier(berEncoded: bagParts.node(0))
                    let value = try bagParts.node(1).explicit(0)
                    if bagParts.count > 2, friendlyName == nil {
                        friendlyName = try? readFriendlyName(bagParts.node(2))
                    }
                    switch bagID {
                    case OID.certBag:
                        let certBag = try value.children()
                        guard try ASN1ObjectIdentifier(berEncoded: certBag.node(0)) == OID.x509Certificate else { continue }
                        certificates.append(try Certificate(derEncoded: Array(try certBag.node(1).explicit(0).octets())))
                    case OID.shroudedKeyBag:
                        let epki = try value.children()
                        let algorithm = try AlgorithmIdentifierValue(berEncoded: epki.node(0))
                        let plain = try pbes2Decrypt(try epki.node(1).octets(), algorithm: algorithm, password: passwordBytes)
                        keys.append(try PrivateKeyMaterial(pkcs8DER: plain))
                    case OID.keyBag:
                        keys.append(try PrivateKeyMaterial(pkcs8DER: Array(value.encodedBytes)))
                    default:
                        continue
                    }
                }
            }
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.malformed, "the PKCS#12 contents could not be parsed")
        }
        guard let key = keys.first else { throw PKIError(.notFound, "the PKCS#12 file holds no private key") }
        guard let leaf = certificates.first(where: { $0.publicKey == key.publicKey }) else {
            throw PKIError(.notFound, "the PKCS#12 file holds no certificate for its key")
        }
        return try Credential(
            key: key, certificate: leaf, chain: certificates.filter { $0 != leaf }, friendlyName: friendlyName)
    }

    // MARK: - PBES2 (RFC 8018 §6.2)

    static func pbes2Encrypt(_ plaintext: [UInt8], password: [UInt8], iterations: Int) throws
        -> (AlgorithmIdentifierValue, [UInt8])
    {
        let salt = randomBytes(16)
        let iv = randomBytes(16)
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: password, salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)
        let ciphertext = try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: iv))
        var params = DER.Serializer()
        try params.appendConstructedNode(identifier: .sequence) { c in
            try c.appendConstructedNode(identifier: .sequence) { kdf in
                try kdf.serialize(OID.pbkdf2)
                try kdf.appendConstructedNode(identifier: .sequence) { p in
                    try p.serialize(ASN1OctetString(contentBytes: salt[...]))
                    try p.serialize(iterations)
                    try p.serialize(AlgorithmIdentifierValue.withNull(OID.hmacWithSHA256))
                }
            }
            try c.appendConstructedNode(identifier: .sequence) { scheme in
                try scheme.serialize(OID.aes256CBC)
                try scheme.serialize(ASN1OctetString(contentBytes: iv[...]))
            }
        }
        let algorithm = AlgorithmIdentifierValue(
            algorithm: OID.pbes2, parameters: try ASN1Any(derEncoded: params.serializedBytes))
        return (algorithm, Array(ciphertext))
    }

    static func pbes2Decrypt(_ ciphertext: ArraySlice<UInt8>, algorithm: AlgorithmIdentifierValue, password: [UInt8])
        throws -> [UInt8]
    {
        guard algorithm.algorithm == OID.pbes2, let parametersNode = try algorithm.parametersNode() else {
            throw PKIError(.weakAlgorithm, "PKCS#12 content must use PBES2 (legacy 3DES/RC2 PBE schemes are refused)")
        }
        let params = try parametersNode.children()
        let kdf = try params.node(0).children()
        guard try ASN1ObjectIdentifier(berEncoded: kdf.node(0)) == OID.pbkdf2 else {
            throw PKIError(.weakAlgorithm, "PBES2 must use PBKDF2")
        }
        let kdfParams = try kdf.node(1).children()
        let salt = try kdfParams.node(0).octets()
        let iterations = try Int(berEncoded: kdfParams.node(1))
        guard iterations >= 1, iterations <= 10_000_000 else {
            throw PKIError(.malformed, "the PBKDF2 iteration count is out of range")
        }
        var prf = OID.hmacWithSHA1
        for extra in kdfParams.dropFirst(2) where extra.identifier == .sequence {
            prf = try AlgorithmIdentifierValue(berEncoded: extra).algorithm
        }
        let hash: KDF.Insecure.PBKDF2.HashFunction
        switch prf {
        case OID.hmacWithSHA256: hash = .sha256
        case OID.hmacWithSHA384: hash = .sha384
        case OID.hmacWithSHA512: hash = .sha512
        default: throw PKIError(.weakAlgorithm, "PBKDF2 with HMAC-SHA1 is refused")
        }
        let scheme = try params.node(1).children()
        let keyLength: Int
        switch try ASN1ObjectIdentifier(berEncoded: scheme.node(0)) {
        case OID.aes128CBC: keyLength = 16
        case OID.aes192CBC: keyLength = 24
        case OID.aes256CBC: keyLength = 32
        default: throw PKIError(.weakAlgorithm, "PBES2 must use AES-CBC (DES and RC2 are refused)")
        }
        let iv = try scheme.node(1).octets()
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: password, salt: salt, using: hash, outputByteCount: keyLength, unsafeUncheckedRounds: iterations)
        do {
            return Array(try AES._CBC.decrypt(ciphertext, using: key, iv: AES._CBC.IV(ivBytes: iv)))
        } catch {
            throw PKIError(.pkcs12Integrity, "a PKCS#12 safe could not be decrypted")
        }
    }

    // MARK: - MAC (RFC 7292 Appendix B)

    static func macValue<Bytes: DataProtocol, Salt: Collection>(
        _ data: Bytes, password: String, salt: Salt, iterations: Int
    ) -> [UInt8] where Salt.Element == UInt8 {
        let key = pkcs12KDF(password: password, salt: Array(salt), id: 3, iterations: iterations, length: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    /// RFC 7292 Appendix B.2 key derivation with SHA-256 (u = 32, v = 64); the password is a NUL-terminated
    /// BMPString.
    static func pkcs12KDF(password: String, salt: [UInt8], id: UInt8, iterations: Int, length: Int) -> [UInt8] {
        let u = 32
        let v = 64
        let password = bmp(password) + [0, 0]
        func stretch(_ bytes: [UInt8]) -> [UInt8] {
            guard !bytes.isEmpty else { return [] }
            let count = v * ((bytes.count + v - 1) / v)
            return (0..<count).map { bytes[$0 % bytes.count] }
        }
        let d = [UInt8](repeating: id, count: v)
        var i = stretch(salt) + stretch(password)
        var output: [UInt8] = []
        while output.count < length {
            var a = Array(SHA256.hash(data: d + i))
            for _ in 1..<max(iterations, 1) { a = Array(SHA256.hash(data: a)) }
            output.append(contentsOf: a)
            if output.count >= length { break }
            let b = (0..<v).map { a[$0 % u] }
            var j = 0
            while j < i.count {
                var carry: UInt16 = 1
                for k in stride(from: v - 1, through: 0, by: -1) {
                    let sum = UInt16(i[j + k]) + UInt16(b[k]) + carry
                    i[j + k] = UInt8(sum & 0xff)
                    carry = sum >> 8
                }
                j += v
            }
        }
        return Array(output.prefix(length))
    }

    // MARK: - attributes

    static func serializeAttributes(localKeyID: [UInt8], friendlyName: String?, into bag: inout DER.Serializer) throws {
        try bag.appendConstructedNode(identifier: .set) { attributes in
            var encoded: [[UInt8]] = []
            if let friendlyName {
                var s = DER.Serializer()
                try s.appendConstructedNode(identifier: .sequence) { a in
                    try a.serialize(OID.friendlyName)
                    try a.appendConstructedNode(identifier: .set) { set in
                        try set.serialize(ASN1BMPString(contentBytes: Self.bmp(friendlyName)[...]))
                    }
                }
                encoded.append(s.serializedBytes)
            }
            var s = DER.Serializer()
            try s.appendConstructedNode(identifier: .sequence) { a in
                try a.serialize(OID.localKeyID)
                try a.appendConstructedNode(identifier: .set) { set in
                    try set.serialize(ASN1OctetString(contentBytes: localKeyID[...]))
                }
            }
            encoded.append(s.serializedBytes)
            // DER SET OF: sorted by encoding.
            for item in encoded.sorted(by: { $0.lexicographicallyPrecedes($1) }) { attributes.serializeRawBytes(item) }
        }
    }

    static func bmp(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for unit in text.utf16 { out.append(UInt8(unit >> 8)); out.append(UInt8(unit & 0xff)) }
        return out
    }

    static func readFriendlyName(_ attributesNode: ASN1Node) throws -> String? {
        for attribute in try attributesNode.children(.set) {
            let parts = try attribute.children()
            guard try ASN1ObjectIdentifier(berEncoded: parts.node(0)) == OID.friendlyName else { continue }
            guard let value = try parts.node(1).children(.set).first else { return nil }
            let bytes = Array(try ASN1BMPString(berEncoded: value).bytes)
            var units: [UInt16] = []
            var index = 0
            while index + 1 < bytes.count { units.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])); index += 2 }
            return String(decoding: units, as: UTF16.self)
        }
        return nil
    }
}

/// Cryptographically secure random bytes, in one `read(2)` of the kernel's CSPRNG (`/dev/urandom`, opened once:
/// the same generator as `getrandom(2)`, which Swift's Glibc module does not export). The standard library's
/// generator — and swift-crypto's, which uses it — makes one system call per 8 bytes; `UInt8.random` one per byte.
package func randomBytes(_ count: Int) -> [UInt8] {
    guard count > 0 else { return [] }
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        var filled = 0
        while filled < count {
            let n = read(KernelRandom.descriptor, buffer.baseAddress! + filled, count - filled)
            if n > 0 { filled += n; continue }
            // EINTR: again. Anything else means no kernel randomness, without which nothing here may run.
            guard n < 0, errno == EINTR else { fatalError("reading /dev/urandom failed") }
        }
        initialized = count
    }
}

enum KernelRandom {
    /// `/dev/urandom`, opened for the life of the process.
    static let descriptor: Int32 = {
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { fatalError("cannot open /dev/urandom") }
        return fd
    }()
}

extension Certificate {
    /// The certificate's DER encoding.
    package func derBytes() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }
}
