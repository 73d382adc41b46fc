import CCaduceusPKCS11
import CaduceusCore
import Synchronization

/// One attribute of a PKCS#11 template (base §4): its type and value bytes as the module reads them (`CK_BBOOL` one
/// byte, `CK_ULONG` eight native-endian bytes, byte arrays as they are).
struct Attribute {
    let type: CK_ATTRIBUTE_TYPE
    let value: [UInt8]

    static func bool(_ type: CK_ATTRIBUTE_TYPE, _ value: Bool) -> Attribute { Attribute(type: type, value: [value ? 1 : 0]) }
    static func ulong(_ type: CK_ATTRIBUTE_TYPE, _ value: CK_ULONG) -> Attribute {
        withUnsafeBytes(of: value) { Attribute(type: type, value: Array($0)) }
    }
    static func bytes(_ type: CK_ATTRIBUTE_TYPE, _ value: [UInt8]) -> Attribute { Attribute(type: type, value: value) }
}

/// A session with one token (base §5.6), logged in as the user when a PIN was given. PKCS#11 sessions do not take
/// concurrent operations, so every call holds the session's lock; the session closes when the value is released
/// (closing a token's last session of the process also logs it out, base §5.6).
final class PKCS11Session: Sendable {
    let module: PKCS11Module
    let slot: PKCS11Module.Slot
    private let handle: Mutex<CK_SESSION_HANDLE>

    /// Opens a read/write session on `slot`.
    init(module: PKCS11Module, slot: PKCS11Module.Slot) throws {
        self.module = module
        self.slot = slot
        var session: CK_SESSION_HANDLE = 0
        try check(
            module.functions.pointee.C_OpenSession!(CK_SLOT_ID(slot.id), CK.SERIAL_SESSION | CK.RW_SESSION, nil, nil, &session),
            "C_OpenSession")
        handle = Mutex(session)
    }

    deinit {
        let session = handle.withLock { $0 }
        _ = module.functions.pointee.C_CloseSession!(session)
    }

    /// Runs `body` with the session handle and the function table, holding the session's lock.
    func run<R: Sendable>(_ body: (CK_SESSION_HANDLE, CK_FUNCTION_LIST) throws -> R) throws -> R {
        let functions = module.functions.pointee
        return try handle.withLock { session throws -> R in try body(session, functions) }
    }

    /// `C_Login` as the normal user. The PIN is read only for the call. `CKR_USER_ALREADY_LOGGED_IN` (another session
    /// of this process is logged in to the token, and so is this one: base §5.6) counts as success.
    /// Logs the user in. With `exclusive`, a token this process is logged in to already is refused
    /// (`pkcs11.token-in-use`): PKCS#11 answers such a login with success without checking the PIN.
    func login(pin: Sensitive<String>, exclusive: Bool = false) throws {
        let rv = try run { session, f in
            var bytes = Array(pin.unsafeValue.utf8)
            defer { for i in bytes.indices { bytes[i] = 0 } }
            return f.C_Login!(session, CK.USER, &bytes, CK_ULONG(bytes.count))
        }
        switch rv {
        case CK.OK: return
        case CK.USER_ALREADY_LOGGED_IN:
            if exclusive { throw PKCS11Error(.tokenInUse, "this node is logged in to the token already (it is in use here); use another token") }
            return
        case CK.PIN_INCORRECT, CK.PIN_LEN_RANGE:
            throw PKCS11Error(.pinIncorrect, "the token refused the PIN (\(CK.name(rv)))")
        case CK.PIN_LOCKED:
            throw PKCS11Error(.pinLocked, "the token's user PIN is locked (CKR_PIN_LOCKED)")
        default:
            throw PKCS11Error(.functionFailed, "C_Login returned \(CK.name(rv))")
        }
    }

    /// Whether the normal user is logged in to the token in this session — which, logins being per token and
    /// application (base §5.6), means another session of this process logged in (`C_GetSessionInfo`).
    func userLoggedIn() throws -> Bool {
        try run { session, f in
            var info = CK_SESSION_INFO()
            try check(f.C_GetSessionInfo!(session, &info), "C_GetSessionInfo")
            return info.state == CK.RO_USER_FUNCTIONS || info.state == CK.RW_USER_FUNCTIONS
        }
    }

