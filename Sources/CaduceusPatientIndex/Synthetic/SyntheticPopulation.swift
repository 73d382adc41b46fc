/// A labelled synthetic population for measuring match quality and speed: made-up people, each registered at one
/// or more hospitals with realistic errors — typos, swapped given/family names, missing fields, birth-date slips,
/// married-name changes, moves — plus twins (same family, birth date, address and phone; different given name).
/// Deterministic for a seed. No real person's data.
package struct SyntheticPopulation: Sendable {
    /// One registration: who it truly is, where it was registered, what was typed.
    package struct Registration: Sendable {
        package var truePerson: Int
        package var identity: LocalIdentity
        package var demographics: Demographics
        package var kind: String
    }

    package var registrations: [Registration] = []

    static let families = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ", "THOMPSON", "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "WALKER", "YOUNG", "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES", "GREEN", "ADAMS", "NELSON", "BAKER", "HALL", "RIVERA", "CAMPBELL", "MITCHELL", "CARTER", "ROBERTS", "MUELLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER", "MEYER", "WAGNER", "BECKER", "SCHULZ", "HOFFMANN", "KOWALSKI", "NOWAK", "WISNIEWSKI", "ROSSI", "RUSSO", "FERRARI", "ESPOSITO", "BIANCHI", "ROMANO", "COLOMBO", "DUBOIS", "LAMBERT", "FONTAINE", "ROUSSEAU", "VINCENT", "MULLER", "OKAFOR", "ADEYEMI", "MENSAH", "OSEI", "TANAKA", "SUZUKI", "WATANABE", "KIM", "PARK", "CHOI", "CHEN", "WANG", "ZHANG", "LIU", "PATEL", "SHAH", "SINGH", "KUMAR", "IVANOV", "PETROV", "SOKOLOV", "HANSEN", "JOHANSSON", "LARSEN"]
    static let femaleGiven = ["MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "BARBARA", "SUSAN", "JESSICA", "SARAH", "KAREN", "LISA", "NANCY", "BETTY", "MARGARET", "SANDRA", "ASHLEY", "KIMBERLY", "EMILY", "DONNA", "MICHELLE", "CAROL", "AMANDA", "MELISSA", "DEBORAH", "STEPHANIE", "REBECCA", "SHARON", "LAURA", "CYNTHIA", "KATHLEEN", "AMY", "ANNA", "HANNA", "SOFIA", "EMMA", "MIA", "CHLOE", "LEA", "YUKI", "AIKO", "MEI", "PRIYA", "AMARA", "FATIMA", "OLGA", "INGRID", "MARIA", "CLARA", "JULIA", "NORA"]
    static let maleGiven = ["JAMES", "ROBERT", "JOHN", "MICHAEL", "DAVID", "WILLIAM", "RICHARD", "JOSEPH", "THOMAS", "CHARLES", "CHRISTOPHER", "DANIEL", "MATTHEW", "ANTHONY", "MARK", "DONALD", "STEVEN", "PAUL", "ANDREW", "JOSHUA", "KENNETH", "KEVIN", "BRIAN", "GEORGE", "TIMOTHY", "RONALD", "EDWARD", "JASON", "JEFFREY", "RYAN", "JACOB", "LUKAS", "FELIX", "MATTEO", "LUCA", "HUGO", "LOUIS", "KENJI", "HIROSHI", "WEI", "ARJUN", "RAVI", "KWAME", "CHIDI", "IVAN", "SVEN", "ERIK", "JOSE", "CARLOS", "LIAM"]
    static let streets = ["MAIN ST", "OAK AVE", "PINE RD", "MAPLE DR", "CEDAR LN", "ELM ST", "WASHINGTON BLVD", "LAKE VIEW RD", "HILL ST", "PARK AVE", "RIVER RD", "CHURCH ST", "MILL LN", "SCHOOL ST", "HIGH ST", "STATION RD", "BIRCH CT", "WILLOW WAY", "SUNSET BLVD", "FOREST DR"]
    static let cities = [("SPRINGFIELD", "627"), ("SHELBYVILLE", "625"), ("OGDENVILLE", "624"), ("NORTH HAVERBROOK", "623"), ("CAPITAL CITY", "620"), ("BROCKWAY", "621")]

    var rng: UInt64

    mutating func next() -> UInt64 {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
    mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }

    mutating func typo(_ s: String) -> String {
        var c = Array(s)
        guard c.count > 2 else { return s }
        let i = 1 + int(c.count - 2)
        switch int(4) {
        case 0: c.remove(at: i)
        case 1: c.insert(Character(Unicode.Scalar(UInt8(65 + int(26)))), at: i)
        case 2: c[i] = Character(Unicode.Scalar(UInt8(65 + int(26))))
        default: c.swapAt(i, i - 1)
        }
        return String(c)
    }

    mutating func dateSlip(_ d: String) -> String {
        var c = Array(d)
        switch int(3) {
        case 0:
            let i = 2 + int(6)
            c[i] = Character(String(int(10)))
        case 1:
            let i = 4 + int(3)
            c.swapAt(i, i + 1)
        default:
            let month = Array(c[4..<6]), day = Array(c[6..<8])
            if Int(String(day))! <= 12 { c[4..<6] = day[...]; c[6..<8] = month[...] } else { c[7] = Character(String(int(10))) }
        }
        return String(c)
    }

    /// `people` distinct people; each registered 1–3 times across `hospitals` authorities; `twinRate` of them get
    /// a twin.
    package init(people: Int, hospitals: Int = 4, seed: UInt64 = 42, twinRate: Double = 0.02) {
        rng = seed
        let authorities = (1...hospitals).map { "2.16.840.1.113883.3.9999.\($0)" }
        var nextLocal = 1000
        var personNumber = 0
        func makePerson(_ base: Demographics?, _ rng: inout SyntheticPopulation) -> Demographics {
            let female = rng.chance(0.5)
            if var twin = base {
                var given = rng.pick(female ? Self.femaleGiven : Self.maleGiven)
                while given == twin.given { given = rng.pick(female ? Self.femaleGiven : Self.maleGiven) }
                twin.given = given
                twin.sex = female ? "F" : "M"
                return twin
            }
            let (city, zip) = rng.pick(Self.cities)
            let year = 1930 + rng.int(90), month = 1 + rng.int(12), day = 1 + rng.int(28)
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            return Demographics(
                family: rng.pick(Self.families), given: rng.pick(female ? Self.femaleGiven : Self.maleGiven),
                birthDate: "\(year)\(two(month))\(two(day))", sex: female ? "F" : "M",
                street: "\(1 + rng.int(999)) \(rng.pick(Self.streets))", city: city, postalCode: zip + two(rng.int(100)),
                phone: "217555\(1000 + rng.int(9000))")
        }
        var truth: [(Int, Demographics)] = []
        for _ in 0..<people {
            let d = makePerson(nil, &self)
            truth.append((personNumber, d))
            personNumber += 1
            if chance(twinRate) {
                truth.append((personNumber, makePerson(d, &self)))
                personNumber += 1
            }
        }
        for (person, d) in truth {
            let count = chance(0.45) ? 1 : (chance(0.6) ? 2 : 3)
            var used = Set<String>()
            for r in 0..<count {
                var authority = pick(authorities)
                while used.contains(authority) { authority = pick(authorities) }
                used.insert(authority)
                nextLocal += 1 + int(5)
                var x = d
                var kind = r == 0 ? "original" : "clean"
                if r > 0 {
                    if chance(0.12) { x.family = typo(x.family); kind = "typo" }
                    if chance(0.10) { x.given = typo(x.given); kind = "typo" }
                    if chance(0.03) { swap(&x.family, &x.given); kind = "swapped" }
                    if chance(0.05) { x.birthDate = dateSlip(x.birthDate); kind = "date-slip" }
                    if x.sex == "F" && chance(0.05) { x.family = pick(Self.families); x.street = "\(1 + int(999)) \(pick(Self.streets))"; kind = "married" }
                    if chance(0.08) { x.street = "\(1 + int(999)) \(pick(Self.streets))"; x.phone = "217555\(1000 + int(9000))"; kind = "moved" }
                    if chance(0.10) { x.phone = "" }
                    if chance(0.08) { x.street = ""; x.postalCode = "" }
                    if chance(0.03) { x.sex = "" }
                }
                registrations.append(Registration(truePerson: person, identity: LocalIdentity(id: "MRN\(nextLocal)", authority: authority), demographics: x, kind: kind))
            }
        }
        // Interleave hospitals' feeds.
        for i in stride(from: registrations.count - 1, to: 0, by: -1) { registrations.swapAt(i, int(i + 1)) }
    }
}

