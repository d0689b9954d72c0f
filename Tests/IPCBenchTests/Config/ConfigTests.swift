import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

final class ConfigTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testEmbeddedDefaultIsDefaultToml() throws {
        let file = try String(contentsOf: Self.repository.appendingPathComponent("bench-configs/default.toml"), encoding: .utf8)
        XCTAssertEqual(embeddedDefaultConfig + "\n", file)
    }

    func testEveryShippedConfigParses() throws {
        let folder = Self.repository.appendingPathComponent("bench-configs")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".toml") {
            XCTAssertNoThrow(try BenchConfig.load(path: folder.appendingPathComponent(name).path), name)
        }
    }

    func testDefaultSuite() throws {
        let config = try BenchConfig.parse(embeddedDefaultConfig, file: "default")
        XCTAssertEqual(config.suites.map(\.name), ["throughput", "throughput-64k", "latency"])
        let latency = config.suites[2]
        let classic: [TransportKind] = [.pipe, .fifo, .unixStream, .unixDgram, .tcp, .udp]
        XCTAssertEqual(latency.settings.transports, classic)
        XCTAssertEqual(latency.settings.sizes, [1, 64, 1024, 4096])
        XCTAssertEqual(latency.settings.count, 20000)
        XCTAssertEqual(latency.settings.repetitions, 5)
        XCTAssertEqual(latency.settings.placements, [.auto])
        XCTAssertEqual(config.suites[0].settings.total, 10 << 20)
        let cases = try config.plan(SettingLayer(), allowed: [0, 1])
        XCTAssertEqual(cases.count, 4 * classic.count + 5 + 4 * classic.count)
        XCTAssertTrue(cases.allSatisfy { $0.placement == .split }, "auto is split with two CPUs")
        XCTAssertTrue(try config.plan(SettingLayer(), allowed: [3]).allSatisfy { $0.placement == .same }, "and same with one")
        // Everything on Linux but udp latency 1: a 1-byte ping cannot carry the number that tells a late reply from the next one's.
        XCTAssertEqual(cases.filter { $0.skipReason() != nil }.map { "\($0.transport.rawValue) \($0.pattern.rawValue) \($0.payloadBytes)" },
                       ["udp latency 1"])
    }

    func testOverridesReplaceConfigValues() throws {
        let config = try BenchConfig.parse(embeddedDefaultConfig, file: "default")
        var o = SettingLayer()
        o.transports = [.pipe]
        o.sizes = [8]
        o.count = 10
        o.placements = [CPUPlacement.none]
        let cases = try config.plan(o, patterns: [.latency], allowed: [0])
        XCTAssertEqual(cases.count, 1)
        XCTAssertEqual(cases[0].messages, 10)
        XCTAssertEqual(cases[0].placement, CPUPlacement.none)
    }

    func testSeveralPlacementsMakeSeveralCases() throws {
        let text = """
        [[suite]]
        pattern = "latency"
        transports = ["pipe"]
        sizes = [64]
        cpus = ["same", "split"]
        """
        let cases = try BenchConfig.parse(text, file: "x.toml").plan(SettingLayer(), allowed: [0, 1])
        XCTAssertEqual(cases.map(\.placement), [.same, .split])
    }

    func assertConfigError(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try BenchConfig.parse(text, file: "bench.toml"), file: file, line: line) { error in
            XCTAssertEqual((error as? InputError)?.message, expected, file: file, line: line)
        }
    }

    func testErrorsNameFileKeyAndLine() {
        assertConfigError("""
        [defaults]
        repetitions = 5
        sise = 3
        """, "bench.toml:3: unknown key 'sise' in [defaults] (expected one of: transports, sizes, total, count, repetitions, warmup, cpus, timeout, min_trial_time, depth, receivers, pairs, publishers, subscribers, topics, subscriptions, topology, rate, wait, pipe_size, sndbuf, rcvbuf, busy_poll, notsent_lowat, workers, nodelay, schedule, seed)")
        assertConfigError("""
        [[suite]]
        pattern = "latency"
        count = "many"
        """, "bench.toml:3: count cannot be a string like that; expected a whole number of round trips, at least 1")
        assertConfigError("""
        [[suite]]
        pattern = "latency"

        sizes = ["64", "abc"]
        """, "bench.toml:4: sizes 'abc' is not a size: use a whole number of bytes with an optional unit, for example 64, 4KiB, 1MiB (K/KiB = 1024, kB = 1000)")
        assertConfigError("""
        [[suite]]
        pattern = "latency"
        transports = ["pipe", "shm"]
        """, "bench.toml:3: unknown transport 'shm': expected one of pipe, fifo, socketpair, unix-stream, unix-dgram, unix-seqpacket, tcp, udp, tcp6, udp6, shm-futex, shm-spin, mq, vmsplice, udp-multicast, or all")
        assertConfigError("""
        [[suite]]
        pattern = "bandwidth"
        """, "bench.toml:2: pattern must be one of: throughput, latency, sync-message, async-request, duplex, fanout, pairs, pubsub")
        assertConfigError("""
        [[suite]]
        pattern = "latency"
        count = -1
        """, "bench.toml:3: count -1 is out of range; expected a whole number of round trips, at least 1")
        assertConfigError("""
        [[suite]]
        pattern = latency
        """, "bench.toml:2: 'latency' is not a TOML value; put text in quotes, for example \"latency\"")
        assertConfigError("[defaults]\nwarmup = 1\n", "bench.toml:1: no [[suite]] table: a config needs at least one")
        assertConfigError("""
        [[suite]]
        pattern = "latency"
        pattern = "throughput"
        """, "bench.toml:3: key 'pattern' is set twice")
    }

    func testTomlSyntax() throws {
        let table = try TOMLParser.parse("""
        # comment
        [defaults]   # trailing comment
        a = "x, y"
        b = 'literal\\n'
        c = 1_000
        d = [
          "one",   # first
          "two",
        ]
        e = true
        f = 1.5
        """)
        guard case let .table(defaults)? = table["defaults"]?.value else { return XCTFail("no table") }
        XCTAssertEqual(defaults["a"]?.value, .string("x, y"))
        XCTAssertEqual(defaults["b"]?.value, .string("literal\\n"))
        XCTAssertEqual(defaults["c"]?.value, .integer(1000))
        XCTAssertEqual(defaults["d"]?.value, .array([.string("one"), .string("two")]))
        XCTAssertEqual(defaults["d"]?.line, 6)
        XCTAssertEqual(defaults["e"]?.value, .boolean(true))
        XCTAssertEqual(defaults["f"]?.value, .float(1.5))
        XCTAssertThrowsError(try TOMLParser.parse("a = {b = 1}"))
        XCTAssertThrowsError(try TOMLParser.parse("a.b = 1"))
        XCTAssertThrowsError(try TOMLParser.parse("a = \"open"))
    }

    func testNumbersOverTheirLimitNameKeyAndLimit() {
        let suite = "[[suite]]\npattern = \"latency\"\n"
        assertConfigError(suite + "repetitions = 9223372036854775807\n",
                          "bench.toml:3: repetitions 9223372036854775807 is more than 1000, the most measured trials per case; use 1000 or less")
        assertConfigError(suite + "repetitions = 99999999999999999999\n",
                          "bench.toml:3: repetitions 99999999999999999999 is more than 1000, the most measured trials per case; use 1000 or less")
        assertConfigError(suite + "warmup = 101\n",
                          "bench.toml:3: warmup 101 is more than 100, the most warmup trials per case; use 100 or less")
        assertConfigError(suite + "count = 1_000_000_001\n",
                          "bench.toml:3: count 1000000001 is more than 1000000000, the most round trips per latency trial before calibration; use 1000000000 or less")
        assertConfigError(suite + "total = \"1025GiB\"\n",
                          "bench.toml:3: total '1025GiB' is more than 1024GiB, the most a throughput trial moves before calibration; use 1024GiB or less")
        assertConfigError(suite + "sizes = [64, 1073741825]\n",
                          "bench.toml:3: sizes 1073741825 is more than 1GiB, the largest payload ipcbench takes; use 1GiB or less")
        assertConfigError(suite + "sizes = [\"1048576GiB\"]\n",
                          "bench.toml:3: sizes '1048576GiB' is more than 1GiB, the largest payload ipcbench takes; use 1GiB or less")
        assertConfigError(suite + "timeout = \"25h\"\n",
                          "bench.toml:3: timeout '25h' is more than 24h, the longest a trial may run; use 24h or less")
        assertConfigError(suite + "min_trial_time = \"61m\"\n",
                          "bench.toml:3: min_trial_time '61m' is more than 1h, the longest calibration aims for; use 1h or less")
        assertConfigError(suite + "timeout = 99999999999999999999\n",
                          "bench.toml:3: timeout 99999999999999999999 does not fit a 64-bit integer; use a smaller number")
        assertConfigError(suite + "warmup = -99999999999999999999\n",
                          "bench.toml:3: warmup -99999999999999999999 is more than 100, the most warmup trials per case; use 100 or less")
    }

    func testLimitsThemselvesAreAccepted() throws {
        let config = try BenchConfig.parse("""
        [[suite]]
        pattern = "throughput"
        sizes = ["1GiB"]
        total = "1024GiB"
        repetitions = 1000
        warmup = 100
        timeout = "24h"
        min_trial_time = "1h"
        """, file: "bench.toml")
        let c = try config.plan(SettingLayer(), allowed: [0, 1])[0]
        XCTAssertEqual([c.payloadBytes, c.messages, c.repetitions, c.warmup], [1 << 30, 1024, 1000, 100])
        XCTAssertEqual([c.timeoutNs, c.minTrialNs], [86_400_000_000_000, 3_600_000_000_000])
    }

    func testTrialBytesAreBounded() throws {
        let config = try BenchConfig.parse("[[suite]]\npattern = \"latency\"\nsizes = [\"1GiB\"]\ncount = 1024\n", file: "b.toml")
        XCTAssertEqual(try config.plan(SettingLayer(), allowed: [0]).first?.messages, 1024)
        var o = SettingLayer()
        o.count = 1025
        XCTAssertThrowsError(try config.plan(o, allowed: [0])) { error in
            XCTAssertEqual((error as? InputError)?.message, "suite 'latency': 1025 round trips of 1GiB are more than 1024GiB, the most one trial moves before calibration; lower count or the size")
        }
    }

    func testArrayNestingIsBounded() throws {
        XCTAssertNoThrow(try TOMLParser.parse("a = [[[[1]]]]"))
        for depth in [5, 20_000, 50_000] {
            let text = "[[suite]]\npattern = \"latency\"\nsizes = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
            assertConfigError(text, "bench.toml:3: arrays nested more than 4 deep; a config needs 1")
        }
    }

    /// pubsub's parameters: config lists and options, the product of their values (without more
    /// subscriptions than topics), topology by name, and case names that say them all.
    func testPubSubParametersMakeTheirProduct() throws {
        let config = try BenchConfig.parse("""
        [[suite]]
        pattern = "pubsub"
        transports = ["pipe"]
        sizes = ["64"]
        subscribers = [1, 2]
        topics = [1, 4]
        subscriptions = [1, 4]
        topology = ["direct", "broker"]
        """, file: "bench.toml")
        let cases = try config.plan(allowed: [0, 1])
        XCTAssertEqual(cases.count, 2 * 3 * 2, "subscriptions 4 of 1 topic is left out")
        XCTAssertEqual(cases[0].name, "pipe pubsub 64 publishers 1 subscribers 1 topics 1 subscriptions 1 topology direct split")
        XCTAssertEqual(cases.last!.name, "pipe pubsub 64 publishers 1 subscribers 2 topics 4 subscriptions 4 topology broker split")
        XCTAssertEqual(parameterValue(cases.last!, .topology), .text("broker"))
        XCTAssertNil(parameterValue(cases.last!, .depth))
        var options = try RunOptions.parse(["--topology", "broker", "--publishers", "3", "--subscriptions", "2", "--topics", "2"])
        var layer = try options.layer()
        XCTAssertEqual(layer.parameters[.topology], [2])
        XCTAssertEqual(try config.plan(layer, allowed: [0, 1]).map { $0.shape.publishers }, [3, 3])
        options = try RunOptions.parse(["--topology", "bus"])
        XCTAssertThrowsError(try options.layer()) { error in
            XCTAssertEqual("\(error)", "--topology 'bus': expected \"direct\", \"broker\" or an array of them")
        }
        options = try RunOptions.parse(["--subscribers", "65"])
        XCTAssertThrowsError(try options.layer())
        layer = SettingLayer()
        layer.parameters[.subscriptions] = [5]
        layer.parameters[.topics] = [4]
        XCTAssertThrowsError(try config.plan(layer, allowed: [0, 1])) { error in
            XCTAssertEqual("\(error)", "suite 'pubsub': subscriptions 5 exceed topics 4; each subscriber takes at most every topic once, so subscriptions must be at most topics")
        }
    }

    /// A trial's links need descriptors: a case that would need more than the process may open is
    /// refused before anything runs, naming the case and the limit.
    func testDescriptorsAreBounded() throws {
        let config = try BenchConfig.parse("[[suite]]\npattern = \"pubsub\"\ntransports = [\"pipe\"]\nsizes = [\"64\"]\npublishers = [8]\nsubscribers = [8]\ntopology = [\"direct\"]\n", file: "bench.toml")
        let bound = Bound(max: 200, shown: "200", why: "the test's limit")
        XCTAssertThrowsError(try config.plan(allowed: [0, 1], descriptors: bound)) { error in
            XCTAssertEqual("\(error)", "suite 'pubsub': a trial of pipe pubsub 64 publishers 8 subscribers 8 topics 4 subscriptions 1 topology direct split may hold 320 descriptors (its links' and workers'), more than 200, the test's limit; lower the workers (publishers, subscribers, receivers, pairs), or raise the limit")
        }
        XCTAssertEqual(try config.plan(allowed: [0, 1], descriptors: Bound(max: 320, shown: "320", why: "")).count, 1)
    }

    /// A trial's memory counts every worker's payload buffers and the knobs' kernel buffers on every
    /// link; the plan refuses a case above the bound before anything runs.
    func testTrialMemoryCountsEveryWorkerAndLink() throws {
        func trial(_ pattern: PatternKind, _ value: Int = 1, knobs: TransportKnobs = TransportKnobs(),
                   _ more: [CaseParameter: Int] = [:]) -> Int {
            var c = BenchCase(suite: "s", transport: .pipe, pattern: pattern, payloadBytes: 1 << 20, messages: 1, repetitions: 1,
                              warmup: 0, placement: .none, timeoutNs: 1, minTrialNs: 0, verify: false)
            if let p = pattern.parameters.first { c.parameters[p] = value }
            c.parameters.merge(more) { $1 }
            c.knobs = knobs
            return c.trialMemoryBytes
        }
        let buffer = (1 << 20) + patternPeriod
        XCTAssertEqual(trial(.throughput), 2 * buffer)
        XCTAssertEqual(trial(.latency), 3 * buffer)
        XCTAssertEqual(trial(.asyncRequest, 16), 3 * buffer)
        XCTAssertEqual(trial(.syncMessage), 2 * buffer)
        XCTAssertEqual(trial(.duplex), 4 * buffer)
        XCTAssertEqual(trial(.fanout, 64), 65 * buffer)
        // pubsub: a buffer per publisher; per subscriber one per publisher or topic it reads; the broker one per publisher and its marker.
        XCTAssertEqual(trial(.pubsub, 2, [.subscribers: 3, .topics: 4, .subscriptions: 3]), (2 + 3 * 3) * buffer)
        XCTAssertEqual(trial(.pubsub, 4, [.subscribers: 2, .topology: 2]), (4 + 5 + 2 * 4) * buffer)
        XCTAssertEqual(trial(.pairs, 8), 16 * buffer)
        let pipeSize = TransportKnobs([.pipeSize: 1 << 20])
        XCTAssertEqual(trial(.pairs, 8, knobs: pipeSize), 16 * buffer + 8 * (1 << 20))

        let config = try BenchConfig.parse("[[suite]]\npattern = \"fanout\"\ntransports = [\"pipe\"]\nsizes = [\"1MiB\"]\nreceivers = [1, 64]\n", file: "f.toml")
        let bound = Bound(max: 64 << 20, shown: "64.0 MiB", why: "half of the smaller of MemTotal and MemAvailable in /proc/meminfo")
        XCTAssertThrowsError(try config.plan(SettingLayer(), allowed: [0, 1], memory: bound)) { error in
            XCTAssertEqual((error as? InputError)?.message, "suite 'fanout': a trial of pipe fanout 1MiB receivers 64 split needs 65.0 MiB (the buffers of its 65 workers, plus pipe_size, sndbuf and rcvbuf on each link), more than 64.0 MiB, half of the smaller of MemTotal and MemAvailable in /proc/meminfo; lower the size, the workers or the knobs")
        }
        var one = SettingLayer()
        one.parameters[.receivers] = [1]
        XCTAssertEqual(try config.plan(one, allowed: [0, 1], memory: bound).count, 1)
    }
}
