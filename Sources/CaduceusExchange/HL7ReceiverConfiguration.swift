package import CaduceusHL7
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
    /// The character set of messages that do not name one in MSH-18 — the interface's encoding, like an interface
    /// engine's connector encoding (`hl7.charset`, `serve --hl7-charset`). Default UTF-8: it reads every ASCII
    /// message exactly as ASCII would, reads what EMRs send undeclared, and validates strictly, so ISO 8859-1 text
    /// sent undeclared (whose accented letters are almost never valid UTF-8) is refused with
    /// `hl7.invalid-characters` instead of being misread; an interface known to send 8859-1 says so here. The
    /// standard's reading of an empty MSH-18 (7-bit ASCII) is `.ascii`.
    package var defaultCharacterSet: HL7CharacterSet = .utf8
    /// Most answers an acknowledgement batch lists (those of messages not accepted, and query responses); past it,
    /// the trailer counts what was left out (every message still has its outcome in the message log and the audit
    /// trail). Default 10,000.
    package var maxBatchAnswers: Int = 10_000
    /// Messages of a batch committed together (in order, each in its own savepoint; one fsync for them all).
    /// Default 256.
    package var batchWindow: Int = 256

    /// The parse options messages are read with: strict, in ``defaultCharacterSet`` when MSH-18 is empty.
    package var parseOptions: HL7ParseOptions { HL7ParseOptions(lineEndings: .strict, defaultCharacterSet: defaultCharacterSet) }

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
