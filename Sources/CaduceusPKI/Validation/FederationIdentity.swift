public import X509
import SwiftASN1

/// Who a validated federation certificate names: its common name, organisation and unit, and the Caduceus policy
/// (issuance profile) its issuer put in certificatePolicies. A node's id is its certificate's CN. These names mean
/// something only because ``ChainValidator`` refuses a certificate whose names lie outside its issuer's
/// ``IssuerNamespace``: read an identity from a certificate that has been validated.
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
        /// An EMR interface (an MLLP sender): CN = sending application, OU = sending facility, O = organisation.
        case interface
    }

    /// The subject's common name.
    public let commonName: String
    /// The profile, from certificatePolicies.
    public let kind: Kind
    /// The subject's OU: a staff card's functional role (physician, nurse…), a patient card's assigning authority, an
    /// interface's sending facility; `nil` when absent.
    public let role: String?
    /// The subject's O: the home organisation of a card or interface (a hospital's node id), as its CA vouches.
    public let organization: String?

    /// Reads the identity of `certificate`; `nil` when it has no CN or no Caduceus policy.
    public init?(_ certificate: Certificate) {
        let names = FederationName(certificate.subject)
        guard names.isUnambiguous else { return nil }
        let (cn, ou, o) = (names.commonName, names.unit, names.organization)
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
            let found: Kind
            switch oid {
            case CaduceusOID.policyCA: found = .ca
            case CaduceusOID.policyNode: found = .node
            case CaduceusOID.policyPerson: found = .person
            case CaduceusOID.policyPatient: found = .patient
            case CaduceusOID.policyInterface: found = .interface
            default: continue
            }
            // Two Caduceus profiles in one certificate make its kind ambiguous: no identity.
            if kind != nil { return nil }
            kind = found
        }
        guard let kind else { return nil }
        self.commonName = cn
        self.kind = kind
        self.role = ou
        self.organization = o
    }
}

/// The CN, O and OU of a distinguished name (the last of each, as certificates here carry one).
public struct FederationName: Sendable, Hashable {
    /// CN.
    public var commonName: String?
    /// O.
    public var organization: String?
    /// OU.
    public var unit: String?

    /// Whether the name holds at most one CN, one O and one OU (tools differ on which of several they read).
    public var isUnambiguous = true

    /// Reads the names of `name`.
    public init(_ name: DistinguishedName) {
        var counts = [0, 0, 0]
        for rdn in name {
            for attribute in rdn {
                // The text itself (a name may hold a comma); RFC 4514's escaped form only for a non-string value.
                let value = String(attribute.value) ?? String(describing: attribute.value)
                if attribute.type == .RDNAttributeType.commonName { commonName = value; counts[0] += 1 }
                if attribute.type == .RDNAttributeType.organizationalUnitName { unit = value; counts[1] += 1 }
                if attribute.type == .RDNAttributeType.organizationName { organization = value; counts[2] += 1 }
            }
        }
        isUnambiguous = counts.allSatisfy { $0 <= 1 }
    }
}
