/// A small, strict XML 1.0 reader for clinical documents, written so that hostile input cannot reach anything
/// dangerous: it never processes a document type declaration (so no entity definitions, no billion laughs, no
/// external entities, no XInclude), knows only the five predefined entities and character references, checks
/// namespaces (Namespaces in XML 1.0), and bounds size, depth and attribute count. It reads UTF-8 byte arrays of
/// any size into an element tree (FoundationXML's `XMLParser(data:)` is not used: it is reported to fail near 1 MB
/// on Linux, swift-corelibs-foundation #4851, and it leaves entity handling to libxml2's defaults).
package enum XML {
    /// An expanded name: namespace URI (empty for none) and local part.
    package struct Name: Hashable, Sendable, CustomStringConvertible {
        /// The namespace URI, `""` when the name is in no namespace.
        package let namespace: String
        /// The local part.
        package let local: String
        /// Creates a name.
        package init(_ namespace: String, _ local: String) {
            self.namespace = namespace
            self.local = local
        }
        /// `{namespace}local`.
        package var description: String { namespace.isEmpty ? local : "{\(namespace)}\(local)" }
    }

    /// A node of the tree: an element or character data (text, CDATA).
    package enum Node: Sendable {
        /// A child element.
        case element(Element)
        /// Character data with entities and character references already replaced.
        case text(String)
    }

    /// An element with its attributes (namespace declarations removed) and children in document order.
    package struct Element: Sendable {
        /// The element's expanded name.
        package let name: Name
        /// Attributes other than namespace declarations, in document order.
        package let attributes: [(name: Name, value: String)]
        /// Children in document order.
        package let children: [Node]

        /// The value of the attribute `local` in `namespace` (no namespace by default, as for unprefixed attributes).
        package func attribute(_ local: String, namespace: String = "") -> String? {
            attributes.first { $0.name.local == local && $0.name.namespace == namespace }?.value
        }

        /// Child elements named `local` in `namespace`.
        package func children(_ local: String, namespace: String) -> [Element] {
            children.compactMap {
                if case .element(let e) = $0, e.name.local == local, e.name.namespace == namespace { return e }
                return nil
            }
        }

        /// The first child element named `local` in `namespace`.
        package func child(_ local: String, namespace: String) -> Element? {
            for case .element(let e) in children where e.name.local == local && e.name.namespace == namespace {
                return e
            }
            return nil
        }

        /// All child elements.
        package var elements: [Element] {
            children.compactMap { if case .element(let e) = $0 { return e } else { return nil } }
        }

        /// The concatenated character data of this element and its descendants.
        package var text: String {
            var out = ""
            func walk(_ e: Element) {
                for c in e.children {
                    switch c {
                    case .text(let t): out += t
                    case .element(let child): walk(child)
                    }
                }
            }
            walk(self)
            return out
        }
    }

    /// Bounds on what the reader accepts.
    package struct Limits: Sendable {
        /// Largest document in bytes. Default 64 MiB.
        package var maxBytes: Int
        /// Deepest element nesting. Default 256.
        package var maxDepth: Int
        /// Most attributes on one element. Default 256.
        package var maxAttributes: Int
        /// Most nodes — elements and runs of character data — in the whole document. Each costs some 60 to 90 bytes
        /// in the tree however little of the document it took (`<a/>` is four bytes), so this bounds the tree's
        /// memory where `maxBytes` alone would let 64 MiB of empty elements become a gigabyte. Default 1,000,000
        /// (a clinical document has tens of thousands).
        package var maxNodes: Int
        /// Creates limits.
        package init(maxBytes: Int = 64 << 20, maxDepth: Int = 256, maxAttributes: Int = 256, maxNodes: Int = 1_000_000) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.maxAttributes = maxAttributes
            self.maxNodes = maxNodes
        }
    }

    /// Reads a UTF-8 document into its root element.
    /// - Throws: ``CDAError`` `cda.malformed-xml`, `cda.doctype-forbidden`, `cda.entity-forbidden`, `cda.too-large`,
    ///   `cda.unsupported-encoding`.
    package static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(CDAError) -> Element {
        guard bytes.count <= limits.maxBytes else {
            throw CDAError(.tooLarge, "document exceeds \(limits.maxBytes) bytes")
        }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(CDAError) -> Element in
            var parser = Parser(bytes: buffer, limits: limits)
            return try parser.document()
        }
    }

    /// Parses the document up to the first child of the root element named `stop`, and returns the root with the
    /// children before it: what comes from there on (a CDA's body, say) is not read. Everything read is held to the
    /// same rules as ``parse(_:limits:)``; the part not read is not checked.
    package static func parsePrefix(_ bytes: [UInt8], stoppingAt stop: Name, limits: Limits = Limits()) throws(CDAError) -> Element {
        guard bytes.count <= limits.maxBytes else {
            throw CDAError(.tooLarge, "document exceeds \(limits.maxBytes) bytes")
        }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(CDAError) -> Element in
            var parser = Parser(bytes: buffer, limits: limits)
            parser.stopAtRootChild = stop
            return try parser.document()
        }
    }
}

