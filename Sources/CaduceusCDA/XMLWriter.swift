/// Writes well-formed, indented XML: escapes every value, drops characters XML 1.0 cannot carry, closes what it
/// opens. Used for the CCD writer; strict so that what we write validates.
struct XMLWriter {
    private(set) var output = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    private var open: [String] = []

    static func escape(_ s: String, attribute: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            case "\n" where attribute: out += "&#10;"
            case "\t" where attribute: out += "&#9;"
            case "\r": out += "&#13;"
            default:
                let v = scalar.value
                if v == 0x9 || v == 0xA || (v >= 0x20 && v != 0xFFFE && v != 0xFFFF) { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    private func tag(_ name: String, _ attributes: KeyValuePairs<String, String?>) -> String {
        var s = "<" + name
        for (k, v) in attributes {
            guard let v else { continue }
            s += " \(k)=\"\(XMLWriter.escape(v, attribute: true))\""
        }
        return s
    }

    private var indent: String { String(repeating: "  ", count: open.count) }

    mutating func start(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:]) {
        output += indent + tag(name, attributes) + ">\n"
        open.append(name)
    }

    mutating func empty(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:]) {
        output += indent + tag(name, attributes) + "/>\n"
    }

    mutating func element(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:], text: String) {
        output += indent + tag(name, attributes) + ">" + XMLWriter.escape(text, attribute: false) + "</\(name)>\n"
    }

    mutating func end() {
        let name = open.removeLast()
        output += indent + "</\(name)>\n"
    }

    mutating func within(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:], _ body: (inout XMLWriter) -> Void) {
        start(name, attributes)
        body(&self)
        end()
    }
}
