/// What a certificate is for, and so which extensions it carries (RFC 5280 §4.2, RFC 8550 §4.4 for S/MIME).
public enum IssuanceProfile: Sendable, Equatable {
    /// The federation's self-signed root (the global node). CA, keyCertSign + cRLSign, no path length limit below
    /// the default of 2 (root → regional → hospital → leaf). Its namespace is unrestricted unless given.
    case rootCA(pathLength: Int = 2, namespace: IssuerNamespace = .unrestricted)
    /// An issuing CA under another CA (a regional or hospital CA). `pathLength` 1 lets a regional CA certify hospital
    /// CAs; 0 lets it certify only leaves. Non-empty `permittedDNSDomains` become a critical name-constraints extension.
    /// (No rfc822Name constraints: swift-certificates' path validation refuses every chain under one, as it does not
    /// implement them.) `namespace` is what the CA may vouch for (``IssuerNamespace``); a CA without one issues nothing
    /// that validates.
    case issuingCA(pathLength: Int, permittedDNSDomains: [String] = [], namespace: IssuerNamespace? = nil)
    /// A node: TLS server and client authentication with DNS SANs, and envelope signing / decryption (emailProtection)
    /// because nodes sign and receive S/MIME envelopes.
    case node(dnsNames: [String])
    /// A staff member's smart-card credential: signing with non-repudiation, decryption, client authentication;
    /// rfc822Name SAN.
    case person(email: String)
    /// A patient's card: signing (consents), decryption and client authentication; optional rfc822Name SAN.
    case patient(email: String?)
    /// An EMR interface that sends HL7 v2 over MLLP with mutual TLS: client authentication only. The subject names the
    /// sending application (CN), the sending facility (OU) and the organisation (O).
    case interface
    /// A CA's delegated OCSP responder (RFC 6960 §4.2.2.2): issued directly by the CA whose revocation status it
    /// signs, keyUsage digitalSignature, EKU id-kp-OCSPSigning only, and id-pkix-ocsp-nocheck (§4.2.2.2.1: a client
    /// does not ask about the responder's own status, so its validity is short instead — ``defaultValidityDays``).
    /// It carries no Caduceus certificate policy: it is no federation identity, and validates as nothing but a
    /// responder (no TLS, no S/MIME, no namespace).
    case ocspSigning

    /// A short name used in the CA's records and the CLI (`root`, `ca`, `node`, `person`, `patient`, `interface`,
    /// `ocsp`).
    public var name: String {
        switch self {
        case .rootCA: return "root"
        case .issuingCA: return "ca"
        case .node: return "node"
        case .person: return "person"
        case .patient: return "patient"
        case .interface: return "interface"
        case .ocspSigning: return "ocsp"
        }
    }

    /// The identity kind a certificate of this profile has; `nil` for an OCSP signer, which is no federation
    /// identity.
    public var kind: FederationIdentity.Kind? {
        switch self {
        case .rootCA, .issuingCA: return .ca
        case .node: return .node
        case .person: return .person
        case .patient: return .patient
        case .interface: return .interface
        case .ocspSigning: return nil
        }
    }

    /// Whether the profile makes a CA certificate.
    public var isCA: Bool {
        switch self {
        case .rootCA, .issuingCA: return true
        default: return false
        }
    }

    /// Default validity in days: 20 years for a root, 10 for issuing CAs, 397 for nodes (the CA/B limit for TLS),
    /// two years for cards, 7 days for an OCSP signer (no revocation check applies to it: RFC 6960 §4.2.2.2.1).
    public var defaultValidityDays: Int {
        switch self {
        case .rootCA: return 7305
        case .issuingCA: return 3652
        case .node, .interface: return 397
        case .person, .patient: return 730
        case .ocspSigning: return 7
        }
    }
}
