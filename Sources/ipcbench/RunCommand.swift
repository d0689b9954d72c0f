import ArgumentParser
import Glibc
import IPCBench

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a suite and write <stem>.csv and <stem>-trials.csv.",
        discussion: "With no CONFIG the default suite (bench-configs/default.toml, compiled in) runs. Options override the config.")

    @Argument(help: "A TOML suite file, for example bench-configs/quick.toml.")
    var config: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Transports, comma-separated: \(TransportKind.allCases.map(\.rawValue).joined(separator: ",")), or all."))
    var transport: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Patterns, comma-separated: \(PatternKind.allCases.map(\.rawValue).joined(separator: ",")), or all. A pattern the config has no suite for runs with its [defaults]."))
    var pattern: String?

    @Option(parsing: .unconditional, help: "async-request: requests kept outstanding, comma-separated (default 1,4,16,64).")
    var depth: String?

    @Option(parsing: .unconditional, help: "fanout: readers, comma-separated (default 1,2,4).")
    var receivers: String?

    @Option(parsing: .unconditional, help: "pairs: sender/receiver pairs, comma-separated (default 1,2,4,8).")
    var pairs: String?

    @Option(name: .customLong("pipe-size"), parsing: .unconditional, help: "pipe, fifo, vmsplice: the pipe's capacity (F_SETPIPE_SZ), for example 1MiB.")
    var pipeSize: String?

    @Option(parsing: .unconditional, help: "Sockets: SO_SNDBUF, for example 256KiB (the kernel doubles it and caps it at net.core.wmem_max).")
    var sndbuf: String?

    @Option(parsing: .unconditional, help: "Sockets: SO_RCVBUF, for example 256KiB (the kernel doubles it and caps it at net.core.rmem_max).")
    var rcvbuf: String?

    @Option(name: .customLong("busy-poll"), parsing: .unconditional, help: "tcp, udp (and IPv6): SO_BUSY_POLL in microseconds.")
    var busyPoll: Int?

    @Option(help: "tcp, tcp6: TCP_NODELAY on or off (default: on for the patterns that wait for answers).")
    var nodelay: String?

    @Option(name: [.short, .long], parsing: .unconditional, help: "Payload sizes, comma-separated: 64,1K,64KiB,1MiB (K/KiB = 1024; kB = 1000).")
    var size: String?

    @Option(parsing: .unconditional, help: "Throughput: bytes the sender moves per trial before calibration (default 10MiB).")
    var total: String?

    @Option(parsing: .unconditional, help: "Latency: round trips per trial before calibration (default 20000).")
    var count: Int?

    @Option(name: [.short, .long], parsing: .unconditional, help: "Measured trials per case (default 5).")
    var repetitions: Int?

    @Option(parsing: .unconditional, help: "Trials run and discarded before the measured ones; the last one calibrates (default 1).")
    var warmup: Int?

    @Option(help: "Worker placement: split (round-robin on the last CPUs), same (one CPU), none, a CPU list A,B[,C...] (one per worker, used in turn), or auto (split if there are two CPUs, else same).")
    var cpus: String?

    @Option(name: .customLong("min-trial-time"), parsing: .unconditional, help: "Calibrate trials to last at least this long, 0s to turn off (default 200ms).")
    var minTrialTime: String?

    @Option(help: "interleaved (calibrate every case, then rounds of one trial per case in a shuffled order) or sequential (each case's trials back to back). Default interleaved.")
    var schedule: String?

    @Option(parsing: .unconditional, help: "Seed for the order of the interleaved rounds (default: random; always recorded in the seed column).")
    var seed: UInt64?

    @Option(name: [.short, .long], help: "A folder, a .csv file, or - for the case CSV on stdout (default results/).")
    var output: String?

    @Option(parsing: .unconditional, help: "Kill a trial that runs longer than this (default 30s).")
    var timeout: String?

    @Flag(help: "Check every byte that arrives (slower; for checking ipcbench, not for numbers).")
    var verify = false

    @Flag(name: [.short, .long], help: "No progress line and no table on the terminal.")
    var quiet = false

    func run() throws {
        let suite = try config.map { try BenchConfig.load(path: $0) }
            ?? BenchConfig.parse(embeddedDefaultConfig, file: "the embedded default suite")
        let cases = try suite.plan(try overrides())
        let schedule = try self.schedule.map { try Schedule(parsing: $0, what: "--schedule") } ?? suite.schedule
        if let seed { try Schedule.checkSeed(seed, what: "--seed") }
        let env = Environment.current()
        let paths = try OutputPaths(output: output, stem: env.defaultStem)
        // Everything that can fail before measuring comes before the output files exist.
        let directory: RunDirectory
        do {
            directory = try RunDirectory()
        } catch {
            throw InputError("cannot make the run's private directory: \(error); set TMPDIR to a writable directory")
        }
        defer { directory.remove() }
        let (casesFile, trialsFile): (CSVFile, CSVFile?)
        do {
            (casesFile, trialsFile) = try createOutputFiles(paths)
        } catch let error as ResultsWriteError {
            printError("ipcbench: error: \(error); the run stopped before its first trial and left no results file")
            throw ExitCode(3)
        }

        // The table goes where the CSV does not.
        let table = SummaryTable(to: paths.casesPath == nil ? stderr : stdout, enabled: !quiet)
        let progress = ProgressLine(enabled: !quiet && isatty(2) == 1)
        let runner = Runner(cases: cases, schedule: schedule, seed: seed ?? suite.seed ?? randomSeed())
        table.printHeader()
        var failed = 0, written = 0, stopped = 0
        do {
            try runner.run(in: directory.path, onTrial: { result, trial in
                try trialsFile?.write(trialRow(result, trial, env))
            }, onCase: { result in
                progress.clear()
                try casesFile.write(caseRow(result, env))
                written += 1
                if result.status == .failed { failed += 1 }
                if result.status == .stopped { stopped += 1 }
                table.printRow(result)
            }, progress: progress.show)
        } catch let stop as RunStopped {
            progress.clear()
            printError("ipcbench: stopped by signal \(stop.signal) with \(written - stopped) of \(cases.count) cases finished; \(written) rows (\(stopped) with status stopped) are in \(paths.casesPath ?? "standard output")\(trialsNote(paths))")
            throw ExitCode(128 + stop.signal)
        } catch let error as ResultsWriteError {
            progress.clear()
            printError("ipcbench: error: \(error); the run stopped with \(written) of \(cases.count) cases written to \(paths.casesPath ?? "standard output")\(trialsNote(paths))")
            throw ExitCode(3)
        }
        progress.clear()
        if let path = paths.casesPath {
            table.note("wrote \(path) and \(paths.trialsPath ?? "") (\(schedule.rawValue) schedule, seed \(runner.seed))")
        }
        if failed > 0 {
            table.note("\(failed) of \(cases.count) cases failed; the error column says why")
            throw ExitCode(1)
        }
    }

    private func trialsNote(_ paths: OutputPaths) -> String {
        paths.trialsPath.map { "; every finished trial is in \($0)" } ?? ""
    }

    /// Both files or neither: a file made before a later one fails is removed again.
    private func createOutputFiles(_ paths: OutputPaths) throws -> (CSVFile, CSVFile?) {
        guard let casesPath = paths.casesPath, let trialsPath = paths.trialsPath else {
            return (try CSVFile(standardOutput: caseColumns), nil)
        }
        let casesFile = try CSVFile(creating: casesPath, header: caseColumns)
        do {
            return (casesFile, try CSVFile(creating: trialsPath, header: trialColumns))
        } catch {
            casesFile.discard()
            throw error
        }
    }

    func overrides() throws -> RunOverrides {
        var o = RunOverrides()
        func list(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }
        if let transport {
            o.transports = transport == "all" ? TransportKind.allCases : try list(transport).map(parseTransport)
        }
        if let pattern { o.patterns = pattern == "all" ? PatternKind.allCases : try list(pattern).map(parsePattern) }
        for (parameter, text) in [(CaseParameter.depth, depth), (.receivers, receivers), (.pairs, pairs)] {
            guard let text else { continue }
            let what = "--\(parameter.rawValue)"
            o.parameterValues[parameter] = try list(text).map { item in
                guard let n = Int(item) else { throw InputError("\(what) '\(item)' is not a whole number; use a list such as 1,4,16") }
                return try parameter.check(n, what)
            }
        }
        // Every number is checked against its limit (README, Known limits) before any arithmetic.
        if let size {
            let payload = InputLimits.payload
            o.sizes = try list(size).map { try parseSize($0, what: "--size", bound: payload) }
        }
        if let total { o.totalBytes = try parseSize(total, what: "--total", bound: InputLimits.total) }
        if let count {
            guard count > 0 else { throw InputError("--count \(count): the number of round trips must be at least 1") }
            try InputLimits.count.check(count, "--count")
            o.roundTrips = count
        }
        if let repetitions {
            guard repetitions > 0 else { throw InputError("--repetitions \(repetitions): need at least 1 measured trial") }
            try InputLimits.repetitions.check(repetitions, "--repetitions")
            o.repetitions = repetitions
        }
        if let warmup {
            guard warmup >= 0 else { throw InputError("--warmup \(warmup): must be 0 or more") }
            try InputLimits.warmup.check(warmup, "--warmup")
            o.warmup = warmup
        }
        if let cpus { o.placement = try CPUPlacement(parsing: cpus) }
        if let timeout { o.timeoutNs = try parseDuration(timeout, what: "--timeout", bound: InputLimits.timeout) }
        if let minTrialTime {
            o.minTrialNs = try parseDuration(minTrialTime, what: "--min-trial-time", allowZero: true, bound: InputLimits.minTrialTime)
        }
        for (knob, text) in [(Knob.pipeSize, pipeSize), (.sendBuffer, sndbuf), (.receiveBuffer, rcvbuf)] {
            guard let text else { continue }
            let what = "--" + String(knob.rawValue.map { $0 == "_" ? "-" : $0 })
            try o.knobs.set(knob, parseSize(text, what: what, bound: knob.bound), what: what)
        }
        if let busyPoll { try o.knobs.set(.busyPoll, busyPoll, what: "--busy-poll") }
        if let nodelay {
            guard nodelay == "on" || nodelay == "off" else { throw InputError("--nodelay '\(nodelay)': expected on or off") }
            o.noDelay = nodelay == "on"
        }
        o.verify = verify
        return o
    }
}
