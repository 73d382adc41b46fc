import CaduceusFuzzing
import Foundation
import Testing

/// Replays the fuzz corpora through the normal test build: every file of `Fuzz/Corpus/<target>/` (the seeds, and
/// whatever a fuzz run added and was kept) and `Fuzz/Crashes/<target>/` (inputs that once crashed, hung or blew up a
/// parser, kept after the fix) goes to its target function, which must neither crash nor report a broken invariant.
@Suite("Fuzz corpus replay")
struct CorpusReplayTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ kind: String, _ target: String) -> [URL] {
        let folder = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test("every target has seeds", arguments: FuzzTargets.all.map(\.name))
    func seeded(target: String) {
        #expect(!Self.files("Corpus", target).isEmpty, "Fuzz/Corpus/\(target) has no seed")
    }

    @Test("corpus and crash inputs replay cleanly", arguments: FuzzTargets.all.map(\.name))
    func replay(target: String) throws {
        let run = try #require(FuzzTargets.named(target))
        for file in Self.files("Corpus", target) + Self.files("Crashes", target) {
            let bytes = Array(try Data(contentsOf: file))
            #expect(throws: Never.self, "\(target)/\(file.lastPathComponent)") { try run(bytes) }
        }
    }

    @Test("no corpus folder names an unknown target")
    func foldersMatchTargets() {
        let known = Set(FuzzTargets.all.map(\.name))
        for kind in ["Corpus", "Crashes"] {
            let folder = Self.fuzzDirectory.appendingPathComponent(kind)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !name.hasPrefix(".") && name != "README.md" {
                #expect(known.contains(name), "Fuzz/\(kind)/\(name) is not a fuzz target")
            }
        }
    }
}
