import CaduceusAudit
import CaduceusCDA
import CaduceusCMS
import CaduceusCore
import CaduceusDICOM
import CaduceusDocuments
import CaduceusHL7
import CaduceusPKI
import Foundation

/// A property a fuzz target checks that did not hold: a bug, not a refusal. Parsers refusing input (throwing their
/// coded errors) is the expected answer to garbage and is swallowed; a crash, a hang or an ``InvariantViolation`` is
/// a finding. The libFuzzer executables in `Fuzz/` turn it into a crash; the corpus replay test reports it.
public struct InvariantViolation: Error, CustomStringConvertible, Sendable {
    /// Which target.
    public let target: String
    /// The property that failed (no input content).
    public let property: String
    /// `target: property`.
    public var description: String { "\(target): \(property)" }
}

/// One fuzz target per parser that reads bytes from outside: call the parser, swallow its thrown errors, check the
/// cheap invariants. Every function is deterministic in its input.
public enum FuzzTargets {
    /// A target: bytes in, a violation thrown when a property fails.
    public typealias Target = @Sendable ([UInt8]) throws(InvariantViolation) -> Void

    /// Every target by name (the name is its folder under `Fuzz/Corpus/` and `Fuzz/Crashes/`, and its executable's
    /// suffix in `Fuzz/`).
    public static let all: [(name: String, run: Target)] = [
        ("hl7", hl7), ("hl7batch", hl7Batch), ("mllp", mllp), ("smime", smime), ("multipart", multipart),
        ("cms", cms), ("pkcs12", pkcs12), ("xml", xml), ("cda", cda), ("dicom", dicom), ("jws", jws),
        ("syslog", syslog), ("syslogframer", syslogFramer), ("csv", csv), ("ocsp", ocsp),
    ]

    /// The target named `name`.
    public static func named(_ name: String) -> Target? { all.first { $0.name == name }?.run }

    static func check(_ condition: Bool, _ target: String, _ property: String) throws(InvariantViolation) {
        if !condition { throw InvariantViolation(target: target, property: property) }
    }

    // MARK: - HL7 v2

    /// ER7 messages, strict and tolerant. A parsed message must encode, and the encoding must parse back to the same
    /// tree; every leaf is decoded (escapes, character sets); the ACK for the message (or for what can be salvaged of
    /// an unparseable one) must encode, as the MLLP listener sends it.
    public static func hl7(_ bytes: [UInt8]) throws(InvariantViolation) {
        for options in [HL7ParseOptions.strict, .tolerant] {
            let message: HL7Message
            do {
                message = try HL7Message(parsing: bytes, options: options)
            } catch {
                let ack = HL7Acknowledgement.ack(
                    for: HL7AckContext(salvaging: bytes), outcome: .rejected([error]), controlID: "FUZZ1", timestamp: "20260101")
                try check((try? ack.encoded()) != nil, "hl7", "the ACK to an unparseable message cannot be encoded")
                continue
            }
            let encoded: [UInt8]
            do {
                encoded = try message.encoded()
            } catch {
                throw InvariantViolation(target: "hl7", property: "a parsed message cannot be encoded (\(error.code))")
            }
            do {
                let again = try HL7Message(parsing: encoded, options: options)
                try check(again == message, "hl7", "parse → encode → parse changes the tree")
            } catch let violation as InvariantViolation {
                throw violation
            } catch {
                throw InvariantViolation(target: "hl7", property: "an encoded message does not parse (\(error))")
            }
            touchLeaves(message)
            touchViews(message)
            let ack = HL7Acknowledgement.ack(
                for: HL7AckContext(message), outcome: .accepted, controlID: "FUZZ1", timestamp: "20260101")
            try check((try? ack.encoded()) != nil, "hl7", "the ACK to a parsed message cannot be encoded")
        }
    }

