/// The acknowledgement of a batch, on the exception basis HL7 v2 describes for batches (v2.5.1 §2.10.3, "Acknowledging
/// batches"): one acknowledgement batch that holds the answer to every message that was *not* accepted (its ACK with
/// AE/AR and ERR, MSA-2 naming the message's own MSH-10) and the response to every query; every message it does not
/// list was accepted. A batch with no answers in it acknowledges the whole batch.
///
/// ```
/// [FHS|^~\&|US|OUR-FAC|THEM|THEIR-FAC|ts||||ctl|<their FHS-11>]     when the input had FHS
/// BHS|^~\&|US|OUR-FAC|THEM|THEIR-FAC|ts||||ctl|<their BHS-11>       BHS-12: the batch acknowledged
/// [ACK … MSA|AE|<MSH-10> … ERR …]…                                  one per message not accepted, in input order
/// [ACK … MSA|AR|<their BHS-11> … ERR …]                             the envelope's own problems (counts, order)
/// BTS|<answers in this batch>|received N, accepted A, refused R|N~A~R
/// [FTS|1]
/// ```
///
/// BTS-1 counts the messages of the acknowledgement batch (as BTS-1 always does); BTS-3 (batch totals) carries the
/// messages received, accepted and refused. At most `maxAnswers` answers are listed; the comment names how many
/// were left out (each message still has its outcome in the receiver's log).
public struct HL7BatchAcknowledgement: Sendable {
    /// MSH-3/BHS-3 this receiver answers as.
    public let application: String
    /// MSH-4/BHS-4 this receiver answers as.
    public let facility: String
    /// Most answers listed.
    public let maxAnswers: Int
    /// The input's FHS and BHS (the first), when present.
    public private(set) var fileHeader: HL7Segment?
    /// The input's first BHS.
    public private(set) var batchHeader: HL7Segment?
    /// Messages received, accepted and refused so far.
    public private(set) var received = 0
    /// Messages accepted.
    public private(set) var accepted = 0
    /// Answers not listed because of ``maxAnswers``.
    public private(set) var omitted = 0
    var answers: [UInt8] = []
    var answerCount = 0
    var envelopeErrors: [HL7Error] = []

    /// A builder.
    public init(application: String, facility: String, maxAnswers: Int = 10_000) {
        self.application = application
        self.facility = facility
        self.maxAnswers = maxAnswers
    }

    /// Notes an event of the batch reader: its headers, and its envelope errors (the messages are ``record(_:accepted:)``ed).
    public mutating func note(_ event: HL7BatchReader.Event) {
        switch event {
        case .fileHeader(let segment): if fileHeader == nil { fileHeader = segment }
        case .batchHeader(let segment): if batchHeader == nil { batchHeader = segment }
        case .envelopeError(let error): if envelopeErrors.count < 100 { envelopeErrors.append(error) }
        case .message, .refusedMessage, .batchTrailer, .fileTrailer: break
        }
    }

    /// Records one message's answer (ER7 bytes, segments ended by CR): listed unless it accepted the message.
    /// `isResponse`: a query response, listed though it answers successfully.
    public mutating func record(_ answer: [UInt8], accepted: Bool, isResponse: Bool = false) {
        received += 1
        if accepted { self.accepted += 1 }
        guard !accepted || isResponse, !answer.isEmpty else { return }
        guard answerCount < maxAnswers else {
            omitted += 1
            return
        }
        answerCount += 1
        answers.append(contentsOf: answer)
        if answer.last != 0x0D { answers.append(0x0D) }
    }

    /// The acknowledgement batch, in `dialect` (the input batch's delimiters and default character set).
    public func encoded(dialect: HL7Dialect, controlID: String, timestamp: String) -> [UInt8] {
        let d = dialect.delimiters
        func text(_ s: String) -> HL7Field { HL7Field(HL7Text(value: s, delimiters: d)) }
        func header(_ id: String, answering input: HL7Segment?, suffix: String) -> HL7Segment {
            let fields: [HL7Field] = [
                text(String(decoding: [d.field], as: UTF8.self)), HL7Field(HL7Text(unchecked: d.encodingCharacters)),
                text(application), text(facility), input?[3] ?? .empty, input?[4] ?? .empty, text(timestamp), .empty, .empty,
                .empty, text(controlID + suffix), input?[11] ?? .empty,
            ]
            return HL7Segment(unchecked: id, fields: fields)
        }
        var out: [UInt8] = []
        let encoder = ER7Encoder(dialect: dialect)
        func append(_ segments: [HL7Segment]) {
            // Only our own texts and the input's own header fields are written; a field the input could carry is
            // one it carried under these delimiters, so encoding cannot fail but for a character set mismatch.
            if let bytes = try? encoder.encode(segments) {
                out.append(contentsOf: bytes)
            } else if let bytes = try? ER7Encoder(dialect: HL7Dialect(delimiters: d, characterSet: .utf8)).encode(segments) {
                out.append(contentsOf: bytes)
            }
        }
        if fileHeader != nil { append([header("FHS", answering: fileHeader, suffix: "F")]) }
        append([header("BHS", answering: batchHeader, suffix: "B")])
        out.append(contentsOf: answers)
        var listed = answerCount
        if !envelopeErrors.isEmpty {
            let reference = batchHeader?.text(11).raw ?? fileHeader?.text(11).raw ?? ""
            var context = HL7AckContext.unknown
            context.dialect = dialect
            context.declaresCharacterSet = false
            context.receivingApplication = text(application)
            context.receivingFacility = text(facility)
            context.sendingApplication = batchHeader?[3] ?? fileHeader?[3] ?? .empty
            context.sendingFacility = batchHeader?[4] ?? fileHeader?[4] ?? .empty
            context.controlID = ""
            var ack = HL7Acknowledgement.ack(for: context, outcome: .rejected(envelopeErrors), controlID: controlID + "E", timestamp: timestamp)
            ack.segments[1] = HL7Segment(unchecked: "MSA", fields: [text("AR"), HL7Field(HL7Text(unchecked: reference))])
            if let bytes = try? ack.encoded() {
                out.append(contentsOf: bytes)
                listed += 1
            }
        }
        let refused = received - accepted
        var comment = "received \(received), accepted \(accepted), refused \(refused)"
        if omitted > 0 { comment += ", \(omitted) answers left out" }
        if !envelopeErrors.isEmpty { comment += ", batch envelope refused" }
        let totals = HL7Field(repetitions: [received, accepted, refused].map { HL7Repetition(HL7Text(unchecked: String($0))) })
        append([HL7Segment(unchecked: "BTS", fields: [text(String(listed)), text(comment), totals])])
        if fileHeader != nil { append([HL7Segment(unchecked: "FTS", fields: [text("1")])]) }
        return out
    }
}
