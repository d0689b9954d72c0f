import FoundationEssentials
import IPCPlatform
import IPCModel

/// What each column a results or trials file may have holds, by name: the model's own column lists.
package let columnKinds: [String: ColumnKind] = {
    var kinds: [String: ColumnKind] = [:]
    for column in caseFileColumns() + trialFileColumns() { kinds[column.name] = column.kind }
    return kinds
}()

/// The records of a CSV file, read in chunks and handed over one at a time, so that a file is never
/// in memory whole: quotes, doubled quotes and line breaks in quotes as `parseCSV` reads them.
package struct CSVRecordReader {
    private let fd: Int32
    private let path: String
    private var chunk = [UInt8](repeating: 0, count: 1 << 20)
    private var position = 0, filled = 0
    private var field: [UInt8] = []
    private var record: [String] = []
    private var total = 0
    private var inQuotes = false
    /// In quotes, a quote was read: the next byte says whether it was doubled or closed the quotes.
    private var quoteRead = false

    package init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// The next record; nil at the end of the file. An empty line is a record of one empty field.
    package mutating func next() throws -> [String]? {
        while true {
            if position == filled {
                let n = chunk.withUnsafeMutableBytes { readOnce(fd, $0.baseAddress!, $0.count) }
                if n < 0 { throw InputError("\(path): cannot read the file: \(errorText(Int32(-n)))") }
                position = 0
                filled = n
                total += n
                if total > compareFileLimit { throw tooBig(path) }  // it grew while being read
                if n == 0 {
                    guard !field.isEmpty || !record.isEmpty else { return nil }
                    endField()
                    defer { record = [] }
                    return record
                }
            }
            let done: Bool = chunk.withUnsafeBufferPointer { bytes in
                while position < filled {
                    let c = bytes[position]
                    position += 1
                    if inQuotes {
                        if quoteRead {
                            quoteRead = false
                            if c == 0x22 { field.append(c); continue }
                            inQuotes = false  // the quote closed them: c is outside quotes
                        } else {
                            if c == 0x22 { quoteRead = true } else { field.append(c) }
                            continue
                        }
                    }
                    switch c {
                    case 0x22: inQuotes = true
                    case 0x2C: endField()
                    case 0x0D: break
                    case 0x0A: endField(); return true
                    default: field.append(c)
                    }
                }
                return false
            }
            if done {
                defer { record = [] }
                return record
            }
        }
    }

    private mutating func endField() {
        record.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
    }
}

/// The one reader of results: a CSV pair (`<stem>.csv` and `<stem>-trials.csv` beside it) or the
/// JSON form, validated row by row and handed over as the record's rows. compare, pivot, check,
/// kernels and convert read results only through it.
public enum ResultsReader {
    /// What a file held: its format version and whether it had trials.
    public struct Shape: Sendable, Equatable {
        public var version: Int
        public var hasTrials: Bool
    }

    /// True for a path the JSON form is read from (by its name: `.json`).
    public static func isJSON(_ path: String) -> Bool { path.hasSuffix(".json") }

    /// Streams `path` into `onCase` and `onTrial` (each row with its number), after checking each
    /// row. Throws `InputError` (one line naming the file, the row and the column) for anything
    /// ipcbench does not write.
    public static func read(_ path: String, onCase: (RowValues, [ResultColumn]) throws -> Void,
                            onTrial: (RowValues, [ResultColumn]) throws -> Void) throws -> Shape {
        isJSON(path) ? try readJSON(path, onCase: onCase, onTrial: onTrial) : try readCSV(path, onCase: onCase, onTrial: onTrial)
    }

    /// The whole record of `path`.
    public static func record(_ path: String) throws -> ResultsRecord {
        var cases: [RowValues] = [], trials: [RowValues] = []
        let shape = try read(path, onCase: { row, _ in cases.append(row) }, onTrial: { row, _ in trials.append(row) })
        return ResultsRecord(version: shape.version, cases: cases, trials: shape.hasTrials ? trials : nil)
    }

    /// The trials file beside a `<stem>.csv`.
    public static func trialsPath(_ path: String) -> String {
        (path.hasSuffix(".csv") ? String(path.dropLast(4)) : path) + "-trials.csv"
    }

