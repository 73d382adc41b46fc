@testable import CaduceusPatientIndex
import Testing

@Suite("String comparators")
struct ComparatorTests {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test("Jaro–Winkler matches the published examples (Winkler 1990)")
    func jaroWinkler() {
        for (a, c, expected) in [("MARTHA", "MARHTA", 0.961), ("DWAYNE", "DUANE", 0.840), ("DIXON", "DICKSONX", 0.813), ("JONES", "JONES", 1.0), ("ABC", "XYZ", 0.0)] {
            #expect(abs(StringSimilarity.jaroWinkler(b(a), b(c)) - expected) < 0.001, "\(a)/\(c)")
        }
    }

    @Test("Soundex matches the census rules (H and W transparent, vowels separate)")
    func soundex() {
        for (name, code) in [("ROBERT", "R163"), ("RUPERT", "R163"), ("ASHCRAFT", "A261"), ("TYMCZAK", "T522"), ("PFISTER", "P236"), ("HONEYMAN", "H555"), ("LEE", "L000")] {
            #expect(String(decoding: StringSimilarity.soundex(b(name)), as: UTF8.self) == code, "\(name)")
        }
    }

    @Test("near birth dates: one digit, adjacent transposition, day/month swap; not two random digits")
    func nearDates() {
        #expect(ComparisonVector.nearDates(b("19800214"), b("19800215")))
        #expect(ComparisonVector.nearDates(b("19800214"), b("19802014")))  // month digits transposed
        #expect(ComparisonVector.nearDates(b("19800214"), b("19800241")))
        #expect(ComparisonVector.nearDates(b("19800205"), b("19800502")))
        #expect(!ComparisonVector.nearDates(b("19800214"), b("19810315")))
    }

    @Test("normalisation folds case, diacritics and punctuation")
    func normalisation() {
        let n = NormalizedDemographics(Demographics(family: "Müller-Lüdenscheidt", given: "josé", birthDate: "1976-11-05", phone: "+1 (217) 555-0101"))
        #expect(n.family == b("MULLERLUDENSCHEIDT"))
        #expect(n.given == b("JOSE"))
        #expect(n.birthDate == b("19761105"))
        #expect(n.phone == b("5550101"))
    }
}

@Suite("Master patient index")
struct MasterPatientIndexTests {
    let jane = Demographics(family: "DOE", given: "JANE", birthDate: "19800214", sex: "F", street: "1 MAIN ST", city: "SPRINGFIELD", postalCode: "62701", phone: "2175551234")
    let a = "1.2.3.1"
    let b = "1.2.3.2"

    @Test("the same person at a second hospital is linked to the first one's global id, with small typos too")
    func links() {
        var mpi = MasterPatientIndex(globalAuthority: "1.2.3.99")
        let (r1, c1) = mpi.register(LocalIdentity(id: "4711", authority: a), jane)
        #expect(c1.decision == .new)
        var typo = jane
        typo.family = "DOEE"
        typo.phone = ""
        let (r2, c2) = mpi.register(LocalIdentity(id: "A-93", authority: b), typo)
        guard case .link = c2.decision else { Issue.record("expected a link, got \(String(describing: c2.decision))"); return }
        #expect(mpi.person(of: r1) == mpi.person(of: r2))
        let pix = mpi.crossReferences(of: LocalIdentity(id: "4711", authority: a))
        #expect(pix?.identities == [LocalIdentity(id: "4711", authority: a), LocalIdentity(id: "A-93", authority: b)])
        #expect(mpi.crossReferences(of: LocalIdentity(id: "4711", authority: a), domains: [b])?.identities == [LocalIdentity(id: "A-93", authority: b)])
        #expect(mpi.crossReferences(of: LocalIdentity(id: "nope", authority: a)) == nil)
    }

    @Test("a different person gets a new global id")
    func newPerson() {
        var mpi = MasterPatientIndex(globalAuthority: "1.2.3.99")
        _ = mpi.register(LocalIdentity(id: "1", authority: a), jane)
        let other = Demographics(family: "NGUYEN", given: "KWAME", birthDate: "19550101", sex: "M", street: "9 OAK AVE", postalCode: "62565")
        let (_, c) = mpi.register(LocalIdentity(id: "2", authority: b), other)
        #expect(c.decision == .new)
        #expect(mpi.personCount == 2)
    }

    @Test("twins (same family, birth date, address, phone; other given name) are never linked automatically")
    func twins() {
        var mpi = MasterPatientIndex(globalAuthority: "1.2.3.99")
        let (r1, _) = mpi.register(LocalIdentity(id: "1", authority: a), jane)
        var twin = jane
        twin.given = "MARY"
        let (r2, c) = mpi.register(LocalIdentity(id: "2", authority: b), twin)
        guard case .review(_, let reason) = c.decision else { Issue.record("twin was not queued"); return }
        #expect(reason == "mpi.review.given-name")
        #expect(mpi.person(of: r1) != mpi.person(of: r2))
        #expect(mpi.reviewQueue.count == 1)
    }

    @Test("a second record number from the same hospital for a look-alike goes to review, not a link")
    func sameDomain() {
        var mpi = MasterPatientIndex(globalAuthority: "1.2.3.99")
        _ = mpi.register(LocalIdentity(id: "1", authority: a), jane)
        let (_, c) = mpi.register(LocalIdentity(id: "2", authority: a), jane)
        guard case .review(_, let reason) = c.decision else { Issue.record("expected review"); return }
        #expect(reason == "mpi.review.same-domain")
    }

