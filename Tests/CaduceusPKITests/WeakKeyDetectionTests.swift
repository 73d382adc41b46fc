import CaduceusPKI
import Testing

@Suite("Unparseable certificates")
struct WeakKeyDetectionTests {
    /// Found by the cms fuzz target (kept in Fuzz/Crashes/cms/empty-spki-algorithm): a SignedData whose embedded
    /// certificate has an empty AlgorithmIdentifier in its SubjectPublicKeyInfo trapped on a subscript while the
    /// weak-key check looked for an RSA key — any message could stop a node.
    @Test("a certificate with an empty SPKI AlgorithmIdentifier is malformed, not a trap")
    func emptyAlgorithm() {
        // Certificate { TBS { serial 1, sig alg {}, issuer {}, validity {}, subject {}, SPKI { {} } } }
        let tbs: [UInt8] = [0x30, 0x0F, 0x02, 0x01, 0x01, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00, 0x30, 0x02, 0x30, 0x00]
        let certificate: [UInt8] = [0x30, UInt8(tbs.count)] + tbs
        #expect(PKIError.unparseableCertificate(certificate[...]).kind == .malformed)
        // With a version tag, and with an empty SPKI: the same.
        let versioned: [UInt8] = [0x30, 0x14, 0xA0, 0x03, 0x02, 0x01, 0x02] + tbs.dropFirst(2) + [0x30, 0x00]
        #expect(PKIError.unparseableCertificate(([0x30, UInt8(versioned.count)] + versioned)[...]).kind == .malformed)
    }
}