    /// Batch files (FHS/BHS/BTS/FTS), strict and tolerant: ``HL7Batch`` and the streaming ``HL7BatchReader`` it
    /// is built on. The first byte seeds the chunk sizes (as for `mllp`); the rest is the batch. Feeding the reader
    /// in chunks gives the same events as feeding it at once; a message it hands out is within the size limit and
    /// starts with MSH; a refused message's head is bounded; the acknowledgement batch for what was read (each
    /// message accepted when it parses) reads back as a batch with the same counts.
    public static func hl7Batch(_ bytes: [UInt8]) throws(InvariantViolation) {
        for options in [HL7ParseOptions.strict, .tolerant, HL7ParseOptions(lineEndings: .tolerant, defaultCharacterSet: .utf8)] {
            if let batch = try? HL7Batch(parsing: bytes, options: options) {
                for message in batch.messages {
                    try check(message.segments.first?.id == "MSH", "hl7batch", "a batch message does not start with MSH")
                    try check((try? message.encoded()) != nil, "hl7batch", "a batch message cannot be encoded")
                }
            }
            guard let seed = bytes.first else { continue }
            let data = Array(bytes.dropFirst())
            var small = options
            small.maxBytes = 256
            for readerOptions in [options, small] {
                var whole = HL7BatchReader(options: readerOptions)
                let expected = whole.feed(data) + whole.finish()
                var chunked = HL7BatchReader(options: readerOptions)
                var events: [HL7BatchReader.Event] = []
                for chunk in chunks(data, seed: seed) { events += chunked.feed(chunk) }
                events += chunked.finish()
                try check(events == expected, "hl7batch", "chunked feeding gives other events than feeding at once")
                var acknowledgement = HL7BatchAcknowledgement(application: "FUZZ", facility: "FUZZ", maxAnswers: 5)
                for event in events {
                    switch event {
                    case .message(let message):
                        try check(message.count <= readerOptions.maxBytes, "hl7batch", "a message is larger than the limit")
                        try check(message.starts(with: Array("MSH".utf8)), "hl7batch", "a message does not start with MSH")
                        let parsed = try? HL7Message(parsing: message, options: readerOptions)
                        let answer = HL7Acknowledgement.ack(
                            for: parsed.map(HL7AckContext.init) ?? HL7AckContext(salvaging: message),
                            outcome: parsed == nil ? .rejected([HL7Error(.badBatch, "x")]) : .accepted, controlID: "F", timestamp: "")
                        acknowledgement.record((try? answer.encoded()) ?? [], accepted: parsed != nil)
                    case .refusedMessage(let head, _):
                        try check(head.count <= HL7BatchReader.headBytes, "hl7batch", "a refused message keeps too many bytes")
                        acknowledgement.record([], accepted: false)
                    default:
                        acknowledgement.note(event)
                    }
                }
                guard let delimiters = whole.delimiters else { continue }
                let ack = acknowledgement.encoded(dialect: HL7Dialect(delimiters: delimiters, characterSet: .utf8), controlID: "F1", timestamp: "20260101")
                var ackOptions = HL7ParseOptions.strict
                ackOptions.defaultCharacterSet = .utf8
                let read = try? HL7Batch(parsing: ack, options: ackOptions)
                try check(read != nil, "hl7batch", "the acknowledgement batch does not read back as a batch")
                try check(read?.batches.first?.header?.id == "BHS", "hl7batch", "the acknowledgement batch has no BHS")
            }
        }
    }

    static func touchLeaves(_ message: HL7Message) {
        for segment in message.segments {
            for field in segment.fields {
                for repetition in field.repetitions {
                    for component in repetition.components {
                        for text in component.subcomponents { _ = try? message.value(text) }
                    }
                }
            }
        }
    }

    static func touchViews(_ message: HL7Message) {
        let msh = message.msh
        _ = try? msh.sendingApplication
        _ = try? msh.messageCode
        _ = try? msh.triggerEvent
        _ = try? msh.controlID
        _ = try? msh.characterSet
        for pid in message.views(PIDSegment.self) {
            _ = try? pid.identifiers
            _ = try? pid.names
            _ = try? pid.addresses
            _ = try? pid.homePhones
            _ = try? pid.accountNumber
        }
        for nk1 in message.views(NK1Segment.self) {
            _ = try? nk1.relationship
            _ = try? nk1.phones
        }
        for pv1 in message.views(PV1Segment.self) { _ = try? pv1.visitNumber }
        for mrg in message.views(MRGSegment.self) { _ = try? mrg.priorIdentifiers }
        for obr in message.views(OBRSegment.self) { _ = try? obr.universalServiceID }
    }

    // MARK: - MLLP

