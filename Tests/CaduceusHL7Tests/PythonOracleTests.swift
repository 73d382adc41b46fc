import CaduceusHL7
import CaduceusTestSupport
import Foundation
import Testing

/// Compares what Caduceus reads with what python-hl7 0.4.5 and hl7apy 1.3.5 read from the same bytes. The oracles
/// live in `.venv` (created by `scripts/bootstrap.sh`).
@Suite("HL7 interop: python-hl7 and hl7apy")
struct PythonOracleTests {
    struct Oracle: Decodable {
        let hl7: [[FieldMap]]
        let hl7apy: [[FieldMap]]
        let values: [[Cell]]
    }
    enum FieldMap: Decodable {
        case id(String)
        case fields([String: String])
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .id(s) } else { self = .fields(try c.decode([String: String].self)) }
        }
    }
    enum Cell: Decodable {
        case s(String), n(Int)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { self = .n(n) } else { self = .s(try c.decode(String.self)) }
        }
        var string: String { if case .s(let s) = self { s } else { "" } }
        var int: Int { if case .n(let n) = self { n } else { -1 } }
    }

    static func runOracle(_ files: [String]) throws -> [String: Oracle] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw OracleMissing()
        }
        let result = try ProcessRunner.run(python, [root.appendingPathComponent("scripts/oracles/hl7_oracle.py").path] + files)
        guard result.ok else { throw OracleMissing() }
        return try JSONDecoder().decode([String: Oracle].self, from: Data(result.stdout))
    }
    struct OracleMissing: Error, CustomStringConvertible {
        var description: String { "the python oracles are missing or failed: run scripts/bootstrap.sh" }
    }

    /// Field n of a segment as ER7, the way the oracles print it.
    func er7(_ field: HL7Field, _ d: HL7Delimiters) -> String {
        field.repetitions.map { rep in
            rep.components.map { comp in comp.subcomponents.map(\.raw).joined(separator: String(UnicodeScalar(d.subcomponent))) }
                .joined(separator: String(UnicodeScalar(d.component)))
        }.joined(separator: String(UnicodeScalar(d.repetition)))
    }

    @Test("the same field values as python-hl7 and hl7apy, and the same decoded component values as python-hl7")
    func sameFields() throws {
        let dir = try TemporaryDirectory()
        var files: [String: HL7Message] = [:]
        for sample in SampleHL7.all {
            let path = dir.url.appendingPathComponent(sample.name + ".hl7").path
            try Data(sample.text.utf8).write(to: URL(fileURLWithPath: path))
            files[path] = try HL7Message(parsing: sample.text)
        }
        let oracle = try Self.runOracle(Array(files.keys).sorted())
        #expect(oracle.count == files.count)
        for (path, message) in files {
            let o = try #require(oracle[path])
            let d = message.dialect.delimiters
            let ours: [(String, [String: String])] = message.segments.map { segment in
                var fields: [String: String] = [:]
                for (i, f) in segment.fields.enumerated() {
                    let text = er7(f, d)
                    if !text.isEmpty { fields[String(i + 1)] = text }
                }
                return (segment.id, fields)
            }
            for (name, theirs) in [("hl7", o.hl7), ("hl7apy", o.hl7apy)] {
                #expect(theirs.count == ours.count, "\(name) segment count, \(path)")
                for (segment, their) in zip(ours, theirs) {
                    guard case .id(let id) = their[0], case .fields(let fields) = their[1] else {
                        Issue.record("oracle shape")
                        continue
                    }
                    #expect(id == segment.0, "\(name) \(path)")
                    #expect(fields == segment.1, "\(name) \(path) \(id)")
                }
            }
            var counts: [String: Int] = [:]
            var sequenceOf: [Int] = []
            for s in message.segments {
                counts[s.id, default: 0] += 1
                sequenceOf.append(counts[s.id]!)
            }
            var checked = 0
            for cell in o.values {
                let (id, field, rep, comp, value) = (cell[0].string, cell[1].int, cell[2].int, cell[3].int, cell[4].string)
                // python-hl7 lists cells per segment in order; find the segment by walking ids.
                let candidates = message.segments.filter { $0.id == id }
                let matches = candidates.contains { segment in
                    let reps = segment[field].repetitions
                    guard rep <= reps.count else { return false }
                    return (try? reps[rep - 1][comp].first.value(message.dialect)) == value
                }
                #expect(matches, "\(path) \(id)-\(field).\(rep).\(comp)")
                checked += 1
            }
            #expect(checked > 5)
        }
    }
}
