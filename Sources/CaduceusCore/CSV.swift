/// RFC 4180 comma-separated values, as HR systems export them: fields optionally in double quotes (a quote doubled
/// inside), CRLF or LF line ends, a UTF-8 byte-order mark skipped, blank lines ignored. Bounded: at most
/// `maxRows` rows, `maxFields` fields a row and `maxFieldBytes` bytes a field; anything else is refused with
/// `csv.malformed` naming the row (never its content).
public enum CSV {
    /// A refusal.
    public struct Error: CodedError {
        /// Codes of CSV parsing.
        public struct Code: ErrorCode {
            public let rawValue: String
            init(_ rawValue: String) { self.rawValue = rawValue }
            /// The text is not RFC 4180 CSV, or exceeds a bound.
            public static let malformed = Code("csv.malformed")
        }
        public let kind: Code
        public let message: String
        init(_ message: String) {
            kind = .malformed
            self.message = message
        }
    }

    /// Parses `bytes` into rows of fields (UTF-8; invalid UTF-8 is refused).
    public static func parse(_ bytes: some Collection<UInt8>, maxRows: Int = 100_000, maxFields: Int = 64, maxFieldBytes: Int = 4096) throws(CSV.Error) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var quoted = false, afterQuote = false, fieldStarted = false
        var line = 1
        var iterator = bytes.makeIterator()
        var pending: UInt8? = nil
        var first = true

        func endField() throws(CSV.Error) {
            guard let text = String(validating: field, as: UTF8.self) else { throw Error("row \(line): a field is not valid UTF-8") }
            row.append(text)
            guard row.count <= maxFields else { throw Error("row \(line): more than \(maxFields) fields") }
            field.removeAll(keepingCapacity: true)
            quoted = false
            afterQuote = false
            fieldStarted = false
        }
        func endRow() throws(CSV.Error) {
            try endField()
            // A blank line is one empty field: skipped.
            if !(row.count == 1 && row[0].isEmpty) {
                rows.append(row)
                guard rows.count <= maxRows else { throw Error("more than \(maxRows) rows") }
            }
            row.removeAll(keepingCapacity: true)
            line += 1
        }

        while let byte = pending ?? iterator.next() {
            pending = nil
            if first {
                first = false
                // A UTF-8 byte-order mark (spreadsheets write one).
                if byte == 0xEF {
                    let b2 = iterator.next(), b3 = iterator.next()
                    if b2 == 0xBB, b3 == 0xBF { continue }
                    field.append(byte)
                    fieldStarted = true
                    if let b2 { field.append(b2) }
                    if let b3 { field.append(b3) }
                    continue
                }
            }
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    let next = iterator.next()
                    if next == UInt8(ascii: "\"") {
                        field.append(byte)
                    } else {
                        quoted = false
                        afterQuote = true
                        pending = next
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: ","):
                    try endField()
                case UInt8(ascii: "\n"):
                    try endRow()
                case UInt8(ascii: "\r"):
                    let next = iterator.next()
                    guard next == UInt8(ascii: "\n") || next == nil else { throw Error("row \(line): a bare carriage return") }
                    try endRow()
                case UInt8(ascii: "\""):
                    guard !fieldStarted, !afterQuote else { throw Error("row \(line): a quote inside an unquoted field") }
                    quoted = true
                    fieldStarted = true
                default:
                    guard !afterQuote else { throw Error("row \(line): text after a closing quote") }
                    field.append(byte)
                    fieldStarted = true
                }
            }
            guard field.count <= maxFieldBytes else { throw Error("row \(line): a field longer than \(maxFieldBytes) bytes") }
        }
        guard !quoted else { throw Error("row \(line): a quoted field is not closed") }
        if fieldStarted || afterQuote || !row.isEmpty { try endRow() }
        return rows
    }

    /// A field as `encode` writes it: one starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet
    /// opening the file shows it as text instead of running it as a formula (CSV injection).
    public static func guarded(_ field: String) -> String {
        if let c = field.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(c) { return "'" + field }
        return field
    }

    /// Encodes rows as RFC 4180 CSV: CRLF line ends, every field ``guarded(_:)``, quoted when it holds a comma, a
    /// quote, CR or LF.
    public static func encode(_ rows: [[String]]) -> String {
        rows.map { row in
            row.map { field -> String in
                let f = guarded(field)
                // By byte: "\r\n" is one Character in Swift, so a Character test would miss a lone CR or LF.
                guard f.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 13 || $0 == 10 }) else { return f }
                return "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }.joined(separator: ",")
        }.map { $0 + "\r\n" }.joined()
    }
}
