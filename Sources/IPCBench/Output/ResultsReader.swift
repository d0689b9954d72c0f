import Glibc

/// The largest results or trials file compare, pivot and the scripts read, in bytes.
public let compareFileLimit = 256 << 20

/// The columns that hold counts: whole numbers, written without a sign or a point (payload_bytes in every row).
let wholeNumberColumns: Set<String> = [
    "cpus_online", "payload_bytes", "messages_per_trial", "bytes_per_trial", "repetitions", "warmup", "seed",
    "depth", "receivers", "pairs", "publishers", "subscribers", "topics", "subscriptions", "msgs_sent", "msgs_received", "msgs_lost", "msgs_reordered", "msgs_duplicated",
    "alloc_bytes_in_loop", "peers_rejected", "trial", "duration_ns", "bytes", "messages", "round", "start_ns",
]

/// The columns that hold figures: plain decimals (digits, an optional `-` and `.`, no exponent).
let decimalColumns = Set(caseColumns.drop(while: { $0 != "mib_per_s_median" })).subtracting(wholeNumberColumns)
    .union(Metric.all.map(\.trialColumn))

/// The columns that hold a name ipcbench writes, and the names it writes there.
let nameColumns: [String: Set<String>] = [
    "transport": Set(TransportKind.allCases.map(\.rawValue)),
    "pattern": Set(PatternKind.allCases.map(\.rawValue)),
]

