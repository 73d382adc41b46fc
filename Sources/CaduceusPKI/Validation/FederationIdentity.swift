public import X509
import SwiftASN1

/// Who a validated federation certificate names: its common name and the Caduceus policy (issuance profile) its
/// issuer put in certificatePolicies. A node's id is its certificate's CN.
public struct FederationIdentity: Sendable, Hashable {
    /// The issuance profile a certificate was issued under.
    public enum Kind: String, Sendable, Hashable {
        /// A certification authority.
        case ca
        /// A node (server/client, S/MIME) of the federation.
        case node
        /// A member of staff (card credential).
        case person
        /// A patient (card credential).
        case patient
    }

    /// The subject's common name.
    public let commonName: String
    /// The profile, from certificatePolicies.
    public let kind: Kind
    /// The subject's OU: a staff card's functional role (physician, nurse…), `nil` when absent.
    public let role: String?

    /// Reads the identity of `certificate`; `nil` when it has no CN or no Caduceus policy.
    public init?(_ certificate: Certificate) {
        var cn: String?
        var ou: String?
        for rdn in certificate.subject {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.commonName { cn = String(describing: attribute.value) }
                if attribute.type == .RDNAttributeType.organizationalUnitName { ou = String(describing: attribute.value) }
            }
        }
        guard let cn, !cn.isEmpty else { return nil }
        guard let ext = certificate.extensions[oid: CaduceusOID.certificatePolicies],
              let node = try? DER.parse(ext.value),
              case .constructed(let infos) = node.content
        else { return nil }
        var kind: Kind?
        for info in infos {
            guard case .constructed(let fields) = info.content, let first = fields.first(where: { _ in true }),
                  let oid = try? ASN1ObjectIdentifier(derEncoded: first)
            else { continue }
            switch oid {
            case CaduceusOID.policyCA: kind = .ca
            case CaduceusOID.policyNode: kind = .node
            case CaduceusOID.policyPerson: kind = .person
            case CaduceusOID.policyPatient: kind = .patient
            default: continue
            }
        }
        guard let kind else { return nil }
        self.commonName = cn
        self.kind = kind
        self.role = ou
    }
}