/// Pairwise linkage quality: precision, recall and F1 over record pairs judged "same person".
package struct LinkageQuality: Sendable, CustomStringConvertible {
    package var truePositives = 0
    package var falsePositives = 0
    package var falseNegatives = 0
    package var precision: Double { truePositives + falsePositives == 0 ? 1 : Double(truePositives) / Double(truePositives + falsePositives) }
    package var recall: Double { truePositives + falseNegatives == 0 ? 1 : Double(truePositives) / Double(truePositives + falseNegatives) }
    package var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }

    /// Compares predicted clusters with true persons (both as labels per record index).
    package init(predicted: [String], truth: [Int]) {
        var truePairs = 0
        var byTruth: [Int: [Int]] = [:]
        for (i, t) in truth.enumerated() { byTruth[t, default: []].append(i) }
        for (_, members) in byTruth { truePairs += members.count * (members.count - 1) / 2 }
        var byPredicted: [String: [Int]] = [:]
        for (i, p) in predicted.enumerated() { byPredicted[p, default: []].append(i) }
        for (_, members) in byPredicted {
            for a in 0..<members.count {
                for b in (a + 1)..<members.count {
                    if truth[members[a]] == truth[members[b]] { truePositives += 1 } else { falsePositives += 1 }
                }
            }
        }
        falseNegatives = truePairs - truePositives
    }

    /// From predicted pairs (record index pairs).
    package init(pairs: Set<RecordPair>, truth: [Int]) {
        var byTruth: [Int: Int] = [:]
        for t in truth { byTruth[t, default: 0] += 1 }
        let truePairs = byTruth.values.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
        for p in pairs {
            if truth[Int(p.low)] == truth[Int(p.high)] { truePositives += 1 } else { falsePositives += 1 }
        }
        falseNegatives = truePairs - truePositives
    }

    package var description: String {
        "precision \(Self.pct(precision)), recall \(Self.pct(recall)), F1 \(Self.pct(f1))"
    }
    static func pct(_ x: Double) -> String { String(Double(Int(x * 10000)) / 100) + "%" }
}
