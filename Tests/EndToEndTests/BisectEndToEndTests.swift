import Foundation
import Glibc
import XCTest

/// `ipcbench bisect --list` through the binary, its steps real kernel comparisons whose guests are a
/// `vng` of the test's own: it runs the guest's command here, or fails to boot where the kernel
/// arguments say `noboot`. Budget: 60 s.
final class BisectEndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testAListWithAKernelThatDoesNotBoot() throws {
        let bin = h.work.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            case "$*" in *noboot*) echo "kernel panic"; exit 1 ;; esac
            for last in "$@"; do :; done
            exec /bin/sh -c "$last"

            """
        try Data(script.utf8).write(to: bin.appendingPathComponent("vng"))
        XCTAssertEqual(chmod(bin.appendingPathComponent("vng").path, 0o755), 0)
        let image = h.work.appendingPathComponent("vmlinuz-same").path
        try Data("kernel".utf8).write(to: URL(fileURLWithPath: image))
        let list = h.work.appendingPathComponent("kernels.txt").path
        // Five lines of one image: the third does not boot. Nothing differs, so with a wide
        // threshold (1000%, the most it takes: tiny runs on a busy machine can differ by a factor of ten) every step that boots is good, and the first bad kernel is the last. MiB/s, not a
        // latency percentile: quantized round trips of 2 boots a side can tie, and a tie has no interval.
        try Data("# good first\n\(image)\n\(image) quiet\n\(image) noboot\n\(image)\n\(image) bad=1\n".utf8).write(to: URL(fileURLWithPath: list))
        let folder = h.work.appendingPathComponent("bisect").path
        let arguments = ["bisect", "--list", list, "--threshold", "1000", "--boots", "3", "--max-boots", "3", "--metric", "mib_per_s", "--accel", "tcg", "--memory", "256MiB",
                         "-t", "pipe", "-p", "throughput", "-s", "4096", "-r", "3", "--warmup", "0", "--total", "4MiB", "--min-trial-time", "0s", "-o", folder]
        let environment = ["PATH=\(bin.path):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"]
        let outcome = h.finish(try h.start(environment + [Harness.binary] + arguments, executable: "/usr/bin/env"))
        XCTAssertEqual(outcome.status, 0, outcome.stdout + outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("the case: pipe throughput 4096") && $0.hasSuffix("MiB/s") }, outcome.stdout)
        XCTAssertTrue(lines.contains("step: \(image) noboot (line 3), 3 boots a side: did not boot: skipped"), outcome.stdout)
        XCTAssertEqual(lines.filter { $0.hasPrefix("step: ") && $0.hasSuffix(": good") }.count, 2, outcome.stdout)
        XCTAssertEqual(lines.last, "first bad kernel: \(image) bad=1 (line 5) (the last good: \(image) (line 4))")
        // Every step's folder is a kernels folder, kept; the same command again resumes: nothing boots again.
        let steps = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasSuffix(".log") }.sorted()
        XCTAssertEqual(steps, ["step-2-boots-3", "step-3-boots-3", "step-4-boots-3"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/step-2-boots-3/comparison.csv"))
        let again = h.finish(try h.start(environment + [Harness.binary] + arguments, executable: "/usr/bin/env"))
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
        XCTAssertEqual(again.stdout.split(separator: "\n").last.map(String.init), lines.last)
    }

    func testBadArgumentsExitTwo() throws {
        let list = h.work.appendingPathComponent("one.txt").path
        try Data("6.1.0\n".utf8).write(to: URL(fileURLWithPath: list))
        for (arguments, message) in [(["--list", list, "-o", h.work.path + "/b"], "a bisect list needs a good kernel first and a bad one last"),
                                     (["--list", h.work.path + "/missing", "-o", h.work.path + "/b"], "no such file"),
                                     (["--list", list, "--threshold", "0", "-o", h.work.path + "/b"], "--threshold 0.0: give a change in %"),
                                     (["--list", list, "--boots", "4", "--max-boots", "2", "-o", h.work.path + "/b"], "--max-boots 2: give 4")] {
            let outcome = try h.run(["bisect"] + arguments)
            XCTAssertEqual(outcome.status, 2, outcome.stderr)
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains(message), outcome.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.work.path + "/b"))
    }
}
