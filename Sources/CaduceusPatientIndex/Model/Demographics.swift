/// The demographics a match uses. All values are PHI: never log them; stores encrypt them.
package struct Demographics: Sendable, Hashable, Codable {
    /// Family name (PID-5.1).
    package var family: String
    /// Given name (PID-5.2).
    package var given: String
    /// Second given name (PID-5.3).
    package var middle: String
    /// Birth date `YYYYMMDD` (PID-7, date part).
    package var birthDate: String
    /// Administrative sex (PID-8: `F`, `M`, `O`, `U`…).
    package var sex: String
    /// Street (PID-11.1).
    package var street: String
    /// City (PID-11.3).
    package var city: String
    /// Postal code (PID-11.5).
    package var postalCode: String
    /// Phone (PID-13), any format.
    package var phone: String

    /// Creates demographics; every field may be empty (missing).
    package init(family: String = "", given: String = "", middle: String = "", birthDate: String = "", sex: String = "", street: String = "", city: String = "", postalCode: String = "", phone: String = "") {
        self.family = family
        self.given = given
        self.middle = middle
        self.birthDate = birthDate
        self.sex = sex
        self.street = street
        self.city = city
        self.postalCode = postalCode
        self.phone = phone
    }
}

/// Demographics normalised for comparison: upper-case ASCII letters (Latin-1 diacritics folded, punctuation and
/// spaces dropped), digits only for dates and phones, and precomputed phonetic codes.
package struct NormalizedDemographics: Sendable, Hashable {
    package var family: [UInt8]
    package var given: [UInt8]
    package var familySoundex: [UInt8]
    package var givenSoundex: [UInt8]
    package var birthDate: [UInt8]
    package var sex: UInt8
    package var street: [UInt8]
    package var postalCode: [UInt8]
    package var phone: [UInt8]

    package init(_ d: Demographics) {
        family = Self.letters(d.family)
        given = Self.letters(d.given)
        familySoundex = StringSimilarity.soundex(family)
        givenSoundex = StringSimilarity.soundex(given)
        let date = Self.digits(d.birthDate)
        birthDate = date.count >= 8 ? Array(date.prefix(8)) : []
        let s = Self.letters(d.sex)
        sex = (s.first == UInt8(ascii: "F") || s.first == UInt8(ascii: "M")) ? s[0] : 0
        street = Self.alphanumerics(d.street)
        postalCode = Array(Self.alphanumerics(d.postalCode).prefix(5))
        let p = Self.digits(d.phone)
        phone = p.count >= 7 ? Array(p.suffix(7)) : []
    }

    static func fold(_ scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        switch v {
        case 0x41...0x5A: return UInt8(v)
        case 0x61...0x7A: return UInt8(v - 0x20)
        case 0x30...0x39: return UInt8(v)
        case 0xC0...0xC5, 0xE0...0xE5: return UInt8(ascii: "A")
        case 0xC7, 0xE7: return UInt8(ascii: "C")
        case 0xC8...0xCB, 0xE8...0xEB: return UInt8(ascii: "E")
        case 0xCC...0xCF, 0xEC...0xEF: return UInt8(ascii: "I")
        case 0xD1, 0xF1: return UInt8(ascii: "N")
        case 0xD2...0xD6, 0xD8, 0xF2...0xF6, 0xF8: return UInt8(ascii: "O")
        case 0xD9...0xDC, 0xF9...0xFC: return UInt8(ascii: "U")
        case 0xDD, 0xFD, 0xFF: return UInt8(ascii: "Y")
        case 0xDF: return UInt8(ascii: "S")
        default: return nil
        }
    }

    static func letters(_ s: String) -> [UInt8] {
        s.unicodeScalars.compactMap { fold($0) }.filter { $0 >= 0x41 }
    }

    static func alphanumerics(_ s: String) -> [UInt8] { s.unicodeScalars.compactMap { fold($0) } }

    static func digits(_ s: String) -> [UInt8] { s.utf8.filter { $0 >= 0x30 && $0 <= 0x39 } }
}
