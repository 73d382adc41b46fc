/// A typed view of one segment: field accessors named as in HL7 v2.5.1 chapter 2, 3, 5, 7 and 8. Views read; build
/// segments with ``HL7Segment`` and the data types' `repetition(_:)`.
public protocol HL7SegmentView: Sendable {
    /// The segment id this view reads.
    static var segmentID: String { get }
    /// The segment.
    var segment: HL7Segment { get }
    /// How to decode its leaves.
    var dialect: HL7Dialect { get }
    /// Wraps a segment (its id is not checked; use ``HL7Message/view(_:)``).
    init(_ segment: HL7Segment, _ dialect: HL7Dialect)
}

extension HL7SegmentView {
    /// Field `n`, component `c`, subcomponent `s` of the first repetition, decoded.
    public func string(_ n: Int, _ c: Int = 1, _ s: Int = 1) throws(HL7Error) -> String {
        try segment.text(n, c, s).value(dialect)
    }

    /// Every repetition of field `n` that is not empty.
    public func repetitions(_ n: Int) -> [HL7Repetition] {
        segment[n].repetitions.filter { !$0.isEmpty }
    }

    /// Every non-empty repetition of field `n`, read as a data type.
    public func all<T>(_ n: Int, _ read: (HL7Repetition, HL7Dialect) throws(HL7Error) -> T) throws(HL7Error) -> [T] {
        var out: [T] = []
        for r in repetitions(n) { out.append(try read(r, dialect)) }
        return out
    }

    /// Field `n` as a required value: throws ``HL7Error/Code/requiredFieldMissing`` naming the field when empty.
    public func required(_ n: Int, _ c: Int = 1, sequence: Int = 1) throws(HL7Error) -> String {
        let value = try string(n, c)
        guard !value.isEmpty else {
            throw HL7Error(
                .requiredFieldMissing, "\(Self.segmentID)-\(n) is required",
                at: HL7Location(segment: Self.segmentID, sequence: sequence, field: n, repetition: 1, component: c))
        }
        return value
    }
}

extension HL7Message {
    /// The first segment with the view's id, as that view.
    public func view<V: HL7SegmentView>(_ type: V.Type) -> V? {
        first(V.segmentID).map { V($0, dialect) }
    }

    /// Every segment with the view's id, as that view.
    public func views<V: HL7SegmentView>(_ type: V.Type) -> [V] {
        segments(V.segmentID).map { V($0, dialect) }
    }
}
