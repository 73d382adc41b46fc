import CaduceusAudit
import Crypto
import Foundation
import Testing

func message(_ i: Int) -> AuditMessage {
    AuditMessage(
        eventID: .patientRecord, action: .read, outcome: .success, time: Date(timeIntervalSince1970: 1_800_000_000 + Double(i)),
        sourceID: "node.a", purposeOfUse: "TREAT",
        participants: [AuditParticipant(userID: "Dr \(i % 7)", isRequestor: true)], objects: [.patient("P\(i % 100)^^^&2.25.1&ISO")])
}

func chain(_ n: Int, checkpointEvery: Int, key: P256.Signing.PrivateKey) throws -> ([ChainedRecord], [AuditCheckpoint]) {
    var c = AuditChain()
    var records: [ChainedRecord] = []
    var checkpoints: [AuditCheckpoint] = []
    for i in 0..<n {
        records.append(try c.append(message(i)))
        if (i + 1) % checkpointEvery == 0 {
            checkpoints.append(try AuditCheckpoint.sign(node: "node.a", sequence: c.sequence, hash: c.head, time: Date(), key: key))
        }
    }
    return (records, checkpoints)
}

@Suite("Audit hash chain")
struct AuditChainTests {
    let key = P256.Signing.PrivateKey()

    @Test("an intact log verifies, with every checkpoint matched; events read back as written")
    func intact() throws {
        let (records, checkpoints) = try chain(1000, checkpointEvery: 100, key: key)
        let v = AuditVerifier.verify(records, checkpoints: checkpoints, key: key.publicKey)
        #expect(v.isIntact && v.records == 1000 && v.checkpointsMatched == 10)
        #expect(try AuditChain.decode(records[41].body) == message(41))
    }

    @Test("every kind of tampering is found, with the first bad record")
    func tampering() throws {
        let (records, checkpoints) = try chain(1000, checkpointEvery: 100, key: key)
        func verify(_ r: [ChainedRecord], _ c: [AuditCheckpoint] = checkpoints) -> AuditVerification { AuditVerifier.verify(r, checkpoints: c, key: key.publicKey) }

        var changed = records
        var body = changed[500].body
        body[body.count / 2] ^= 0x20
        changed[500] = ChainedRecord(sequence: 501, previousHash: changed[500].previousHash, body: body, hash: changed[500].hash)
        #expect(verify(changed).problem == .hashMismatch && verify(changed).firstBad == 501)

        var deleted = records
        deleted.remove(at: 600)
        #expect(verify(deleted).problem == .sequenceGap && verify(deleted).firstBad == 601)

        var swapped = records
        swapped.swapAt(700, 701)
        #expect(verify(swapped).problem == .sequenceGap && verify(swapped).firstBad == 701)
        // Swapped and renumbered: the links break.
        let renumbered = swapped.enumerated().map { i, r in ChainedRecord(sequence: UInt64(i + 1), previousHash: r.previousHash, body: r.body, hash: r.hash) }
        #expect(verify(renumbered).problem == .brokenLink)

        #expect(verify(Array(records.prefix(950))).problem == .truncated)
        #expect(verify(Array(records.prefix(950))).firstBad == 951)

        // A forged record with the chain recomputed from there on: only a signed checkpoint can tell.
        var forged = Array(records.prefix(299))
        var c = AuditChain(sequence: 299, head: records[298].hash)
        var fake = message(299)
        fake.participants[0].userID = "nobody"
        forged.append(try c.append(fake))
        for i in 300..<1000 { forged.append(c.append(body: records[i].body)) }
        let v = verify(forged)
        #expect(v.problem == .checkpointMismatch && v.firstBad == 201, "the range after the last checkpoint that still matched")
        #expect(verify(forged, []).isIntact, "without checkpoints a recomputed chain cannot be told apart")

        // A checkpoint not signed by the node key.
        var badCheckpoints = checkpoints
        badCheckpoints[3].sequence += 1
        #expect(verify(records, badCheckpoints).problem == .badCheckpoint)
        let other = P256.Signing.PrivateKey()
        #expect(AuditVerifier.verify(records, checkpoints: checkpoints, key: other.publicKey).problem == .badCheckpoint)
    }
}

@Suite("Audit JSON")
struct AuditJSONTests {
    @Test("what the chain stores decodes to the message, hostile strings included, and is what JSONEncoder would say")
    func roundTrip() throws {
        var m = message(3)
        m.participants.append(AuditParticipant(userID: "Quote \" backslash \\ newline \n tab \t nul \u{0} é 😀", roles: [AuditCode("r", system: "s", display: "d")], isRequestor: false, networkAccessPoint: "https://x/y"))
        m.eventTypes = [AuditCode("user.submit", system: "caduceus-operation", display: "user.submit")]
        m.emergency = true
        m.errorCode = "cda.doctype-forbidden"
        var c = AuditChain()
        let r = try c.append(m)
        #expect(try AuditChain.decode(r.body) == m)
        let viaFoundation = try JSONSerialization.jsonObject(with: try AuditChain.encoder.encode(m)) as? NSDictionary
        let ours = try JSONSerialization.jsonObject(with: Data(r.body)) as? NSDictionary
        #expect(ours == viaFoundation)
    }
}