    /// Lays `attributes` out as a `CK_ATTRIBUTE` array over one buffer (each value 8-byte aligned) for one call.
    static func withTemplate<R>(
        _ attributes: [Attribute], _ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) throws -> R
    ) rethrows -> R {
        let total = attributes.reduce(0) { $0 + ($1.value.count + 7) / 8 * 8 }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 8), alignment: 8)
        defer { storage.deallocate() }
        var template: [CK_ATTRIBUTE] = []
        var offset = 0
        for attribute in attributes {
            let target = storage.baseAddress! + offset
            attribute.value.withUnsafeBytes { source in
                if let base = source.baseAddress { target.copyMemory(from: base, byteCount: source.count) }
            }
            template.append(
                CK_ATTRIBUTE(
                    type: attribute.type, pValue: attribute.value.isEmpty ? nil : target,
                    ulValueLen: CK_ULONG(attribute.value.count)))
            offset += (attribute.value.count + 7) / 8 * 8
        }
        return try template.withUnsafeMutableBufferPointer { try body($0.baseAddress, CK_ULONG($0.count)) }
    }

    /// Handles of the objects matching `attributes` (`C_FindObjectsInit`/`C_FindObjects`/`C_FindObjectsFinal`).
    func find(_ attributes: [Attribute]) throws -> [CK_OBJECT_HANDLE] {
        try run { session, f in
            try Self.withTemplate(attributes) { template, count in
                try check(f.C_FindObjectsInit!(session, template, count), "C_FindObjectsInit")
            }
            defer { _ = f.C_FindObjectsFinal!(session) }
            var found: [CK_OBJECT_HANDLE] = []
            var batch = [CK_OBJECT_HANDLE](repeating: 0, count: 32)
            while true {
                var n: CK_ULONG = 0
                try check(f.C_FindObjects!(session, &batch, CK_ULONG(batch.count), &n), "C_FindObjects")
                if n == 0 { break }
                found += batch.prefix(Int(n))
            }
            return found
        }
    }

    /// One attribute's value, or nil when the object has none, or it is sensitive or unextractable
    /// (`CKR_ATTRIBUTE_SENSITIVE`, `CKR_ATTRIBUTE_TYPE_INVALID`, `CK_UNAVAILABLE_INFORMATION`).
    func attribute(_ type: CK_ATTRIBUTE_TYPE, of object: CK_OBJECT_HANDLE) throws -> [UInt8]? {
        try run { session, f in
            var probe = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
            let rv = f.C_GetAttributeValue!(session, object, &probe, 1)
            if rv == 0x11 || rv == 0x12 || probe.ulValueLen == CK_ULONG.max { return nil }
            try check(rv, "C_GetAttributeValue")
            var value = [UInt8](repeating: 0, count: Int(probe.ulValueLen))
            let count = Int(probe.ulValueLen)
            try value.withUnsafeMutableBytes { buffer in
                var read = CK_ATTRIBUTE(type: type, pValue: buffer.baseAddress, ulValueLen: CK_ULONG(count))
                try check(f.C_GetAttributeValue!(session, object, &read, 1), "C_GetAttributeValue")
            }
            return value
        }
    }

    /// A `CK_BBOOL` attribute, or nil when absent.
    func flag(_ type: CK_ATTRIBUTE_TYPE, of object: CK_OBJECT_HANDLE) throws -> Bool? {
        try attribute(type, of: object).flatMap { $0.first.map { $0 != 0 } }
    }

    /// A `CK_ULONG` attribute, or nil when absent.
    func ulong(_ type: CK_ATTRIBUTE_TYPE, of object: CK_OBJECT_HANDLE) throws -> CK_ULONG? {
        guard let bytes = try attribute(type, of: object), bytes.count == MemoryLayout<CK_ULONG>.size else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) }
    }

    /// `C_CreateObject`.
    @discardableResult
    func create(_ attributes: [Attribute]) throws -> CK_OBJECT_HANDLE {
        try run { session, f in
            var object: CK_OBJECT_HANDLE = 0
            try Self.withTemplate(attributes) { template, count in
                try check(f.C_CreateObject!(session, template, count, &object), "C_CreateObject")
            }
            return object
        }
    }

    /// `C_DestroyObject`.
    func destroy(_ object: CK_OBJECT_HANDLE) throws {
        try run { session, f in try check(f.C_DestroyObject!(session, object), "C_DestroyObject") }
    }
}
