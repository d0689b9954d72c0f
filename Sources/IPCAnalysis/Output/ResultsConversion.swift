import IPCPlatform
import IPCModel

/// `ipcbench convert`: a results file (a CSV pair or the JSON form) into the other form, never
/// losing anything: what cannot be written back exactly is refused before any file is made.
public enum ResultsConversion {
    /// Where the output goes: the CSV pair, a JSON file, or the JSON on standard output.
    public enum Target: Equatable {
        case csv(cases: String, trials: String)
        case json(String)
        case standardOutput
    }

    /// The target of `-o OTHER`.
    public static func target(_ output: String) throws -> Target {
        if output == "-" { return .standardOutput }
        if output.hasSuffix(".json") { return .json(output) }
        if output.hasSuffix(".csv") { return .csv(cases: output, trials: ResultsReader.trialsPath(output)) }
        throw InputError("-o \(output): expected a .csv file (the pair <stem>.csv and <stem>-trials.csv), a .json file, - for the JSON on standard output, or a run's figures as .ktap, .bmf, .lava or .md")
    }

    /// The record of `input`; throws `InputError`. `lossless`: also checked to survive both forms
    /// unchanged (what a file written by `convert` must; the JSON on standard output, which programs
    /// read, holds the values exactly without it).
    public static func read(_ input: String, lossless: Bool) throws -> ResultsRecord {
        let record = try ResultsReader.record(input)
        guard lossless else { return record }
        if let problem = roundTripProblem(record) { throw InputError("\(input): \(problem); cannot convert it losslessly") }
        if try ResultsReader.decodeRecord(Array(recordJSON(record).utf8)) != record {
            throw InputError("\(input): a column writes its figures with different counts of decimals from row to row (a hand-edited file?); cannot convert it losslessly")
        }
        if !ResultsReader.isJSON(input) {
            // The CSV the record writes must be the file's own bytes.
            try sameBytes(input, record.casesCSV)
            if let trials = record.trialsCSV { try sameBytes(ResultsReader.trialsPath(input), trials) }
        }
        return record
    }

    /// Writes `record` to `target`, both files or neither for the CSV pair. Existing files are
    /// refused (`InputError`); a write that fails throws `ResultsWriteError` and leaves nothing.
    public static func write(_ record: ResultsRecord, to target: Target) throws {
        switch target {
        case .standardOutput:
            try WholeFile(standardOutput: ()).write(try recordJSON(record))
        case .json(let path):
            let text = try recordJSON(record)
            let file = try WholeFile(creating: path)
            do { try file.write(text) } catch { file.discard(); throw error }
        case .csv(let casesPath, let trialsPath):
            for path in [casesPath, trialsPath] where fileStatus(path, followingLinks: false) != nil {
                throw InputError("\(path) already exists; ipcbench never overwrites results: choose another -o")
            }
            let cases = try CSVFile(creating: casesPath, header: record.caseColumns.map(\.name))
            var trials: CSVFile? = nil
            do {
                let columns = record.caseColumns
                for row in record.cases { try cases.write(row.cells(columns)) }
                if let rows = record.trials {
                    trials = try CSVFile(creating: trialsPath, header: record.trialColumns.map(\.name))
                    let columns = record.trialColumns
                    for row in rows { try trials!.write(row.cells(columns)) }
                }
            } catch {
                cases.discard()
                trials?.discard()
                throw error
            }
        }
    }

    /// Why the record would not come back the same from its CSV text (a figure with more decimals
    /// than its column writes, say); nil when it would.
    package static func roundTripProblem(_ record: ResultsRecord) -> String? {
        func check(_ rows: [RowValues], _ columns: [ResultColumn], _ what: String) -> String? {
            for (number, row) in rows.enumerated() {
                for (value, column) in zip(row.values, columns) {
                    guard let value, value != Value(cell: value.text, column.kind) else { continue }
                    return "\(what) \(number + 1), \(column.name): the value does not survive the CSV form, which writes it as '\(value.text)'"
                }
            }
            return nil
        }
        return check(record.cases, record.caseColumns, "case") ?? check(record.trials ?? [], record.trialColumns, "trial")
    }

    /// Throws unless the file at `path` holds `text`, naming the first row that differs.
    private static func sameBytes(_ path: String, _ text: String) throws {
        guard let bytes = try readResultsBytes(path) else { throw InputError("\(path): cannot read the file (does it exist?)") }
        let written = Array(text.utf8)
        guard bytes != written else { return }
        let at = zip(bytes, written).prefix { $0 == $1 }.count
        let row = bytes[..<at].filter { $0 == 0x0A }.count + 1
        throw InputError("\(path): row \(row) is not written the way ipcbench writes it (its cells, quotes or line ends differ from what the record gives back); cannot convert it losslessly")
    }
}
