import CaduceusCore
import Foundation
import Testing

@Suite("CaduceusCore")
struct CoreTests {
    struct SampleError: CodedError {
        struct Code: ErrorCode {
            let rawValue: String
            static let one = Code(rawValue: "sample.one")
            static let two = Code(rawValue: "sample.two")
        }
        let kind: Code
        let message: String
    }

    @Test func codedErrorsCompareByCodeAndPrintOneLine() {
        #expect(SampleError(kind: .one, message: "a") == SampleError(kind: .one, message: "b"))
        #expect(SampleError(kind: .one, message: "a") != SampleError(kind: .two, message: "a"))
        #expect(SampleError(kind: .two, message: "rule broken").description == "sample.two: rule broken")
    }

    @Test func sensitiveValuesAreRedacted() {
        let secret = Sensitive("DOE^JANE 1970-01-01")
        #expect(String(describing: secret) == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect("\(secret)" == "<redacted>")
        #expect(secret.unsafeValue == "DOE^JANE 1970-01-01")
    }

    @Test func hex() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.decode("00:AB:ff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func atomicWriteReplacesAndLeavesNoTemporaryFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("core-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write(Data("old".utf8), to: dir + "/f", permissions: 0o600)
        try AtomicFile.write(Data("new".utf8), to: dir + "/f", permissions: 0o600)
        #expect(FileManager.default.contents(atPath: dir + "/f") == Data("new".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["f"])
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/f")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(Data(), to: dir + "/missing/f") }
        let value = try FileLock.withExclusiveLock(at: dir + "/.lock") { 42 }
        #expect(value == 42)
    }
}
