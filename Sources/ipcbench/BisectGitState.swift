import ArgumentParser
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// What `bisect --good --bad` hands each `git bisect run` step, in its folder: the bisect's options
/// (`git-bisect.txt`, a `name=value` a line), the case chosen at the first measured step
/// (`case.txt`), the steps so far (`steps.tsv`, for the table at the end) and a failed step's status.
struct GitBisectState {
    static let file = "git-bisect.txt", caseFile = "case.txt", stepsFile = "steps.tsv", failedFile = "step-failed"

    var tree: String
    var build: String
    var image: String
    var goodImage: String
    var append: String
    var threshold: Double
    var boots: Int
    var maxBoots: Int
    var metric: String?
    var keys: [String]
    /// The options of each step's `ipcbench kernels`.
    var arguments: [String]

    func write(_ folder: String) throws {
        var lines = [("tree", tree), ("build", build), ("image", image), ("good_image", goodImage), ("append", append),
                     ("threshold", String(threshold)), ("boots", String(boots)), ("max_boots", String(maxBoots))]
        if let metric { lines.append(("metric", metric)) }
        lines += keys.map { ("key", $0) } + arguments.map { ("argument", $0) }
        for (name, value) in lines where value.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw InputError("\(name) \(value.debugDescription): give one line")
        }
        let text = lines.map { "\($0)=\($1)\n" }.joined()
        let path = folder + "/" + Self.file
        removeFile(path)
        appendToFile(path, text)
        guard readText(path) == text else { throw ExitCode(3) }
    }

    static func read(_ folder: String) throws -> GitBisectState {
        guard let text = readText(folder + "/" + file) else { throw InputError("\(folder)/\(file): cannot read the bisect's options") }
        var values: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        func one(_ name: String) throws -> String {
            guard let value = values[name]?.first else { throw InputError("\(folder)/\(file): no \(name)") }
            return value
        }
        return GitBisectState(tree: try one("tree"), build: try one("build"), image: try one("image"), goodImage: try one("good_image"),
                              append: try one("append"), threshold: Double(try one("threshold")) ?? 5, boots: Int(try one("boots")) ?? 2,
                              maxBoots: Int(try one("max_boots")) ?? 6, metric: values["metric"]?.first, keys: values["key"] ?? [],
                              arguments: values["argument"] ?? [])
    }

    static func writeCase(_ folder: String, _ chosen: (name: String, metric: String, cells: [String: String])) {
        let path = folder + "/" + caseFile
        removeFile(path)
        appendToFile(path, "\(chosen.name)\n\(chosen.metric)\n" + chosen.cells.sorted { $0.key < $1.key }.map { "\($0)=\($1)\n" }.joined())
    }

    static func readCase(_ folder: String) -> (name: String, metric: String, cells: [String: String])? {
        guard let text = readText(folder + "/" + caseFile) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 2 else { return nil }
        var cells: [String: String] = [:]
        for line in lines.dropFirst(2) {
            guard let equals = line.firstIndex(of: "=") else { continue }
            cells[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return (lines[0], lines[1], cells)
    }

    /// A step's row: commit, boots, change, interval, q, decision.
    static func appendStep(_ folder: String, _ cells: [String]) {
        appendToFile(folder + "/" + stepsFile, cells.joined(separator: "\t") + "\n")
    }

    static func readSteps(_ folder: String) -> [(commit: String, boots: String, percent: String, low: String, high: String, q: String, decision: String)] {
        guard let text = readText(folder + "/" + stepsFile) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return c.count == 7 ? (c[0], c[1], c[2], c[3], c[4], c[5], c[6]) : nil
        }
    }
}
