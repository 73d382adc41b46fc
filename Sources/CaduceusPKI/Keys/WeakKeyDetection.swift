import CryptoExtras
import SwiftASN1

extension PKIError {
    /// The error for a certificate swift-certificates would not parse: ``Code/weakAlgorithm`` when it carries an RSA
    /// key under 2048 bits (which swift-certificates refuses outright), ``Code/malformed`` otherwise. The key size is
    /// read with swift-crypto's explicitly unsafe parser and the key is never used.
    package static func unparseableCertificate(_ der: ArraySlice<UInt8>) -> PKIError {
        if let bits = rsaKeySize(certificate: der), bits < 2048 {
            return PKIError(.weakAlgorithm, "RSA keys under 2048 bits are refused")
        }
        return PKIError(.malformed, "a certificate is not valid DER")
    }

    /// The error for a private key that did not parse, by the same rule.
    package static func unparseableKey(_ der: [UInt8]) -> PKIError {
        if let key = try? _RSA.Signing.PrivateKey(unsafeDERRepresentation: der), key.keySizeInBits < 2048 {
            return PKIError(.weakAlgorithm, "RSA keys under 2048 bits are refused")
        }
        return PKIError(.malformed, "the private key could not be parsed or is of an unsupported type")
    }

    static func rsaKeySize(certificate der: ArraySlice<UInt8>) -> Int? {
        guard let root = try? DER.parse(der), let certificate = try? root.children(),
            let tbs = try? certificate.first?.children()
        else { return nil }
        let spkiIndex = tbs.first?.isContext(0) == true ? 6 : 5
        // Every step is checked: this reads certificates that failed to parse, from anyone (an embedded signer
        // certificate in a CMS message); an empty AlgorithmIdentifier had trapped on a subscript here.
        guard tbs.count > spkiIndex, let spki = try? tbs[spkiIndex].children(), let algorithm = try? spki.first?.children(),
            let algorithmOID = algorithm.first, let oid = try? ASN1ObjectIdentifier(derEncoded: algorithmOID),
            oid == SignatureAlgorithms.rsaEncryption,
            let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: Array(tbs[spkiIndex].encodedBytes))
        else { return nil }
        return key.keySizeInBits
    }
}