    /// The MLLP framer fed the input in chunks whose sizes come from the input itself, against the same bytes fed at
    /// once: the events must be the same, and no frame may hold a start or end block byte.
    public static func mllp(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let seed = bytes.first else { return }
        let data = Array(bytes.dropFirst())
        for (cap, head) in [(16 << 20, 4096), (64, 8)] {
            var whole = MLLPFramer(maxFrameBytes: cap, headBytes: head)
            let expected = whole.feed(data) + whole.finish()
            var chunked = MLLPFramer(maxFrameBytes: cap, headBytes: head)
            var events: [MLLPFramer.Event] = []
            for chunk in chunks(data, seed: seed) { events += chunked.feed(chunk) }
            events += chunked.finish()
            try check(
                normalized(events) == normalized(expected), "mllp", "chunked feeding gives other events than feeding at once")
            for case .frame(let payload) in events {
                try check(
                    !payload.contains(MLLPFramer.startBlock) && !payload.contains(MLLPFramer.endBlock), "mllp",
                    "a frame holds a start or end block byte")
                try check(payload.count <= cap, "mllp", "a frame is larger than the cap")
            }
        }
    }

    /// Junk is reported when the next frame starts or at the end, so consecutive junk counts are summed before
    /// comparing.
    static func normalized(_ events: [MLLPFramer.Event]) -> [MLLPFramer.Event] {
        var out: [MLLPFramer.Event] = []
        for event in events {
            if case .junk(let n) = event, case .junk(let m)? = out.last {
                out[out.count - 1] = .junk(count: n + m)
            } else {
                out.append(event)
            }
        }
        return out
    }

