import IPCPlatform
import IPCModel

/// `compare --format ktap`: the Kernel Test Anything Protocol, version 1, as kselftest and KUnit
/// print it (docs.kernel.org/dev-tools/ktap.html): a version line, a plan `1..N`, then per row its
/// figures as diagnostic lines (`# ...`) and its result line `ok N name` or `not ok N name`. A row is
/// not ok only when the gate (`--fail-on-regression`) fails it; without a gate every row is ok and
/// its diagnostic says whether the change is significant.
package struct KTAPExporter: Exporter, FigureExporter {
    package func render(_ comparison: Comparison) -> String {
        render(comparison.figures, header: comparison.headerLines)
    }

    package func render(_ figures: [ExportFigure], header: [String]) -> String {
        var out = "KTAP version 1\n1..\(figures.count)\n"
        for line in header { out += Self.diagnostic(line) }
        for (i, figure) in figures.enumerated() {
            for line in figure.diagnostics { out += Self.diagnostic(line) }
            out += "\(figure.passed ? "ok" : "not ok") \(i + 1) \(Self.testName(figure.name + " " + figure.metric.name))\n"
        }
        return out
    }

    /// A diagnostic line: `# ` and the text on one line, its control characters and line separators
    /// escaped (text from the files is data: a line break in it must not start a line KTAP would read
    /// as a result).
    package static func diagnostic(_ text: String) -> String { "# " + oneLine(text) + "\n" }

    /// A test's name as KTAP allows it: no `#` (it starts the directive) and nothing that ends or
    /// bends the line. Each such character, every control character, `\` (TAP14's escape) and any
    /// character outside printable ASCII becomes `_`; runs of spaces become one, and a leading `-`
    /// (which TAP parsers take for the optional separator) is dropped.
    package static func testName(_ text: String) -> String {
        var name = ""
        for scalar in text.unicodeScalars {
            let safe = scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "#" && scalar != "\\"
            let c: Unicode.Scalar = safe ? scalar : "_"
            if c == " " && (name.isEmpty || name.hasSuffix(" ")) { continue }
            name.unicodeScalars.append(c)
        }
        while name.hasPrefix("-") || name.hasPrefix(" ") { name.removeFirst() }
        while name.hasSuffix(" ") { name.removeLast() }
        return name.isEmpty ? "case" : name
    }
}
