/// String comparators used for record linkage.
package enum StringSimilarity {
    /// Jaro–Winkler similarity in [0, 1] (Winkler 1990): Jaro similarity boosted for a common prefix of up to four
    /// characters with scaling factor 0.1. Operates on bytes of already-normalised ASCII.
    package static func jaroWinkler(_ a: [UInt8], _ b: [UInt8]) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        if a.isEmpty || b.isEmpty { return 0 }
        if a == b { return 1 }
        let window = max(0, max(a.count, b.count) / 2 - 1)
        var aMatched = [Bool](repeating: false, count: a.count)
        var bMatched = [Bool](repeating: false, count: b.count)
        var matches = 0
        for i in 0..<a.count {
            let lo = max(0, i - window)
            let hi = min(b.count - 1, i + window)
            guard lo <= hi else { continue }
            for j in lo...hi where !bMatched[j] && a[i] == b[j] {
                aMatched[i] = true
                bMatched[j] = true
                matches += 1
                break
            }
        }
        guard matches > 0 else { return 0 }
        var transpositions = 0
        var k = 0
        for i in 0..<a.count where aMatched[i] {
            while !bMatched[k] { k += 1 }
            if a[i] != b[k] { transpositions += 1 }
            k += 1
        }
        let m = Double(matches)
        let jaro = (m / Double(a.count) + m / Double(b.count) + (m - Double(transpositions / 2)) / m) / 3
        var prefix = 0
        while prefix < min(4, a.count, b.count), a[prefix] == b[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }

    /// American Soundex (the 1918/1922 Russell code as used by the US census): first letter, then three digits.
    /// Input is normalised upper-case ASCII letters; returns empty for empty input.
    package static func soundex(_ s: [UInt8]) -> [UInt8] {
        guard let first = s.first else { return [] }
        func code(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "B"), UInt8(ascii: "F"), UInt8(ascii: "P"), UInt8(ascii: "V"): return UInt8(ascii: "1")
            case UInt8(ascii: "C"), UInt8(ascii: "G"), UInt8(ascii: "J"), UInt8(ascii: "K"), UInt8(ascii: "Q"),
                UInt8(ascii: "S"), UInt8(ascii: "X"), UInt8(ascii: "Z"):
                return UInt8(ascii: "2")
            case UInt8(ascii: "D"), UInt8(ascii: "T"): return UInt8(ascii: "3")
            case UInt8(ascii: "L"): return UInt8(ascii: "4")
            case UInt8(ascii: "M"), UInt8(ascii: "N"): return UInt8(ascii: "5")
            case UInt8(ascii: "R"): return UInt8(ascii: "6")
            case UInt8(ascii: "H"), UInt8(ascii: "W"): return 1  // transparent: does not separate equal codes
            default: return 0  // vowels separate equal codes
            }
        }
        var out: [UInt8] = [first]
        var last = code(first)
        for c in s.dropFirst() {
            let d = code(c)
            if d == 1 { continue }
            if d != 0 && d != last { out.append(d) }
            last = d
            if out.count == 4 { break }
        }
        while out.count < 4 { out.append(UInt8(ascii: "0")) }
        return out
    }
}
