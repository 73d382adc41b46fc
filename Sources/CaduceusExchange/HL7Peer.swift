package import CaduceusPKI
import CaduceusHL7

/// Who sent an HL7 message, as the MLLP connection's certificate and its issuing CA's namespace say — what the
/// receiver authorises, not only authenticates (issue 11): an EMR interface may write and query only as the sending
/// application and facility its certificate names, and only in the assigning authorities its CA vouches for; a node
/// certificate within its CA's authorities; a person's or a patient's card never.
package struct HL7Peer: Sendable, Hashable {
    /// What kind of party it is.
    package enum Kind: Sendable, Hashable {
        /// An EMR interface certificate (`caduceus pki issue --profile interface`).
        case interface
        /// A federation node certificate.
        case node
        /// Any other certificate: refused, with the reason.
        case refused(String)
        /// A plain-TCP connection the operator allowed explicitly (`--insecure-plain-mllp`): no identity.
        case insecure
        /// The node itself (in-process feeds: the demo, tests): no transport identity.
        case inProcess
    }

    /// The kind.
    package let kind: Kind
    /// The authenticated name (certificate CN; the remote address for an insecure connection), keying duplicate
    /// detection so one sender cannot pre-empt another's control ids.
    package let name: String
    /// MSH-3 an interface must send as (its certificate's CN); nil: not checked.
    package let application: String?
    /// MSH-4 an interface must send as (its certificate's OU); nil: not checked.
    package let facility: String?
    /// The assigning authorities it may write and query; nil: any the receiver knows.
    package let authorities: Set<String>?

    /// The node's own feeds (no transport).
    package static let inProcess = HL7Peer(kind: .inProcess, name: "", application: nil, facility: nil, authorities: nil)

    /// A connection whose certificate could not be validated again: refused.
    package static let unidentified = HL7Peer(kind: .refused("the connection's certificate could not be identified"), name: "unidentified", application: nil, facility: nil, authorities: [])

    /// A plain-TCP peer at `address`, allowed only by an explicit operator flag.
    package static func insecure(address: String) -> HL7Peer {
        HL7Peer(kind: .insecure, name: "plain:" + address, application: nil, facility: nil, authorities: nil)
    }

    init(kind: Kind, name: String, application: String?, facility: String?, authorities: Set<String>?) {
        self.kind = kind
        self.name = name
        self.application = application
        self.facility = facility
        self.authorities = authorities
    }

    /// The peer a validated certificate names; `issuerNamespace` is its issuing CA's (from the validated chain).
    package init(identity: FederationIdentity, issuerNamespace: IssuerNamespace?) {
        let authorities: Set<String>? = issuerNamespace.map { $0.authorities.contains("*") ? nil : Set($0.authorities) } ?? []
        switch identity.kind {
        case .interface:
            // Keyed by organisation and application: the O is bound to the issuing CA's namespace, so one hospital's
            // CA cannot mint another's interface and use up its control ids.
            self.init(kind: .interface, name: "interface:" + (identity.organization ?? "") + "/" + identity.commonName, application: identity.commonName, facility: identity.role, authorities: authorities)
        case .node:
            self.init(kind: .node, name: "node:" + identity.commonName, application: nil, facility: nil, authorities: authorities)
        case .person, .patient, .ca:
            self.init(
                kind: .refused("a \(identity.kind.rawValue) certificate may not send HL7 messages: an interface or node certificate is required"),
                name: identity.kind.rawValue + ":" + identity.commonName, application: nil, facility: nil, authorities: [])
        }
    }

    /// Why this peer may not send `message` (of `code`^`event`), or nil when it may.
    func refusal(_ message: HL7Message, code: String, event: String) -> String? {
        if case .refused(let why) = kind { return why }
        let msh = message.msh
        if let application, ((try? msh.sendingApplication)?.namespaceID ?? "") != application {
            return "MSH-3 is not the sending application the interface certificate names"
        }
        if let facility, !facility.isEmpty, ((try? msh.sendingFacility)?.namespaceID ?? "") != facility {
            return "MSH-4 is not the sending facility the interface certificate names"
        }
        guard let authorities else { return nil }
        var named: [String] = []
        for pid in message.views(PIDSegment.self) { named += ((try? pid.identifiers) ?? []).filter { !$0.id.isEmpty }.map(HL7Receiver.authority) }
        for mrg in message.views(MRGSegment.self) { named += ((try? mrg.priorIdentifiers) ?? []).filter { !$0.id.isEmpty }.map(HL7Receiver.authority) }
        if let qpd = message.view(QPDSegment.self) {
            func cxs(_ n: Int) -> [String] { qpd.parameter(n).compactMap { try? $0.cx(qpd.dialect) }.map(HL7Receiver.authority).filter { !$0.isEmpty } }
            if event == "Q23" {
                let domains = cxs(2)
                guard !domains.isEmpty else { return "a PIX query from this sender names the domains it may read (QPD-4)" }
                named += cxs(1) + domains
            } else if event == "Q22" {
                let domains = cxs(6)
                guard !domains.isEmpty else { return "a PDQ query from this sender names the domains it may read (QPD-8)" }
                named += domains
                // An identifier search names its authority in QPD-3 (@PID.3.4).
                for rep in qpd.parameter(1) {
                    let field = (try? rep[1].first.value(qpd.dialect)) ?? ""
                    if field.hasPrefix("@PID.3.4") { named.append((try? rep[2].first.value(qpd.dialect)) ?? "") }
                }
            }
        }
        if named.contains(where: { !authorities.contains($0) }) {
            return "the message names an assigning authority this sender's certificate does not cover"
        }
        return nil
    }
}
