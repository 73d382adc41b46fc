import CaduceusExchange
import Foundation

/// Events and refusals per day as an inline SVG bar chart, rendered on the server: no script, no inline `style`
/// attribute (the portal's CSP allows only its own stylesheet; the bars take their colours from classes in it), every
/// text escaped. Each day's two bars carry a `<title>` with the counts; the chart is also summarised in `aria-label`.
enum AuditChart {
    static let width = 720, height = 240, left = 40, bottom = 36, top = 16

    static func svg(_ days: [AuditDay]) -> String {
        let maxValue = max(1, days.map(\.events).max() ?? 1)
        let scale = niceCeiling(maxValue)
        let plotHeight = Double(height - bottom - top)
        let step = days.isEmpty ? 0 : Double(width - left - 8) / Double(days.count)
        let barWidth = max(2, step * 0.36)
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_GB")
        day.timeZone = TimeZone(identifier: "UTC")
        day.dateFormat = "dd MMM"
        let total = days.reduce(0) { $0 + $1.events }, refused = days.reduce(0) { $0 + $1.refusals }
        var out = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\""
        out += "Events and refusals per day for the last \(days.count) days: \(total) events, \(refused) refusals\">"
        // Grid lines and their values (0, half, full scale).
        for fraction in [0.0, 0.5, 1.0] {
            let y = Double(top) + plotHeight * (1 - fraction)
            out += "<line class=\"grid\" x1=\"\(left)\" y1=\"\(fmt(y))\" x2=\"\(width - 4)\" y2=\"\(fmt(y))\"/>"
            out += "<text class=\"axis\" x=\"\(left - 6)\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(Int((Double(scale) * fraction).rounded()))</text>"
        }
        for (i, d) in days.enumerated() {
            let x = Double(left) + step * Double(i) + step * 0.12
            let he = plotHeight * Double(d.events) / Double(scale), hr = plotHeight * Double(d.refusals) / Double(scale)
            let base = Double(top) + plotHeight
            let label = CaduceusPortal.escape(day.string(from: d.day))
            out += "<g><title>\(label): \(d.events) event\(d.events == 1 ? "" : "s"), \(d.refusals) refusal\(d.refusals == 1 ? "" : "s")</title>"
            out += "<rect class=\"bar-events\" x=\"\(fmt(x))\" y=\"\(fmt(base - he))\" width=\"\(fmt(barWidth))\" height=\"\(fmt(he))\"/>"
            out += "<rect class=\"bar-refusals\" x=\"\(fmt(x + barWidth))\" y=\"\(fmt(base - hr))\" width=\"\(fmt(barWidth))\" height=\"\(fmt(hr))\"/></g>"
            if i % 2 == (days.count - 1) % 2 {
                out += "<text class=\"axis\" x=\"\(fmt(x + barWidth))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(label)</text>"
            }
        }
        out += "<line class=\"baseline\" x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 4)\" y2=\"\(height - bottom)\"/>"
        out += "</svg>"
        return out
    }

    /// 1, 2 or 5 times a power of ten, at least `value`.
    static func niceCeiling(_ value: Int) -> Int {
        var power = 1
        while true {
            for m in [1, 2, 5] where m * power >= value { return m * power }
            power *= 10
        }
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}
