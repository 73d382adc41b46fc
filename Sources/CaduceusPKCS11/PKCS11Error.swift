public import CaduceusCore

/// The one error type of `CaduceusPKCS11`. Messages name the rule or the PKCS#11 return value (`CKR_…`), never a PIN,
/// key material or content; equality is by code.
package struct PKCS11Error: CodedError {
    /// An extensible, stable error code (`pkcs11.*`).
    package struct Code: ErrorCode {
        /// The code as text, e.g. `pkcs11.pin-incorrect`.
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// The module could not be loaded: no such file, not a shared library, or no `C_GetFunctionList` in it.
        package static let moduleLoad = Code("pkcs11.module-load")
        /// No token with that label is present in any slot of the module.
        package static let tokenNotFound = Code("pkcs11.token-not-found")
        /// Two or more present tokens carry that label: which one is meant cannot be told.
        package static let tokenAmbiguous = Code("pkcs11.token-ambiguous")
        /// The token refused the user PIN (`CKR_PIN_INCORRECT`, `CKR_PIN_LEN_RANGE`).
        package static let pinIncorrect = Code("pkcs11.pin-incorrect")
        /// The user PIN is locked (`CKR_PIN_LOCKED`): the security officer must unblock it.
        package static let pinLocked = Code("pkcs11.pin-locked")
        /// No private key (or no key with the given id) on the token.
        package static let keyNotFound = Code("pkcs11.key-not-found")
        /// Several private keys on the token and no id chose one.
        package static let keyAmbiguous = Code("pkcs11.key-ambiguous")
        /// An object with that id already exists on the token (keygen does not overwrite).
        package static let alreadyExists = Code("pkcs11.already-exists")
        /// No certificate for the key on the token, and none given.
        package static let certificateNotFound = Code("pkcs11.certificate-not-found")
        /// The key on the token is not a P-256 EC key (the only kind Caduceus uses on tokens).
        package static let unsupportedKey = Code("pkcs11.unsupported-key")
        /// The token has no room for what was to be stored: the card key's place is taken (an object under its id) or
        /// the device is out of memory (`CKR_DEVICE_MEMORY`).
        package static let tokenFull = Code("pkcs11.token-full")
        /// Another session of this process is logged in to the token, so a login would not check the PIN (base
        /// §5.6): the token is in use here and is not taken for a new card.
        package static let tokenInUse = Code("pkcs11.token-in-use")
        /// The certificate given is not for the key on the token.
        package static let certificateMismatch = Code("pkcs11.certificate-mismatch")
        /// The card was issued but its certificate could not be written to the token; the key stays there.
        package static let certificateNotStored = Code("pkcs11.certificate-not-stored")
        /// A PKCS#11 function returned an error; the message names the function and the `CKR_…` value.
        package static let functionFailed = Code("pkcs11.function-failed")

        /// Wrong or locked PINs mean the person is not authenticated; a module that does not load or a failing device
        /// is this machine's problem; the rest are the caller's mistake.
        package var category: ErrorCategory {
            switch self {
            case .pinIncorrect, .pinLocked: return .unauthenticated
            case .moduleLoad, .functionFailed, .certificateNotStored: return .internal
            case .tokenNotFound, .keyNotFound, .certificateNotFound: return .notFound
            case .alreadyExists, .tokenFull, .tokenInUse: return .conflict
            default: return .client
            }
        }
    }

    /// The kind of failure.
    package let kind: Code
    /// Text naming the rule or the `CKR_…` value; no PIN, key material or content.
    package let message: String

    /// Creates an error.
    package init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
