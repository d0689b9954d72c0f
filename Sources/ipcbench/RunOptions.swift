import ArgumentParser
import IPCBench

/// The options that shape a suite, shared by `run` and `kernels` (which passes them to `run` in each guest).
struct RunOptions: ParsableArguments {
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

    @Option(parsing: .unconditional, help: "Kill a trial that runs longer than this (default 30s).")
    var timeout: String?

    @Flag(help: "Check every byte that arrives (slower; for checking ipcbench, not for numbers).")
    var verify = false

    /// The suite of `config` (or the embedded default) with these options, checked as `run` checks it.
    func resolve(config: String?) throws -> (suite: BenchConfig, cases: [BenchCase], schedule: Schedule) {
        let suite = try config.map { try BenchConfig.load(path: $0) }
            ?? BenchConfig.parse(embeddedDefaultConfig, file: "the embedded default suite")
        let cases = try suite.plan(try overrides())
        let schedule = try self.schedule.map { try Schedule(parsing: $0, what: "--schedule") } ?? suite.schedule
        if let seed { try Schedule.checkSeed(seed, what: "--seed") }
        return (suite, cases, schedule)
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

    /// The options as `ipcbench run` takes them, for the run inside each guest.
    var arguments: [String] {
        var out: [String] = []
        func add(_ name: String, _ value: String?) { if let value { out += [name, value] } }
        add("--transport", transport); add("--pattern", pattern)
        add("--depth", depth); add("--receivers", receivers); add("--pairs", pairs)
        add("--pipe-size", pipeSize); add("--sndbuf", sndbuf); add("--rcvbuf", rcvbuf)
        add("--busy-poll", busyPoll.map(String.init)); add("--nodelay", nodelay)
        add("--size", size); add("--total", total); add("--count", count.map(String.init))
        add("--repetitions", repetitions.map(String.init)); add("--warmup", warmup.map(String.init))
        add("--cpus", cpus); add("--min-trial-time", minTrialTime); add("--schedule", schedule)
        add("--seed", seed.map(String.init)); add("--timeout", timeout)
        if verify { out.append("--verify") }
        return out
    }
}
