import CaduceusCDA
import Testing

private func parse(_ s: String, limits: XML.Limits = XML.Limits()) throws(CDAError) -> XML.Element {
    try XML.parse(Array(s.utf8), limits: limits)
}

private func code(_ s: String, limits: XML.Limits = XML.Limits()) -> String? {
    do {
        _ = try parse(s, limits: limits)
        return nil
    } catch {
        return error.code
    }
}

@Suite("Strict XML reader")
struct XMLReaderTests {
    @Test("elements, attributes, namespaces, references, CDATA and comments")
    func wellFormed() throws {
        let doc = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <?xml-stylesheet type="text/xsl" href="CDA.xsl"?>
            <r xmlns="urn:a" xmlns:b="urn:b" b:x='1 &amp; 2' y="a&#x9;b&#10;c">
              <b:c>x &lt;y&gt; &quot;z&quot; &apos;w&apos; &#233;&#x1F600;</b:c>
              <d xmlns="urn:d"><e/></d>
              <f><![CDATA[<not> & markup]]></f>
            </r>
            """
        let root = try parse(doc)
        #expect(root.name == XML.Name("urn:a", "r"))
        #expect(root.attribute("x", namespace: "urn:b") == "1 & 2")
        // Attribute-value normalisation turns literal tabs and newlines (not references to them) into spaces.
        #expect(root.attribute("y") == "a\tb\nc")
        #expect(root.child("c", namespace: "urn:b")?.text == "x <y> \"z\" 'w' é😀")
        #expect(root.child("d", namespace: "urn:d")?.child("e", namespace: "urn:d") != nil)
        #expect(root.child("f", namespace: "urn:a")?.text == "<not> & markup")
        #expect(root.elements.count == 3)
        let normalised = try parse("<r a=\"x\ny\tz\"/>")
        #expect(normalised.attribute("a") == "x y z")
    }

    @Test("a document type declaration is refused before anything in it is read", arguments: [
        // Billion laughs.
        """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
        <ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol2;</title></ClinicalDocument>
        """,
        // External entity (XXE).
        """
        <?xml version="1.0"?>
        <!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>
        """,
        // External DTD.
        "<!DOCTYPE ClinicalDocument SYSTEM \"http://example.invalid/cda.dtd\"><ClinicalDocument/>",
    ])
    func doctypeRefused(doc: String) {
        #expect(code(doc) == "cda.doctype-forbidden")
    }

    @Test("entities that only a DTD could define are refused")
    func undefinedEntity() {
        #expect(code("<r>&xxe;</r>") == "cda.entity-forbidden")
        #expect(code("<r a=\"&nbsp;\"/>") == "cda.entity-forbidden")
    }

    @Test("malformed documents", arguments: [
        "<r><a></r>", "<r>", "<r/><s/>", "text<r/>", "<r a=1/>", "<r a=\"1\" a=\"2\"/>", "<p:r/>",
        "<r xmlns:p=\"urn:x\" xmlns:q=\"urn:x\" p:a=\"1\" q:a=\"2\"/>", "<r>&#0;</r>", "<r>& x</r>", "<r><!-- a -- b --></r>",
        "", "<r a=\"<\"/>", "<r>]]></r>", "<r><![CDATA[x</r>", "<r xmlns:p=\"\"/>", "<r a=\"1\"b=\"2\"/>",
    ])
    func malformed(doc: String) {
        #expect(code(doc) == "cda.malformed-xml")
    }

    @Test("invalid UTF-8 and UTF-16 are refused")
    func encodings() {
        #expect(throws: CDAError.self) { try XML.parse(Array("<r>".utf8) + [0xC3, 0x28] + Array("</r>".utf8)) }
        #expect(throws: CDAError.self) { try XML.parse([0xFF, 0xFE, 0x3C, 0x00, 0x72, 0x00]) }
        #expect(code("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>") == "cda.unsupported-encoding")
        #expect(code("\u{FEFF}<r/>") == nil)
    }

    @Test("size, depth and attribute limits")
    func limits() {
        #expect(code("<r>" + String(repeating: "x", count: 100) + "</r>", limits: XML.Limits(maxBytes: 64)) == "cda.too-large")
        let deep = String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)
        #expect(code(deep) == "cda.too-large")
        #expect(code(String(repeating: "<a>", count: 200) + String(repeating: "</a>", count: 200)) == nil)
        let attrs = (0..<300).map { "a\($0)=\"1\"" }.joined(separator: " ")
        #expect(code("<r \(attrs)/>") == "cda.too-large")
    }
}

/// Namespace scoping as a stack of per-element frames, and duplicate-attribute checks that stay linear (issue 11: a
/// 350 KB document of nested namespace declarations had taken 9.5 s). Timing is asserted in the attack suite; these
/// check that the faster bookkeeping gives the same answers.
@Suite("XML namespace scopes")
struct XMLNamespaceScopeTests {
    @Test("an inner declaration shadows an outer one only inside its element; undeclaring the default works")
    func shadowing() throws {
        let root = try parse("""
            <a:r xmlns:a="urn:outer" xmlns="urn:default">\
            <a:in xmlns:a="urn:inner"><a:deep/><plain/></a:in>\
            <a:after/><plain xmlns=""><none/></plain><plain/>\
            </a:r>
            """)
        #expect(root.name == XML.Name("urn:outer", "r"))
        let children = root.elements
        #expect(children.map(\.name) == [XML.Name("urn:inner", "in"), XML.Name("urn:outer", "after"), XML.Name("", "plain"), XML.Name("urn:default", "plain")])
        #expect(children[0].elements.map(\.name) == [XML.Name("urn:inner", "deep"), XML.Name("urn:default", "plain")])
        #expect(children[2].elements.map(\.name) == [XML.Name("", "none")])
    }

    @Test("a prefix declared on a sibling or a child is not in scope afterwards")
    func popped() {
        #expect(code(#"<r><s xmlns:p="urn:p"/><p:t/></r>"#) == "cda.malformed-xml")
        #expect(code(#"<r><s xmlns:p="urn:p"><p:ok/></s><p:t/></r>"#) == "cda.malformed-xml")
        #expect(code(#"<r xmlns:p="urn:p"><s xmlns:p="urn:q"/><p:t/></r>"#) == nil)
    }

    @Test("attributes resolve in their element's scope, after the element's own declarations, whatever nests inside")
    func attributeScope() throws {
        let root = try parse(#"<r xmlns:p="urn:1"><e p:a="x" xmlns:p="urn:2"><c xmlns:p="urn:3" p:b="y"/></e></r>"#)
        let e = root.elements[0]
        #expect(e.attribute("a", namespace: "urn:2") == "x")
        #expect(e.elements[0].attribute("b", namespace: "urn:3") == "y")
    }

    @Test("deep nesting, each level declaring many prefixes, with many leaves in a prefix bound at the root")
    func hostileShapeStillCorrect() throws {
        let declared = (0..<200).map { #" xmlns:p\#($0)="urn:p""# }.joined()
        let doc = #"<r xmlns:q="urn:q">"# + String(repeating: "<n\(declared)>", count: 60) + String(repeating: "<q:x p7:a=\"1\"/>", count: 2_000)
            + String(repeating: "</n>", count: 60) + "</r>"
        var element = try parse(doc)
        for _ in 0..<60 { element = element.elements[0] }
        #expect(element.elements.count == 2_000)
        #expect(element.elements.allSatisfy { $0.name == XML.Name("urn:q", "x") && $0.attribute("a", namespace: "urn:p") == "1" })
    }

    @Test("duplicates are found past the linear-search threshold, by raw name and after namespace expansion")
    func duplicatesManyAttributes() {
        let many = (0..<20).map { #" a\#($0)="""# }.joined()
        #expect(code("<r\(many)/>") == nil)
        #expect(code(#"<r\#(many) a13="again"/>"#) == "cda.malformed-xml")
        #expect(code(#"<r xmlns:p="urn:x" xmlns:q="urn:x"\#(many) p:z="1" q:z="2"/>"#) == "cda.malformed-xml")
        #expect(code(#"<r xmlns:p="urn:x" xmlns:q="urn:y"\#(many) p:z="1" q:z="2" z="3"/>"#) == nil)
        #expect(code(#"<r xmlns:p="urn:x" xmlns:q="urn:x" p:z="1" q:z="2"/>"#) == "cda.malformed-xml")
    }
}

@Suite("XML node limit")
struct XMLNodeLimitTests {
    @Test("elements and character data runs count against maxNodes; past it is cda.too-large")
    func nodeLimit() {
        let limits = XML.Limits(maxNodes: 7)
        // r, a, "x", b, CDATA, c, "y": seven nodes (comments and processing instructions are not nodes).
        #expect(code("<r><a>x</a><b><![CDATA[z]]></b><!-- c --><?p i?><c/>y</r>", limits: limits) == nil)
        #expect(code("<r><a>x</a><b><![CDATA[z]]></b><c/>y<d/></r>", limits: limits) == "cda.too-large")
        #expect(code("<r>" + String(repeating: "<a/>", count: 10) + "</r>", limits: limits) == "cda.too-large")
        #expect(XML.Limits().maxNodes == 1_000_000)
    }
}
