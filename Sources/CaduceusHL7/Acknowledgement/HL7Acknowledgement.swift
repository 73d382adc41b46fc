/// Acknowledgment codes (HL7 table 0008): original mode AA/AE/AR, enhanced mode commit-level CA/CE/CR.
public enum HL7AcknowledgmentCode: String, Sendable, Hashable, CaseIterable {
    /// Original mode: application accept.
    case applicationAccept = "AA"
    /// Original mode: application error.
    case applicationError = "AE"
    /// Original mode: application reject.
    case applicationReject = "AR"
    /// Enhanced mode: commit accept.
    case commitAccept = "CA"
    /// Enhanced mode: commit error.
    case commitError = "CE"
    /// Enhanced mode: commit reject.
    case commitReject = "CR"
}

/// The outcome of processing a message, before it is written as an ACK.
public enum HL7Outcome: Sendable, Equatable {
    /// Processed and durable.
    case accepted
    /// The message was understood but its content is in error (unknown key, missing required field): AE / CE.
    case error([HL7Error])
    /// The message was refused as a whole (cannot be parsed, unsupported type, version or processing id): AR / CR.
    case rejected([HL7Error])

    /// The errors carried.
    public var errors: [HL7Error] {
        switch self {
        case .accepted: return []
        case .error(let e), .rejected(let e): return e
        }
    }
}

/// The MSH fields an acknowledgment needs from the message it answers. Read from a parsed message, or salvaged
/// from the first bytes of one that could not be parsed.
public struct HL7AckContext: Sendable, Hashable {
    /// MSH-3…6 of the original, as raw field text.
    public var sendingApplication: HL7Field
    /// MSH-4.
    public var sendingFacility: HL7Field
    /// MSH-5.
    public var receivingApplication: HL7Field
    /// MSH-6.
    public var receivingFacility: HL7Field
    /// MSH-9.2 trigger event.
    public var triggerEvent: String
    /// MSH-10.
    public var controlID: String
    /// MSH-11.
    public var processingID: String
    /// MSH-12.
    public var versionID: String
    /// Enhanced mode when MSH-15 is not empty.
    public var enhancedMode: Bool
    /// Dialect of the original.
    public var dialect: HL7Dialect
    /// Whether the original named its character set in MSH-18. The answer names it only then: a message read in the
    /// interface's default character set is answered in it, without declaring it either.
    public var declaresCharacterSet = true

    /// From a parsed message.
    public init(_ message: HL7Message) {
        let msh = message.segments[0]
        sendingApplication = msh[3]
        sendingFacility = msh[4]
        receivingApplication = msh[5]
        receivingFacility = msh[6]
        triggerEvent = msh.text(9, 2).raw
        controlID = (try? msh.text(10).value(message.dialect)) ?? ""
        processingID = msh.text(11).raw
        versionID = msh.text(12).raw
        enhancedMode = !msh[15].isEmpty
        dialect = message.dialect
        declaresCharacterSet = !msh[18].isEmpty
    }

    /// Salvages the header of a message that could not be parsed: reads only the MSH segment, with line-ending
    /// tolerance, ignoring the rest. Returns an empty context when even that fails, so the answer is still an AR.
    public init(salvaging bytes: some Collection<UInt8>) {
        var head = Array(bytes.prefix(4096))
        if let end = head.firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) { head.removeSubrange(end...) }
        head.removeAll { $0 == 0 || $0 >= 0x80 }
        var options = HL7ParseOptions.tolerant
        options.maxRepetitions = 100
        if let message = try? HL7Message(parsing: head, options: options) {
            self.init(message)
            self.dialect = HL7Dialect(delimiters: message.dialect.delimiters, characterSet: .ascii)
        } else {
            self = .unknown
        }
    }

    private init(unknownSender: Void) {
        sendingApplication = .empty
        sendingFacility = .empty
        receivingApplication = .empty
        receivingFacility = .empty
        triggerEvent = ""
        controlID = ""
        processingID = "P"
        versionID = "2.5.1"
        enhancedMode = false
        dialect = .standard
    }

    /// The context of a message whose header could not be read at all.
    public static let unknown = HL7AckContext(unknownSender: ())
}

