import IPCPlatform
import IPCModel

/// `compare --format bmf`: Bencher Metric Format, the JSON `bencher run --adapter json` reads:
/// `{"<benchmark>": {"<measure>": {"value": V, "lower_value": L, "upper_value": U}}}`. A benchmark
/// is a case (or `geomean`, `common`); its measures are the metrics' slugs. For a comparison the
/// value is the change in % and the bounds its 95% interval (measure `mib-per-s-change`); for a
/// run's figures the median and the 95% interval of the median (measure `mib-per-s`). A figure
/// without an interval has the value alone; one without a value (a failed case) is left out.
/// docs/bmf.schema.json is the format's schema.
package struct BMFExporter: Exporter, FigureExporter {
    /// Bencher's longest benchmark name.
    package static let longestName = 1024

    package func render(_ comparison: Comparison) -> String {
        render(comparison.figures, header: [])
    }

    package func render(_ figures: [ExportFigure], header: [String]) -> String {
        var benchmarks: [(name: String, measures: [(String, JSON)])] = []
        for figure in figures {
            guard let value = figure.value, value.isFinite else { continue }
            var metric: [(String, JSON)] = [("value", .number(value))]
            if let low = figure.low, let high = figure.high, low.isFinite, high.isFinite {
                metric += [("lower_value", .number(low)), ("upper_value", .number(high))]
            }
            let name = Self.benchmarkName(figure.name)
            let index = benchmarks.firstIndex { $0.name == name } ?? {
                benchmarks.append((name, []))
                return benchmarks.count - 1
            }()
            // One value per benchmark and measure: a second (names cut to the same 1024 characters) is left out.
            if !benchmarks[index].measures.contains(where: { $0.0 == figure.measure }) {
                benchmarks[index].measures.append((figure.measure, .object(metric)))
            }
        }
        return JSON.object(benchmarks.map { ($0.name, .object($0.measures)) }).text() + "\n"
    }

    /// The case's name on one line (control characters escaped), at most `longestName` characters, never empty.
    package static func benchmarkName(_ text: String) -> String {
        let name = String(oneLine(text).prefix(longestName))
        return name.isEmpty ? "case" : name
    }
}