extension XML {
    fileprivate struct Open {
        var prefix: String
        var local: String
        var rawName: ArraySlice<UInt8>
        var attributes: [(prefix: String, local: String, value: String)]
        var children: [Node]
        /// How many namespace declarations were in force before this element's own (its frame starts there).
        var scopeMark: Int
        var namespace: String
    }

    /// In-scope namespace bindings as a scoped stack: each prefix maps to the URIs bound to it, innermost last, and
    /// `declared` lists the prefixes declared, in document order, so that an element's end pops exactly its own
    /// declarations. Resolving a prefix is one hash look-up and an element costs only what it declares — however
    /// deep the nesting and however many declarations enclose it (the earlier list of all bindings, searched from
    /// the innermost for every element and attribute, made many declarations times many elements quadratic).
    fileprivate struct Namespaces {
        private var uris: [String: [String]] = [
            "xml": ["http://www.w3.org/XML/1998/namespace"], "xmlns": ["http://www.w3.org/2000/xmlns/"],
        ]
        private var declared: [String] = []

        /// Where the current frame starts: pass it to ``pop(to:)`` when the element ends.
        var mark: Int { declared.count }

        mutating func declare(_ prefix: String, _ uri: String) {
            uris[prefix, default: []].append(uri)
            declared.append(prefix)
        }

        /// The URI `prefix` is bound to, innermost binding first; `nil` when it is not bound.
        func uri(_ prefix: String) -> String? { uris[prefix]?.last }

        /// Removes the declarations made since `mark`.
        mutating func pop(to mark: Int) {
            guard declared.count > mark else { return }
            for prefix in declared[mark...] {
                uris[prefix]?.removeLast()
            }
            declared.removeSubrange(mark...)
        }
    }

