import CCaduceusPKCS11

/// The PKCS#11 v2.40 constants Caduceus uses (base specification §3–§4, current mechanisms §2.3), with the names of
/// the return values it reports. Values checked against the OASIS headers.
enum CK {
    // Return values (base §5.1).
    static let OK: CK_RV = 0x0
    static let PIN_INCORRECT: CK_RV = 0xA0
    static let PIN_LEN_RANGE: CK_RV = 0xA2
    static let PIN_LOCKED: CK_RV = 0xA4
    static let USER_ALREADY_LOGGED_IN: CK_RV = 0x100
    static let DEVICE_MEMORY: CK_RV = 0x31
    static let CRYPTOKI_ALREADY_INITIALIZED: CK_RV = 0x191
    static let BUFFER_TOO_SMALL: CK_RV = 0x150

    // Flags.
    static let OS_LOCKING_OK: CK_FLAGS = 0x2
    static let SERIAL_SESSION: CK_FLAGS = 0x4
    static let RW_SESSION: CK_FLAGS = 0x2
    static let SLOT_TOKEN_PRESENT: CK_FLAGS = 0x1
    static let TOKEN_INITIALIZED: CK_FLAGS = 0x400
    static let USER_PIN_INITIALIZED: CK_FLAGS = 0x8
    static let USER: CK_USER_TYPE = 1
    /// Session states (base §5.6) in which the normal user is logged in.
    static let RO_USER_FUNCTIONS: CK_STATE = 1
    static let RW_USER_FUNCTIONS: CK_STATE = 3

    // Object classes, key and certificate types.
    static let O_DATA: CK_OBJECT_CLASS = 0
    static let O_CERTIFICATE: CK_OBJECT_CLASS = 1
    static let O_PUBLIC_KEY: CK_OBJECT_CLASS = 2
    static let O_PRIVATE_KEY: CK_OBJECT_CLASS = 3
    static let O_SECRET_KEY: CK_OBJECT_CLASS = 4
    static let K_EC: CK_KEY_TYPE = 3
    static let K_GENERIC_SECRET: CK_KEY_TYPE = 0x10
    static let C_X_509: CK_CERTIFICATE_TYPE = 0

    // Attributes.
    static let A_CLASS: CK_ATTRIBUTE_TYPE = 0x0
    static let A_TOKEN: CK_ATTRIBUTE_TYPE = 0x1
    static let A_PRIVATE: CK_ATTRIBUTE_TYPE = 0x2
    static let A_LABEL: CK_ATTRIBUTE_TYPE = 0x3
    static let A_APPLICATION: CK_ATTRIBUTE_TYPE = 0x10
    static let A_VALUE: CK_ATTRIBUTE_TYPE = 0x11
    static let A_CERTIFICATE_TYPE: CK_ATTRIBUTE_TYPE = 0x80
    static let A_ISSUER: CK_ATTRIBUTE_TYPE = 0x81
    static let A_SERIAL_NUMBER: CK_ATTRIBUTE_TYPE = 0x82
    static let A_KEY_TYPE: CK_ATTRIBUTE_TYPE = 0x100
    static let A_SUBJECT: CK_ATTRIBUTE_TYPE = 0x101
    static let A_ID: CK_ATTRIBUTE_TYPE = 0x102
    static let A_SENSITIVE: CK_ATTRIBUTE_TYPE = 0x103
    static let A_SIGN: CK_ATTRIBUTE_TYPE = 0x108
    static let A_VERIFY: CK_ATTRIBUTE_TYPE = 0x10A
    static let A_DERIVE: CK_ATTRIBUTE_TYPE = 0x10C
    static let A_VALUE_LEN: CK_ATTRIBUTE_TYPE = 0x161
    static let A_EXTRACTABLE: CK_ATTRIBUTE_TYPE = 0x162
    static let A_NEVER_EXTRACTABLE: CK_ATTRIBUTE_TYPE = 0x164
    static let A_ALWAYS_SENSITIVE: CK_ATTRIBUTE_TYPE = 0x165
    static let A_EC_PARAMS: CK_ATTRIBUTE_TYPE = 0x180
    static let A_EC_POINT: CK_ATTRIBUTE_TYPE = 0x181

