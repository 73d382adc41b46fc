import CCaduceusPKCS11
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A PKCS#11 module (a shared library: SoftHSM2, OpenSC, an HSM vendor's) loaded at run time with `dlopen` and
/// initialised through its `C_GetFunctionList` table (PKCS#11 v2.40 base §5.2, §5.4). Nothing links against a module,
/// so Caduceus builds and runs on machines without one.
///
/// Cryptoki is initialised once per process and module; every `PKCS11Module` of the same path shares that
/// initialisation, which is finalised (`C_Finalize`) when the last one is released. `C_Initialize` is called with
/// `CKF_OS_LOCKING_OK`, so the module may be called from several threads; each ``PKCS11Session`` serialises its own
/// operations. The library stays mapped once loaded (modules written in C++ register destructors that must not run
/// from a later `dlclose`).
///
/// `@unchecked Sendable`: the function table is immutable after loading and the module is initialised for
/// multi-threaded use (`CKF_OS_LOCKING_OK`).
package final class PKCS11Module: @unchecked Sendable {
    /// The path it was loaded from.
    package let path: String
    let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>

    private struct Loaded {
        let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
        var users: Int
        let ownsInitialization: Bool
    }

    /// Per path: the function table and how many live `PKCS11Module`s use it.
    private static let loaded = Mutex<[String: Loaded]>([:])

    /// Loads the module at `path` (or joins the process's existing initialisation of it). Throws
    /// `pkcs11.module-load` when the file cannot be loaded or exports no `C_GetFunctionList`, `pkcs11.function-failed`
    /// when `C_Initialize` fails.
    package init(path: String) throws(PKCS11Error) {
        self.path = path
        functions = try Self.loaded.withLock { (table) throws(PKCS11Error) -> UnsafeMutablePointer<CK_FUNCTION_LIST> in
            if var entry = table[path] {
                entry.users += 1
                table[path] = entry
                return entry.functions
            }
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
                throw PKCS11Error(.moduleLoad, "the PKCS#11 module could not be loaded (dlopen failed: no such file, or not a shared library for this machine)")
            }
            guard let symbol = dlsym(handle, "C_GetFunctionList") else {
                throw PKCS11Error(.moduleLoad, "the library is not a PKCS#11 module: it exports no C_GetFunctionList")
            }
            let getFunctionList = unsafeBitCast(symbol, to: CK_C_GetFunctionList.self)
            var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
            try check(getFunctionList(&list), "C_GetFunctionList")
            guard let list, list.pointee.version.major >= 2, let initialize = list.pointee.C_Initialize else {
                throw PKCS11Error(.moduleLoad, "the module's function list is missing or older than PKCS#11 v2")
            }
            var arguments = CK_C_INITIALIZE_ARGS(
                CreateMutex: nil, DestroyMutex: nil, LockMutex: nil, UnlockMutex: nil, flags: CK.OS_LOCKING_OK,
                pReserved: nil)
            let rv = initialize(&arguments)
            guard rv == CK.OK || rv == CK.CRYPTOKI_ALREADY_INITIALIZED else {
                throw PKCS11Error(.functionFailed, "C_Initialize returned \(CK.name(rv))")
            }
            table[path] = Loaded(functions: list, users: 1, ownsInitialization: rv == CK.OK)
            return list
        }
    }

    deinit {
        let path = self.path
        Self.loaded.withLock { table in
            guard var entry = table[path] else { return }
            entry.users -= 1
            if entry.users > 0 {
                table[path] = entry
                return
            }
            table[path] = nil
            if entry.ownsInitialization { _ = entry.functions.pointee.C_Finalize?(nil) }
        }
    }

    /// The module's own description (`C_GetInfo`): manufacturer, library description and version.
    package func info() throws(PKCS11Error) -> ModuleInfo {
        var info = CK_INFO()
        try check(functions.pointee.C_GetInfo!(&info), "C_GetInfo")
        return ModuleInfo(
            cryptokiVersion: "\(info.cryptokiVersion.major).\(info.cryptokiVersion.minor)",
            manufacturer: Self.text(info.manufacturerID), description: Self.text(info.libraryDescription),
            libraryVersion: "\(info.libraryVersion.major).\(info.libraryVersion.minor)")
    }

    /// Every slot (`C_GetSlotList` with tokenPresent false), with its token when one is present.
    package func slots() throws(PKCS11Error) -> [Slot] {
        var count: CK_ULONG = 0
        try check(functions.pointee.C_GetSlotList!(0, nil, &count), "C_GetSlotList")
        var ids = [CK_SLOT_ID](repeating: 0, count: Int(count))
        if count > 0 { try check(functions.pointee.C_GetSlotList!(0, &ids, &count), "C_GetSlotList") }
        var result: [Slot] = []
        for id in ids.prefix(Int(count)) {
            var slotInfo = CK_SLOT_INFO()
            try check(functions.pointee.C_GetSlotInfo!(id, &slotInfo), "C_GetSlotInfo")
            var token: TokenInfo?
            if slotInfo.flags & CK.SLOT_TOKEN_PRESENT != 0 {
                var info = CK_TOKEN_INFO()
                if functions.pointee.C_GetTokenInfo!(id, &info) == CK.OK {
                    token = TokenInfo(
                        label: Self.text(info.label), manufacturer: Self.text(info.manufacturerID),
                        model: Self.text(info.model), serialNumber: Self.text(info.serialNumber),
                        initialized: info.flags & CK.TOKEN_INITIALIZED != 0,
                        userPINInitialized: info.flags & CK.USER_PIN_INITIALIZED != 0)
                }
            }
            result.append(Slot(id: UInt(id), description: Self.text(slotInfo.slotDescription), token: token))
        }
        return result
    }

    /// The slot holding the initialised token labelled `label` (labels are compared after trimming the blank
    /// padding of `CK_TOKEN_INFO.label`; slot numbers are not stable across runs, labels are). Throws
    /// `pkcs11.token-not-found` or `pkcs11.token-ambiguous`.
    package func slot(tokenLabel label: String) throws(PKCS11Error) -> Slot {
        let matches = try slots().filter { $0.token?.label == label && $0.token?.initialized == true }
        guard let slot = matches.first else {
            throw PKCS11Error(.tokenNotFound, "no initialised token with that label is present in the module's slots")
        }
        guard matches.count == 1 else {
            throw PKCS11Error(.tokenAmbiguous, "several tokens carry that label; relabel one of them")
        }
        return slot
    }

    /// A fixed-size, blank-padded `CK_UTF8CHAR` field as text (base §3.2: padded with blanks, not NUL-terminated).
    static func text<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { raw in
            var bytes = Array(raw)
            while let last = bytes.last, last == 0x20 || last == 0 { bytes.removeLast() }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// What `C_GetInfo` says of the module.
    package struct ModuleInfo: Sendable, Hashable {
        /// The Cryptoki version it implements (`2.40`, `3.0`).
        package let cryptokiVersion: String
        /// The library's manufacturer.
        package let manufacturer: String
        /// The library's description.
        package let description: String
        /// The library's own version.
        package let libraryVersion: String
    }

    /// A slot and, if present, its token.
    package struct Slot: Sendable, Hashable {
        /// The slot id (valid for this process only: modules renumber slots).
        package let id: UInt
        /// The slot's description (a reader's name for OpenSC).
        package let description: String
        /// The token in the slot, if one is present.
        package let token: TokenInfo?
    }

    /// What `C_GetTokenInfo` says of a token.
    package struct TokenInfo: Sendable, Hashable {
        /// The token's label (trimmed).
        package let label: String
        /// The token's manufacturer.
        package let manufacturer: String
        /// The token's model.
        package let model: String
        /// The token's serial number.
        package let serialNumber: String
        /// `CKF_TOKEN_INITIALIZED`.
        package let initialized: Bool
        /// `CKF_USER_PIN_INITIALIZED`.
        package let userPINInitialized: Bool
    }
}
