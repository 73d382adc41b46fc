package import CaduceusPKI
package import CaduceusDocuments
package import X509
package import struct Foundation.Date
import Foundation
import CaduceusCMS
import CaduceusCore

/// The operations of the exchange API; each envelope names one, and is refused on any other route.
package enum ExchangeOperation: String, Sendable, Codable, CaseIterable {
    /// Register a patient identity (and demographics) with the regional MPI.
    case registerIdentity = "mpi.register"
    /// Find patients by demographics (PDQ).
    case findPatients = "mpi.pdq"
    /// Register a submission set with the regional registry (node to registry).
    case registerSubmission = "registry.register"
    /// A registry stored query (FindDocuments, GetDocuments).
    case query = "registry.query"
    /// Retrieve documents from a repository (node to node).
    case retrieve = "repository.retrieve"
    /// Push documents to a named node, which answers with a signed receipt.
    case transfer = "transfer.push"
    /// Publish a node in the directory (global).
    case publishNode = "directory.publish"
    /// A user's provide-and-register at their own node.
    case submit = "user.submit"
    /// A user's query through their node.
    case userQuery = "user.query"
    /// A user's cross-community retrieve through their node.
    case userRetrieve = "user.retrieve"
    /// A user's transfer through their node.
    case userTransfer = "user.transfer"
    /// A user's patient search through their node.
    case userFindPatients = "user.pdq"
    /// A person signs in at their node (card signature = proof of possession) and gets a signed assertion.
    case signIn = "session.signin"
    /// A person signs out: the assertion is refused from then on.
    case signOut = "session.signout"
    /// A node tells the others that a person signed out (the assertion is refused everywhere from then on).
    case revokeSession = "session.revoke"
    /// A privacy officer reads this node's break-glass review queue.
    case userEmergencies = "user.emergencies"
    /// A privacy officer records the review of an emergency access at this node.
    case userEmergencyReview = "user.emergency.review"
    /// A privacy officer searches this node's audit trail (patient, user, event, outcome, time), with the 14-day
    /// summary and the recent alerts.
    case userAuditSearch = "user.audit.search"
    /// A privacy officer exports a search of this node's audit trail (as CSV, by the portal).
    case userAuditExport = "user.audit.export"
    /// A person (a patient for themselves, or staff recording a paper consent) states a consent directive or revokes
    /// one: a JWS signed with their card, forwarded to the regional consent registry.
    case userConsent = "user.consent"
    /// A person reads a patient's consents through their node.
    case userConsents = "user.consents"
    /// A node registers a consent statement with the regional consent registry (which verifies it itself).
    case registerConsent = "consent.register"
    /// A node reads a patient's consents from the regional consent registry.
    case queryConsents = "consent.query"
    /// A node asks the regional audit repository how much of its trail it holds, and where to ship the rest.
    case auditPosition = "audit.position"
    /// A patient (or an access-report reader) asks for the patient's access report across the federation.
    case userAccessReport = "user.accessreport"
    /// A node asks the regional node for a patient's access report (the regional resolves every linked identity and
    /// gathers each node's events).
    case accessReport = "audit.report"
    /// The regional node asks a node for its audit events naming any of a patient's identifiers.
    case accessEvents = "audit.events"
    /// A node tells another of newer revocation lists (CRLs, each with its CA's chain): the receiver checks each
    /// against its own trust and swaps it in at once.
    case publishCRL = "crl.publish"
    /// An administrator imports the hospital's HR export into its personnel registry.
    case staffImport = "staff.import"
    /// The personnel registry, for the admin and card stations.
    case staffList = "staff.list"
    /// A card officer enrols a staff member or a patient for a card.
    case cardEnroll = "card.enroll"
    /// A move of a card's lifecycle: approve, reject, issue, block, unblock, lost, terminate, renew.
    case cardAction = "card.action"
    /// The card registry, for the card station.
    case cardList = "card.list"
    /// The holder of the presenting card reads its entry in this node's card registry (the portal's "My card").
    case userCard = "user.card"
    /// The admin station's overview: the hospital's entities and the federation's infrastructure as this node sees it.
    case adminOverview = "admin.overview"
    /// The admin station reads the node's code tables (and one table's versions).
    case adminCodes = "admin.codes"
    /// The admin station saves a new version of a code table (in force from the next message).
    case adminCodesSave = "admin.codes.save"
    /// The admin station searches the patients this hospital node holds, or opens one with the regional MPI's links.
    case adminPatients = "admin.patients"
    /// The admin station lists the regional MPI's possible matches that involve this hospital's patients.
    case adminMPIReview = "admin.mpi.review"
    /// The admin station accepts or rejects one of those possible matches.
    case adminMPIDecide = "admin.mpi.decide"
    /// A hospital node asks the regional MPI for the possible matches involving its assigning authorities.
    case mpiReview = "mpi.review"
    /// A hospital node forwards its administrator's decision on a possible match to the regional MPI.
    case mpiDecide = "mpi.decide"
    /// PIX between nodes: the global id and every linked identity of a local identity the caller vouches for.
    case mpiLinks = "mpi.pix"
    /// A clinician lists the transfers this hospital received (the inbox) and sent.
    case userTransfers = "user.transfers"
    /// A clinician accepts a received transfer: its documents are filed under a local patient.
    case userTransferAccept = "user.transfer.accept"

    /// The HTTP path of the operation.
    package var path: String { "/v1/" + rawValue.replacingOccurrences(of: ".", with: "/") }
}