    private static func readCSV(_ path: String, onCase: (RowValues, [ResultColumn]) throws -> Void,
                                onTrial: (RowValues, [ResultColumn]) throws -> Void) throws -> Shape {
        var runs = Set<String>()
        var version = 1
        var caseColumns: [ResultColumn] = [], caseIndices: [Int?] = []
        let header = try ResultFile.readRecords(path, required: ResultFile.required, what: "an ipcbench results file", headerOnly: false) { header, row, _ in
            if caseIndices.isEmpty {
                // The file's version: the newest of the known columns it has.
                version = caseFileColumns().filter { header.contains($0.name) }.map(\.version).max() ?? 1
                caseColumns = caseFileColumns(version: version)
                caseIndices = caseColumns.map { header.firstIndex(of: $0.name) }
            }
            runs.insert(row[header.firstIndex(of: "run_id")!])
            try onCase(RowValues(zip(caseIndices, caseColumns).map { i, c in i.flatMap { Value(cell: row[$0], c.kind) } }), caseColumns)
        }
        guard header != nil else { throw InputError("\(path): cannot read the file (does it exist?)") }
        let trialsPath = trialsPath(path)
        let trialColumns = trialFileColumns(version: version)
        var trialIndices: [Int?] = []
        var runIDColumn = 0
        let trialsHeader = try ResultFile.readRecords(trialsPath, required: ResultFile.requiredTrialColumns, what: "an ipcbench trials file", headerOnly: true) { header, row, number in
            if trialIndices.isEmpty {
                trialIndices = trialColumns.map { header.firstIndex(of: $0.name) }
                runIDColumn = header.firstIndex(of: "run_id")!
            }
            let runID = row[runIDColumn]
            guard runs.contains(runID) else {
                throw InputError("\(trialsPath): row \(number) has run_id \(runID) but \(path) has run_id \(runs.sorted().joined(separator: ", ")); the trials file is from another run: put the run's own trials file beside it, or move it away")
            }
            try onTrial(RowValues(zip(trialIndices, trialColumns).map { i, c in i.flatMap { Value(cell: row[$0], c.kind) } }), trialColumns)
        }
        return Shape(version: version, hasTrials: trialsHeader != nil)
    }

    private static func readJSON(_ path: String, onCase: (RowValues, [ResultColumn]) throws -> Void,
                                 onTrial: (RowValues, [ResultColumn]) throws -> Void) throws -> Shape {
        guard let bytes = try readResultsBytes(path) else { throw InputError("\(path): cannot read the file (does it exist?)") }
        let record: ResultsRecord
        do {
            record = try decodeRecord(bytes)
        } catch let error as RecordFormatError {
            throw InputError("\(path): \(oneLine(error.message)); was the file written by ipcbench?")
        }
        guard !record.cases.isEmpty else { throw InputError("\(path): the file has no cases") }
        let caseColumns = record.caseColumns, trialColumns = record.trialColumns
        let caseRunID = caseColumns.firstIndex { $0.name == "run_id" }!, trialRunID = trialColumns.firstIndex { $0.name == "run_id" }!
        var runs = Set<String>()
        for (number, row) in record.cases.enumerated() {
            try check(path, "case \(number + 1)", row, caseColumns)
            if case .text(let id)? = row.values[caseRunID] { runs.insert(id) }
            try onCase(row, caseColumns)
        }
        for (number, row) in (record.trials ?? []).enumerated() {
            try check(path, "trial \(number + 1)", row, trialColumns)
            if case .text(let id)? = row.values[trialRunID], !runs.contains(id) {
                throw InputError("\(path): trial \(number + 1) has run_id \(id) but the cases have run_id \(runs.sorted().joined(separator: ", ")); was the file written by ipcbench?")
            }
            try onTrial(row, trialColumns)
        }
        return Shape(version: record.version, hasTrials: record.trials != nil)
    }

    /// The checks `readRecords` makes of a CSV row, made of a JSON row's cells.
    private static func check(_ path: String, _ place: String, _ row: RowValues, _ columns: [ResultColumn]) throws {
        for (value, column) in zip(row.values, columns) {
            if value == nil && ["run_id", "transport", "pattern"].contains(column.name) {
                throw InputError("\(path): \(place): \(column.path.joined(separator: ".")) is missing; was the file written by ipcbench?")
            }
            let cell = value?.text ?? ""
            if let problem = ResultFile.cellProblem(column.kind, cell, column: column.name) {
                throw InputError("\(path): \(place), \(column.path.joined(separator: ".")): '\(excerpt(cell))' is not \(problem); was the file written by ipcbench?")
            }
        }
    }

