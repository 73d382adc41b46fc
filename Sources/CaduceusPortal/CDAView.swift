import CaduceusCDA
import Foundation

/// A CDA R2 document as a readable clinical view: its title, patient, author and date, then each section of the
/// structured body with its narrative block (paragraphs, lists, tables). Rendered by allow-list: only the narrative
/// elements of CDA R2 §4.3.5 become HTML, each as a fixed tag with no attribute copied from the document; every text
/// is escaped; anything else — a `<script>` in any namespace, an external image (`renderMultiMedia`,
/// `observationMedia` references), a link (`linkHtml`'s `href`) — renders as inert text or a marked placeholder.
/// The portal's Content-Security-Policy (`default-src 'none'`) is the second wall.
package enum CDAView {
    static let v3 = "urn:hl7-org:v3"

    /// What the document shows.
    package struct Rendered: Sendable {
        /// The document's title.
        package var title: String
        /// Header facts as label/value pairs (escaped when rendered).
        package var facts: [(label: String, value: String)]
        /// The body as safe HTML.
        package var html: String
    }

    /// Renders `bytes` (a CDA document); a document our strict reader refuses renders as a notice, not as its text.
    package static func render(_ bytes: [UInt8]) -> Rendered {
        guard let root = try? XML.parse(bytes, limits: XML.Limits(maxBytes: 16 << 20, maxDepth: 128, maxAttributes: 64, maxNodes: 400_000)),
              root.name.local == "ClinicalDocument", root.name.namespace == v3
        else {
            return Rendered(title: "Unreadable document", facts: [], html: "<p class=\"notice\">This document is not a CDA document this portal can read.</p>")
        }
        let title = root.child("title", namespace: v3)?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? "Clinical document"
        var facts: [(String, String)] = []
        if let patient = root.child("recordTarget", namespace: v3)?.child("patientRole", namespace: v3)?.child("patient", namespace: v3) {
            if let name = patient.child("name", namespace: v3) {
                let given = name.children("given", namespace: v3).map { $0.text.trimmed }.joined(separator: " ")
                let family = name.child("family", namespace: v3)?.text.trimmed ?? ""
                facts.append(("Patient", [given, family].filter { !$0.isEmpty }.joined(separator: " ")))
            }
            if let birth = patient.child("birthTime", namespace: v3)?.attribute("value") { facts.append(("Born", date(birth))) }
        }
        if let effective = root.child("effectiveTime", namespace: v3)?.attribute("value") { facts.append(("Date", date(effective))) }
        if let author = root.child("author", namespace: v3)?.child("assignedAuthor", namespace: v3) {
            if let org = author.child("representedOrganization", namespace: v3)?.child("name", namespace: v3)?.text.trimmed, !org.isEmpty {
                facts.append(("Author organisation", org))
            }
        }
        var html = ""
        let component = root.child("component", namespace: v3)
        if let body = component?.child("structuredBody", namespace: v3) {
            for section in body.children("component", namespace: v3).compactMap({ $0.child("section", namespace: v3) }) {
                html += renderSection(section, level: 2)
            }
        } else if component?.child("nonXMLBody", namespace: v3) != nil {
            html = "<p class=\"notice\">This document's body is not structured text; it is not shown here.</p>"
        }
        if html.isEmpty { html = "<p class=\"notice\">This document has no sections.</p>" }
        return Rendered(title: title, facts: facts, html: html)
    }

    static func renderSection(_ section: XML.Element, level: Int) -> String {
        let heading = min(level, 4)
        var out = "<section class=\"cda-section\">"
        let title = section.child("title", namespace: v3)?.text.trimmed ?? "Section"
        out += "<h\(heading)>\(escape(title))</h\(heading)>"
        if let text = section.child("text", namespace: v3) { out += "<div class=\"narrative\">" + narrative(text.children) + "</div>" }
        for child in section.children("component", namespace: v3).compactMap({ $0.child("section", namespace: v3) }) {
            out += renderSection(child, level: level + 1)
        }
        return out + "</section>"
    }

    /// The narrative block by allow-list (CDA R2 §4.3.5). Elements outside the v3 namespace, and `script`, `style`,
    /// `object` or any unknown element, are dropped with their content.
    static func narrative(_ nodes: [XML.Node], depth: Int = 0) -> String {
        guard depth < 32 else { return "" }
        var out = ""
        for node in nodes {
            switch node {
            case .text(let t):
                out += escape(t)
            case .element(let e):
                guard e.name.namespace == v3 else { continue }
                let inner = { narrative(e.children, depth: depth + 1) }
                switch e.name.local {
                case "paragraph": out += "<p>" + inner() + "</p>"
                case "content": out += styled(e, inner())
                case "br": out += "<br>"
                case "sub": out += "<sub>" + inner() + "</sub>"
                case "sup": out += "<sup>" + inner() + "</sup>"
                case "list": out += (e.attribute("listType") == "ordered" ? "<ol>" + inner() + "</ol>" : "<ul>" + inner() + "</ul>")
                case "item": out += "<li>" + inner() + "</li>"
                case "caption": out += "<caption>" + inner() + "</caption>"
                case "table": out += "<div class=\"table-wrap\"><table>" + inner() + "</table></div>"
                case "thead", "tbody", "tfoot", "tr", "th", "td", "colgroup", "col":
                    out += "<\(e.name.local)>" + inner() + "</\(e.name.local)>"
                case "footnote": out += "<small class=\"footnote\">" + inner() + "</small>"
                case "footnoteRef": break
                case "linkHtml":
                    // The link's text, never its target: no external reference leaves the page.
                    out += "<span class=\"link-text\">" + inner() + "</span>"
                case "renderMultiMedia":
                    out += "<span class=\"omitted\">[image or multimedia not shown]</span>"
                default:
                    continue
                }
            }
        }
        return out
    }

    /// `content` with its `styleCode` (Bold, Italics, Underline, Emphasis) mapped to fixed tags; nothing else kept.
    static func styled(_ e: XML.Element, _ inner: String) -> String {
        let codes = Set((e.attribute("styleCode") ?? "").split(separator: " ").map(String.init))
        var s = inner
        if codes.contains("Bold") { s = "<strong>" + s + "</strong>" }
        if codes.contains("Italics") || codes.contains("Emphasis") { s = "<em>" + s + "</em>" }
        if codes.contains("Underline") { s = "<u>" + s + "</u>" }
        return "<span>" + s + "</span>"
    }

    /// An HL7 timestamp as YYYY-MM-DD (and HH:MM when given).
    static func date(_ ts: String) -> String {
        let d = Array(ts.prefix(12))
        guard d.count >= 8, d.prefix(8).allSatisfy(\.isNumber) else { return ts.trimmed }
        var out = String(d[0..<4]) + "-" + String(d[4..<6]) + "-" + String(d[6..<8])
        if d.count >= 12, d[8..<12].allSatisfy(\.isNumber) { out += " " + String(d[8..<10]) + ":" + String(d[10..<12]) }
        return out
    }
}

/// HTML-escapes text for element content and quoted attribute values.
func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