/// The JSON part that opens every payload: what the envelope is for, for whom, when, and the operation's data.
package struct EnvelopeHeader: Codable, Sendable {
    /// The operation.
    package var operation: ExchangeOperation
    /// The node id the envelope is addressed to.
    package var audience: String
    /// A fresh id (for evidence and receipts).
    package var requestId: String
    /// When it was sealed.
    package var issuedAt: Date
    /// The operation's parameters as JSON.
    package var body: Data
    /// A person's sign-in assertion (compact JWS), required on `user.*` operations.
    package var assertion: String?
    /// Creates a header.
    package init(operation: ExchangeOperation, audience: String, requestId: String, issuedAt: Date, body: Data, assertion: String? = nil) {
        self.operation = operation
        self.audience = audience
        self.requestId = requestId
        self.issuedAt = issuedAt
        self.body = body
        self.assertion = assertion
    }
}

/// A message of the exchange: a header and document parts.
package struct ExchangeMessage: Sendable {
    /// The header.
    package var header: EnvelopeHeader
    /// Documents (CDA, DICOM), with `Content-ID` = unique id.
    package var documents: [MIMEPart]
    /// Creates a message.
    package init(header: EnvelopeHeader, documents: [MIMEPart] = []) {
        self.header = header
        self.documents = documents
    }

    /// Decodes the header body.
    package func decodeBody<T: Decodable>(_ type: T.Type) throws(ExchangeError) -> T {
        do { return try JSONDecoder.wire.decode(T.self, from: header.body) } catch {
            throw ExchangeError(.badRequest, "the request body is not what \(header.operation.rawValue) expects")
        }
    }
}

/// A message that was opened: decrypted by us, signature and chain verified.
package struct OpenedEnvelope: Sendable {
    /// The message.
    package let message: ExchangeMessage
    /// The signer's certificate.
    package let signer: Certificate
    /// The signer's validated chain (leaf first, anchor last).
    package let chain: [Certificate]
    /// Who the signer is (node id or person).
    package let identity: FederationIdentity
    /// The envelope as received (encrypted to this node).
    package let raw: [UInt8]
    /// The signed content inside it (the CMS SignedData, DER): what is kept as evidence — verifiable by anyone with
    /// the federation's trust anchors, whatever keys this node holds later (the envelope itself can be opened only
    /// with the key it was encrypted to, which a renewal replaces).
    package var signed: [UInt8] = []

    /// What the signer's issuing CA may vouch for: a node writes identities only in these assigning authorities.
    package var issuerNamespace: IssuerNamespace? { chain.count > 1 ? IssuerNamespace(of: chain[1]) : nil }
}

