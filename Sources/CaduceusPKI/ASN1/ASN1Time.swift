public import SwiftASN1
public import struct Foundation.Date
import Foundation

/// RFC 5280 §4.1.2.5 Time: UTCTime through 2049, GeneralizedTime from 2050; both accepted on input.
package enum ASN1Time {
    package static func serialize(_ date: Date, into coder: inout DER.Serializer) throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        if c.year! >= 1950 && c.year! < 2050 {
            try coder.serialize(
                UTCTime(year: c.year!, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!,
                        seconds: c.second!))
        } else {
            try coder.serialize(
                GeneralizedTime(year: c.year!, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!,
                                seconds: c.second!, fractionalSeconds: 0))
        }
    }

    package static func parse(_ node: ASN1Node) throws -> Date {
        var c = DateComponents()
        c.timeZone = TimeZone(identifier: "UTC")
        switch node.identifier {
        case .utcTime:
            let t = try UTCTime(derEncoded: node)
            (c.year, c.month, c.day, c.hour, c.minute, c.second) = (t.year, t.month, t.day, t.hours, t.minutes, t.seconds)
        case .generalizedTime:
            let t = try GeneralizedTime(derEncoded: node)
            (c.year, c.month, c.day, c.hour, c.minute, c.second) = (t.year, t.month, t.day, t.hours, t.minutes, t.seconds)
        default:
            throw ASN1Error.unexpectedFieldType(node.identifier)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: c) else { throw ASN1Error.invalidASN1Object(reason: "bad time") }
        return date
    }
}
