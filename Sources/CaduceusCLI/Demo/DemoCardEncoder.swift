import CaduceusCore
import CaduceusPKCS11
import Foundation

/// The demo's card encoder: two blank SoftHSM2 tokens in the demo's own directory (never the system's token store),
/// attached to hospital B's card station, so an officer can issue a card onto a token from the portal. Made only
/// when SoftHSM2 is installed (the project's bootstrap installs it); otherwise the station issues PKCS#12 files and
/// says it has no encoder.
enum DemoCardEncoder {
    /// The labels of the demo's blank tokens.
    static let labels = ["demo-card-1", "demo-card-2"]

    /// Makes the tokens under `base/softhsm` (their user PIN, random, in `user.pin` beside them, mode 0600) and points
    /// this process's SoftHSM2 at them; nil with the reason when SoftHSM2 is not installed or does not start.
    static func prepare(base: String) -> (encoder: CardEncoder?, note: String) {
        let util = "/usr/bin/softhsm2-util"
        let module = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"].first { FileManager.default.fileExists(atPath: $0) }
        guard let module, FileManager.default.isExecutableFile(atPath: util) else {
            return (nil, "no card encoder: SoftHSM2 is not installed (scripts/bootstrap.sh installs it); the card station issues PKCS#12 files")
        }
        let dir = base + "/softhsm"
        do {
            try FileManager.default.createDirectory(atPath: dir + "/tokens", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try AtomicFile.write(Data("directories.tokendir = \(dir)/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n".utf8), to: dir + "/softhsm2.conf")
            let pin = "demo-" + Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
            let so = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
            try AtomicFile.write(Data((pin + "\n").utf8), to: dir + "/user.pin", permissions: 0o600)
            setenv("SOFTHSM2_CONF", dir + "/softhsm2.conf", 1)
            for label in labels {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: util)
                p.arguments = ["--init-token", "--free", "--label", label, "--so-pin", so, "--pin", pin]
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                p.waitUntilExit()
                guard p.terminationStatus == 0 else {
                    return (nil, "no card encoder: softhsm2-util could not make a token (exit \(p.terminationStatus)); the card station issues PKCS#12 files")
                }
            }
            return (CardEncoder(modulePath: module), "card encoder at hospital B: SoftHSM2 tokens \(labels.joined(separator: ", ")) (user PIN in \(dir)/user.pin): the card station issues an approved card onto one")
        } catch {
            return (nil, "no card encoder: the SoftHSM2 token directory could not be made; the card station issues PKCS#12 files")
        }
    }
}
