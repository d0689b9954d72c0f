import Glibc
import IPCPlatform
import IPCModel

/// `compare --format lava`: a LAVA test shell's result lines, one per row (a case and metric, a
/// geometric mean, a common shift): `lava-test-case NAME --result pass|fail --measurement V --units U`,
/// to run in a LAVA test definition. The result is fail only where the gate (`--fail-on-regression`)
/// fails the row. For a comparison the measurement is the change in % (units `%`); for a run's
/// figures the median in the metric's unit; a figure without a value has no measurement.
package struct LAVAExporter: Exporter, FigureExporter {
    package func render(_ comparison: Comparison) -> String {
        render(comparison.figures, header: [])
    }

    package func render(_ figures: [ExportFigure], header: [String]) -> String {
        figures.map { figure in
            var line = "lava-test-case \(Self.word(figure.name + " " + figure.measure, keeping: "._-")) --result \(figure.passed ? "pass" : "fail")"
            if let value = figure.value, value.isFinite {
                line += " --measurement \(formatDecimal(value, places: Self.places(value))) --units \(Self.word(figure.units, keeping: "._-/%"))"
            }
            return line + "\n"
        }.joined()
    }

    /// Text as one word LAVA takes: ASCII letters and digits and the characters `keeping`, every other
    /// character (a space, a quote, a `$`, anything a shell or LAVA's result line would split or
    /// read) as `_`. A test case name takes `.`, `_` and `-`; units also `/` and `%`.
    package static func word(_ text: String, keeping: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let letterOrDigit = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
            out.unicodeScalars.append(letterOrDigit || keeping.unicodeScalars.contains(scalar) ? scalar : "_")
        }
        return out.isEmpty ? "_" : out
    }

    /// Decimals for a measurement: LAVA keeps 10 significant digits, so 3 decimals above 1 and more below.
    package static func places(_ value: Double) -> Int {
        let magnitude = abs(value)
        return magnitude >= 1 || magnitude == 0 ? 3 : min(10, 3 + Int((-log10(magnitude)).rounded(.down)))
    }
}
