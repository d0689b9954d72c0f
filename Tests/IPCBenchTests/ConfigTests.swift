import XCTest
@testable import IPCBench

final class ConfigTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

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
        XCTAssertEqual(latency.transports, TransportKind.allCases)
        XCTAssertEqual(latency.sizes, [1, 64, 1024, 4096])
        XCTAssertEqual(latency.roundTrips, 20000)
        XCTAssertEqual(latency.repetitions, 5)
        XCTAssertEqual(latency.placements, [.auto])
        XCTAssertEqual(config.suites[0].totalBytes, 10 << 20)
        let cases = try config.plan(RunOverrides(), allowed: [0, 1])
        XCTAssertEqual(cases.count, 24 + 5 + 24)
        XCTAssertTrue(cases.allSatisfy { $0.placement == .split }, "auto is split with two CPUs")
        XCTAssertTrue(try config.plan(RunOverrides(), allowed: [3]).allSatisfy { $0.placement == .same }, "and same with one")
        XCTAssertTrue(cases.allSatisfy { $0.skipReason() == nil }, "the default suite must run everything on Linux")
    }

    func testOverridesReplaceConfigValues() throws {
        let config = try BenchConfig.parse(embeddedDefaultConfig, file: "default")
        var o = RunOverrides()
        o.transports = [.pipe]
        o.patterns = [.latency]
        o.sizes = [8]
        o.roundTrips = 10
        o.placement = CPUPlacement.none
        let cases = try config.plan(o, allowed: [0])
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
        let cases = try BenchConfig.parse(text, file: "x.toml").plan(RunOverrides(), allowed: [0, 1])
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
        """, "bench.toml:3: unknown key 'sise' in [defaults] (expected one of: transports, sizes, total, count, repetitions, warmup, cpus, timeout, min_trial_time, schedule, seed)")
        assertConfigError("""
        [[suite]]
        pattern = "latency"
        count = "many"
        """, "bench.toml:3: count cannot be a string like that; expected a whole number of round trips, at least 1")
        assertConfigError("""
        [[suite]]
        pattern = "latency"

        sizes = ["64", "abc"]
        """, "bench.toml:4: size 'abc' is not a size: use a whole number of bytes with an optional unit, for example 64, 4KiB, 1MiB (K/KiB = 1024, kB = 1000)")
        assertConfigError("""
        [[suite]]
        pattern = "latency"
        transports = ["pipe", "shm"]
        """, "bench.toml:3: unknown transport 'shm': expected one of pipe, fifo, unix-stream, unix-dgram, tcp, udp, or all")
        assertConfigError("""
        [[suite]]
        pattern = "bandwidth"
        """, "bench.toml:2: pattern must be one of: throughput, latency, sync-message, async-request")
        assertConfigError("""
        [[suite]]
        pattern = "latency"
        count = -1
        """, "bench.toml:3: count cannot be an integer like that; expected a whole number of round trips, at least 1")
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
}
