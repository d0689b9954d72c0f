import Foundation
import XCTest
import IPCBench

/// `ipcbench kernels` through the binary: bad arguments (no QEMU needed), then two real Debian
/// kernels booted under emulation, interrupted after the first boot and resumed.
final class KernelsTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// Runs a shell command line; its status and output.
    @discardableResult
    func shell(_ command: String) throws -> (status: Int32, output: String) {
        let outcome = try h.finish(h.start(["/bin/sh", "-c", command + " 2>&1"], executable: "/usr/bin/env"))
        return (outcome.status, outcome.stdout)
    }

    /// The two newest `linux-image-6.1.0-NN-amd64` the registry offers now, installed; their releases.
    func installNewestDebianKernels() throws -> [String] {
        func offered() throws -> [String] {
            let listed = try shell("apt-cache search --names-only '^linux-image-6\\.1\\.0-[0-9]+-amd64$'").output
            let numbers = listed.split(separator: "\n").compactMap { line -> Int? in
                guard let name = line.split(separator: " ").first, name.hasPrefix("linux-image-6.1.0-") else { return nil }
                return Int(name.dropFirst("linux-image-6.1.0-".count).dropLast("-amd64".count))
            }
            return numbers.sorted().suffix(2).map { "6.1.0-\($0)-amd64" }
        }
        func install(_ releases: [String]) throws -> Bool {
            let packages = releases.map { "linux-image-\($0)" }.joined(separator: " ")
            return try shell("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \(packages)").status == 0
        }
        var releases = try offered()
        if try releases.count < 2 || !install(releases) {
            // Old lists may name images the registry has dropped: read them again and retry once.
            XCTAssertEqual(try shell("apt-get update -qq").status, 0)
            releases = try offered()
            XCTAssertEqual(releases.count, 2, "the registry offers fewer than two linux-image-6.1.0-NN-amd64")
            XCTAssertTrue(try install(releases), "apt-get install of \(releases) failed")
        }
        return releases
    }

    /// Processes whose command line names `text` (the comparison's folder is on every guest's).
    func processes(naming text: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { Int($0) != nil }.compactMap { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(text) ? "\(pid) \(line)" : nil
        }
    }

    func testTwoDebianKernelsAlternateAndResume() throws {
        let start = Date()
        let releases = try installNewestDebianKernels()
        let folder = h.work.appendingPathComponent("kernels").path
        let arguments = ["kernels", releases[0], releases[1], "--accel", "tcg", "--boots", "2", "--memory", "1GiB",
                         "-t", "pipe", "-p", "latency", "-s", "64", "-r", "3", "--warmup", "1", "--count", "200",
                         "--min-trial-time", "0s", "-o", folder]
        let stems = ["A-\(releases[0])-boot1", "B-\(releases[1])-boot1", "A-\(releases[0])-boot2", "B-\(releases[1])-boot2"]
        let firstFile = "\(folder)/\(stems[0]).csv"

        let interrupted = try h.start(arguments)
        while !FileManager.default.fileExists(atPath: firstFile) && interrupted.0.isRunning { usleep(100_000) }
        kill(interrupted.0.processIdentifier, SIGINT)
        let stopped = h.finish(interrupted)
        XCTAssertEqual(stopped.status, 130, stopped.stdout + stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("with 1 of 4 boots finished"), stopped.stderr)
        XCTAssertEqual(try processes(naming: folder), [])
        let firstBytes = try Data(contentsOf: URL(fileURLWithPath: firstFile))
        let afterStop = try XCTUnwrap(KernelJournal.read(folder + "/journal.tsv")).events
        XCTAssertTrue(afterStop.contains { if case .stopped(2, _, 2) = $0 { return true } else { return false } }, "\(afterStop)")

        let resumed = try h.run(arguments)
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming, 1 of 4 boots done, 3 to go"), resumed.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: firstFile)), firstBytes)
        XCTAssertEqual(try processes(naming: folder), [])

        // A B A B: the journal finished the slots in that order, and the runs' start times agree.
        let events = try XCTUnwrap(KernelJournal.read(folder + "/journal.tsv")).events
        let finished = events.compactMap { event -> (Int, String)? in
            if case .finished(let slot, let stem, _, .tcg, _) = event { return (slot, stem) } else { return nil }
        }
        XCTAssertEqual(finished.map(\.0), [1, 2, 3, 4])
        XCTAssertEqual(finished.map { String($0.1.prefix { $0 != "-" }) }, ["A", "B", "A", "B"])
        let rows = try stems.map { try XCTUnwrap(h.readCSV("\(folder)/\($0).csv").dropFirst().first) }
        let times = rows.map { column("timestamp_utc", $0) }
        XCTAssertEqual(times, times.sorted(), "\(times)")
        let hostBoot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let boots = rows.map { column("boot_id", $0) }
        XCTAssertEqual(Set(boots).count, 4, "\(boots)")
        XCTAssertFalse(boots.contains(hostBoot))
        XCTAssertEqual(rows.map { column("kernel_release", $0) }, [releases[0], releases[1], releases[0], releases[1]])
        XCTAssertEqual(rows.map { column("virtualization", $0) }, ["tcg", "tcg", "tcg", "tcg"])
        XCTAssertEqual(rows.map { column("proc_version", $0).hasPrefix("Linux version \($0 == rows[1] || $0 == rows[3] ? releases[1] : releases[0]) ") },
                       [true, true, true, true])
        XCTAssertEqual(rows.map { column("status", $0) }, ["ok", "ok", "ok", "ok"])

        // The comparison: boots as the units, two a side, written as CSV too.
        XCTAssertTrue(resumed.stdout.contains("(2 runs vs 2 runs)"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("pipe latency 64 split  RTT p50 us"), resumed.stdout)
        let comparison = try h.readCSV(folder + "/comparison.csv")
        XCTAssertEqual(comparison.first, compareCSVColumns)
        let p50 = try XCTUnwrap(comparison.first { $0[0] == "case" && $0[7] == "RTT p50 us" })
        XCTAssertEqual(p50[1], "\(folder)/\(stems[1]).csv,\(folder)/\(stems[3]).csv")
        XCTAssertEqual(p50[15], "moderated-t")
        print("KernelsTests: installing, booting 4 + 1 interrupted guests and comparing took \(Int(Date().timeIntervalSince(start))) s")
    }

    func testBadArgumentsExitTwoAndWriteNothing() throws {
        let images = h.work.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let a = images.appendingPathComponent("vmlinuz-a").path, b = images.appendingPathComponent("vmlinuz-b").path
        for path in [a, b] { try Data("kernel".utf8).write(to: URL(fileURLWithPath: path)) }
        let folder = h.work.appendingPathComponent("out").path
        let other = h.work.appendingPathComponent("other").path
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        _ = try KernelJournal(path: other + "/journal.tsv", plan: [JournalField("journal", "1"), JournalField("boots", "5")])
        let used = h.work.appendingPathComponent("used").path
        try FileManager.default.createDirectory(atPath: used, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: used + "/notes.txt"))
        for (arguments, message) in [
            ([a], "kernels needs a base kernel and at least one new one: ipcbench kernels BASE NEW [NEW2 ...]"),
            ([a, "no-such-release"], "kernel 'no-such-release': no such kernel image (/boot/vmlinuz-no-such-release)"),
            ([a, b, "--boots", "0"], "--boots 0: give 1 to 100 boots per kernel"),
            ([a, b, "--accel", "fast"], "--accel fast: expected auto, kvm or tcg"),
            ([a, b, "--vcpus", "0"], "--vcpus 0: give 1 to 256 guest CPUs"),
            ([a, b, "--memory", "64MiB"], "--memory 64MiB: a guest needs at least 256MiB"),
            ([a, b, "--pin-vcpus", "99"], "--pin-vcpus '99': CPU 99 is not one this process may use"),
            ([a, b, "--boot-timeout", "soon"], "--boot-timeout 'soon' is not a duration"),
            ([a, b, "--order-seed", "9007199254740992"], "--order-seed 9007199254740992 is too large"),
            ([a, b, "-t", "carrier-pigeon"], "unknown transport 'carrier-pigeon'"),
            ([a, b, "--config", "/nonexistent.toml"], "/nonexistent.toml: cannot read the config file"),
            ([a, b, "-o", folder + ",x"], "virtme-ng cannot share a folder whose path holds ','"),
            ([a, b, "-o", used], "the folder holds files but no journal.tsv"),
            ([a, b, "-o", other], "holds a comparison with another plan (kernel A: none then, '\(a) release=a append=' now)"),
        ] {
            let outcome = try h.run(["kernels"] + arguments + (arguments.contains("-o") ? [] : ["-o", folder]))
            XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: ") && outcome.stderr.contains(message), "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr.filter { $0 == "\n" }.count, 1, outcome.stderr)
            XCTAssertEqual(outcome.stdout, "")
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder), "\(arguments)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: other), ["journal.tsv"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: used), ["notes.txt"])
    }
}
