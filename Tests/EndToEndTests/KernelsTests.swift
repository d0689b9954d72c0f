import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench kernels` through the binary: bad arguments (no QEMU needed), then two real Debian
/// kernels booted under emulation, interrupted after the first boot and resumed.
final class KernelsTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// Runs a shell command line; its status and output.
    @discardableResult
    /// The two newest `linux-image-6.1.0-NN-amd64` the registry offers now, installed; their releases.
    func installNewestDebianKernels() throws -> [String] {
        func install(_ releases: [String]) throws -> Bool {
            let packages = releases.map { "linux-image-\($0)" }.joined(separator: " ")
            return try h.shell("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \(packages)").status == 0
        }
        var releases = try h.newestDebianKernels()
        if try !install(releases) {
            // Old lists may name images the registry has dropped: read them again and retry once.
            releases = try h.newestDebianKernels(update: true)
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
        // A metric's cases pool their variances from 10 cases up; fewer are tested on their own boots.
        let p50Cases = comparison.filter { $0[0] == "case" && $0[7] == "RTT p50 us" }.count
        XCTAssertEqual(p50[15], p50Cases >= 10 ? "moderated-t" : "runs-t")
        print("KernelsTests: installing, booting 4 + 1 interrupted guests and comparing took \(Int(Date().timeIntervalSince(start))) s")
    }

    /// Two files `kernels` takes for kernel images, and a `vng` of the test's own first on PATH that
    /// boots nothing: `body` is its shell script, with $VNG_FOLDER the folder it would share. Every
    /// call is counted in `vng-calls`. The environment to run ipcbench in is the third value.
    func fakeVNG(_ body: String) throws -> (a: String, b: String, environment: [String]) {
        let bin = h.work.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            while [ "$#" -gt 0 ]; do [ "$1" = --rwdir ] && VNG_FOLDER=$2; shift; done
            echo $$ >> "$VNG_CALLS"
            \(body)

            """
        try Data(script.utf8).write(to: bin.appendingPathComponent("vng"))
        XCTAssertEqual(chmod(bin.appendingPathComponent("vng").path, 0o755), 0)
        let a = h.work.appendingPathComponent("vmlinuz-a").path, b = h.work.appendingPathComponent("vmlinuz-b").path
        for path in [a, b] where !FileManager.default.fileExists(atPath: path) { try Data("kernel".utf8).write(to: URL(fileURLWithPath: path)) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (a, b, ["PATH=\(bin.path):\(path)", "VNG_CALLS=\(h.work.appendingPathComponent("vng-calls").path)"])
    }

    func vngCalls() -> Int {
        ((try? String(contentsOfFile: h.work.appendingPathComponent("vng-calls").path, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    func startKernels(_ environment: [String], _ arguments: [String]) throws -> (Process, Pipe, Pipe) {
        try h.start(environment + [Harness.binary, "kernels"] + arguments, executable: "/usr/bin/env")
    }

    func waitFor(_ path: String, while process: Process) {
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: path) && process.isRunning { usleep(100_000) }
    }

    /// Whether `pid` is gone: no such process, or a zombie no one has reaped yet.
    func gone(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.split(separator: ")").last?.dropFirst().hasPrefix("Z") == true
    }

    /// A folder whose journal cannot be read, or lies, is refused before anything boots, and nothing
    /// in it or outside it changes.
    func testDamagedJournalsAreRefusedNotStartedOver() throws {
        let (a, b, environment) = try fakeVNG("exit 1")
        let folder = h.work.appendingPathComponent("k").path, journal = folder + "/journal.tsv"
        let arguments = [a, b, "--boots", "2", "--accel", "tcg", "--memory", "256MiB", "-o", folder]
        let first = h.finish(try startKernels(environment, arguments))
        XCTAssertEqual(first.status, 1, first.stdout + first.stderr)
        XCTAssertEqual(vngCalls(), 4)
        let good = try String(contentsOfFile: journal, encoding: .utf8)
        let goodLines = good.split(separator: "\n").map(String.init)
        let evil = h.work.appendingPathComponent("evil.csv").path
        try Data("not a comparison's file".utf8).write(to: URL(fileURLWithPath: evil))
        let padding = String(repeating: "accel\ttcg\t\(String(repeating: "x", count: 1000))\n", count: 1200)
        let cases: [(String, String, [String], String)] = [
            ("a journal of 1.2 MB with another plan", good + padding, ["--boots", "3"], "holds a comparison with another plan (boots: '2' then, '3' now)"),
            ("CRLF line ends", good.replacingOccurrences(of: "\n", with: "\r\n"), [], "a carriage return (CRLF line ends?)"),
            ("an empty journal", "", [], "empty"),
            ("a plan line cut short", String(good.prefix(40)), [], "its plan line is cut short"),
            ("slot 0", good + "failed\t0\tA-vmlinuz-a-boot1-try1\t1.0\ttcg\twhy\n", [], "slot 0 is not a boot of the plan's 4"),
            ("slot -1", good + "start\t-1\tA-vmlinuz-a-boot1-try1\n", [], "slot -1 is not a boot of the plan's 4"),
            ("slot 5", good + "finished\t5\tA-vmlinuz-a-boot1-try1\t1.0\ttcg\tid\n", [], "slot 5 is not a boot of the plan's 4"),
            ("slot 999", good + "stopped\t999\tA-vmlinuz-a-boot1-try1\t2\n", [], "slot 999 is not a boot of the plan's 4"),
            ("a stem that leaves the folder", good + "finished\t1\t../../evil\t1.0\ttcg\tid\n", [], "'../../evil' is not an attempt's name"),
            ("a second plan line", good + goodLines[0] + "\n", [], "a second plan"),
        ]
        for (name, text, extra, message) in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: journal))
            let listing = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            let outcome = h.finish(try startKernels(environment, arguments.dropLast(2) + extra + ["-o", folder]))
            XCTAssertEqual(outcome.status, 2, "\(name): \(outcome.stdout) \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: ") && outcome.stderr.contains(message), "\(name): \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr.filter { $0 == "\n" }.count, 1, "\(name): \(outcome.stderr)")
            XCTAssertEqual(outcome.stdout, "", name)
            XCTAssertEqual(try String(contentsOfFile: journal, encoding: .utf8), text, name)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), listing, name)
            XCTAssertEqual(vngCalls(), 4, name)
        }
        XCTAssertEqual(try String(contentsOfFile: evil, encoding: .utf8), "not a comparison's file")

        // A journal that is a symbolic link is neither followed nor written through.
        let outside = h.work.appendingPathComponent("outside.tsv").path
        try Data(good.utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.removeItem(atPath: journal)
        try FileManager.default.createSymbolicLink(atPath: journal, withDestinationPath: outside)
        let linked = h.finish(try startKernels(environment, arguments))
        XCTAssertEqual(linked.status, 2, linked.stdout + linked.stderr)
        XCTAssertTrue(linked.stderr.contains("\(journal): a symbolic link"), linked.stderr)
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), good)
        XCTAssertEqual(vngCalls(), 4)
    }

    /// A second command on a folder another one works in is refused, naming the first one's pid.
    func testASecondCommandOnTheFolderIsRefused() throws {
        let (a, b, environment) = try fakeVNG("touch \"$VNG_FOLDER/booting\"; exec sleep 600")
        let folder = h.work.appendingPathComponent("k").path
        let arguments = [a, b, "--boots", "1", "--accel", "tcg", "--memory", "256MiB", "-o", folder]
        let first = try startKernels(environment, arguments)
        waitFor(folder + "/booting", while: first.0)
        let second = h.finish(try startKernels(environment, arguments))
        XCTAssertEqual(second.status, 2, second.stdout + second.stderr)
        XCTAssertTrue(second.stderr.contains("another ipcbench kernels (pid \(first.0.processIdentifier)) works in \(folder)"), second.stderr)
        XCTAssertEqual(second.stdout, "")
        XCTAssertEqual(vngCalls(), 1)
        kill(first.0.processIdentifier, SIGTERM)
        let stopped = h.finish(first)
        XCTAssertEqual(stopped.status, 143, stopped.stdout + stopped.stderr)
    }

    /// SIGKILL of the command takes its guests with it: vng (here a shell) and what vng started
    /// (QEMU; here a sleep).
    func testGuestsDieWithTheCommand() throws {
        let (a, b, environment) = try fakeVNG("sleep 600 & echo $! > \"$VNG_FOLDER/guest.pid.new\"; mv \"$VNG_FOLDER/guest.pid.new\" \"$VNG_FOLDER/guest.pid\"; wait")
        let folder = h.work.appendingPathComponent("k").path
        let command = try startKernels(environment, [a, b, "--boots", "1", "--accel", "tcg", "--memory", "256MiB", "-o", folder])
        waitFor(folder + "/guest.pid", while: command.0)
        let guest = try XCTUnwrap(pid_t(String(contentsOfFile: folder + "/guest.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(guest, SIGKILL) }
        kill(command.0.processIdentifier, SIGKILL)
        _ = h.finish(command)
        for _ in 0..<100 where !gone(guest) { usleep(100_000) }
        XCTAssertTrue(gone(guest), "the guest \(guest) outlived the command")
    }

    /// A write that fails after the first boot (here attempts/next cannot be written) is exit 3.
    func testAWriteFailureAfterBootingExitsThree() throws {
        let (a, b, environment) = try fakeVNG("mkdir -p \"$VNG_FOLDER/attempts/next.tmp\"; exit 1")
        let folder = h.work.appendingPathComponent("k").path
        let outcome = h.finish(try startKernels(environment, [a, b, "--boots", "1", "--accel", "tcg", "--memory", "256MiB", "-o", folder]))
        XCTAssertEqual(outcome.status, 3, outcome.stdout + outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: cannot write \(folder)/attempts/next"), outcome.stderr)
        XCTAssertEqual(vngCalls(), 1)
    }

    /// A release read from a bzImage header names no folder outside results/.
    func testAReleaseFromAnImageHeaderStaysInResults() throws {
        let (_, b, environment) = try fakeVNG("exit 1")
        let target = h.work.appendingPathComponent("ESCAPED").path
        let release = String(repeating: "../", count: 12) + target.dropFirst()
        var image = Data(count: 0x400)
        image.replaceSubrange(0x202..<0x206, with: Data("HdrS".utf8))
        image[0x20E] = 0x00; image[0x20F] = 0x01
        image.replaceSubrange(0x300..<0x300 + release.utf8.count, with: Data(release.utf8))
        let a = h.work.appendingPathComponent("bzImage").path
        try image.write(to: URL(fileURLWithPath: a))
        let command = "cd \(h.work.path) && exec \(Harness.binary) kernels \(a) \(b) --boots 1 --accel tcg --memory 256MiB"
        let outcome = h.finish(try h.start(environment + ["/bin/sh", "-c", command], executable: "/usr/bin/env"))
        XCTAssertEqual(outcome.status, 1, outcome.stdout + outcome.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target + "-vs-vmlinuz-b"))
        let made = try FileManager.default.contentsOfDirectory(atPath: h.work.appendingPathComponent("results").path)
        XCTAssertEqual(made.count, 1)
        XCTAssertTrue(made.allSatisfy { $0.hasPrefix("kernels-") && !$0.contains("/") }, "\(made)")
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
