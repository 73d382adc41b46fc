/// The fields compared, in the order of a ``ComparisonVector``.
package enum MatchField: Int, Sendable, CaseIterable, Codable {
    /// Family name: exact, similar (Jaro–Winkler ≥ 0.88 or same Soundex), different.
    case family
    /// Given name: exact, similar, different. Family and given swapped counts as similar for both.
    case given
    /// Birth date: exact, near (one digit, adjacent digits transposed, or day and month swapped), different.
    case birthDate
    /// Sex: same or different.
    case sex
    /// Street: exact, similar (Jaro–Winkler ≥ 0.90), different.
    case street
    /// Postal code (first five characters): same or different.
    case postalCode
    /// Phone (last seven digits): same or different.
    case phone

    /// How many agreement levels the field has; level 0 is "different", the highest is "exact".
    package var levels: Int {
        switch self {
        case .family, .given, .birthDate, .street: return 3
        case .sex, .postalCode, .phone: return 2
        }
    }
}

/// The agreement level per field for one pair of records; `-1` where either side is missing.
package struct ComparisonVector: Sendable, Hashable {
    /// Level per ``MatchField`` (raw value as index).
    package var levels: [Int8]

    /// The level of `field`, or nil when missing.
    package subscript(field: MatchField) -> Int? {
        let l = levels[field.rawValue]
        return l < 0 ? nil : Int(l)
    }

    package init(levels: [Int8]) { self.levels = levels }

    /// Compares two normalised records.
    package init(_ a: NormalizedDemographics, _ b: NormalizedDemographics) {
        var v = [Int8](repeating: -1, count: MatchField.allCases.count)
        func name(_ x: [UInt8], _ y: [UInt8], _ sx: [UInt8], _ sy: [UInt8]) -> Int8 {
            if x.isEmpty || y.isEmpty { return -1 }
            if x == y { return 2 }
            if sx == sy || StringSimilarity.jaroWinkler(x, y) >= 0.88 { return 1 }
            return 0
        }
        v[MatchField.family.rawValue] = name(a.family, b.family, a.familySoundex, b.familySoundex)
        v[MatchField.given.rawValue] = name(a.given, b.given, a.givenSoundex, b.givenSoundex)
        if v[0] == 0, v[1] == 0, !a.family.isEmpty, a.family == b.given, a.given == b.family {
            v[0] = 1
            v[1] = 1
        }
        if !a.birthDate.isEmpty && !b.birthDate.isEmpty {
            v[MatchField.birthDate.rawValue] = a.birthDate == b.birthDate ? 2 : (Self.nearDates(a.birthDate, b.birthDate) ? 1 : 0)
        }
        if a.sex != 0 && b.sex != 0 { v[MatchField.sex.rawValue] = a.sex == b.sex ? 1 : 0 }
        if !a.street.isEmpty && !b.street.isEmpty {
            v[MatchField.street.rawValue] = a.street == b.street ? 2 : (StringSimilarity.jaroWinkler(a.street, b.street) >= 0.90 ? 1 : 0)
        }
        if !a.postalCode.isEmpty && !b.postalCode.isEmpty { v[MatchField.postalCode.rawValue] = a.postalCode == b.postalCode ? 1 : 0 }
        if !a.phone.isEmpty && !b.phone.isEmpty { v[MatchField.phone.rawValue] = a.phone == b.phone ? 1 : 0 }
        levels = v
    }

    /// `YYYYMMDD` dates that differ by one digit, by two adjacent digits swapped, or by day and month swapped.
    static func nearDates(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == 8, b.count == 8 else { return false }
        let diff = (0..<8).filter { a[$0] != b[$0] }
        if diff.count == 1 { return true }
        if diff.count == 2, diff[1] == diff[0] + 1, a[diff[0]] == b[diff[1]], a[diff[1]] == b[diff[0]] { return true }
        if a[0..<4] == b[0..<4], a[4..<6] == b[6..<8], a[6..<8] == b[4..<6] { return true }
        return false
    }
}
