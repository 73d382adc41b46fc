import CaduceusHL7
import CaduceusTestSupport
import Testing

/// A deterministic generator (SplitMix64) so a failing case can be replayed from its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Generates messages whose values contain delimiters, escape characters, CR, LF, controls and (under UTF-8 or
/// Latin-1) non-ASCII letters.
struct MessageGenerator {
    var rng: SeededRandom

    mutating func delimiters() -> HL7Delimiters {
        if Int.random(in: 0..<3, using: &rng) > 0 { return .standard }
        var pool = Array("|^~\\&#!$%*+:;<=>?@".utf8)  // not "/" or "-": MSH-18 values hold them
        pool.shuffle(using: &rng)
        return try! HL7Delimiters(field: pool[0], encodingCharacters: pool[1...4])
    }

    mutating func value(_ d: HL7Delimiters, _ cs: HL7CharacterSet) -> String {
        let length = Int.random(in: 0..<12, using: &rng)
        var scalars: [Unicode.Scalar] = []
        let structural = [d.field, d.component, d.repetition, d.escape, d.subcomponent].map { Unicode.Scalar($0) }
        for _ in 0..<length {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: scalars.append(structural.randomElement(using: &rng)!)
            case 1: scalars.append(["\r", "\n", "\t", "\u{1}", "\u{7F}"].randomElement(using: &rng)!)
            case 2 where cs != .ascii: scalars.append(["é", "Ü", "ß", "ñ", "ø"].randomElement(using: &rng)!)
            case 3 where cs == .utf8: scalars.append(["漢", "Ж", "€", "😀"].randomElement(using: &rng)!)
            default: scalars.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng)))
            }
        }
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars)
        return s
    }

    mutating func message() -> (HL7Message, [String: String]) {
        let d = delimiters()
        let cs = HL7CharacterSet.allCases.randomElement(using: &rng)!
        var values: [String: String] = [:]
        var msh = try! HL7Segment(id: "MSH")
        msh[2] = .empty  // MSH-1 and MSH-2 are written from the dialect
        msh[9] = HL7Field(HL7Repetition(components: [HL7Component("ADT"), HL7Component("A01")]))
        msh[10] = HL7Field(HL7Text(value: "C\(rng.next() % 1_000_000)", delimiters: d))
        msh[12] = HL7Field("2.5.1")
        if cs != .ascii { msh[18] = HL7Field(HL7Text(value: cs.rawValue, delimiters: d)) }
        var segments = [msh]
        for s in 0..<Int.random(in: 0..<8, using: &rng) {
            let id = ["PID", "NK1", "OBX", "NTE", "ZZ1"].randomElement(using: &rng)!
            var seg = try! HL7Segment(id: id)
            for f in 1...Int.random(in: 1..<10, using: &rng) {
                var reps: [HL7Repetition] = []
                for r in 0..<Int.random(in: 1..<4, using: &rng) {
                    var comps: [HL7Component] = []
                    for c in 0..<Int.random(in: 1..<4, using: &rng) {
                        var subs: [HL7Text] = []
                        for t in 0..<Int.random(in: 1..<3, using: &rng) {
                            let v = value(d, cs)
                            values["\(s).\(f).\(r).\(c).\(t)"] = v
                            subs.append(HL7Text(value: v, delimiters: d))
                        }
                        comps.append(HL7Component(subcomponents: subs))
                    }
                    reps.append(HL7Repetition(components: comps))
                }
                seg[f] = HL7Field(repetitions: reps)
            }
            segments.append(seg)
        }
        return (try! HL7Message(dialect: HL7Dialect(delimiters: d, characterSet: cs), segments: segments), values)
    }
}

@Suite("ER7 round trip (property)")
struct RoundTripPropertyTests {
    @Test("parse → encode → parse keeps the tree, the bytes and the segment count; values decode back", arguments: 0..<20)
    func roundTrip(batch: Int) throws {
        var generator = MessageGenerator(rng: SeededRandom(seed: UInt64(batch) &* 7919 &+ 1))
        for _ in 0..<50 {
            let (message, values) = generator.message()
            let bytes = try message.encoded()
            #expect(bytes.filter { $0 == 0x0D }.count == message.segments.count, "a value started a segment")
            let parsed = try HL7Message(parsing: bytes)
            #expect(parsed.segments.count == message.segments.count)
            #expect(parsed.dialect == message.dialect)
            #expect(try parsed.encoded() == bytes)
            for (s, segment) in parsed.segments.dropFirst().enumerated() {
                for (f, field) in segment.fields.enumerated() {
                    for (r, rep) in field.repetitions.enumerated() {
                        for (c, comp) in rep.components.enumerated() {
                            for (t, text) in comp.subcomponents.enumerated() {
                                let expected = values["\(s).\(f + 1).\(r).\(c).\(t)"]
                                #expect(try text.value(parsed.dialect) == expected)
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("sample messages encode back to the same bytes")
    func samplesAreLossless() throws {
        for sample in SampleHL7.all {
            let bytes = Array(sample.text.utf8)
            #expect(try HL7Message(parsing: bytes).encoded() == bytes, "\(sample.name)")
        }
    }
}