    /// Splits `data` into chunks of 1 to 16 bytes, sizes drawn from a small generator seeded by `seed` (0 = one
    /// byte at a time).
    static func chunks(_ data: [UInt8], seed: UInt8) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var state = UInt32(seed) | 1
        var i = 0
        while i < data.count {
            state = state &* 1_103_515_245 &+ 12_345
            let n = seed == 0 ? 1 : Int((state >> 16) % 16) + 1
            out.append(data[i..<min(data.count, i + n)])
            i += n
        }
        return out
    }

    // MARK: - MIME

    /// The S/MIME entity reader: headers, parameters, transfer decoding, multipart/signed splitting, and the
    /// CMS-bytes extraction (DER, PEM or an application/pkcs7-mime entity) that decrypt and verify start with.
    public static func smime(_ bytes: [UInt8]) throws(InvariantViolation) {
        _ = try? SMIME.cmsBytes(bytes[...], expecting: ["enveloped-data", "authenveloped-data", "signed-data"])
        guard let entity = try? MIMEEntity.parse(bytes[...]) else { return }
        try check(entity.headers.count <= MIMEEntity.maxHeaderFields, "smime", "more header fields than the limit")
        _ = entity.mediaType
        _ = entity.contentTypeParameter("boundary")
        _ = entity.contentTypeParameter("smime-type")
        _ = try? entity.decodedBody()
        if let (content, signature) = try? entity.splitSigned() {
            try check(content.count <= entity.body.count, "smime", "the signed content is larger than the body")
            _ = signature.mediaType
            _ = try? signature.decodedBody()
        }
    }

    /// The exchange payload (multipart/mixed). Parts that decode must encode and decode back to themselves when their
    /// headers hold no line breaks (the writer drops those).
    public static func multipart(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let parts = try? Multipart.decode(bytes) else { return }
        for part in parts {
            try check(part.headers.count <= Multipart.maxHeaderFields, "multipart", "more header fields than the limit")
            _ = part.mediaType
            _ = part.contentID
        }
        let clean = parts.allSatisfy { part in
            part.headers.allSatisfy { !$0.0.contains(where: \.isNewline) && !$0.1.contains(where: \.isNewline) }
        }
        guard clean else { return }
        var counter = 0
        let encoded = Multipart.encode(parts) {
            counter += 1
            return "fuzz\(counter)"
        }
        guard let again = try? Multipart.decode(encoded) else {
            throw InvariantViolation(target: "multipart", property: "decode → encode → decode fails")
        }
        try check(again == parts, "multipart", "decode → encode → decode changes the parts")
    }

    // MARK: - DER/BER, CMS, PKCS#12

    /// CMS ContentInfo as SignedData and as EnvelopedData / AuthEnvelopedData (parse, algorithm checks; no key).
    /// The streaming SignedData reader (what `smime verify`/`open` use on DER), fed in pieces of 1–16 bytes whose sizes
    /// come from the input's first byte, must agree with the in-memory parser when both accept the input.
    public static func cms(_ bytes: [UInt8]) throws(InvariantViolation) {
        let whole = try? ParsedSignedData(bytes[...])
        if let envelope = try? ParsedEnvelope(bytes[...]) { _ = try? envelope.checkAlgorithms() }
        var sink = ArrayByteSink()
        guard let signers = try? CMSStreaming.parseSignedData(PiecewiseSource(bytes), contentInto: &sink) else { return }
        guard let whole, let content = whole.content else { return }
        try check(Array(content) == sink.bytes, "cms", "the streamed content differs from the parsed content")
        try check(signers == whole.signerCount, "cms", "the streamed signer count differs from the parsed one")
    }

    /// Bytes handed out in pieces of 1–16 bytes (sizes from the first byte), so headers straddle reads.
    struct PiecewiseSource: ByteSource {
        let bytes: [UInt8]
        var offset = 0
        var step = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func read(upTo maxCount: Int) throws -> ArraySlice<UInt8> {
            let seed = Int(bytes.first ?? 0)
            step += 1
            let size = min(maxCount, 1 + (seed >> (step % 4)) % 16)
            let end = min(bytes.count, offset + size)
            defer { offset = end }
            return bytes[offset..<end]
        }
    }

    /// A PKCS#12 file, with a fixed password (the MAC check comes first, so most inputs stop there; the seeds are
    /// written with that password, so the safes are reached too).
    public static func pkcs12(_ bytes: [UInt8]) throws(InvariantViolation) {
        _ = try? PKCS12.importCredential(bytes, password: Sensitive(fuzzPassword))
    }

    /// The password the PKCS#12 seeds are written with.
    public static let fuzzPassword = "fuzz"

    // MARK: - XML / CDA

    /// The XML reader, with the default limits and with tight ones.
    public static func xml(_ bytes: [UInt8]) throws(InvariantViolation) {
        for limits in [XML.Limits(), XML.Limits(maxBytes: 1 << 16, maxDepth: 8, maxAttributes: 4)] {
            guard let root = try? XML.parse(bytes, limits: limits) else { continue }
            try check(depth(root) <= limits.maxDepth, "xml", "a tree deeper than the depth limit")
            _ = root.text
        }
    }

    static func depth(_ root: XML.Element) -> Int {
        var deepest = 0
        var stack = [(root, 1)]
        while let (e, d) = stack.popLast() {
            deepest = max(deepest, d)
            for child in e.elements { stack.append((child, d + 1)) }
        }
        return deepest
    }

    /// The CDA R2 header reader (XML, then the registry metadata).
    public static func cda(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let header = try? CDAHeader.read(bytes) else { return }
        _ = header.id.description
        _ = header.patientIds.map(\.description)
        _ = header.effectiveTime.date
    }

    // MARK: - DICOM

    /// The DICOM Part 10 reader.
    public static func dicom(_ bytes: [UInt8]) throws(InvariantViolation) {
        _ = try? DICOMFile(reading: bytes)
    }

    // MARK: - JWS

    /// The compact JWS parse step (sign-in assertions and consent statements): parts, base64url, JSON header,
    /// algorithm, the x5c certificates. No signature is verified.
    public static func jws(_ bytes: [UInt8]) throws(InvariantViolation) {
        let token = String(decoding: bytes, as: UTF8.self)
        do {
            let parsed = try CompactJWS.parse(token, domain: "fuzz")
            try check(!parsed.chain.isEmpty, "jws", "a parsed token without a certificate")
            try check(parsed.algorithm == "ES256" || parsed.algorithm == "PS256", "jws", "an algorithm other than ES256 or PS256")
        } catch let refusal as CompactJWS.Refusal {
            try check(refusal.code == "fuzz.malformed", "jws", "the parse step refused with a code other than malformed")
        } catch let violation as InvariantViolation {
            throw violation
        } catch {
            throw InvariantViolation(target: "jws", property: "an error other than a refusal")
        }
    }

    // MARK: - CSV

    /// RFC 4180 CSV (HR personnel exports): a parsed table re-encodes (every field as written) and parses back to the
    /// same rows, each field as ``CSV/guarded(_:)`` wrote it.
    public static func csv(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let rows = try? CSV.parse(bytes, maxRows: 1000, maxFields: 64, maxFieldBytes: 4096) else { return }
        guard let again = try? CSV.parse(Array(CSV.encode(rows).utf8), maxRows: 1000, maxFields: 64, maxFieldBytes: 8192) else {
            throw InvariantViolation(target: "csv", property: "an encoded table does not parse")
        }
        // A row of one empty field encodes as a blank line, which parsing skips.
        let expected = rows.filter { !($0.count == 1 && $0[0].isEmpty) }.map { $0.map(CSV.guarded) }
        try check(again == expected, "csv", "parse → encode → parse changes the table (beyond the formula guard)")
    }

    // MARK: - OCSP

    /// A responder for a throwaway CA (made once): the fuzz target's requests are answered by it.
    static let ocspResponder: OCSPResponder? = {
        guard let key = try? PrivateKeyMaterial.generate(.p256), let name = try? federationName(commonName: "Fuzz CA"),
            let ca = try? CertificateAuthority.makeRoot(subject: name, key: key, now: Date(timeIntervalSince1970: 1_800_000_000))
        else { return nil }
        return OCSPResponder(authority: ca.certificate, parents: [], signer: OCSPSigner(authority: ca), records: [], validity: 600)
    }()

    /// RFC 6960 bytes from outside: the OCSP request parser a responder runs on what its listener receives, the whole
    /// responder on it, and the response parser our client runs on what a responder sends. Refusals are
    /// `pki.malformed` (requests) and `pki.ocsp-invalid` (responses); a parsed request asks about 1 to 16 certificates
    /// and re-encodes to a request with the same ones and the same nonce; the responder answers every input with a
    /// response that parses — successful with one answer per certificate asked about and the nonce echoed, or
    /// malformedRequest for what does not parse; a parsed response is successful exactly when it carries a signed part.
    public static func ocsp(_ bytes: [UInt8]) throws(InvariantViolation) {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var parsed: OCSPRequest?
        do { parsed = try OCSPRequest(derEncoded: bytes) } catch {
            try check(error.kind == .malformed, "ocsp", "the request parser refused with a code other than pki.malformed")
        }
        if let request = parsed {
            try check((1...OCSPRequest.maxCertificates).contains(request.certificateIDs.count), "ocsp", "a parsed request asks about no certificate or too many")
            let again = try? OCSPRequest(certificateIDs: request.certificateIDs, nonce: request.nonce)
            try check(again.map { a in a.nonce == request.nonce && zip(a.certificateIDs, request.certificateIDs).allSatisfy { $0.sameCertificate(as: $1) } && a.certificateIDs.count == request.certificateIDs.count } == true, "ocsp", "a parsed request does not re-encode to the same request")
        }
        if let responder = ocspResponder {
            let answer = responder.respond(to: bytes, now: now)
            let response = try? OCSPResponse(derEncoded: answer)
            try check(response != nil, "ocsp", "the responder's answer does not parse")
            if let request = parsed {
                try check(response?.status == .successful && response?.basic?.responses.count == request.certificateIDs.count, "ocsp", "a readable request is not answered once per certificate")
                try check(response?.basic?.nonce == request.nonce, "ocsp", "the responder does not echo the nonce")
            } else {
                try check(response?.status == .malformedRequest, "ocsp", "an unreadable request is not answered malformedRequest")
            }
        }
        var response: OCSPResponse?
        do { response = try OCSPResponse(derEncoded: bytes) } catch {
            try check(error.kind == .ocspInvalid, "ocsp", "the response parser refused with a code other than pki.ocsp-invalid")
        }
        if let response {
            try check((response.status == .successful) == (response.basic != nil), "ocsp", "a response's status and signed part disagree")
        }
    }

    // MARK: - Syslog

    /// RFC 5424 messages: parse, re-encode, parse the encoding, and read it as a shipped audit record.
    public static func syslog(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let message = try? SyslogMessage(parsing: bytes) else { return }
        try check((0...23).contains(message.facility) && (0...7).contains(message.severity), "syslog", "PRI out of range")
        _ = try? SyslogMessage(parsing: message.encoded())
        _ = try? AuditSyslog.decode(message)
    }

    /// RFC 5425 octet-counting framing, chunked against at once: when the whole input frames without error, the
    /// chunked feed must give the same frames; when it fails, the chunked feed must fail too.
    public static func syslogFramer(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let seed = bytes.first else { return }
        let data = Array(bytes.dropFirst())
        for cap in [1 << 20, 64] {
            var whole = SyslogFramer(maxFrameBytes: cap)
            let expected = try? whole.feed(data)
            var chunked = SyslogFramer(maxFrameBytes: cap)
            var frames: [[UInt8]] = []
            var failed = false
            for chunk in chunks(data, seed: seed) {
                do { frames += try chunked.feed(chunk) } catch {
                    failed = true
                    break
                }
            }
            if let expected {
                try check(!failed, "syslogframer", "a chunked feed fails where feeding at once does not")
                try check(frames == expected, "syslogframer", "chunked feeding gives other frames than feeding at once")
            } else {
                try check(failed, "syslogframer", "feeding at once fails where a chunked feed does not")
            }
            for frame in frames { try check(frame.count <= cap, "syslogframer", "a frame larger than the cap") }
        }
    }
}
