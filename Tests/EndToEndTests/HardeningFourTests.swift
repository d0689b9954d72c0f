import Foundation
import Glibc
import XCTest
import IPCBench

/// Reproducers of the fourth hardening round (issue 25) for the runner and the results files.
final class HardeningFourTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func path(_ name: String) -> String { h.work.appendingPathComponent(name).path }

    /// The binary run by bash after `redirections`, such as `>&-` (stdout closed).
    func runWith(_ redirections: String, _ arguments: [String]) throws -> Harness.Outcome {
        h.finish(try h.start(["-c", "exec \"$0\" \"$@\" \(redirections)", Harness.binary] + arguments, executable: "/bin/bash"))
    }

    /// F9: with stdout closed, the trials file took descriptor 1 and the run table went into it.
    func testClosedStandardDescriptorsDoNotCatchTheTable() throws {
        let output = path("x.csv")
        let outcome = try runWith(">&- <&-", ["run", "-t", "pipe", "-p", "throughput", "-s", "64", "--total", "8K", "-r", "2",
                                             "--warmup", "0", "--cpus", "none", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let check = try h.run(["check", output])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertEqual(try h.readCSV(path("x-trials.csv")).count, 3)
    }

    /// The pids of `pid`'s children (from /proc: the fields after the command's last ')').
    func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }.sorted()
    }

    /// Waits up to a minute for two workers of `pid` that are not in `old`.
    func newWorkers(of pid: Int32, besides old: [Int32] = []) throws -> [Int32] {
        for _ in 0..<2400 {
            let pids = children(of: pid).filter { !old.contains($0) }
            if pids.count == 2 { return pids }
            usleep(25_000)
        }
        XCTFail("the runner \(pid) did not start two workers within a minute")
        throw CancellationError()
    }

    /// F14: a worker killed by SIGSEGV or SIGABRT was reported as "timed out": the Swift runtime's
    /// crash handler caught the signal in the worker, which went on (or waited for the backtracer).
    func testAWorkerKilledByACrashSignalIsReportedByItsSignal() throws {
        let output = path("crash.csv")
        let p = try h.start(["run", "-t", "pipe", "-p", "latency", "-s", "64,128", "--count", "50000000", "-r", "1",
                             "--warmup", "0", "--cpus", "none", "--timeout", "5m", "--schedule", "sequential", "-q", "-o", output])
        var first: [Int32] = [], second: [Int32] = []
        do {
            first = try newWorkers(of: p.0.processIdentifier)
            usleep(200_000)
            kill(first[0], SIGSEGV)
            second = try newWorkers(of: p.0.processIdentifier, besides: first)
            usleep(200_000)
            kill(second[1], SIGABRT)
        } catch {
            kill(p.0.processIdentifier, SIGTERM)
            _ = h.finish(p)
            throw error
        }
        let outcome = h.finish(p)
        XCTAssertEqual(outcome.status, 1, outcome.stderr)
        let rows = try h.readCSV(output)
        XCTAssertEqual(rows.count, 3)
        for (row, signal) in [(rows[1], "signal 11 (Segmentation fault)"), (rows[2], "signal 6 (Aborted)")] {
            XCTAssertEqual(column("status", row), "failed")
            XCTAssertTrue(["server", "client"].map { "trial 1 of 1: the \($0) worker died during the timed loop: killed by \(signal)" }
                .contains(column("error", row)), column("error", row))
        }
        for pid in first + second { XCTAssertNotEqual(kill(pid, 0), 0, "worker \(pid) survived") }
    }
}