    fileprivate struct Parser {
        let b: UnsafeBufferPointer<UInt8>
        let limits: Limits
        var i = 0
        var namespaces = Namespaces()
        var nodes = 0
        /// When set, the first child of the root with this name ends the parse (``XML/parsePrefix(_:stoppingAt:limits:)``).
        var stopAtRootChild: Name?
        /// Set when the parse stopped there: the rest of the document is not read.
        var stopped = false

        /// Counts one more node of the tree against ``Limits/maxNodes``.
        mutating func countNode() throws(CDAError) {
            nodes += 1
            guard nodes <= limits.maxNodes else {
                throw CDAError(.tooLarge, "more than \(limits.maxNodes) elements and character data runs")
            }
        }

        init(bytes: UnsafeBufferPointer<UInt8>, limits: Limits) {
            self.b = bytes
            self.limits = limits
        }

        func fail(_ rule: String) -> CDAError { CDAError(.malformed, "\(rule) (byte \(i))") }

        func starts(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard i + n <= b.count else { return false }
            let p = s.utf8Start
            for k in 0..<n where b[i + k] != p[k] { return false }
            return true
        }

        /// Up to this many attributes, duplicates are found by a linear search; beyond it, by a set.
        static let linearSearchLimit = 8

        static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        static func isNameChar(_ c: UInt8) -> Bool {
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E
                || c == 0x5F || c == 0x3A || c >= 0x80
        }
        static func isNameStart(_ c: UInt8) -> Bool {
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x3A || c >= 0x80
        }

        mutating func skipSpace() { while i < b.count, Parser.isSpace(b[i]) { i += 1 } }

        func string(_ start: Int, _ end: Int) throws(CDAError) -> String {
            guard let s = String(validating: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self) else {
                throw CDAError(.malformed, "invalid UTF-8 (byte \(start))")
            }
            return s
        }

        /// `document ::= prolog element Misc*`
        mutating func document() throws(CDAError) -> Element {
            if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
            if b.count >= 2, (b[0] == 0xFE && b[1] == 0xFF) || (b[0] == 0xFF && b[1] == 0xFE) {
                throw CDAError(.unsupportedEncoding, "UTF-16 documents are not accepted; send UTF-8")
            }
            if starts("<?xml") , i + 5 < b.count, Parser.isSpace(b[i + 5]) { try xmlDeclaration() }
            var root: Element?
            while true {
                skipSpace()
                if i >= b.count { break }
                guard b[i] == 0x3C else { throw fail("character data outside the root element") }
                if starts("<!--") { try comment() }
                else if starts("<?") { try processingInstruction() }
                else if starts("<!DOCTYPE") || starts("<!doctype") {
                    throw CDAError(.doctypeForbidden, "document type declarations are not processed (no DTDs, no entity definitions)")
                } else if starts("<!") {
                    throw fail("markup declaration outside a DTD")
                } else {
                    guard root == nil else { throw fail("more than one root element") }
                    root = try element()
                    if stopped { return root! }
                }
            }
            guard let root else { throw fail("no root element") }
            return root
        }

        mutating func xmlDeclaration() throws(CDAError) {
            let start = i
            guard let end = find("?>") else { throw fail("unterminated XML declaration") }
            let decl = try string(start, end).lowercased()
            i = end + 2
            if let r = decl.range(of: "encoding") {
                let rest = decl[r.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" }
                let name = rest.prefix { $0 != "\"" && $0 != "'" }
                guard name == "utf-8" || name == "utf8" || name == "us-ascii" || name == "ascii" else {
                    throw CDAError(.unsupportedEncoding, "only UTF-8 documents are accepted")
                }
            }
        }

        func find(_ s: StaticString) -> Int? {
            let n = s.utf8CodeUnitCount
            let p = s.utf8Start
            var k = i
            while k + n <= b.count {
                if b[k] == p[0] {
                    var ok = true
                    for m in 1..<n where b[k + m] != p[m] { ok = false; break }
                    if ok { return k }
                }
                k += 1
            }
            return nil
        }

        mutating func comment() throws(CDAError) {
            i += 4
            guard let end = find("--") , end + 2 < b.count, b[end + 2] == 0x3E else {
                throw fail("unterminated comment or '--' inside a comment")
            }
            i = end + 3
        }

        mutating func processingInstruction() throws(CDAError) {
            i += 2
            let nameStart = i
            while i < b.count, Parser.isNameChar(b[i]) { i += 1 }
            guard i > nameStart else { throw fail("processing instruction without a target") }
            let target = try string(nameStart, i)
            guard target.lowercased() != "xml" else { throw fail("XML declaration not at the start of the document") }
            guard let end = find("?>") else { throw fail("unterminated processing instruction") }
            i = end + 2
        }

        mutating func name() throws(CDAError) -> (prefix: String, local: String, raw: ArraySlice<UInt8>) {
            let start = i
            guard i < b.count, Parser.isNameStart(b[i]) else { throw fail("expected a name") }
            var colon = -1
            while i < b.count, Parser.isNameChar(b[i]) {
                if b[i] == 0x3A {
                    guard colon < 0 else { throw fail("more than one colon in a name") }
                    colon = i
                }
                i += 1
            }
            if colon < 0 { return ("", try string(start, i), ArraySlice(b[start..<i])) }
            guard colon > start, colon < i - 1 else { throw fail("empty prefix or local part") }
            return (try string(start, colon), try string(colon + 1, i), ArraySlice(b[start..<i]))
        }

        func resolve(_ prefix: String) throws(CDAError) -> String {
            if let uri = namespaces.uri(prefix) { return uri }
            if prefix.isEmpty { return "" }
            throw fail("namespace prefix not declared")
        }

        /// Reads an element and everything inside it without recursion (depth is bounded, but the stack is ours).
        mutating func element() throws(CDAError) -> Element {
            var stack: [Open] = []
            while true {
                // At '<' of a start tag.
                try countNode()
                i += 1
                let n = try name()
                var attributes: [(prefix: String, local: String, value: String)] = []
                // Raw attribute names seen, once an element has enough attributes for a linear search to cost.
                var seen: Set<ArraySlice<UInt8>>?
                let scopeMark = namespaces.mark
                var selfClosing = false
                while true {
                    let hadSpace = i < b.count && Parser.isSpace(b[i])
                    skipSpace()
                    guard i < b.count else { throw fail("unterminated start tag") }
                    if b[i] == 0x3E { i += 1; break }
                    if b[i] == 0x2F {
                        guard i + 1 < b.count, b[i + 1] == 0x3E else { throw fail("'/' not followed by '>'") }
                        i += 2
                        selfClosing = true
                        break
                    }
                    guard hadSpace else { throw fail("attributes must be separated by white space") }
                    let a = try name()
                    skipSpace()
                    guard i < b.count, b[i] == 0x3D else { throw fail("attribute without '='") }
                    i += 1
                    skipSpace()
                    let value = try attributeValue()
                    if a.prefix.isEmpty && a.local == "xmlns" {
                        namespaces.declare("", value)
                    } else if a.prefix == "xmlns" {
                        guard !value.isEmpty else { throw fail("a prefix cannot be bound to the empty namespace") }
                        namespaces.declare(a.local, value)
                    } else {
                        if seen == nil, attributes.count >= Parser.linearSearchLimit {
                            seen = Set(attributes.map { ArraySlice(Array(($0.prefix.isEmpty ? $0.local : "\($0.prefix):\($0.local)").utf8)) })
                        }
                        if seen != nil {
                            guard seen!.insert(a.raw).inserted else { throw fail("duplicate attribute") }
                        } else {
                            guard !attributes.contains(where: { $0.prefix == a.prefix && $0.local == a.local }) else {
                                throw fail("duplicate attribute")
                            }
                        }
                        attributes.append((a.prefix, a.local, value))
                    }
                    guard attributes.count + (namespaces.mark - scopeMark) <= limits.maxAttributes else {
                        throw CDAError(.tooLarge, "more than \(limits.maxAttributes) attributes on one element")
                    }
                }
                let open = Open(prefix: n.prefix, local: n.local, rawName: n.raw, attributes: attributes, children: [], scopeMark: scopeMark, namespace: try resolve(n.prefix))
                if let stop = stopAtRootChild, stack.count == 1, open.local == stop.local, open.namespace == stop.namespace {
                    stopped = true
                    namespaces.pop(to: open.scopeMark)  // the stopping element's own declarations do not reach its parent
                    return try close(stack.removeLast())
                }
                if selfClosing {
                    let done = try close(open)
                    if stack.isEmpty { return done }
                    stack[stack.count - 1].children.append(.element(done))
                } else {
                    stack.append(open)
                    guard stack.count <= limits.maxDepth else {
                        throw CDAError(.tooLarge, "elements nested deeper than \(limits.maxDepth)")
                    }
                }
                // Content until the next start tag (continue the outer loop) or until the stack empties.
                while true {
                    guard i < b.count else { throw fail("document ends inside an element") }
                    if b[i] != 0x3C {
                        try countNode()
                        let t = try characterData()
                        stack[stack.count - 1].children.append(.text(t))
                        continue
                    }
                    if starts("</") {
                        i += 2
                        let end = try name()
                        skipSpace()
                        guard i < b.count, b[i] == 0x3E else { throw fail("unterminated end tag") }
                        i += 1
                        let top = stack.removeLast()
                        guard end.raw == top.rawName else { throw fail("end tag does not match start tag") }
                        let done = try close(top)
                        if stack.isEmpty { return done }
                        stack[stack.count - 1].children.append(.element(done))
                    } else if starts("<!--") {
                        try comment()
                    } else if starts("<![CDATA[") {
                        i += 9
                        try countNode()
                        guard let end = find("]]>") else { throw fail("unterminated CDATA section") }
                        stack[stack.count - 1].children.append(.text(try string(i, end)))
                        i = end + 3
                    } else if starts("<?") {
                        try processingInstruction()
                    } else if starts("<!DOCTYPE") || starts("<!ENTITY") {
                        throw CDAError(.doctypeForbidden, "document type and entity declarations are not processed")
                    } else if starts("<!") {
                        throw fail("markup declaration inside an element")
                    } else {
                        break  // a child start tag
                    }
                }
            }
        }

        mutating func close(_ open: Open) throws(CDAError) -> Element {
            var attrs: [(name: Name, value: String)] = []
            attrs.reserveCapacity(open.attributes.count)
            // Expanded names seen, when there are enough attributes for a linear search to cost.
            var expanded: Set<Name>? = open.attributes.count > Parser.linearSearchLimit ? [] : nil
            for a in open.attributes {
                // Unprefixed attributes are in no namespace (Namespaces in XML §6.2).
                let ns = a.prefix.isEmpty ? "" : try resolve(a.prefix)
                let name = Name(ns, a.local)
                if expanded != nil {
                    guard expanded!.insert(name).inserted else { throw fail("duplicate attribute after namespace expansion") }
                } else if !a.prefix.isEmpty, attrs.contains(where: { $0.name == name }) {
                    throw fail("duplicate attribute after namespace expansion")
                }
                attrs.append((name, a.value))
            }
            namespaces.pop(to: open.scopeMark)
            return Element(name: Name(open.namespace, open.local), attributes: attrs, children: open.children)
        }

        /// Text up to the next `<`, with references replaced.
        mutating func characterData() throws(CDAError) -> String {
            var out: [UInt8] = []
            var start = i
            while i < b.count, b[i] != 0x3C {
                if b[i] == 0x26 {
                    out.append(contentsOf: b[start..<i])
                    try reference(into: &out)
                    start = i
                } else if b[i] == 0x3E, i >= 2, b[i - 1] == 0x5D, b[i - 2] == 0x5D {
                    throw fail("']]>' in character data")
                } else {
                    i += 1
                }
            }
            if out.isEmpty { return try string(start, i) }
            out.append(contentsOf: b[start..<i])
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8") }
            return s
        }

        /// A quoted attribute value, references replaced and white space normalised (XML 1.0 §3.3.3).
        mutating func attributeValue() throws(CDAError) -> String {
            guard i < b.count, b[i] == 0x22 || b[i] == 0x27 else { throw fail("attribute value not quoted") }
            let quote = b[i]
            i += 1
            var out: [UInt8] = []
            while true {
                guard i < b.count else { throw fail("unterminated attribute value") }
                let c = b[i]
                if c == quote { i += 1; break }
                switch c {
                case 0x3C: throw fail("'<' in an attribute value")
                case 0x26: try reference(into: &out)
                case 0x09, 0x0A, 0x0D: out.append(0x20); i += 1
                default: out.append(c); i += 1
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8") }
            return s
        }

        /// `&name;`, `&#N;` or `&#xH;` at `i`.
        mutating func reference(into out: inout [UInt8]) throws(CDAError) {
            i += 1
            let start = i
            while i < b.count, b[i] != 0x3B, i - start < 12 { i += 1 }
            guard i < b.count, b[i] == 0x3B else { throw fail("'&' not starting a reference") }
            let body = Array(b[start..<i])
            i += 1
            if body.first == 0x23 {
                let hex = body.count > 1 && body[1] == 0x78
                let digits = body.dropFirst(hex ? 2 : 1)
                guard !digits.isEmpty, let value = UInt32(String(decoding: digits, as: UTF8.self), radix: hex ? 16 : 10), let scalar = Unicode.Scalar(value),
                      value == 0x9 || value == 0xA || value == 0xD || value >= 0x20, value != 0xFFFE, value != 0xFFFF
                else { throw fail("character reference to a character XML does not allow") }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
                return
            }
            switch body {
            case Array("lt".utf8): out.append(0x3C)
            case Array("gt".utf8): out.append(0x3E)
            case Array("amp".utf8): out.append(0x26)
            case Array("apos".utf8): out.append(0x27)
            case Array("quot".utf8): out.append(0x22)
            default:
                throw CDAError(.entityForbidden, "only the predefined entities and character references are allowed")
            }
        }
    }
}
