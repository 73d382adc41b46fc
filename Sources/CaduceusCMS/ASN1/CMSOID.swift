public import SwiftASN1

/// Object identifiers of CMS (RFC 5652), its algorithms (RFC 3565, 4055, 5084, 5753) and S/MIME attributes.
public enum CMSOID {
    public static let data: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 1]
    public static let signedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    public static let envelopedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 3]
    public static let authEnvelopedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 1, 23]

    static let contentTypeAttribute: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 3]
    static let messageDigestAttribute: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 4]
    static let signingTimeAttribute: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 5]

    static let aes128CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 2]
    static let aes192CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 22]
    static let aes256CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 42]
    static let aes128GCM: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 6]
    static let aes192GCM: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 26]
    static let aes256GCM: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 46]
    static let aes128Wrap: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 5]
    static let aes192Wrap: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 25]
    static let aes256Wrap: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 45]

    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    static let rsaesOAEP: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 7]
    static let mgf1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 8]
    static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
    static let ecdhStdSHA256KDF: ASN1ObjectIdentifier = [1, 3, 132, 1, 11, 1]
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]

    /// Ciphers refused by name: DES, 3DES, RC2.
    static let weakCiphers: Set<ASN1ObjectIdentifier> = [
        [1, 3, 14, 3, 2, 7],  // des-cbc
        [1, 2, 840, 113549, 3, 7],  // des-ede3-cbc
        [1, 2, 840, 113549, 3, 2],  // rc2-cbc
    ]
}
