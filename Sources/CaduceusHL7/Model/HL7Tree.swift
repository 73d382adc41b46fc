/// A leaf of the ER7 tree: a subcomponent's text exactly as written on the wire, escape sequences included.
///
/// Keeping the escaped form makes parse → encode byte-identical. ``value(_:)`` decodes; ``init(value:delimiters:)``
/// escapes. A leaf can never contain a delimiter or a segment terminator: the parser cuts at them, the checked
/// initialiser refuses them, and the encoder checks again before writing.
public struct HL7Text: Sendable, Hashable, ExpressibleByStringLiteral {
    /// The escaped text.
    public let raw: String

    init(unchecked raw: String) { self.raw = raw }

    /// A leaf holding `value`, escaped for `delimiters`.
    public init(value: String, delimiters: HL7Delimiters = .standard) {
        self.raw = HL7Escaping.escape(value, delimiters: delimiters)
    }

    /// A leaf from already-escaped text. Refuses text with delimiters or control characters.
    public init(raw: String, delimiters: HL7Delimiters = .standard) throws(HL7Error) {
        for b in raw.utf8 where b == 0x0D || b == 0x0A || b == 0 || delimiters.isStructural(b) {
            _ = b
            throw HL7Error(.unsafeValue, "raw leaf text holds a delimiter, CR, LF or NUL")
        }
        self.raw = raw
    }

    /// A literal is a value (escaped with the standard delimiters).
    public init(stringLiteral value: String) { self.init(value: value) }

    /// The empty leaf.
    public static let empty = HL7Text(unchecked: "")

    /// Whether the leaf is empty.
    public var isEmpty: Bool { raw.isEmpty }

    /// The decoded value.
    public func value(_ dialect: HL7Dialect) throws(HL7Error) -> String {
        try HL7Escaping.unescape(raw, delimiters: dialect.delimiters, characterSet: dialect.characterSet)
    }
}

/// Delimiters and character set together: what decoding a leaf needs.
public struct HL7Dialect: Sendable, Hashable {
    /// Encoding characters.
    public var delimiters: HL7Delimiters
    /// MSH-18.
    public var characterSet: HL7CharacterSet

    /// `|^~\&`, ASCII.
    public static let standard = HL7Dialect(delimiters: .standard, characterSet: .ascii)

    /// Creates a dialect.
    public init(delimiters: HL7Delimiters, characterSet: HL7CharacterSet) {
        self.delimiters = delimiters
        self.characterSet = characterSet
    }
}

/// A component: one or more subcomponents separated by `&`.
public struct HL7Component: Sendable, Hashable {
    enum Storage: Sendable, Hashable {
        case one(HL7Text)
        case many([HL7Text])
    }
    var storage: Storage

    /// A component of one subcomponent.
    public init(_ text: HL7Text = .empty) { storage = .one(text) }

    /// A component of several subcomponents (at least one).
    public init(subcomponents: [HL7Text]) {
        storage = subcomponents.count == 1 ? .one(subcomponents[0]) : .many(subcomponents.isEmpty ? [.empty] : subcomponents)
    }

    /// The subcomponents (never empty).
    public var subcomponents: [HL7Text] {
        get {
            switch storage {
            case .one(let t): return [t]
            case .many(let ts): return ts
            }
        }
        set { self = HL7Component(subcomponents: newValue) }
    }

    /// The first subcomponent.
    public var first: HL7Text {
        switch storage {
        case .one(let t): return t
        case .many(let ts): return ts[0]
        }
    }

    /// Subcomponent `n` (1-based); empty when absent.
    public subscript(subcomponent n: Int) -> HL7Text {
        let all = subcomponents
        return n >= 1 && n <= all.count ? all[n - 1] : .empty
    }

    /// Whether every subcomponent is empty.
    public var isEmpty: Bool {
        switch storage {
        case .one(let t): return t.isEmpty
        case .many(let ts): return ts.allSatisfy(\.isEmpty)
        }
    }
}

/// One repetition of a field: components separated by `^`.
public struct HL7Repetition: Sendable, Hashable {
    enum Storage: Sendable, Hashable {
        case one(HL7Component)
        case many([HL7Component])
    }
    var storage: Storage

    /// A repetition of one component.
    public init(_ component: HL7Component = HL7Component()) { storage = .one(component) }

    /// A repetition of one leaf value.
    public init(_ text: HL7Text) { storage = .one(HL7Component(text)) }

    /// A repetition of several components (at least one).
    public init(components: [HL7Component]) {
        storage = components.count == 1 ? .one(components[0]) : .many(components.isEmpty ? [HL7Component()] : components)
    }