    @Test("review: accept links, reject keeps apart and is remembered; link and unlink are reversible")
    func reviewAndReversibility() throws {
        var mpi = MasterPatientIndex(globalAuthority: "1.2.3.99")
        let (r1, _) = mpi.register(LocalIdentity(id: "1", authority: a), jane)
        var twin = jane
        twin.given = "MARY"
        let (r2, _) = mpi.register(LocalIdentity(id: "2", authority: b), twin)
        let item = try #require(mpi.reviewQueue.first)
        _ = try mpi.acceptReview(item.id)
        #expect(mpi.person(of: r1) == mpi.person(of: r2))
        #expect(mpi.reviewQueue.isEmpty)
        _ = try mpi.unlink(r2)
        #expect(mpi.person(of: r1) != mpi.person(of: r2))
        #expect(throws: MPIError.self) { try mpi.unlink(r2) }
        _ = try mpi.link(r2, toPersonOf: r1)
        #expect(mpi.person(of: r1) == mpi.person(of: r2))
        #expect(throws: MPIError.self) { try mpi.link(r2, toPersonOf: r1) }
        #expect(throws: MPIError.self) { try mpi.acceptReview(999) }
        // Reject: an update of the twin does not queue the same pair again.
        _ = try mpi.unlink(r2)
        var again = twin
        again.phone = "2175551234"
        _ = mpi.register(LocalIdentity(id: "2", authority: b), again)
        #expect(mpi.reviewQueue.isEmpty, "unlinked pairs are remembered as different")
    }

    @Test("PDQ search: by family name alone, by family and birth date, with similar spelling")
    func search() {
        var mpi = MasterPatientIndex(globalAuthority: "1.2.3.99")
        _ = mpi.register(LocalIdentity(id: "1", authority: a), jane)
        _ = mpi.register(LocalIdentity(id: "2", authority: a), Demographics(family: "DOE", given: "JOHN", birthDate: "19790101", sex: "M"))
        _ = mpi.register(LocalIdentity(id: "3", authority: a), Demographics(family: "SMITH", given: "ANNA", birthDate: "19800214", sex: "F"))
        #expect(mpi.search(Demographics(family: "DOE")).count == 2)
        #expect(mpi.search(Demographics(family: "DOE", birthDate: "19800214")).count == 1)
        #expect(mpi.search(Demographics(family: "DOH", birthDate: "19800214")).count == 1)
        #expect(mpi.search(Demographics(birthDate: "19800214")).count == 2)
        #expect(mpi.search(Demographics(family: "DOE"), limit: 1).count == 1)
        #expect(mpi.search(Demographics(family: "ZZZ")).isEmpty)
    }

    @Test("EM recovers m and u from labelled-free vectors of a mixture")
    func em() {
        var vectors: [ComparisonVector] = []
        for i in 0..<10_000 {
            let match = i % 10 == 0
            vectors.append(ComparisonVector(levels: match ? [2, 2, 2, 1, 2, 1, i % 7 == 0 ? 0 : 1] : [i % 50 == 0 ? 2 : 0, i % 30 == 0 ? 2 : 0, i % 3 == 0 ? 2 : 0, Int8(i % 2), 0, i % 20 == 0 ? 1 : 0, 0]))
        }
        let model = MatchModel.estimate(from: vectors)
        #expect(abs(model.matchProportion - 0.1) < 0.02)
        #expect(model.weight(.family, level: 2) > 3)
        #expect(model.weight(.family, level: 0) < -3)
    }

    @Test("quality on a labelled synthetic population: auto-links are precise, most true pairs are found")
    func quality() {
        let population = SyntheticPopulation(people: 3_000, seed: 7)
        var mpi = MasterPatientIndex(globalAuthority: "1.2.3.99")
        var predicted: [String] = []
        var records: [Int64] = []
        for r in population.registrations {
            let (record, _) = mpi.register(r.identity, r.demographics)
            records.append(record)
        }
        predicted = records.map { mpi.person(of: $0)! }
        let quality = LinkageQuality(predicted: predicted, truth: population.registrations.map(\.truePerson))
        #expect(quality.precision > 0.99, "\(quality)")
        #expect(quality.recall > 0.85, "\(quality)")
    }
}

@Suite("MPI training")
struct TrainingTests {
    @Test("training per blocking rule with u from random pairs keeps auto-links precise and recall high")
    func trainedModel() {
        let population = SyntheticPopulation(people: 3_000, seed: 11)
        var first = MasterPatientIndex(globalAuthority: "1.2.3.99")
        for r in population.registrations { _ = first.register(r.identity, r.demographics) }
        let model = first.matchIndex.trainModel()
        // The learned weights keep their meaning: exact agreement on a field is evidence for, disagreement against.
        for f in MatchField.allCases {
            #expect(model.weight(f, level: f.levels - 1) > 0, "\(f) exact")
            #expect(model.weight(f, level: 0) < 0, "\(f) different")
        }
        let thresholds = MatchThresholds.calibrated(for: model)
        #expect(thresholds.review < thresholds.autoLink)
        var trained = MasterPatientIndex(globalAuthority: "1.2.3.99", model: model, policy: MatchPolicy(thresholds: thresholds))
        var records: [Int64] = []
        for r in population.registrations { records.append(trained.register(r.identity, r.demographics).record) }
        let quality = LinkageQuality(predicted: records.map { trained.person(of: $0)! }, truth: population.registrations.map(\.truePerson))
        #expect(quality.precision > 0.99, "\(quality)")
        #expect(quality.recall > 0.85, "\(quality)")
    }
}
