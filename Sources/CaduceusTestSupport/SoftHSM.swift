package import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SoftHSM2 tokens for tests, in a temporary directory of their own — never the system token directory. The first use
/// writes a `softhsm2.conf` (`directories.tokendir` in that directory), points `SOFTHSM2_CONF` at it for this process
/// and its children (`pkcs11-tool`, `caduceus`), and initialises every test token with `softhsm2-util --init-token
/// --free`. All of them are made at once because SoftHSM2 reads its token directory only in `C_Initialize`: a token
/// made after a test loaded the module would stay invisible to that process. `scripts/bootstrap.sh` installs
/// SoftHSM2; without it these tests fail, they are not skipped.
package enum SoftHSM {
    /// The labels of the test tokens: one per test that uses a token, so tests running side by side never share a
    /// token's login state or objects.
    package static let labels = [
        "keygen", "signin", "smime-cli", "envelope", "errors", "jws", "csr", "cli-decrypt", "node-key", "eds", "spare-1", "spare-2",
        // The card station's card encoder: issue onto a token, its refusals, a token pulled mid-issue, the attacks, the
        // browser walk. (No label may start with another: pkcs11-tool's --token-label matches a prefix.)
        "station-issue", "station-errors", "station-full", "station-pulled", "station-attack", "station-walk",
        // The card encoder's own tests.
        "encoder-refused", "encoder-kept", "encoder-busy",
    ]
    /// The user PIN of every test token (test only).
    package static let userPIN = "2468-test-pin"
    /// The security officer's PIN (test only).
    package static let soPIN = "1357-test-so"

    /// A test token.
    package struct Token: Sendable {
        /// Its label.
        package let label: String
        /// A file holding its user PIN.
        package let pinFile: String
        /// The SoftHSM2 module's path.
        package var module: String { SoftHSM.modulePath }
    }

    /// The SoftHSM2 PKCS#11 module, where Debian puts it.
    package static var modulePath: String {
        for candidate in ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"]
        where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        return "/usr/lib/softhsm/libsofthsm2.so"
    }

    /// `pkcs11-tool` (OpenSC), the oracle that lists what a token holds.
    package static let pkcs11Tool = "/usr/bin/pkcs11-tool"

    private static let state = Mutex<Result<String, SetupFailed>?>(nil)

    /// Why the tokens could not be made (softhsm2-util missing or failing).
    package struct SetupFailed: Error, CustomStringConvertible {
        /// What failed (softhsm2-util's message).
        package let description: String
    }

    /// The token labelled `label` (one of ``labels``), making every test token on first use.
    package static func token(_ label: String) throws -> Token {
        precondition(labels.contains(label), "add \(label) to SoftHSM.labels")
        let directory = try state.withLock { current -> Result<String, SetupFailed> in
            if let current { return current }
            let made = Result { try setUp() }.mapError { SetupFailed(description: "\($0)") }
            current = made
            return made
        }.get()
        return Token(label: label, pinFile: directory + "/user.pin")
    }

    /// The directory SoftHSM2 keeps `label`'s objects in (to take a token away under a test, as if pulled out).
    package static func tokenDirectory(_ label: String) throws -> String? {
        let directory = try state.withLock { $0 }.map { try $0.get() }
        guard let directory else { return nil }
        let tokens = directory + "/tokens"
        let padded = Array(label.utf8) + Array(repeating: UInt8(ascii: " "), count: max(0, 32 - label.utf8.count))
        for name in try FileManager.default.contentsOfDirectory(atPath: tokens) {
            guard let object = FileManager.default.contents(atPath: tokens + "/" + name + "/token.object") else { continue }
            if Array(object).firstRange(of: padded) != nil { return tokens + "/" + name }
        }
        return nil
    }

    private static func setUp() throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("caduceus-softhsm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base + "/tokens", withIntermediateDirectories: true)
        let configuration = "directories.tokendir = \(base)/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
        try configuration.write(toFile: base + "/softhsm2.conf", atomically: true, encoding: .utf8)
        try (userPIN + "\n").write(toFile: base + "/user.pin", atomically: true, encoding: .utf8)
        setenv("SOFTHSM2_CONF", base + "/softhsm2.conf", 1)
        for label in labels {
            let result = try ProcessRunner.run(
                "/usr/bin/softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", soPIN, "--pin", userPIN])
            guard result.ok else { throw SetupFailed(description: "softhsm2-util --init-token failed: \(result.stderr)") }
        }
        return base
    }
}
