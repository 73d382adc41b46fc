package import CaduceusPolicy
package import CaduceusPatientIndex

/// How a node's HL7 receiver behaves. Defaults are documented per field.
package struct HL7ReceiverConfiguration: Sendable {
    /// MSH-3 this node answers as. Default `CADUCEUS`.
    package var application: String = "CADUCEUS"
    /// MSH-4 this node answers as. Default `CADUCEUS`.
    package var facility: String = "CADUCEUS"
    /// Assigning authorities (universal ids, i.e. OIDs, or namespace ids) this node accepts in PID-3, MRG-1 and
    /// QPD-3. A message naming no known authority is answered AE with ERR-3 204. Required: no default.
    package var knownAuthorities: Set<String>
    /// MSH-12 versions accepted. Default 2.3 through 2.8.
    package var supportedVersions: Set<String> = ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8"]
    /// MSH-11 processing ids accepted. Default `P` (production) and `T` (training).
    package var processingIDs: Set<String> = ["P", "T"]
    /// Largest page a PDQ query may ask for; larger RCP-2 values are reduced to it. Default 100.
    package var maxQueryResults: Int = 100

    /// Called after a message that created or updated a patient has been committed (not for a repeated message):
    /// a hospital node uses it to register the identity with its regional MPI. Default none.
    package var onPatientStored: (@Sendable (LocalIdentity) async -> Void)?

    /// A configuration accepting identities from `knownAuthorities`.
    /// The access policy PIX/PDQ queries pass, as the functional role `queryRole` with purpose TREAT on demographics
    /// (confidentiality N). HL7 v2 queries carry no user: the interface is the subject. nil: queries are not gated
    /// (an MLLP listener without a node).
    package var queryPolicy: PolicyDecisionPoint?
    /// The role the policy file gives interfaces (EMRs) that query over MLLP. Roles named `system:…` are never a
    /// person's: sign-in refuses a card that claims one.
    package var queryRole: String = "system:interface"

    package init(knownAuthorities: Set<String>) { self.knownAuthorities = knownAuthorities }
}