/// Builds ACK messages (v2.5.1 §2.9, §2.14.8 MSA, §2.14.5 ERR).
public enum HL7Acknowledgement {
    /// The ACK for `outcome`: MSH with sender and receiver swapped, MSA-1 per mode (AA/AE/AR or CA/CE/CR), MSA-2 the
    /// original control id, and one ERR per error (ERR-2 location, ERR-3 table 0357 code, ERR-4 severity `E`,
    /// ERR-8 the error's PHI-free message).
    public static func ack(
        for context: HL7AckContext, outcome: HL7Outcome, controlID: String, timestamp: String
    ) -> HL7Message {
        let code: HL7AcknowledgmentCode
        switch (outcome, context.enhancedMode) {
        case (.accepted, false): code = .applicationAccept
        case (.error, false): code = .applicationError
        case (.rejected, false): code = .applicationReject
        case (.accepted, true): code = .commitAccept
        case (.error, true): code = .commitError
        case (.rejected, true): code = .commitReject
        }
        return response(
            for: context, messageType: ["ACK", context.triggerEvent, "ACK"], code: code, errors: outcome.errors,
            controlID: controlID, timestamp: timestamp, body: [])
    }

    /// A response message (ACK, RSP^K23, RSP^K22…): MSH, MSA, ERR segments, then `body`.
    public static func response(
        for context: HL7AckContext, messageType: [String], code: HL7AcknowledgmentCode, errors: [HL7Error],
        controlID: String, timestamp: String, body: [HL7Segment]
    ) -> HL7Message {
        let d = context.dialect.delimiters
        func text(_ s: String) -> HL7Field { HL7Field(HL7Text(value: s, delimiters: d)) }
        let typeComponents = messageType.map { HL7Component(HL7Text(value: $0, delimiters: d)) }
        var mshFields: [HL7Field] = [
            text(String(decoding: [d.field], as: UTF8.self)), HL7Field(HL7Text(unchecked: d.encodingCharacters)),
            context.receivingApplication, context.receivingFacility, context.sendingApplication, context.sendingFacility,
            text(timestamp), .empty, HL7Field(HL7Repetition(components: typeComponents)), text(controlID),
            text(context.processingID.isEmpty ? "P" : context.processingID),
            text(context.versionID.isEmpty ? "2.5.1" : context.versionID),
        ]
        if context.dialect.characterSet != .ascii, context.declaresCharacterSet {
            mshFields += [.empty, .empty, .empty, .empty, .empty, text(context.dialect.characterSet.rawValue)]
        }
        var segments = [HL7Segment(unchecked: "MSH", fields: mshFields)]
        segments.append(HL7Segment(unchecked: "MSA", fields: [text(code.rawValue), text(context.controlID)]))
        for error in errors { segments.append(err(error, d)) }
        segments += body
        return try! HL7Message(dialect: context.dialect, segments: segments)  // first segment is MSH by construction
    }

    static func err(_ error: HL7Error, _ d: HL7Delimiters) -> HL7Segment {
        func t(_ s: String) -> HL7Component { HL7Component(HL7Text(value: s, delimiters: d)) }
        var location = HL7Field.empty
        if let l = error.location, !l.segment.isEmpty {
            var parts = [t(l.segment), t(String(l.sequence))]
            if l.field > 0 { parts.append(t(String(l.field))) }
            if l.field > 0 && l.repetition > 0 { parts.append(t(String(l.repetition))) }
            if l.field > 0 && l.repetition > 0 && l.component > 0 { parts.append(t(String(l.component))) }
            location = HL7Field(HL7Repetition(components: parts))
        }
        let code = HL7Field(
            HL7Repetition(components: [t(String(error.hl7Code.code)), t(error.hl7Code.text), t("HL70357")]))
        let application = HL7Field(HL7Repetition(components: [t(error.code)]))
        // ERR-1 (v2.4 ELD) empty, ERR-2 location, ERR-3 code, ERR-4 severity, ERR-5 application error code,
        // ERR-6/7 empty, ERR-8 user message.
        return HL7Segment(
            unchecked: "ERR",
            fields: [.empty, location, code, HL7Field(HL7Text(value: "E", delimiters: d)), application, .empty, .empty,
                     HL7Field(HL7Text(value: error.message, delimiters: d))])
    }
}