    /// The components (never empty).
    public var components: [HL7Component] {
        get {
            switch storage {
            case .one(let c): return [c]
            case .many(let cs): return cs
            }
        }
        set { self = HL7Repetition(components: newValue) }
    }

    /// Component `n` (1-based); empty when absent.
    public subscript(n: Int) -> HL7Component {
        switch storage {
        case .one(let c): return n == 1 ? c : HL7Component()
        case .many(let cs): return n >= 1 && n <= cs.count ? cs[n - 1] : HL7Component()
        }
    }

    /// Whether every component is empty.
    public var isEmpty: Bool {
        switch storage {
        case .one(let c): return c.isEmpty
        case .many(let cs): return cs.allSatisfy(\.isEmpty)
        }
    }
}

/// A field: repetitions separated by `~`. An empty field has one empty repetition.
public struct HL7Field: Sendable, Hashable {
    enum Storage: Sendable, Hashable {
        case one(HL7Repetition)
        case many([HL7Repetition])
    }
    var storage: Storage

    /// A field of one repetition.
    public init(_ repetition: HL7Repetition = HL7Repetition()) { storage = .one(repetition) }

    /// A field of one leaf value.
    public init(_ text: HL7Text) { storage = .one(HL7Repetition(text)) }

    /// A field of several repetitions (at least one).
    public init(repetitions: [HL7Repetition]) {
        storage =
            repetitions.count == 1 ? .one(repetitions[0]) : .many(repetitions.isEmpty ? [HL7Repetition()] : repetitions)
    }

    /// The empty field.
    public static let empty = HL7Field()

    /// The repetitions (never empty).
    public var repetitions: [HL7Repetition] {
        get {
            switch storage {
            case .one(let r): return [r]
            case .many(let rs): return rs
            }
        }
        set { self = HL7Field(repetitions: newValue) }
    }

    /// The first repetition.
    public var first: HL7Repetition {
        switch storage {
        case .one(let r): return r
        case .many(let rs): return rs[0]
        }
    }

    /// Component `n` (1-based) of the first repetition.
    public subscript(n: Int) -> HL7Component { first[n] }

    /// Whether the field is empty.
    public var isEmpty: Bool {
        switch storage {
        case .one(let r): return r.isEmpty
        case .many(let rs): return rs.allSatisfy(\.isEmpty)
        }
    }
}

/// A segment: a three-character id and its fields. For MSH/FHS/BHS, field 1 is the field separator and field 2 the
/// encoding characters, both held as text and written as such.
public struct HL7Segment: Sendable, Hashable {
    /// `MSH`, `PID`, `ZPI`, …
    public var id: String
    /// Fields 1…n (index 0 holds field 1).
    public var fields: [HL7Field]

    /// Creates a segment; checks the id (three upper-case letters or digits, starting with a letter).
    public init(id: String, fields: [HL7Field] = []) throws(HL7Error) {
        guard HL7Segment.isValidID(id.utf8) else { throw HL7Error(.badSegmentID, "a segment id must be three upper-case letters or digits") }
        self.id = id
        self.fields = fields
    }

    init(unchecked id: String, fields: [HL7Field]) {
        self.id = id
        self.fields = fields
    }

    static func isValidID(_ bytes: some Collection<UInt8>) -> Bool {
        guard bytes.count == 3 else { return false }
        var first = true
        for b in bytes {
            let upper = b >= 0x41 && b <= 0x5A
            let digit = b >= 0x30 && b <= 0x39
            guard upper || (!first && digit) else { return false }
            first = false
        }
        return true
    }

    /// Whether this is a header segment whose fields 1 and 2 are the delimiters (MSH, FHS, BHS).
    public var isHeader: Bool { id == "MSH" || id == "FHS" || id == "BHS" }

    /// Field `n` (1-based, as in `PID-5`); empty when absent.
    public subscript(n: Int) -> HL7Field {
        get { n >= 1 && n <= fields.count ? fields[n - 1] : .empty }
        set {
            precondition(n >= 1, "HL7 fields are numbered from 1")
            if fields.count < n { fields.append(contentsOf: repeatElement(.empty, count: n - fields.count)) }
            fields[n - 1] = newValue
        }
    }

    /// The first leaf of field `n`, component `c`, subcomponent `s` (all 1-based).
    public func text(_ n: Int, _ c: Int = 1, _ s: Int = 1) -> HL7Text {
        self[n][c][subcomponent: s]
    }
}
