import CaduceusHL7
import Foundation

/// One HL7 batch arriving as a stream — an MLLP frame that starts with FHS or BHS, or a batch file — received message
/// by message: each message is processed exactly as a message on its own would be (its own outcome, message-log
/// entry and audit record; a repeat is recognised), in order, in windows of
/// ``HL7ReceiverConfiguration/batchWindow`` messages that share one durable commit. Nothing is held but the window
/// and the answers that the acknowledgement lists, so a batch of any size streams.
///
/// The answer is the acknowledgement batch (``HL7BatchAcknowledgement``): the answers to the messages not accepted
/// and to queries, and the counts. Messages committed before a batch is cut short stay committed (each message is
/// its own unit, as if sent alone); the sender resends the batch, and the repeats change nothing.
package struct HL7BatchSession {
    let receiver: HL7Receiver
    let peer: HL7Peer
    var reader: HL7BatchReader
    var acknowledgement: HL7BatchAcknowledgement
    var window: [[UInt8]] = []
    var envelopeErrors: [HL7Error] = []

    /// A session for a batch from `peer`; no message of it may exceed `maxMessageBytes`.
    package init(receiver: HL7Receiver, peer: HL7Peer, maxMessageBytes: Int? = nil) {
        self.receiver = receiver
        self.peer = peer
        var options = receiver.configuration.parseOptions
        if let maxMessageBytes { options.maxBytes = min(options.maxBytes, maxMessageBytes) }
        reader = HL7BatchReader(options: options)
        acknowledgement = HL7BatchAcknowledgement(
            application: receiver.configuration.application, facility: receiver.configuration.facility,
            maxAnswers: receiver.configuration.maxBatchAnswers)
    }

    /// Messages received so far (refused ones included).
    package var received: Int { acknowledgement.received }
    /// Messages accepted so far.
    package var accepted: Int { acknowledgement.accepted }

    /// Takes the next bytes of the batch; returns once every message they completed has its outcome committed.
    package mutating func feed(_ bytes: some Collection<UInt8>) async {
        await take(reader.feed(bytes))
    }

    /// The batch ended: processes what is left and returns the acknowledgement batch.
    package mutating func finish() async -> [UInt8] {
        await take(reader.finish())
        await flush()
        if !envelopeErrors.isEmpty {
            // One audit record for the envelope's own problems (the messages have theirs).
            var context = HL7AckContext.unknown
            context.sendingApplication = acknowledgement.batchHeader?[3] ?? acknowledgement.fileHeader?[3] ?? .empty
            context.sendingFacility = acknowledgement.batchHeader?[4] ?? acknowledgement.fileHeader?[4] ?? .empty
            context.controlID = acknowledgement.batchHeader?.text(11).raw ?? acknowledgement.fileHeader?.text(11).raw ?? ""
            _ = await receiver.reject(context, .rejected(envelopeErrors), now: Date(), peer: peer)
        }
        let dialect = HL7Dialect(delimiters: reader.delimiters ?? .standard, characterSet: receiver.configuration.defaultCharacterSet)
        return acknowledgement.encoded(dialect: dialect, controlID: receiver.nextControlID(), timestamp: HL7Receiver.timestamp(Date()))
    }

    /// The batch was cut short (no end block): the messages it completed are committed, each with its outcome, and
    /// nothing is answered; a message it had not finished is dropped.
    package mutating func abandon() async {
        await flush()
    }

    mutating func take(_ events: [HL7BatchReader.Event]) async {
        for event in events {
            switch event {
            case .message(let bytes):
                window.append(bytes)
                if window.count >= receiver.configuration.batchWindow { await flush() }
            case .refusedMessage(let head, let error):
                await flush()
                let answer = await receiver.reject(HL7AckContext(salvaging: head), .rejected([error]), now: Date(), peer: peer)
                acknowledgement.record(answer, accepted: false)
            case .envelopeError(let error):
                if envelopeErrors.count < 100 { envelopeErrors.append(error) }
                acknowledgement.note(event)
            case .fileHeader, .batchHeader, .batchTrailer, .fileTrailer:
                acknowledgement.note(event)
            }
        }
    }

    mutating func flush() async {
        guard !window.isEmpty else { return }
        let answers = await receiver.receiveAll(window, from: peer)
        window = []
        for answer in answers {
            acknowledgement.record(answer.bytes, accepted: answer.kind == .accepted, isResponse: answer.kind == .response)
        }
    }
}
