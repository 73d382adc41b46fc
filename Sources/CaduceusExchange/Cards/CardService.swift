import CaduceusAudit
import CaduceusCore
import CaduceusDocuments
import CaduceusPKI
import CaduceusPatientIndex
import CaduceusStorage
import Foundation
import X509

/// The personnel registry and the card station's operations at a hospital node, behind the gate: the signed-in
/// person's role must be one the policy names for the step (`personnelAdministrators`, `cardOfficers`,
/// `cardApprovers`), at their own organisation's node; an enrolment is approved by someone other than the officer who
/// made it (four eyes). Every step is one audit event (with a Security Alert 110137 when a credential changes); the
/// issuing CA acts first (a revocation is published to every node before the answer), then the registry records it.
struct CardService: Sendable {
    /// What every service of the node shares.
    let core: NodeCore

    /// DICOM "User Security Attributes Changed": a card was issued, blocked, unblocked, revoked or renewed.
    static let credentialChanged = AuditCode("110137", system: "DCM", display: "User Security Attributes Changed")

    // MARK: - Personnel registry

    /// `staff.import`: an HR export replaces the registry's records of the staff it lists (all or nothing); staff
    /// whose affiliation it ends lose every card.
    func staffImport(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        try await core.stationLock.run { try await staffImportLocked(o) }
    }

