import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench kernels --driver kexec` for real, inside an emulated machine: a small Debian machine
/// (scripts/kexec-image: systemd, kexec-tools, two Debian kernels, in a disk image cached in
/// /var/cache/ipcbench) boots under QEMU (TCG) into kernel A, and the machine itself runs the
/// comparison: the real unit, the real `systemctl kexec`. The host then reads the comparison's folder
/// from the disk image with debugfs (no mount, no loop device).
///
/// Budget, with the image cached and the static binary built: 10 minutes for the two guest cases
/// together on this 2-CPU machine (9 min 44 s measured while other builds loaded it; each QEMU run
/// has a hard limit, `timeout -s KILL`, so a hung guest fails the test instead of hanging it). The
/// first build of the image takes about 4 minutes, the static binary a release build of its own.
final class KexecTests: XCTestCase {
    var h: Harness!
    /// Every QEMU this test started, killed at its end whatever happened.
    var guests: [Process] = []

    override func setUpWithError() throws { h = try Harness() }

    override func tearDownWithError() throws {
        for guest in guests where guest.isRunning {
            kill(guest.processIdentifier, SIGKILL)
            guest.waitUntilExit()
        }
        try h.finishChecks()
    }

    /// The folder of the comparison inside the machine.
    let folder = "/var/lib/ipcbench/k"

    @discardableResult
    /// The machine: the cached image's folder (disk.img, vmlinuz, initrd.img of kernel A) and the
    /// ipcbench binary with the Swift runtime linked in.
    func machine() throws -> (image: String, binary: String, releases: [String]) {
        let releases = try h.newestDebianKernels()
        var start = Date()
        // (swift build leaves files in its TMPDIR: one of its own, which the test's folder removes)
        let built = try h.shell("mkdir -p \(h.work.path)/swift-tmp && cd \(Harness.repository.path) && TMPDIR=\(h.work.path)/swift-tmp swift build -c release --static-swift-stdlib --scratch-path .build/static --product ipcbench")
        XCTAssertEqual(built.status, 0, built.output)
        let binary = Harness.repository.appendingPathComponent(".build/static/release/ipcbench").path
        print("KexecTests: the static binary took \(Int(Date().timeIntervalSince(start))) s (a build that was up to date takes seconds)")
        start = Date()
        let image = try h.shell("\(Harness.repository.path)/scripts/kexec-image \(releases[0]) \(releases[1])")
        XCTAssertEqual(image.status, 0, image.output)
        let folder = try XCTUnwrap(image.output.split(separator: "\n").last.map(String.init))
        let buildSeconds = (try? String(contentsOfFile: folder + "/build-seconds", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        print("KexecTests: the image \(folder) took \(Int(Date().timeIntervalSince(start))) s now (its first build took \(buildSeconds) s)")
        return (folder, binary, releases)
    }

    /// A copy of the image for this test, with the binary in /usr/local/bin and `script` in
    /// /ipcbench-test/run (which the machine runs once, at its next boot).
    func disk(_ machine: (image: String, binary: String, releases: [String]), script: String) throws -> String {
        let disk = h.work.appendingPathComponent("disk.img").path
        XCTAssertEqual(try h.shell("cp --sparse=always \(machine.image)/disk.img \(disk)").status, 0)
        try write(script, to: "/ipcbench-test/run", in: disk)
        let written = try h.shell("debugfs -w -R 'write \(machine.binary) /usr/local/bin/ipcbench' \(disk)")
        XCTAssertEqual(written.status, 0, written.output)
        XCTAssertEqual(try h.shell("debugfs -w -R 'sif /usr/local/bin/ipcbench mode 0100755' \(disk)").status, 0)
        return disk
    }

    func write(_ text: String, to path: String, in disk: String) throws {
        let local = h.work.appendingPathComponent("script").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: local))
        _ = try h.shell("debugfs -w -R 'rm \(path)' \(disk)")
        let written = try h.shell("debugfs -w -R 'write \(local) \(path)' \(disk)")
        XCTAssertEqual(written.status, 0, written.output)
        try FileManager.default.removeItem(atPath: local)
    }

    /// A file of the disk image, or nil.
    func read(_ path: String, in disk: String) throws -> String? {
        let local = h.work.appendingPathComponent("read-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: local) }
        _ = try h.shell("debugfs -R 'dump \(path) \(local)' \(disk)")
        return try? String(contentsOfFile: local, encoding: .utf8)
    }

    /// The comparison's folder, copied out of the disk image.
    func copyFolder(from disk: String) throws -> String {
        let out = h.work.appendingPathComponent("out")
        try? FileManager.default.removeItem(at: out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let copied = try h.shell("debugfs -R 'rdump \(folder) \(out.path)' \(disk)")
        XCTAssertEqual(copied.status, 0, copied.output)
        return out.appendingPathComponent("k").path
    }

    /// The names in a folder of the disk image.
    func list(_ path: String, in disk: String) throws -> [String] {
        try h.shell("debugfs -R 'ls -p \(path)' \(disk)").output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "/", omittingEmptySubsequences: false)
            return fields.count > 5 ? String(fields[5]) : nil
        }
    }

    /// Boots the machine from `disk` into kernel A under QEMU (TCG) and waits until it powers off.
    /// `onConsole` sees the console so far at every poll and may send monitor commands (its return
    /// value, written to QEMU's monitor). Fails when the machine has not powered off within `limit` s.
    func boot(_ machine: (image: String, binary: String, releases: [String]), disk: String, limit: Int,
              onConsole: (String) -> String? = { _ in nil }) throws -> String {
        let console = h.work.appendingPathComponent("console-\(guests.count).log").path
        _ = FileManager.default.createFile(atPath: console, contents: nil)
        // timeout: a QEMU outlives neither its limit nor, with SIGKILL, a test process that died.
        let argv = ["timeout", "-s", "KILL", String(limit + 30), "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-nographic",
                    "-serial", "file:\(console)", "-monitor", "stdio", "-accel", "tcg", "-m", "1024", "-smp", "1",
                    "-kernel", machine.image + "/vmlinuz", "-initrd", machine.image + "/initrd.img",
                    "-append", "root=/dev/vda rw console=ttyS0 quiet",
                    "-drive", "file=\(disk),format=raw,if=virtio", "-device", "virtio-rng-pci"]
        let qemu = Process()
        qemu.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        qemu.arguments = argv
        let monitor = Pipe()
        qemu.standardInput = monitor
        qemu.standardOutput = FileHandle.nullDevice
        qemu.standardError = FileHandle.nullDevice
        try qemu.run()
        guests.append(qemu)
        let start = Date()
        while qemu.isRunning && Date().timeIntervalSince(start) < Double(limit) {
            usleep(200_000)
            let text = (try? String(contentsOfFile: console, encoding: .utf8)) ?? ""
            if let command = onConsole(text) { monitor.fileHandleForWriting.write(Data((command + "\n").utf8)) }
        }
        let hung = qemu.isRunning
        if hung {
            kill(qemu.processIdentifier, SIGKILL)
        }
        qemu.waitUntilExit()
        let text = (try? String(contentsOfFile: console, encoding: .utf8)) ?? ""
        XCTAssertFalse(hung, "the machine did not power off within \(limit) s; its console ends:\n\(text.suffix(3000))")
        print("KexecTests: the machine ran \(Int(Date().timeIntervalSince(start))) s")
        return text
    }

    /// The boots the console shows: (release, boot_id) of each `ipcbench-test: up` line.
    func boots(_ console: String) -> [(release: String, bootID: String)] {
        // (a serial console ends its lines with CR LF, one Character in Swift)
        console.split(whereSeparator: \.isNewline).compactMap { line in
            guard let range = line.range(of: "ipcbench-test: up ") else { return nil }
            let words = line[range.upperBound...].split(separator: " ")
            guard words.count == 2 else { return nil }
            return (String(words[0]), String(words[1].dropFirst("boot_id=".count)))
        }
    }

    func kernelsCommand(_ releases: [String], _ extra: String) -> String {
        "/usr/local/bin/ipcbench kernels \(releases[0]) \(releases[1]) --driver kexec \(extra) -o \(folder)"
    }

    /// Four kexecs through the unit (A B A B), each boot checked and journalled, then the return to A.
    func testFourKexecsAndTheReturnInsideAnEmulatedMachine() throws {
        let m = try machine()
        let (a, b) = (m.releases[0], m.releases[1])
        let suite = "--boots 2 -t pipe -p latency -s 64 -r 3 --warmup 1 --count 200 --min-trial-time 0s"
        // First without --reboot (the plan, nothing rebooted, nothing written), then with it.
        let disk = try disk(m, script: """
            \(kernelsCommand(m.releases, suite))
            echo "without --reboot: exit status $?"
            test -e \(folder) && echo "the folder exists" || echo "no folder"
            \(kernelsCommand(m.releases, suite + " --reboot"))

            """)
        let start = Date()
        let console = try boot(m, disk: disk, limit: 540)
        let ups = boots(console)
        XCTAssertEqual(ups.map(\.release), [a, a, b, a, b, a], console.suffix(3000).description)
        XCTAssertEqual(Set(ups.map(\.bootID)).count, ups.count, "\(ups)")
        XCTAssertTrue(console.contains("ipcbench-test: idle in \(a), powering off"), console.suffix(3000).description)

        let firstRun = try XCTUnwrap(read("/ipcbench-test/run.out", in: disk))
        XCTAssertTrue(firstRun.contains("the plan (nothing is rebooted without --reboot):"), firstRun)
        XCTAssertTrue(firstRun.contains("  4 boots, in this order: A1 B1 A2 B2"), firstRun)
        XCTAssertTrue(firstRun.contains("\nwithout --reboot: exit status 0\nno folder\n"), firstRun)
        XCTAssertTrue(firstRun.contains("[boot 1/4] A \(a) boot 1: kexec into /boot/vmlinuz-\(a) with 'root=/dev/vda rw console=ttyS0 quiet'"), firstRun)

        // The comparison printed at the end, on the console (the unit's output goes there too), then the return.
        XCTAssertTrue(console.contains("(2 runs vs 2 runs)"), console.suffix(4000).description)
        XCTAssertTrue(console.contains("pipe latency 64 same  RTT p50 us"), console.suffix(4000).description)
        XCTAssertTrue(console.contains("returning to \(a): kexec into /boot/vmlinuz-\(a) with 'root=/dev/vda rw console=ttyS0 quiet'"), console.suffix(4000).description)

        let k = try copyFolder(from: disk)
        let stems = ["A-\(a)-boot1", "B-\(b)-boot1", "A-\(a)-boot2", "B-\(b)-boot2"]
        let rows = try stems.map { try XCTUnwrap(h.readCSV("\(k)/\($0).csv").dropFirst().first, $0) }
        let bootIDs = rows.map { column("boot_id", $0) }
        XCTAssertEqual(bootIDs, Array(ups.map(\.bootID)[1...4]))
        XCTAssertEqual(Set(bootIDs).count, 4)
        XCTAssertEqual(rows.map { column("kernel_release", $0) }, [a, b, a, b])
        XCTAssertEqual(zip(rows, [a, b, a, b]).map { column("proc_version", $0).hasPrefix("Linux version \($1) ") }, [true, true, true, true])
        XCTAssertEqual(rows.map { column("kernel_cmdline", $0) }, Array(repeating: "root=/dev/vda rw console=ttyS0 quiet", count: 4))
        XCTAssertEqual(rows.map { column("virtualization", $0) }, ["tcg", "tcg", "tcg", "tcg"])
        XCTAssertEqual(rows.map { column("status", $0) }, ["ok", "ok", "ok", "ok"])

        // The journal: one pass from boot 0, each slot kexec'd from the boot before it, up in its own boot, finished.
        let events = try XCTUnwrap(KernelJournal.read(k + "/journal.tsv")).events
        let ids = ups.map(\.bootID)
        guard case .origin(let path, let release, _, let line, let originBoot)? = events.dropFirst().first else {
            return XCTFail("the journal does not begin with the pass's origin: \(events)")
        }
        XCTAssertEqual([path, release, line, originBoot], ["/boot/vmlinuz-\(a)", a, "root=/dev/vda rw console=ttyS0 quiet", ids[0]])
        var expected: [JournalEvent] = []
        for slot in 1...4 {
            let stem = "\(stems[slot - 1])-try1"
            expected += [.start(slot: slot, stem: stem), .kexec(slot: slot, stem: stem, from: ids[slot - 1]),
                         .booted(slot: slot, stem: stem, bootID: ids[slot])]
            let finished = events.first { if case .finished(slot, stem, _, .none, ids[slot]) = $0 { return true } else { return false } }
            expected.append(try XCTUnwrap(finished, "slot \(slot) did not finish in boot \(ids[slot]): \(events)"))
        }
        XCTAssertEqual(Array(events.dropFirst(2)), expected)
        XCTAssertTrue(FileManager.default.fileExists(atPath: k + "/comparison.csv"))

        // Nothing left on the machine: no unit, nothing enabled.
        XCTAssertEqual(try list("/etc/systemd/system", in: disk).filter { $0.hasPrefix("ipcbench-kernels-") }, [])
        XCTAssertEqual(try list("/etc/systemd/system/multi-user.target.wants", in: disk).filter { $0.hasPrefix("ipcbench-kernels-") }, [])
        print("KexecTests: four kexecs and the return took \(Int(Date().timeIntervalSince(start))) s in the machine")
    }

    /// A reset (QEMU's system_reset) during a boot's suite: the next boot records that boot as
    /// failed and completes the rest; the same command run again retries it.
    func testAResetDuringASuiteIsRecordedAndRetried() throws {
        let m = try machine()
        let (a, b) = (m.releases[0], m.releases[1])
        // 100,000 round trips a trial (some 7 s under TCG): the suite runs long enough for the reset to land in it.
        let command = kernelsCommand(m.releases, "--boots 1 --no-return --reboot -t pipe -p latency -s 64 -r 2 --warmup 0 --count 100000 --min-trial-time 0s")
        let disk = try disk(m, script: command + "\n")
        var reset = false
        let console = try boot(m, disk: disk, limit: 420) { text in
            guard !reset, text.contains("[boot 1/2] A \(a) boot 1: up as planned") else { return nil }
            reset = true
            usleep(2_000_000)
            return "system_reset"
        }
        XCTAssertTrue(reset, console.suffix(3000).description)
        let ups = boots(console)
        XCTAssertEqual(ups.map(\.release), [a, a, a, b], console.suffix(3000).description)
        XCTAssertTrue(console.contains("ipcbench-test: idle in \(b), powering off"), console.suffix(3000).description)
        XCTAssertTrue(console.contains("no comparison: kernel A has no finished boot"), console.suffix(3000).description)
        XCTAssertTrue(console.contains("the machine stays in \(b)"), console.suffix(3000).description)
        var events = try XCTUnwrap(KernelJournal.read(copyFolder(from: disk) + "/journal.tsv")).events
        let ids = ups.map(\.bootID)
        let stemA = "A-\(a)-boot1", stemB = "B-\(b)-boot1"
        XCTAssertTrue(events.contains(.booted(slot: 1, stem: stemA + "-try1", bootID: ids[1])), "\(events)")
        let failed = events.compactMap { event -> String? in if case .failed(1, stemA + "-try1", _, .none, let why, _) = event { return why } else { return nil } }
        XCTAssertEqual(failed, ["boot \(ids[1]) ended during its suite (a reset, a crash, a power loss?); boot \(ids[2]) came up in \(a)"])
        XCTAssertTrue(events.contains { if case .finished(2, stemB + "-try1", _, .none, ids[3]) = $0 { return true } else { return false } }, "\(events)")
        XCTAssertEqual(try list("/etc/systemd/system", in: disk).filter { $0.hasPrefix("ipcbench-kernels-") }, [])

        // The same command again, in a machine booted into A again: A1 is retried, then compared.
        try write(command + "\n", to: "/ipcbench-test/run", in: disk)
        let again = try boot(m, disk: disk, limit: 300)
        let upsAgain = boots(again)
        XCTAssertEqual(upsAgain.map(\.release), [a, a], again.suffix(3000).description)
        XCTAssertTrue(again.contains("(1 run vs 1 run)"), again.suffix(4000).description)
        let k = try copyFolder(from: disk)
        events = try XCTUnwrap(KernelJournal.read(k + "/journal.tsv")).events
        XCTAssertTrue(events.contains { if case .finished(1, stemA + "-try2", _, .none, upsAgain[1].bootID) = $0 { return true } else { return false } }, "\(events)")
        let rows = try [stemA, stemB].map { try XCTUnwrap(h.readCSV("\(k)/\($0).csv").dropFirst().first, $0) }
        XCTAssertEqual(rows.map { column("boot_id", $0) }, [upsAgain[1].bootID, ids[3]])
        XCTAssertTrue(FileManager.default.fileExists(atPath: k + "/comparison.csv"))
        XCTAssertEqual(try list("/etc/systemd/system", in: disk).filter { $0.hasPrefix("ipcbench-kernels-") }, [])
    }

    /// On a machine that cannot kexec through systemd (this test's host: PID 1 is not systemd), the
    /// driver refuses before anything is written; a vm-only option with kexec's is refused too.
    func testTheKexecDriverRefusesWhatItCannotDo() throws {
        let folder = h.work.appendingPathComponent("k").path
        let releases = (try? FileManager.default.contentsOfDirectory(atPath: "/boot"))?.filter { $0.hasPrefix("vmlinuz-") }
            .map { String($0.dropFirst(8)) }.sorted() ?? []
        try XCTSkipIf(releases.count < 2, "two kernels in /boot are needed (KernelsTests installs them)")
        let pid1 = try String(contentsOfFile: "/proc/1/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try XCTSkipIf(pid1 == "systemd", "this host boots with systemd: the refusal below is not what it would say")
        for (arguments, message) in [
            (["--driver", "kexec", "--reboot"], "--driver kexec: PID 1 is '\(pid1)', not systemd"),
            (["--driver", "kexec"], "--driver kexec: PID 1 is '\(pid1)', not systemd"),
            (["--driver", "bare"], "--driver bare: expected vm or kexec"),
            (["--reboot"], "--reboot is for the kexec driver"),
            (["--no-return"], "--no-return is for the kexec driver"),
            (["--driver", "kexec", "--initrd-new", "/nonexistent"], "--initrd-new /nonexistent: no such readable file"),
        ] {
            let outcome = try h.run(["kernels", releases[0], releases[1]] + arguments + ["-o", folder])
            XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.stdout) \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: ") && outcome.stderr.contains(message), "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(outcome.stdout, "")
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder), "\(arguments)")
        }
        let abandon = try h.run(["kernels", "--abandon", "-o", folder])
        XCTAssertEqual(abandon.status, 2)
        XCTAssertTrue(abandon.stderr.contains("--abandon -o \(folder): no comparison there"), abandon.stderr)
    }
}
