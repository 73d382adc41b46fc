/// Writes segments as ER7. Every leaf is checked against the delimiters before it is written: a value that holds a
/// delimiter, a CR or an LF in raw form is refused, so field data can never start a new segment or field.
struct ER7Encoder {
    let dialect: HL7Dialect

    func encode(_ segments: [HL7Segment]) throws(HL7Error) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(segments.count * 96)
        for segment in segments { try append(segment, to: &out) }
        return try dialect.characterSet.fromUTF8(out)
    }

    func append(_ segment: HL7Segment, to out: inout [UInt8]) throws(HL7Error) {
        let d = dialect.delimiters
        guard HL7Segment.isValidID(segment.id.utf8) else {
            throw HL7Error(.badSegmentID, "a segment id must be three upper-case letters or digits")
        }
        out.append(contentsOf: segment.id.utf8)
        var fields = segment.fields[...]
        if segment.isHeader {
            out.append(d.field)
            out.append(contentsOf: d.encodingCharacters.utf8)
            fields = fields.dropFirst(2)
        }
        for field in fields {
            out.append(d.field)
            var firstRep = true
            for rep in field.repetitions {
                if !firstRep { out.append(d.repetition) }
                firstRep = false
                var firstComponent = true
                for component in rep.components {
                    if !firstComponent { out.append(d.component) }
                    firstComponent = false
                    var firstSub = true
                    for sub in component.subcomponents {
                        if !firstSub { out.append(d.subcomponent) }
                        firstSub = false
                        for b in sub.raw.utf8 {
                            guard b != 0x0D, b != 0x0A, b != 0, !d.isStructural(b) else {
                                throw HL7Error(
                                    .unsafeValue, "a leaf holds a delimiter, CR, LF or NUL in raw form",
                                    at: HL7Location(segment: segment.id))
                            }
                            out.append(b)
                        }
                    }
                }
            }
        }
        out.append(0x0D)
    }
}
