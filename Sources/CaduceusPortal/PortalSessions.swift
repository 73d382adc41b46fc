package import CaduceusCore
package import CaduceusDocuments
package import CaduceusExchange
import Crypto
package import Foundation
import Synchronization

/// One browser session of the portal: the sign-in assertion the gate issued for the card (purpose of use included),
/// bound to that card's certificate (its SHA-256): a cookie presented over a connection with another certificate gets
/// nothing. Held on the node; the browser holds only an opaque, random session id (the assertion with its `x5c` chain
/// is larger than a cookie may be, and need not leave the node).
package struct PortalSession: Sendable {
    /// The random id the cookie carries (256 bits, base64url).
    package let id: String
    /// The compact JWS the gate issued at sign-in.
    package let assertion: String
    /// SHA-256 of the DER of the card certificate that signed in.
    package let certificate: [UInt8]
    /// The functional role and purpose of use the assertion names.
    package let role: String
    package let purpose: String
    /// When the assertion expires.
    package let expires: Date
    /// The form token of this session (256 bits, base64url): every POST must carry it.
    package let csrf: String
    /// Opaque handles standing for document unique ids and patients in URLs and forms (no identifier in a URL).
    package var documents: [String: String] = [:]
    package var patients: [String: Sensitive<PatientIdentifier>] = [:]
    /// The patient a clinician selected, never in a URL.
    package var selectedPatient: Sensitive<PatientIdentifier>?
    /// The privacy officer's current audit search (its patient never in a URL), for its CSV export.
    package var auditSearch: Sensitive<AuditSearchRequest>?
    /// A card just issued with a key the node made: its PKCS#12, downloadable once from the page that showed its
    /// one-time password (then dropped). Or the certificate chain of a card issued onto a token that could not be
    /// written there, for `caduceus token import-cert`.
    package var issuedCard: Sensitive<IssuedCardDownload>?

    /// Whether this is a break-glass (ETREAT) sign-in.
    package var emergency: Bool { purpose == "ETREAT" }
}

/// A file of a card just issued waiting for its one download: the handle the page names it by, the file (a PKCS#12,
/// or a certificate chain in PEM), its name and media type.
package struct IssuedCardDownload: Sendable {
    package let handle: String
    package let file: Data
    package let fileName: String
    package var contentType = "application/x-pkcs12"
}

/// The portal's sessions, in memory (a restart signs everyone out of the portal; their assertions stay signed out or
/// expire as usual), at most 10,000, the expired ones dropped as new ones come.
package final class PortalSessions: Sendable {
    let state = Mutex<[String: PortalSession]>([:])
    let clock: any WallClock

    package init(clock: any WallClock = SystemWallClock()) { self.clock = clock }

    /// A new random token (256 bits, base64url).
    package static func token() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Opens a session for `assertion`, bound to `certificate` (SHA-256 of its DER).
    package func open(assertion: String, certificate: [UInt8], role: String, purpose: String, expires: Date) -> PortalSession {
        let session = PortalSession(id: Self.token(), assertion: assertion, certificate: certificate, role: role, purpose: purpose, expires: expires, csrf: Self.token())
        let now = clock.now()
        state.withLock { s in
            if s.count >= 10_000 { s = s.filter { $0.value.expires > now } }
            if s.count < 10_000 { s[session.id] = session }
        }
        return session
    }

    /// The live session with this id (nil: none, or expired).
    package func session(_ id: String) -> PortalSession? {
        let now = clock.now()
        return state.withLock { s in
            guard let found = s[id] else { return nil }
            guard found.expires > now else { s[id] = nil; return nil }
            return found
        }
    }

    /// Changes a session (handles, the selected patient).
    package func update(_ id: String, _ change: (inout PortalSession) -> Void) {
        state.withLock { s in if var found = s[id] { change(&found); s[id] = found } }
    }

    /// Ends a session.
    package func close(_ id: String) { _ = state.withLock { $0.removeValue(forKey: id) } }
}

/// Constant-time comparison of two tokens.
func sameToken(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count, !x.isEmpty else { return false }
    var diff: UInt8 = 0
    for i in x.indices { diff |= x[i] ^ y[i] }
    return diff == 0
}
