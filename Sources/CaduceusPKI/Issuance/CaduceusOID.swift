public import SwiftASN1

/// Object identifiers Caduceus assigns itself, under a UUID-derived arc (ITU-T X.667, `2.25.<uuid>`), and the
/// standard ones the PKI and CMS code needs that swift-asn1 / swift-certificates do not name.
public enum CaduceusOID {
    /// Root of Caduceus' own identifiers.
    public static let arc: ASN1ObjectIdentifier = [2, 25, 161_190_442, 330_357_402, 960_372_108, 530_366_393]
    /// Certificate policy of federation CAs.
    public static let policyCA: ASN1ObjectIdentifier = arc.appending(1, 1)
    /// Certificate policy of node certificates (TLS + envelope signing/decryption).
    public static let policyNode: ASN1ObjectIdentifier = arc.appending(1, 2)
    /// Certificate policy of staff ("person") smart-card credentials.
    public static let policyPerson: ASN1ObjectIdentifier = arc.appending(1, 3)
    /// Certificate policy of patient-card credentials.
    public static let policyPatient: ASN1ObjectIdentifier = arc.appending(1, 4)
    /// Certificate policy of EMR interface certificates (an MLLP sender: sending application and facility).
    public static let policyInterface: ASN1ObjectIdentifier = arc.appending(1, 5)
    /// The CA certificate extension naming what the CA may vouch for (``IssuerNamespace``), non-critical.
    public static let issuerNamespace: ASN1ObjectIdentifier = arc.appending(2, 1)

    /// RFC 5280 §4.2.1.4 certificatePolicies.
    public static let certificatePolicies: ASN1ObjectIdentifier = [2, 5, 29, 32]
    /// RFC 5280 §5.2.3 cRLNumber.
    public static let crlNumber: ASN1ObjectIdentifier = [2, 5, 29, 20]
    /// RFC 5280 §5.3.1 reasonCode.
    public static let crlReason: ASN1ObjectIdentifier = [2, 5, 29, 21]
    /// RFC 6960 §4.2.2.2.1 id-pkix-ocsp-nocheck: the responder's own certificate is not checked for revocation.
    public static let ocspNoCheck: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 5]
    /// RFC 6960 §4.4.1 / RFC 8954 id-pkix-ocsp-nonce.
    public static let ocspNonce: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 2]
    /// RFC 6960 §4.2.1 id-pkix-ocsp-basic, the response type of a BasicOCSPResponse.
    public static let ocspBasic: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 1]
    /// RFC 5280 §4.2.1.1 authorityKeyIdentifier.
    public static let authorityKeyIdentifier: ASN1ObjectIdentifier = [2, 5, 29, 35]
}

extension ASN1ObjectIdentifier {
    /// This OID with more arcs appended.
    func appending(_ arcs: UInt...) -> ASN1ObjectIdentifier {
        try! ASN1ObjectIdentifier(elements: Array(self.oidComponents) + arcs)  // appending arcs to a valid OID stays valid
    }
}
