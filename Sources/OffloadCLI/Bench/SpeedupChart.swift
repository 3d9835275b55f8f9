import Foundation

/// A speed-up-versus-workers chart as hand-written SVG: one polyline per lane, the ideal line (speed-up =
/// min(workers, cores)), axes with ticks, and a legend. No charting library is available to the package, and SVG is
/// simple enough to write directly.
struct SpeedupChart {
    let report: BenchReport

    private let width = 760.0
    private let height = 460.0
    private let left = 60.0
    private let right = 210.0
    private let top = 40.0
    private let bottom = 50.0
    /// Ten well-separated colours (Tableau 10), used as they are when the chart has at most ten lanes.
    private static let tableau = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    ]

    /// `count` distinct colours, one per lane: Tableau 10 up to ten lanes, beyond that hues spaced evenly around the
    /// colour wheel, alternately darker and lighter so that neighbours stay apart.
    static func palette(count: Int) -> [String] {
        if count <= tableau.count { return Array(tableau.prefix(count)) }
        return (0..<count).map { index in
            hexColour(hue: Double(index) / Double(count), saturation: 0.70, lightness: index % 2 == 0 ? 0.42 : 0.60)
        }
    }

    /// `#rrggbb` of an HSL colour (hue in turns, 0..<1).
    static func hexColour(hue: Double, saturation: Double, lightness: Double) -> String {
        let chroma = (1 - abs(2 * lightness - 1)) * saturation
        let sector = hue * 6
        let second = chroma * (1 - abs(sector.truncatingRemainder(dividingBy: 2) - 1))
        let (red, green, blue): (Double, Double, Double)
        switch Int(sector) {
        case 0: (red, green, blue) = (chroma, second, 0)
        case 1: (red, green, blue) = (second, chroma, 0)
        case 2: (red, green, blue) = (0, chroma, second)
        case 3: (red, green, blue) = (0, second, chroma)
        case 4: (red, green, blue) = (second, 0, chroma)
        default: (red, green, blue) = (chroma, 0, second)
        }
        let offset = lightness - chroma / 2
        let digits = Array("0123456789abcdef")
        return "#" + [red, green, blue].map { component in
            let byte = max(0, min(255, Int(((component + offset) * 255).rounded())))
            return String([digits[byte / 16], digits[byte % 16]])
        }.joined()
    }

    /// The lanes in report order, each with its (workers, speed-up) points.
    var series: [(lane: String, points: [(workers: Int, speedup: Double)])] {
        var order: [String] = []
        var points: [String: [(Int, Double)]] = [:]
        for lane in report.lanes {
            if points[lane.lane] == nil { order.append(lane.lane) }
            points[lane.lane, default: []].append((lane.workers, lane.speedup))
        }
        return order.map { ($0, points[$0]!.sorted { $0.0 < $1.0 }) }
    }

    /// The SVG document.
    func render() -> String {
        let maxWorkers = max(2, report.lanes.map(\.workers).max() ?? 1, report.workers.max() ?? 1)
        let maxSpeedup = max(Double(min(maxWorkers, report.cores)), report.lanes.map(\.speedup).max() ?? 1) * 1.1
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        // log2 scale on x: 1, 2, 4, 8 are evenly spaced.
        let maxLog = log2(Double(maxWorkers))
        func x(_ workers: Int) -> Double { left + log2(Double(workers)) / maxLog * plotWidth }
        func y(_ speedup: Double) -> Double { top + plotHeight - speedup / maxSpeedup * plotHeight }
        func number(_ value: Double) -> String { Format.fixed(value, 1) }

        var svg: [String] = []
        svg.append(#"<?xml version="1.0" encoding="UTF-8"?>"#)
        svg.append(
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" "#
                + #"viewBox="0 0 \#(Int(width)) \#(Int(height))" font-family="sans-serif" font-size="12">"#
        )
        svg.append(#"<rect width="100%" height="100%" fill="white"/>"#)
        svg.append(
            #"<text x="\#(number(left))" y="22" font-size="15">offload bench \#(escape(report.workload)): "#
                + #"speed-up vs workers (\#(report.cores) cores)</text>"#
        )
        // Axes.
        svg.append(#"<g class="axes" stroke="black">"#)
        svg.append(#"<line x1="\#(number(left))" y1="\#(number(top + plotHeight))" x2="\#(number(left + plotWidth))" y2="\#(number(top + plotHeight))"/>"#)
        svg.append(#"<line x1="\#(number(left))" y1="\#(number(top))" x2="\#(number(left))" y2="\#(number(top + plotHeight))"/>"#)
        svg.append("</g>")
        var workers = 1
        while workers <= maxWorkers {
            let tx = number(x(workers))
            svg.append(#"<line x1="\#(tx)" y1="\#(number(top + plotHeight))" x2="\#(tx)" y2="\#(number(top + plotHeight + 5))" stroke="black"/>"#)
            svg.append(#"<text x="\#(tx)" y="\#(number(top + plotHeight + 18))" text-anchor="middle">\#(workers)</text>"#)
            workers *= 2
        }
        svg.append(#"<text x="\#(number(left + plotWidth / 2))" y="\#(number(height - 10))" text-anchor="middle">workers</text>"#)
        let step = maxSpeedup > 6 ? 2.0 : (maxSpeedup > 3 ? 1.0 : 0.5)
        var tick = 0.0
        while tick <= maxSpeedup {
            let ty = number(y(tick))
            svg.append(#"<line x1="\#(number(left - 5))" y1="\#(ty)" x2="\#(number(left + plotWidth))" y2="\#(ty)" stroke="lightgray"/>"#)
            svg.append(#"<text x="\#(number(left - 8))" y="\#(ty)" text-anchor="end" dominant-baseline="middle">\#(Format.fixed(tick, 1))×</text>"#)
            tick += step
        }
        svg.append(
            #"<text transform="translate(16 \#(number(top + plotHeight / 2))) rotate(-90)" text-anchor="middle">"#
                + "speed-up vs sequential</text>"
        )
        // Ideal line: speed-up = min(workers, cores).
        var idealPoints: [String] = []
        workers = 1
        while workers <= maxWorkers {
            idealPoints.append("\(number(x(workers))),\(number(y(Double(min(workers, report.cores)))))")
            workers *= 2
        }
        svg.append(
            #"<polyline class="ideal" points="\#(idealPoints.joined(separator: " "))" fill="none" "#
                + #"stroke="black" stroke-dasharray="6 4" stroke-width="1.5"/>"#
        )
        // One polyline per lane, with a marker per point, each lane in a colour of its own.
        let series = self.series
        let palette = Self.palette(count: series.count)
        for (index, entry) in series.enumerated() {
            let color = palette[index]
            let points = entry.points.map { "\(number(x($0.workers))),\(number(y($0.speedup)))" }
            svg.append(
                #"<polyline class="lane" data-lane="\#(escape(entry.lane))" points="\#(points.joined(separator: " "))" "#
                    + #"fill="none" stroke="\#(color)" stroke-width="2"/>"#
            )
            for point in entry.points {
                svg.append(#"<circle data-lane="\#(escape(entry.lane))" cx="\#(number(x(point.workers)))" cy="\#(number(y(point.speedup)))" r="3" fill="\#(color)"/>"#)
            }
        }
        // Legend.
        let legendX = left + plotWidth + 20
        svg.append(#"<g class="legend">"#)
        svg.append(#"<line x1="\#(number(legendX))" y1="\#(number(top))" x2="\#(number(legendX + 24))" y2="\#(number(top))" stroke="black" stroke-dasharray="6 4"/>"#)
        svg.append(#"<text x="\#(number(legendX + 30))" y="\#(number(top))" dominant-baseline="middle">ideal</text>"#)
        // 20 px per entry, closer together when there are more lanes than fit beside the plot.
        let rowHeight = min(20, (height - top - 10) / Double(series.count + 1))
        for (index, entry) in series.enumerated() {
            let ly = number(top + Double(index + 1) * rowHeight)
            let color = palette[index]
            svg.append(
                #"<rect class="legend-swatch" data-lane="\#(escape(entry.lane))" x="\#(number(legendX))" "#
                    + #"y="\#(number(top + Double(index + 1) * rowHeight - 2))" width="24" height="4" fill="\#(color)"/>"#)
            svg.append(#"<text x="\#(number(legendX + 30))" y="\#(ly)" dominant-baseline="middle">\#(escape(entry.lane))</text>"#)
        }
        svg.append("</g>")
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    /// Writes the chart.
    /// - Throws: ``CLIError`` when the file cannot be written.
    func write(to path: String) throws {
        do {
            try render().write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CLIError("cannot write the chart to \(path): \(error.localizedDescription)")
        }
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