    // Mechanisms and KDFs.
    static let M_EC_KEY_PAIR_GEN: CK_MECHANISM_TYPE = 0x1040
    static let M_ECDSA: CK_MECHANISM_TYPE = 0x1041
    static let M_ECDH1_DERIVE: CK_MECHANISM_TYPE = 0x1050
    static let D_NULL: CK_EC_KDF_TYPE = 0x1

    /// DER of the prime256v1 / secp256r1 OID (RFC 5480 §2.1.1.1), the `CKA_EC_PARAMS` of a P-256 key.
    static let p256Parameters: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]

    /// The specification's name for a return value, for messages (`CKR_PIN_INCORRECT`), or its hex value.
    static func name(_ rv: CK_RV) -> String {
        let names: [CK_RV: String] = [
            0x0: "CKR_OK", 0x1: "CKR_CANCEL", 0x2: "CKR_HOST_MEMORY", 0x3: "CKR_SLOT_ID_INVALID",
            0x5: "CKR_GENERAL_ERROR", 0x6: "CKR_FUNCTION_FAILED", 0x7: "CKR_ARGUMENTS_BAD",
            0x10: "CKR_ATTRIBUTE_READ_ONLY", 0x11: "CKR_ATTRIBUTE_SENSITIVE", 0x12: "CKR_ATTRIBUTE_TYPE_INVALID",
            0x13: "CKR_ATTRIBUTE_VALUE_INVALID", 0x20: "CKR_DATA_INVALID", 0x21: "CKR_DATA_LEN_RANGE",
            0x30: "CKR_DEVICE_ERROR", 0x31: "CKR_DEVICE_MEMORY", 0x32: "CKR_DEVICE_REMOVED",
            0x54: "CKR_FUNCTION_NOT_SUPPORTED", 0x60: "CKR_KEY_HANDLE_INVALID", 0x63: "CKR_KEY_TYPE_INCONSISTENT",
            0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED", 0x6A: "CKR_KEY_UNEXTRACTABLE", 0x70: "CKR_MECHANISM_INVALID",
            0x71: "CKR_MECHANISM_PARAM_INVALID", 0x82: "CKR_OBJECT_HANDLE_INVALID", 0x90: "CKR_OPERATION_ACTIVE",
            0x91: "CKR_OPERATION_NOT_INITIALIZED", 0xA0: "CKR_PIN_INCORRECT", 0xA1: "CKR_PIN_INVALID",
            0xA2: "CKR_PIN_LEN_RANGE", 0xA3: "CKR_PIN_EXPIRED", 0xA4: "CKR_PIN_LOCKED", 0xB0: "CKR_SESSION_CLOSED",
            0xB1: "CKR_SESSION_COUNT", 0xB3: "CKR_SESSION_HANDLE_INVALID", 0xB5: "CKR_SESSION_READ_ONLY",
            0xC0: "CKR_SIGNATURE_INVALID", 0xD0: "CKR_TEMPLATE_INCOMPLETE", 0xD1: "CKR_TEMPLATE_INCONSISTENT",
            0xE0: "CKR_TOKEN_NOT_PRESENT", 0xE1: "CKR_TOKEN_NOT_RECOGNIZED", 0xE2: "CKR_TOKEN_WRITE_PROTECTED",
            0x100: "CKR_USER_ALREADY_LOGGED_IN", 0x101: "CKR_USER_NOT_LOGGED_IN", 0x102: "CKR_USER_PIN_NOT_INITIALIZED",
            0x103: "CKR_USER_TYPE_INVALID", 0x130: "CKR_DOMAIN_PARAMS_INVALID", 0x140: "CKR_CURVE_NOT_SUPPORTED",
            0x150: "CKR_BUFFER_TOO_SMALL", 0x190: "CKR_CRYPTOKI_NOT_INITIALIZED", 0x191: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
        ]
        return names[rv] ?? "CKR_0x" + String(rv, radix: 16, uppercase: true)
    }
}

/// Throws `pkcs11.function-failed` naming `function` and the return value unless `rv` is `CKR_OK`.
/// `CKR_DEVICE_MEMORY` (the token has no room for the object) is `pkcs11.token-full`.
func check(_ rv: CK_RV, _ function: String) throws(PKCS11Error) {
    guard rv == CK.OK else {
        if rv == CK.DEVICE_MEMORY { throw PKCS11Error(.tokenFull, "\(function) returned CKR_DEVICE_MEMORY: the token has no room left") }
        throw PKCS11Error(.functionFailed, "\(function) returned \(CK.name(rv))")
    }
}