    /// The record of a JSON text; `RecordFormatError` with one line for anything else.
    package static func decodeRecord(_ bytes: [UInt8]) throws -> ResultsRecord {
        do {
            return try JSONDecoder().decode(ResultsRecord.self, from: Data(bytes))
        } catch let error as RecordFormatError {
            throw error
        } catch let error as DecodingError {
            throw RecordFormatError(message: "not the JSON form of ipcbench results: \(describe(error))")
        } catch {
            throw RecordFormatError(message: "not JSON: \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func place(_ path: [CodingKey]) -> String {
            let text = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the top level" : String(text.drop { $0 == "." })
        }
        switch error {
        case .typeMismatch(_, let c): return "\(place(c.codingPath)): \(c.debugDescription)"
        case .valueNotFound(_, let c): return "\(place(c.codingPath)): \(c.debugDescription)"
        case .keyNotFound(let key, let c): return "\(place(c.codingPath + [key])) is missing"
        case .dataCorrupted(let c): return "\(place(c.codingPath)): \(c.debugDescription)\(c.underlyingError.map { " (\($0))" } ?? "")"
        @unknown default: return "\(error)"
        }
    }
}

/// The JSON text of a record: keys sorted, two-space indents, one line per value, a final newline.
public func recordJSON(_ record: ResultsRecord) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(record), as: UTF8.self) + "\n"
}

/// The bytes of a results file (a regular file of at most `compareFileLimit` bytes); nil when it does not exist.
package func readResultsBytes(_ path: String) throws -> [UInt8]? {
    guard let fd = try openResultsFile(path) else { return nil }
    defer { closeDescriptor(fd) }
    do {
        guard let bytes = try readToEnd(fd, path: path, limit: compareFileLimit) else { throw tooBig(path) }
        return bytes
    } catch let error as FileError {
        throw InputError("\(path): cannot read the file: \(errorText(error.code))")
    }
}

extension ResultFile {
    /// Reads a results file (and its trials) the way `load` does, keeping nothing: what `ipcbench
    /// check` does, in memory that does not grow with a CSV pair.
    public static func check(_ path: String) throws {
        _ = try read(path, keeping: .nothing)
    }

    /// Reads a results file and checks its trials the way `load` does, keeping the case rows
    /// only (`trials` is nil): what pivot needs.
    public static func loadCases(_ path: String) throws -> ResultFile {
        try read(path, keeping: .cases)!
    }

    /// What `read` keeps of the rows it validates.
    package enum Keeping { case nothing, cases, everything }

    /// Reads `path` through `ResultsReader` (a CSV pair or the JSON form). With `.nothing` the
    /// result is nil.
    package static func read(_ path: String, keeping: Keeping) throws -> ResultFile? {
        var cases: [[String: String]] = []
        var header: [String] = []
        var interned = Set<String>()
        var trials: [CaseKey: [TrialRow]] = [:]
        // The columns a TrialRow reads: each row becomes a small dictionary of these only.
        let wanted = Set(requiredTrialColumns + ["round", "start_ns", "duration_ns"] + CaseParameter.allCases.map(\.rawValue)
                       + Metric.all.map(\.trialColumn))
        let shape = try ResultsReader.read(path, onCase: { row, columns in
            guard keeping != .nothing else { return }
            if header.isEmpty { header = columns.map(\.name) }
            var cells: [String: String] = [:]
            for (value, column) in zip(row.values, columns) { cells[column.name] = intern(value?.text ?? "", &interned) }
            cases.append(cells)
        }, onTrial: { row, columns in
            guard keeping == .everything else { return }
            var cells: [String: String] = [:]
            for (value, column) in zip(row.values, columns) where wanted.contains(column.name) {
                cells[column.name] = intern(value?.text ?? "", &interned)
            }
            let trial = TrialRow(cells)
            trials[trial.key, default: []].append(trial)
        })
        guard keeping != .nothing else { return nil }
        return ResultFile(path: path, header: header, cases: cases, rows: cases.map(CaseRow.init),
                          trials: !shape.hasTrials || keeping == .cases ? nil : trials)
    }

