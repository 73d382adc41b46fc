import struct Foundation.Date

/// A direct JSON writer for audit messages: sorted keys, times as integer milliseconds since 1970, strings escaped
/// per RFC 8259. Foundation's JSONEncoder costs tens of microseconds per event, which was most of the append time;
/// `JSONDecoder` (with `.millisecondsSince1970`) reads what this writes.
enum AuditJSON {
    static func encode(_ m: AuditMessage) -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(512)
        o += Array("{\"action\":".utf8); string(m.action.rawValue, &o)
        o += Array(",\"emergency\":".utf8); o += Array((m.emergency ? "true" : "false").utf8)
        o += Array(",\"errorCode\":".utf8); string(m.errorCode, &o)
        o += Array(",\"eventID\":".utf8); code(m.eventID, &o)
        o += Array(",\"eventTypes\":[".utf8)
        for (i, t) in m.eventTypes.enumerated() {
            if i > 0 { o.append(44) }
            code(t, &o)
        }
        o += Array("],\"objects\":[".utf8)
        for (i, x) in m.objects.enumerated() {
            if i > 0 { o.append(44) }
            o += Array("{\"id\":".utf8); string(x.id, &o)
            o += Array(",\"idType\":".utf8); code(x.idType, &o)
            o += Array(",\"role\":\(x.role),\"typeCode\":\(x.typeCode)}".utf8)
        }
        o += Array("],\"outcome\":\(m.outcome.rawValue),\"participants\":[".utf8)
        for (i, p) in m.participants.enumerated() {
            if i > 0 { o.append(44) }
            o += Array("{\"isRequestor\":\(p.isRequestor ? "true" : "false"),\"networkAccessPoint\":".utf8); string(p.networkAccessPoint, &o)
            o += Array(",\"roles\":[".utf8)
            for (j, r) in p.roles.enumerated() {
                if j > 0 { o.append(44) }
                code(r, &o)
            }
            o += Array("],\"userID\":".utf8); string(p.userID, &o)
            o.append(125)
        }
        o += Array("],\"purposeOfUse\":".utf8); string(m.purposeOfUse, &o)
        o += Array(",\"sourceID\":".utf8); string(m.sourceID, &o)
        let ms = Int64((m.time.timeIntervalSince1970 * 1000).rounded())
        o += Array(",\"time\":\(ms)}".utf8)
        return o
    }

    static func code(_ c: AuditCode, _ o: inout [UInt8]) {
        o += Array("{\"code\":".utf8); string(c.code, &o)
        o += Array(",\"display\":".utf8); string(c.display, &o)
        o += Array(",\"system\":".utf8); string(c.system, &o)
        o.append(125)
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func string(_ s: String, _ o: inout [UInt8]) {
        o.append(34)
        for b in s.utf8 {
            switch b {
            case 34: o += [92, 34]
            case 92: o += [92, 92]
            case 0..<0x20: o += [92, 117, 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: o.append(b)
            }
        }
        o.append(34)
    }
}
