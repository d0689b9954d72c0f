/// The largest results or trials file compare, pivot and the scripts read, in bytes.
public let compareFileLimit = 256 << 20

/// A results or trials file's text; nil when it does not exist.
func readRegularFile(_ path: String) throws -> String? {
    try readRegularFile(path, limit: compareFileLimit, what: "a results file (.csv)")
}

/// The columns that hold counts: whole numbers, written without a sign or a point (payload_bytes in every row).
let wholeNumberColumns: Set<String> = [
    "cpus_online", "payload_bytes", "messages_per_trial", "bytes_per_trial", "repetitions", "warmup", "seed",
    "depth", "receivers", "pairs", "publishers", "subscribers", "topics", "subscriptions", "msgs_sent", "msgs_received", "msgs_lost", "msgs_reordered", "msgs_duplicated",
    "alloc_bytes_in_loop", "peers_rejected", "trial", "duration_ns", "bytes", "messages", "round", "start_ns",
]

/// The columns that hold figures: plain decimals (digits, an optional `-` and `.`, no exponent).
let decimalColumns = Set(caseColumns.drop(while: { $0 != "mib_per_s_median" })).subtracting(wholeNumberColumns)
    .union(Metric.all.map(\.trialColumn))

extension ResultFile {
    /// The one validation of a results or trials file, used by compare, pivot and `ipcbench check`:
    /// a header with the `required` columns once each, rows of the header's width, and in every
    /// known numeric column a plain number in range. `what` names the kind of file in errors.
    static func records(_ text: String, path: String, required: [String], what: String) throws -> ([String], [[String: String]]) {
        let rows = parseCSV(text).filter { !($0.count == 1 && $0[0].isEmpty) }
        guard let header = rows.first else { throw InputError("\(path): the file is empty; expected \(what) with a header row") }
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
        guard rows.count > 1 else { throw InputError("\(path): the file has a header but no rows") }
        let records = try rows.dropFirst().enumerated().map { index, row in
            guard row.count == header.count else {
                throw InputError("\(path): row \(index + 2) has \(row.count) cells but the header has \(header.count)")
            }
            for (column, cell) in zip(header, row) where !cell.isEmpty || column == "payload_bytes" {
                if let problem = numberProblem(column, cell) {
                    throw InputError("\(path): row \(index + 2), column \(column): '\(excerpt(cell))' is not \(problem); was the file written by ipcbench?")
                }
            }
            return Dictionary(uniqueKeysWithValues: zip(header, row))
        }
        return (header, records)
    }

    /// What a non-empty cell of a numeric column should have been, or nil when it is.
    static func numberProblem(_ column: String, _ cell: String) -> String? {
        if wholeNumberColumns.contains(column) {
            // Every case has a payload of at least one byte: it makes the rows of pivot and the plots.
            let least = column == "payload_bytes" ? 1 : 0
            let whole = cell.allSatisfy { $0.isASCII && $0.isNumber } ? Int(cell) : nil
            return whole.map { $0 >= least } == true ? nil : "a whole number from \(least) to \(Int.max)"
        }
        if decimalColumns.contains(column) {
            let bound = "a plain decimal number (no exponent) between -\(Int(largestFigure)) and \(Int(largestFigure))"
            return isPlainNumber(cell) && abs(Double(cell) ?? .infinity) <= largestFigure ? nil : bound
        }
        return nil
    }
}