/// Sign-then-encrypt envelopes (RFC 8551 §3.7, binary as in AS2): the payload, a `multipart/mixed` MIME entity, is
/// signed by the sender (CMS SignedData, attached) and encrypted to the recipient (CMS AuthEnvelopedData, AES-256-GCM).
/// HTTP carries the DER with `Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data`.
package enum Envelope {
    /// The HTTP content type of an envelope.
    package static let contentType = "application/pkcs7-mime; smime-type=authEnveloped-data; name=smime.p7m"
    /// How far an envelope's issue time may be from ours.
    package static let maxSkew: TimeInterval = 300

    /// Seals `message` from `sender` to `recipient`.
    package static func seal(_ message: ExchangeMessage, from sender: Credential, to recipient: Certificate, now: Date) throws -> [UInt8] {
        let header = try JSONEncoder.wire.encode(message.header)
        let parts = [MIMEPart(contentType: "application/json", id: "header", body: Array(header))] + message.documents
        let entity = Multipart.encode(parts) { Hex.encode(randomBytes(16)) }
        return try SMIME.seal(entity[...], signers: [sender], recipients: [recipient], format: .der, signingTime: now)
    }

    /// Opens an envelope addressed to `credential`'s node, checking, in this order: AES-GCM only (an AES-CBC
    /// envelope is refused before any key is used: no padding oracle), decryption (one uniform failure), the signature
    /// and the signer's chain (valid *now*, whatever signing time the signer wrote; identity inside its issuer's
    /// namespace), a signing time inside the freshness window, the audience, the operation and the issue time.
    /// - Throws: ``ExchangeError``: `weak-algorithm`, `decryption-failed` (uniform), `signer-rejected`, `misdirected`,
    ///   `bad-request`.
    package static func open(_ bytes: [UInt8], as nodeId: String, credential: Credential, validator: ChainValidator, expecting operation: ExchangeOperation?, now: Date) async throws(ExchangeError) -> OpenedEnvelope {
        try await open(bytes, as: nodeId, decryptors: [credential], validator: validator, expecting: operation, now: now)
    }

    /// Opens an envelope as above, decrypting with the first of `decryptors` (a node's current credential, then the
    /// ones a renewal replaced) that is among its recipients; the failure is the same whichever was tried.
    package static func open(_ bytes: [UInt8], as nodeId: String, decryptors: [Credential], validator: ChainValidator, expecting operation: ExchangeOperation?, now: Date) async throws(ExchangeError) -> OpenedEnvelope {
        var opened: [UInt8]?
        for credential in decryptors {
            do {
                opened = try EnvelopedData.decrypt(bytes[...], credential: credential, authenticatedOnly: true).content
                break
            } catch let e as CMSError where e.kind == .weakAlgorithm {
                throw ExchangeError(.weakAlgorithm, "the exchange accepts only AES-GCM envelopes (AuthEnvelopedData) with the federation's algorithms")
            } catch {
                continue
            }
        }
        guard let inner = opened else { throw ExchangeError(.decryptionFailed, "the envelope could not be decrypted by this node") }
        let verified: VerifiedContent
        do { verified = try await SMIME.verify(inner[...], validator: validator, now: now, validity: .now) } catch {
            throw ExchangeError(.signerRejected, "the envelope's signature or signer certificate was not accepted")
        }
        guard verified.signers.count == 1, let signer = verified.signers.first, let identity = FederationIdentity(signer.certificate) else {
            throw ExchangeError(.signerRejected, "an envelope has exactly one signer with a federation certificate")
        }
        guard let signed = signer.signingTime, abs(signed.timeIntervalSince(now)) <= maxSkew else {
            throw ExchangeError(.signerRejected, "the envelope's signing time is missing or outside the accepted window")
        }
        let parts: [MIMEPart]
        do { parts = try Multipart.decode(Array(verified.content)) } catch {
            throw ExchangeError(.badRequest, "the envelope's payload is not a multipart entity")
        }
        guard let first = parts.first, first.contentID == "header",
              let header = try? JSONDecoder.wire.decode(EnvelopeHeader.self, from: Data(first.body))
        else { throw ExchangeError(.badRequest, "the payload does not open with the exchange header") }
        guard header.audience == nodeId else { throw ExchangeError(.misdirected, "the envelope is addressed to another node") }
        if let operation, header.operation != operation {
            throw ExchangeError(.misdirected, "the envelope is for another operation")
        }
        guard abs(header.issuedAt.timeIntervalSince(now)) <= maxSkew else {
            throw ExchangeError(.misdirected, "the envelope's issue time is outside the accepted window")
        }
        return OpenedEnvelope(message: ExchangeMessage(header: header, documents: Array(parts.dropFirst())), signer: signer.certificate, chain: signer.chain, identity: identity, raw: bytes, signed: inner)
    }
}

extension JSONEncoder {
    /// The exchange's JSON: ISO 8601 dates, sorted keys.
    package static var exchange: JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

extension JSONEncoder {
    /// One encoder shared by the exchange's per-request paths (envelope headers and bodies): ISO 8601 dates, keys in
    /// the order they are declared (nothing here needs them sorted: the bytes are signed as they are). A JSONEncoder
    /// may be used from many threads at once; never change its options.
    package static let wire: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        return e
    }()
}

extension JSONDecoder {
    /// One decoder shared by the exchange's per-request paths; never change its options.
    package static let wire: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// The exchange's JSON: ISO 8601 dates.
    package static var exchange: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