    func staffImportLocked(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        _ = try await authorizeStation(o, roles: core.policy.policy.personnelAdministrators, what: "keep the personnel registry")
        let request = try o.message.decodeBody(StaffImportRequest.self)
        let now = core.clock.now()
        let members = try PersonnelImport.read(Array(request.csv.utf8), organization: core.id, allowedRoles: try allowedStaffRoles(), now: now)
        let existing = try await core.store.read { r in try r.staff() }
        let byId = Dictionary(existing.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var response = StaffImportResponse(added: 0, updated: 0, unchanged: 0, deactivated: 0, cardsTerminated: 0)
        var changed: [StaffMember] = []
        var ended: Set<String> = []
        var lostRoles: [String: Set<String>] = [:]
        for var member in members {
            // An affiliation ended at the station is not revived by a stale HR file.
            if let old = byId[member.id], !old.active, old.source == "station" { member.active = false }
            if let old = byId[member.id] {
                let dropped = Set(old.roles).subtracting(member.roles)
                if !dropped.isEmpty { lostRoles[member.id] = dropped }
            }
            guard let old = byId[member.id] else {
                response.added += 1
                changed.append(member)
                continue
            }
            var same = member
            same.updated = old.updated
            same.source = old.source
            if same == old {
                response.unchanged += 1
            } else {
                response.updated += 1
                changed.append(member)
                if old.active, !member.active {
                    response.deactivated += 1
                    ended.insert(member.id)
                }
            }
        }
        // Affiliations ended: every live card of those staff is revoked (or its enrolment withdrawn) first.
        let cards = try await core.store.read { r in try r.cards() }
        var terminated: [CardRecord] = []
        // Cards in a role HR took away end too.
        for card in cards where card.holderKind == "staff" && (ended.contains(card.holder) || lostRoles[card.holder]?.contains(card.role) == true) {
            guard let (next, _) = CardLifecycle.move(card.status, .terminate) else { continue }
            terminated.append(try await apply(card, .terminate, to: next, by: "hr-import", now: now))
        }
        response.cardsTerminated = terminated.filter { $0.serial != nil }.count
        if terminated.contains(where: { $0.serial != nil }) { await core.cardAuthority?.publish() }
        try await core.store.write { [changed, terminated] tx in
            for m in changed { try tx.saveStaff(m) }
            for c in terminated { try tx.saveCard(c) }
        }
        o.audit.add(Self.object("staff-import", "\(members.count) staff"))
        for c in terminated { o.audit.add(Self.object("card", c.id)) }
        if !terminated.isEmpty { o.audit.alert(Self.credentialChanged) }
        return try core.reply(o, response)
    }

    /// `staff.list`: the personnel registry (active staff unless asked).
    func staffList(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let policy = core.policy.policy
        _ = try await authorizeStation(o, roles: (policy.personnelAdministrators ?? []) + (policy.cardOfficers ?? []) + (policy.cardApprovers ?? []), what: "read the personnel registry")
        let request = try o.message.decodeBody(StaffListRequest.self)
        let staff = try await core.store.read { r in try r.staff() }
        return try core.reply(o, request.includeInactive ? staff : staff.filter(\.active))
    }

    // MARK: - Cards

    /// `card.enroll`: asks for a card for an active staff member in one of their roles, or for a patient of this
    /// hospital; waits for approval. One live card per holder and role.
    func enroll(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        try await core.stationLock.run { try await enrollLocked(o) }
    }

    func enrollLocked(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let claims = try await authorizeStation(o, roles: core.policy.policy.cardOfficers, what: "enrol cards")
        let request = try o.message.decodeBody(CardEnrollRequest.self)
        let now = core.clock.now()
        var card: CardRecord
        switch (request.staffId, request.patient) {
        case (let staffId?, nil):
            guard let member = try await core.store.read({ r in try r.staffMember(id: staffId) }) else {
                throw ExchangeError(.notFound, "no staff member with that id in this hospital's personnel registry")
            }
            guard member.active else { throw ExchangeError(.forbidden, "the staff member's affiliation has ended") }
            let role = (request.role ?? "").lowercased()
            guard member.roles.contains(role) else { throw ExchangeError(.badRequest, "the personnel registry does not give the staff member that role") }
            guard !member.email.isEmpty else { throw ExchangeError(.badRequest, "a staff card needs the staff member's e-mail address (its S/MIME name)") }
            card = CardRecord(id: Self.newId(), holderKind: "staff", holder: member.id, commonName: member.displayName, role: role, organization: core.id, status: .requested, history: [])
        case (nil, let patient?):
            let identity = LocalIdentity(id: patient.id, authority: patient.authority)
            guard try await core.store.read({ r in try r.patient(identity) }) != nil else {
                throw ExchangeError(.unknownPatient, "no patient with that identifier at this hospital")
            }
            o.audit.patient(patient)
            card = CardRecord(id: Self.newId(), holderKind: "patient", holder: patient.description, commonName: patient.id, role: "", organization: core.id, status: .requested, history: [])
        default:
            throw ExchangeError(.badRequest, "enrol either a staff member (staffId and role) or a patient")
        }
        card.history = [CardEvent(action: "enroll", by: claims.sub, at: now, actor: try await actor(o))]
        let (holder, role) = (card.holder, card.role)
        let fresh = card
        try await core.store.write { tx in
            // One live card (or enrolment) per holder and role, checked in the unit of work that adds it.
            if try tx.cards().contains(where: { $0.holder == holder && $0.role == role && Self.isLive($0.status) }) {
                throw ExchangeError(.invalidTransition, "the holder has a live card or enrolment in that role already")
            }
            try tx.saveCard(fresh)
        }
        o.audit.add(Self.object("card", card.id))
        o.audit.add(Self.object("card-action", "enroll"))
        return try core.reply(o, card)
    }

    /// `card.action`: approve or reject an enrolment; issue; block and unblock (certificateHold); lost (revoked, a
    /// replacement issued under a new key); terminate (revoked for good, the staff member's affiliation ended);
    /// renew (a successor under a new key, then the old card revoked as superseded).
    func action(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        try await core.stationLock.run { try await actionLocked(o) }
    }

    func actionLocked(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let request = try o.message.decodeBody(CardActionRequest.self)
        let policy = core.policy.policy
        let deciding = request.action == .approve || request.action == .reject
        let claims = try await authorizeStation(o, roles: deciding ? policy.cardApprovers : policy.cardOfficers, what: deciding ? "approve card enrolments" : "manage cards")
        o.audit.add(Self.object("card", request.card))
        o.audit.add(Self.object("card-action", request.action.rawValue))
        let cardId = request.card
        guard let card = try await core.store.read({ r in try r.card(id: cardId) }) else { throw ExchangeError(.notFound, "no card with that id at this node") }
        if card.holderKind == "patient", let patient = PatientIdentifier(cx: card.holder) { o.audit.patient(patient) }
        guard let (next, _) = CardLifecycle.move(card.status, request.action) else {
            throw ExchangeError(.invalidTransition, "a card that is \(card.status.rawValue) cannot take the action \(request.action.rawValue)")
        }
        if deciding {
            // Four eyes on people, not names: the approver's card maps to a staff member through the card registry;
            // they must be neither the officer who enrolled nor the card's holder.
            let approver = try await actor(o)
            let enroller = card.history.first?.actor ?? "cn:" + (card.history.first?.by ?? "")
            guard approver != enroller, approver != "cn:" + (card.history.first?.by ?? ""), approver != "staff:" + card.holder || card.holderKind != "staff" else {
                throw ExchangeError(.forbidden, "an enrolment is approved or rejected by someone other than the officer who made it and its holder")
            }
        }
        if request.check == true {
            // The question only: the same decisions as the move itself, nothing changed (the card station asks this
            // before it touches a token).
            if [.issue, .lost, .renew].contains(request.action) { try await requireActiveHolder(card) }
            o.audit.add(Self.object("card-action", "check"))
            return try core.reply(o, CardActionResponse(card: card))
        }
        let now = core.clock.now()
        var response = CardActionResponse(card: card)
        switch request.action {
        case .approve, .reject:
            response.card = try await apply(card, request.action, to: next, by: claims.sub, now: now)
            try await core.store.write { [c = response.card] tx in try tx.saveCard(c) }
        case .issue:
            try await requireActiveHolder(card)
            let (issued, material) = try await issue(card, csr: request.csr, by: claims.sub, now: now)
            response.card = issued
            response.issued = material
            // A renewal's successor is out: the card it replaces is revoked as superseded.
            var superseded: CardRecord?
            if let previous = card.replaces, let old = try await core.store.read({ r in try r.card(id: previous) }), old.status == .issued {
                superseded = try await apply(old, .renew, to: .superseded, by: claims.sub, now: now)
                await core.cardAuthority?.publish()
            }
            try await core.store.write { [c = issued, superseded] tx in
                try tx.saveCard(c)
                if let superseded { try tx.saveCard(superseded) }
            }
            o.audit.alert(Self.credentialChanged)
        case .block, .unblock:
            response.card = try await apply(card, request.action, to: next, by: claims.sub, now: now)
            await core.cardAuthority?.publish()
            try await core.store.write { [c = response.card] tx in try tx.saveCard(c) }
            o.audit.alert(Self.credentialChanged)
        case .lost, .renew:
            try await requireActiveHolder(card)
            // The successor is a new enrolment for the same holder and role, approved by a second person like any
            // other; a lost card is revoked now, a renewed one when its successor is issued.
            var old = card
            if request.action == .lost {
                old = try await apply(card, .lost, to: next, by: claims.sub, now: now)
                await core.cardAuthority?.publish()
                o.audit.alert(Self.credentialChanged)
            } else {
                guard card.replacedBy == nil else { throw ExchangeError(.invalidTransition, "a renewal of this card is already waiting") }
                old.history.append(CardEvent(action: "renew-requested", by: claims.sub, at: now))
            }
            var successor = CardRecord(id: Self.newId(), holderKind: card.holderKind, holder: card.holder, commonName: card.commonName, role: card.role, organization: card.organization, status: .requested, history: [CardEvent(action: request.action == .lost ? "replace" : "renew", by: claims.sub, at: now, actor: try await actor(o))])
            successor.replaces = card.id
            old.replacedBy = successor.id
            response.card = old
            response.replacement = successor
            try await core.store.write { [old, successor] tx in
                try tx.saveCard(old)
                try tx.saveCard(successor)
            }
            o.audit.add(Self.object("card", successor.id))
        case .terminate:
            // The affiliation ends: this card and every other live card of the holder, and (staff) the registry entry.
            let all = try await core.store.read { r in try r.cards() }
            var ended: [CardRecord] = []
            for other in all where other.holder == card.holder && other.holderKind == card.holderKind {
                guard let (n, _) = CardLifecycle.move(other.status, .terminate) else { continue }
                ended.append(try await apply(other, .terminate, to: n, by: claims.sub, now: now))
            }
            await core.cardAuthority?.publish()
            var member: StaffMember? = nil
            if card.holderKind == "staff", let holder = try await core.store.read({ [h = card.holder] r in try r.staffMember(id: h) }) {
                member = holder
                member?.active = false
                member?.updated = now
                member?.source = "station"
            }
            try await core.store.write { [ended, member] tx in
                for c in ended { try tx.saveCard(c) }
                if let member { try tx.saveStaff(member) }
            }
            for c in ended where c.id != card.id { o.audit.add(Self.object("card", c.id)) }
            response.card = ended.first { $0.id == card.id } ?? card
            o.audit.alert(Self.credentialChanged)
        }
        return try core.reply(o, response)
    }

    /// `card.list`: the card registry (or one card, or one staff member's cards).
    func list(_ o: ExchangeRequest) async throws -> ExchangeMessage {
        let policy = core.policy.policy
        _ = try await authorizeStation(o, roles: (policy.cardOfficers ?? []) + (policy.cardApprovers ?? []), what: "read the card registry")
        let request = try o.message.decodeBody(CardListRequest.self)
        var cards = try await core.store.read { r in try r.cards() }
        if let id = request.card {
            cards = cards.filter { $0.id == id }
            guard !cards.isEmpty else { throw ExchangeError(.notFound, "no card with that id at this node") }
        }
        if let staffId = request.staffId { cards = cards.filter { $0.holderKind == "staff" && $0.holder == staffId } }
        for card in cards.prefix(100) where card.holderKind == "patient" {
            if let patient = PatientIdentifier(cx: card.holder) { o.audit.patient(patient) }
        }
        return try core.reply(o, cards)
    }

    // MARK: - Steps

    /// The signed-in person at their own hospital's node, in a role the policy names for the step.
    func authorizeStation(_ o: ExchangeRequest, roles: [String]?, what: String) async throws -> AssertionClaims {
        let claims = try await core.authorize(o)
        try core.requireHome(claims)
        // The station trusts no other node's word on who may run it: the assertion must be this node's own, and its
        // organisation and role must be the presenting card's (not only its CN).
        guard claims.iss == core.id, o.identity.organization == claims.org, o.identity.role == claims.role else {
            throw ExchangeError(.forbidden, "the station takes only this node's own sign-in, for the card that presents it")
        }
        guard roles?.contains(claims.role) == true else {
            throw ExchangeError(.forbidden, "the policy does not let this functional role \(what)")
        }
        return claims
    }

    /// The roles a staff card of this hospital may carry: the policy's person roles, narrowed to what the hosted CA
    /// may grant.
    func allowedStaffRoles() throws -> Set<String> {
        var roles = Set(core.policy.policy.roles.keys.filter { !$0.hasPrefix("system:") && $0 != "patient" })
        roles.formUnion(core.policy.policy.accessReportReaders ?? [])
        roles.formUnion(core.policy.policy.emergencyReviewers ?? [])
        if let authority = core.cardAuthority, let granted = try? authority.namespace().roles, !granted.contains("*") {
            roles.formIntersection(granted)
        }
        return roles
    }

    /// Who is acting, as a stable key: `staff:<employee id>` when the presenting card is in this node's card
    /// registry, else `cn:<card CN>@<issuer>`.
    func actor(_ o: ExchangeRequest) async throws -> String {
        let serial = Hex.encode(o.signer.serialNumber.bytes), issuer = String(describing: o.signer.issuer)
        let known = try await core.store.read { r in try r.cards().first { $0.serial == serial && $0.issuer == issuer && $0.holderKind == "staff" } }
        return known.map { "staff:" + $0.holder } ?? "cn:" + o.identity.commonName
    }

    /// A staff holder must still be active (a terminated affiliation gets no new card).
    func requireActiveHolder(_ card: CardRecord) async throws {
        guard card.holderKind == "staff" else { return }
        let member = try await core.store.read { [h = card.holder] r in try r.staffMember(id: h) }
        guard member?.active == true else { throw ExchangeError(.forbidden, "the staff member's affiliation has ended") }
    }

    /// Does the CA's part of a move (revoke, hold, lift the hold) and records the step on the card.
    func apply(_ card: CardRecord, _ action: CardLifecycle.Action, to status: CardStatus, by: String, now: Date) async throws -> CardRecord {
        guard let (_, caAction) = CardLifecycle.move(card.status, action) else {
            throw ExchangeError(.invalidTransition, "a card that is \(card.status.rawValue) cannot take the action \(action.rawValue)")
        }
        switch caAction {
        case .none, .issue: break
        case .revoke(let reason):
            let (authority, serial) = try caFor(card)
            do { try authority.revoke(serial: serial, reason: reason, now: now) } catch let e as PKIError where e.kind == .alreadyRevoked && reason != .certificateHold {
                // Revoked for good already (an earlier attempt that did not reach the registry): the move stands.
            }
        case .releaseHold:
            let (authority, serial) = try caFor(card)
            try authority.releaseHold(serial: serial)
        }
        var next = card
        next.status = status
        next.history.append(CardEvent(action: action.rawValue, by: by, at: now))
        return next
    }

    func caFor(_ card: CardRecord) throws -> (any CardAuthority, Certificate.SerialNumber) {
        guard let authority = core.cardAuthority else { throw ExchangeError(.wrongRole, "this node hosts no CA that issues cards") }
        guard let hex = card.serial, let bytes = Hex.decode(hex) else { throw ExchangeError(.invalidTransition, "the card was never issued") }
        return (authority, Certificate.SerialNumber(bytes: bytes))
    }

    /// Issues the certificate of an approved card: for the CSR's key (proof of possession checked) or a key made
    /// here and handed over once as a PKCS#12; a patient card gets its signed emergency data set.
    func issue(_ card: CardRecord, csr: String?, by: String, now: Date) async throws -> (CardRecord, IssuedCard) {
        guard let authority = core.cardAuthority else { throw ExchangeError(.wrongRole, "this node hosts no CA that issues cards") }
        let subject: DistinguishedName, profile: IssuanceProfile
        var patientIdentity: LocalIdentity?
        if card.holderKind == "patient" {
            guard let patient = PatientIdentifier(cx: card.holder) else { throw ExchangeError(.badRequest, "the card names no patient identifier") }
            patientIdentity = LocalIdentity(id: patient.id, authority: patient.authority)
            subject = try federationName(commonName: patient.id, organization: card.organization, unit: patient.authority)
            profile = .patient(email: nil)
        } else {
            guard let member = try await core.store.read({ [h = card.holder] r in try r.staffMember(id: h) }) else {
                throw ExchangeError(.notFound, "no staff member with that id in this hospital's personnel registry")
            }
            // The name and role approved at enrolment, not whatever the registry says now.
            subject = try federationName(commonName: card.commonName, organization: card.organization, unit: card.role)
            profile = .person(email: member.email)
        }
        var key: PrivateKeyMaterial?
        let publicKey: Certificate.PublicKey
        if let csr {
            let request: CertificateSigningRequest
            do { request = try CertificateSigningRequest(pemEncoded: csr) } catch { throw ExchangeError(.badRequest, "the certificate request is not a PEM PKCS#10 request") }
            try CertificateAuthority.checkProofOfPossession(request)
            publicKey = request.publicKey
        } else {
            let made = try PrivateKeyMaterial.generate(.p256)
            key = made
            publicKey = made.publicKey
        }
        let (certificate, chain) = try authority.issue(profile: profile, subject: subject, publicKey: publicKey, now: now)
        var material = IssuedCard(certificateChain: try PEM.encode([certificate] + chain))
        if let key {
            let password = Self.oneTimePassword()
            material.pkcs12 = Data(try PKCS12.export(Credential(key: key, certificate: certificate, chain: chain), password: Sensitive(password)))
            material.password = password
        }
        let serial = Hex.encode(certificate.serialNumber.bytes)
        if let patientIdentity {
            let (record, observations) = try await core.store.read { r in (try r.patient(patientIdentity), try r.observations(for: patientIdentity)) }
            guard let record else { throw ExchangeError(.unknownPatient, "no patient with that identifier at this hospital") }
            let set = EmergencyDataSet(record: record, observations: observations, issuer: core.id, cardSerial: serial, issued: now, expires: certificate.notValidAfter)
            material.emergencyDataSet = Data(try set.signed(by: core.credential, at: now))
        }
        var issued = card
        issued.status = .issued
        issued.serial = serial
        issued.issuer = String(describing: certificate.issuer)
        issued.notAfter = certificate.notValidAfter
        issued.keyOrigin = key == nil ? "holder" : "node-generated"
        issued.history.append(CardEvent(action: "issue", by: by, at: now))
        return (issued, material)
    }

    static func isLive(_ status: CardStatus) -> Bool { [.requested, .approved, .issued, .blocked].contains(status) }

    static func newId() -> String { UUID().uuidString.lowercased() }

    /// A one-time PKCS#12 password: 20 characters from an alphabet without look-alikes (about 100 bits).
    static func oneTimePassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        let chars = (0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        return stride(from: 0, to: 20, by: 5).map { String(chars[$0..<$0 + 5]) }.joined(separator: "-")
    }

    static func object(_ type: String, _ id: String) -> AuditObject {
        AuditObject(typeCode: 2, role: 13, idType: AuditCode(type, system: "caduceus-audit", display: type == "card" ? "Card" : type == "card-action" ? "Card action" : "Personnel import"), id: id)
    }
}