    /// One copy of each longer text (run ids, options, names): rows share it instead of holding their own.
    private static func intern(_ text: String, _ seen: inout Set<String>) -> String {
        guard text.utf8.count > 15 else { return text }  // shorter ones live inside the String itself
        return seen.insert(text).memberAfterInsert
    }

    /// The one validation of a results or trials file, used by compare, pivot and `ipcbench check`:
    /// a header with the `required` columns once each, rows of the header's width, in every known
    /// numeric column a plain number in range, in the name columns a name ipcbench writes, and no
    /// control character in any text. Each row goes to `body` with its line number as it is read;
    /// returns the header, or nil when the file does not exist. `headerOnly`: a file with a header
    /// and no rows is accepted (a trials file of a run stopped before its first measured trial).
    package static func readRecords(_ path: String, required: [String], what: String, headerOnly: Bool,
                            _ body: ([String], [String], Int) throws -> Void) throws -> [String]? {
        guard let fd = try openResultsFile(path) else { return nil }
        defer { closeDescriptor(fd) }
        var reader = CSVRecordReader(fd: fd, path: path)
        func nextRow() throws -> [String]? {
            while let row = try reader.next() {
                if !(row.count == 1 && row[0].isEmpty) { return row }
            }
            return nil
        }
        guard let header = try nextRow() else { throw InputError("\(path): the file is empty; expected \(what) with a header row") }
        guard header.contains("run_id") && header.contains("transport") else {
            throw InputError("\(path): not \(what) (the header has no run_id and transport columns)")
        }
        if let missing = required.first(where: { !header.contains($0) }) {
            throw InputError("\(path): the column \(missing) is missing; was the file written by ipcbench?")
        }
        var seen = Set<String>()
        if let twice = header.first(where: { !seen.insert($0).inserted }) {
            throw InputError("\(path): the column \(excerpt(twice)) appears twice in the header; was the file written by ipcbench?")
        }
        if let (index, name) = header.enumerated().first(where: { hasControlCharacter($0.element) }) {
            throw InputError("\(path): row 1, column \(index + 1): '\(excerpt(name))' has a control character; was the file written by ipcbench?")
        }
        let kinds = header.map { columnKinds[$0] ?? .text(names: nil) }
        var number = 1
        while let row = try nextRow() {
            number += 1
            guard row.count == header.count else {
                throw InputError("\(path): row \(number) has \(row.count) cells but the header has \(header.count)")
            }
            for i in row.indices {
                if let problem = cellProblem(kinds[i], row[i], column: header[i]) {
                    throw InputError("\(path): row \(number), column \(header[i]): '\(excerpt(row[i]))' is not \(problem); was the file written by ipcbench?")
                }
            }
            try body(header, row, number)
        }
        guard number > 1 || headerOnly else { throw InputError("\(path): the file has a header but no rows") }
        return header
    }

    /// What a cell should have been, or nil when it is.
    package static func cellProblem(_ kind: ColumnKind, _ cell: String, column: String) -> String? {
        switch kind {
        case .whole(let least):
            if cell.isEmpty && least == 0 { return nil }
            let whole = !cell.isEmpty && cell.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) ? Int(cell) : nil
            return whole.map { $0 >= least } == true ? nil : "a whole number from \(least) to \(Int.max)"
        case .decimal:
            if cell.isEmpty { return nil }
            let bound = "a plain decimal number (no exponent) between -\(Int(largestFigure)) and \(Int(largestFigure))"
            return isPlainDecimal(cell) && abs(Double(cell) ?? .infinity) <= largestFigure ? nil : bound
        case .text(let names):
            if hasControlCharacter(cell) { return "text without control characters" }
            if let names, !names.contains(cell) { return "a \(column) ipcbench writes (\(names.sorted().joined(separator: ", ")))" }
            return nil
        case .flag:
            return cell.isEmpty || cell == "true" || cell == "false" ? nil : "true, false or empty"
        }
    }
}

/// A results or trials file opened for reading: a regular file of at most `compareFileLimit` bytes,
/// or nil when it does not exist (as `readRegularFile` checks one).
package func openResultsFile(_ path: String) throws -> Int32? {
    try openRegularFile(path, limit: compareFileLimit, what: "a results file (.csv)")
}
