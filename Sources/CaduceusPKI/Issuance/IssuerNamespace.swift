public import X509
import SwiftASN1

/// What a federation CA may vouch for: the node ids it certifies, the organisations whose staff, patients and
/// interfaces it certifies, the patients' assigning authorities, and the functional roles it may grant on staff
/// cards. It travels in the CA certificate as a non-critical extension (``CaduceusOID/issuerNamespace``), so
/// `openssl verify` still accepts the chain while every node checks it offline (``ChainValidator``): a valid chain to
/// the root is not enough, the name must also lie in its issuer's namespace. A CA certificate without one issues
/// nothing; a subordinate CA's namespace must lie inside its issuer's.
///
/// An entry is an exact value, or `*` for "any" (the federation root's, by default).
///
/// DER: `CaduceusNamespace ::= SEQUENCE { nodes SEQUENCE OF UTF8String, organizations SEQUENCE OF UTF8String,
/// authorities SEQUENCE OF UTF8String, roles SEQUENCE OF UTF8String }`.
public struct IssuerNamespace: Sendable, Hashable, Codable {
    /// Node ids (node and interface certificate CNs are checked against it for nodes).
    public var nodes: [String]
    /// Organisation ids (the subject O of staff, patient and interface certificates): a hospital's node id.
    public var organizations: [String]
    /// Patient identifier domains (assigning authority OIDs): patient cards' OU, and what interfaces may write.
    public var authorities: [String]
    /// Functional roles (a staff card's OU) this CA may grant.
    public var roles: [String]

    /// Creates a namespace.
    public init(nodes: [String] = [], organizations: [String] = [], authorities: [String] = [], roles: [String] = []) {
        self.nodes = nodes
        self.organizations = organizations
        self.authorities = authorities
        self.roles = roles
    }

    /// Any name (a trust anchor's namespace).
    public static let unrestricted = IssuerNamespace(nodes: ["*"], organizations: ["*"], authorities: ["*"], roles: ["*"])

    /// Whether `value` is in `list` (exactly, or the list holds `*`).
    public static func admits(_ list: [String], _ value: String) -> Bool { list.contains("*") || list.contains(value) }

    /// Whether every name of `other` lies in this namespace.
    public func contains(_ other: IssuerNamespace) -> Bool {
        func sub(_ child: [String], _ parent: [String]) -> Bool { parent.contains("*") || child.allSatisfy { $0 != "*" && parent.contains($0) } }
        return sub(other.nodes, nodes) && sub(other.organizations, organizations) && sub(other.authorities, authorities) && sub(other.roles, roles)
    }

    /// Why a certificate of `kind` naming `commonName` / `organization` / `unit` may not be issued under this
    /// namespace, or nil when it may. `child` is the namespace a subordinate CA would carry.
    public func refusal(kind: FederationIdentity.Kind, commonName: String, organization: String?, unit: String?, child: IssuerNamespace?) -> String? {
        switch kind {
        case .ca:
            guard let child else { return "a CA certificate below the root must carry a namespace" }
            return contains(child) ? nil : "the CA's namespace is not inside its issuer's"
        case .node:
            return Self.admits(nodes, commonName) ? nil : "the node id is not in the issuing CA's namespace"
        case .person:
            guard let organization, Self.admits(organizations, organization) else {
                return "the card's organisation is not in the issuing CA's namespace"
            }
            if let unit, !unit.isEmpty, !Self.admits(roles, unit) { return "the issuing CA may not grant this functional role" }
            return nil
        case .patient:
            guard let organization, Self.admits(organizations, organization) else {
                return "the card's organisation is not in the issuing CA's namespace"
            }
            guard authorities.contains("*") || unit.map({ Self.admits(authorities, $0) }) == true else {
                return "the patient's assigning authority is not in the issuing CA's namespace"
            }
            return nil
        case .interface:
            guard let organization, Self.admits(organizations, organization) else {
                return "the interface's organisation is not in the issuing CA's namespace"
            }
            guard let unit, !unit.isEmpty else { return "an interface certificate names its sending facility (OU)" }
            return nil
        }
    }

    /// The namespace a CA certificate carries, nil when it carries none (or one that cannot be read).
    public init?(of certificate: Certificate) {
        guard let ext = certificate.extensions[oid: CaduceusOID.issuerNamespace] else { return nil }
        guard let parsed = try? Self(derEncoded: Array(ext.value)) else { return nil }
        self = parsed
    }

    /// Reads the DER form.
    public init(derEncoded bytes: [UInt8]) throws {
        let root = try DER.parse(bytes)
        guard case .constructed(let lists) = root.content else { throw PKIError(.malformed, "the namespace is not a sequence") }
        var out: [[String]] = []
        for list in lists {
            guard case .constructed(let items) = list.content else { throw PKIError(.malformed, "a namespace list is not a sequence") }
            var values: [String] = []
            for item in items { values.append(String(try ASN1UTF8String(derEncoded: item))) }
            out.append(values)
        }
        guard out.count == 4 else { throw PKIError(.malformed, "a namespace has four lists") }
        self.init(nodes: out[0], organizations: out[1], authorities: out[2], roles: out[3])
    }

    /// The DER form.
    public func derEncoded() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { outer in
            for list in [nodes, organizations, authorities, roles] {
                try outer.appendConstructedNode(identifier: .sequence) { seq in
                    for value in list { try seq.serialize(ASN1UTF8String(value)) }
                }
            }
        }
        return serializer.serializedBytes
    }

    /// The certificate extension (non-critical).
    func certificateExtension() throws -> Certificate.Extension {
        Certificate.Extension(oid: CaduceusOID.issuerNamespace, critical: false, value: try derEncoded()[...])
    }
}