/// The records of a CSV file, read in chunks and handed over one at a time, so that a file is never
/// in memory whole: quotes, doubled quotes and line breaks in quotes as `parseCSV` reads them.
struct CSVRecordReader {
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

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// The next record; nil at the end of the file. An empty line is a record of one empty field.
    mutating func next() throws -> [String]? {
        while true {
            if position == filled {
                let n = retryingInterrupts { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
                if n < 0 { throw InputError("\(path): cannot read the file: \(String(cString: strerror(Int32(-n))))") }
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

/// What a cell of a column must be.
enum CellKind {
    case whole(least: Int)
    case decimal
    /// Text: no control characters; `names`, when given, are the only values it takes.
    case text(names: Set<String>?)

    init(_ column: String) {
        if wholeNumberColumns.contains(column) {
            // Every case has a payload of at least one byte: it makes the rows of pivot and the plots.
            self = .whole(least: column == "payload_bytes" ? 1 : 0)
        } else if decimalColumns.contains(column) {
            self = .decimal
        } else {
            self = .text(names: nameColumns[column])
        }
    }
}

extension ResultFile {
    /// Reads a results file and its trials file the way `load` does, keeping only the run ids: what
    /// `ipcbench check` does, in memory that does not grow with the files.
    public static func check(_ path: String) throws {
        _ = try read(path, keeping: .nothing)
    }

    /// Reads a results file and checks its trials file the way `load` does, keeping the case rows
    /// only (`trials` is nil): what pivot needs.
    public static func loadCases(_ path: String) throws -> ResultFile {
        try read(path, keeping: .cases)!
    }

    /// What `read` keeps of the rows it validates.
    enum Keeping { case nothing, cases, everything }

    /// Reads `path` and the trials file beside it, validating every row as it streams by. With
    /// `.nothing` only the run ids are kept (the result is then nil).
    static func read(_ path: String, keeping: Keeping) throws -> ResultFile? {
        var cases: [[String: String]] = []
        var runs = Set<String>()
        var interned = Set<String>()
        let header = try readRecords(path, required: required, what: "an ipcbench results file", headerOnly: false) { header, row, _ in
            let runID = row[header.firstIndex(of: "run_id")!]
            runs.insert(runID)
            if keeping != .nothing { cases.append(Dictionary(uniqueKeysWithValues: zip(header, row.map { intern($0, &interned) }))) }
        }
        guard let header else { throw InputError("\(path): cannot read the file (does it exist?)") }
        let stem = path.hasSuffix(".csv") ? String(path.dropLast(4)) : path
        let trialsPath = stem + "-trials.csv"
        var trials: [CaseKey: [TrialRow]] = [:]
        // The columns a TrialRow reads: each row becomes a small dictionary of these only.
        let wanted = Set(requiredTrialColumns + ["round", "start_ns", "duration_ns"] + CaseParameter.allCases.map(\.rawValue)
                       + Metric.all.map(\.trialColumn))
        var used: [(name: String, index: Int)] = []
        var runIDColumn = 0
        let trialsHeader = try readRecords(trialsPath, required: requiredTrialColumns, what: "an ipcbench trials file", headerOnly: true) { header, row, number in
            if used.isEmpty {
                used = header.enumerated().filter { wanted.contains($0.element) }.map { ($0.element, $0.offset) }
                runIDColumn = header.firstIndex(of: "run_id")!
            }
            let runID = row[runIDColumn]
            guard runs.contains(runID) else {
                throw InputError("\(trialsPath): row \(number) has run_id \(runID) but \(path) has run_id \(runs.sorted().joined(separator: ", ")); the trials file is from another run: put the run's own trials file beside it, or move it away")
            }
            if keeping == .everything {
                var cells: [String: String] = [:]
                cells.reserveCapacity(used.count)
                for (name, index) in used { cells[name] = intern(row[index], &interned) }
                let trial = TrialRow(cells)
                trials[trial.key, default: []].append(trial)
            }
        }
        guard keeping != .nothing else { return nil }
        return ResultFile(path: path, header: header, cases: cases, rows: cases.map(CaseRow.init),
                          trials: trialsHeader == nil || keeping == .cases ? nil : trials)
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
    static func readRecords(_ path: String, required: [String], what: String, headerOnly: Bool,
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
        let kinds = header.map(CellKind.init)
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
    static func cellProblem(_ kind: CellKind, _ cell: String, column: String) -> String? {
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
        }
    }

    /// What a non-empty cell of a numeric column should have been, or nil when it is.
    static func numberProblem(_ column: String, _ cell: String) -> String? {
        switch CellKind(column) {
        case .text: return nil
        case let kind: return cellProblem(kind, cell, column: column)
        }
    }
}

/// `isPlainNumber` by bytes: digits, an optional leading `-`, at most one `.` with digits either side.
func isPlainDecimal(_ text: String) -> Bool {
    var digitsBefore = 0, digitsAfter = 0, points = 0
    for (i, b) in text.utf8.enumerated() {
        if b == 0x2D && i == 0 { continue }
        if b == 0x2E { points += 1; if points > 1 { return false }; continue }
        guard b >= 0x30 && b <= 0x39 else { return false }
        if points == 0 { digitsBefore += 1 } else { digitsAfter += 1 }
    }
    return digitsBefore > 0 && (points == 0 || digitsAfter > 0)
}

/// True when `text` holds a control character (C0, DEL or C1): a terminal would act on it.
public func hasControlCharacter(_ text: String) -> Bool {
    var previous: UInt8 = 0
    for b in text.utf8 {
        if b < 0x20 || b == 0x7F || (previous == 0xC2 && b >= 0x80 && b <= 0x9F) { return true }
        previous = b
    }
    return false
}

func tooBig(_ path: String) -> InputError {
    InputError("\(path): larger than \(compareFileLimit >> 20) MiB, the most ipcbench reads for a results file (.csv)")
}

/// A results or trials file opened for reading: a regular file of at most `compareFileLimit` bytes,
/// or nil when it does not exist (as `readRegularFile` checks one).
func openResultsFile(_ path: String) throws -> Int32? {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let fd = Int32(retryingInterrupts { Int(open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) })
    if fd < 0 {
        if -fd == ENOENT { return nil }
        throw InputError("\(path): cannot read the file: \(String(cString: strerror(-fd)))")
    }
    var info = stat()
    let statResult = resultOrErrno { Int(fstat(fd, &info)) }
    let type = info.st_mode & S_IFMT
    var problem: String? = nil
    if statResult < 0 {
        problem = "\(path): cannot read the file: \(String(cString: strerror(Int32(-statResult))))"
    } else if type != S_IFREG {
        let kind = type == S_IFDIR ? "a directory" : type == S_IFIFO ? "a FIFO" : type == S_IFCHR ? "a character device"
            : type == S_IFBLK ? "a block device" : type == S_IFSOCK ? "a socket" : "not a plain file"
        problem = "\(path): \(kind), not a regular file; expected a results file (.csv)"
    } else if info.st_size > compareFileLimit {
        problem = tooBig(path).message
    }
    if let problem {
        closeDescriptor(fd)
        throw InputError(problem)
    }
    return fd
}
