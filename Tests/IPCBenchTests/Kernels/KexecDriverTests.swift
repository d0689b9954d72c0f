import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The kexec driver without rebooting anything: its checks before the first boot, the plan it prints
/// without --reboot, its unit, and the journal's walk from boot to boot, with a `kexec` and a
/// `systemctl` of the test's own on PATH that only write down how they were called.
final class KexecDriverTests: XCTestCase {
    var folder: URL!
    var savedPath = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kexec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("units"), withIntermediateDirectories: true)
        savedPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    }

    override func tearDownWithError() throws {
        setenv("PATH", savedPath, 1)
        try? FileManager.default.removeItem(at: folder)
    }

    let good = KexecMachine(effectiveUID: 0, capabilities: 0x1ff_ffff_ffff, pid1: "systemd", systemdBooted: true, kexecFound: true,
                            systemctlFound: true, loadDisabled: "0", lockdown: "[none] integrity confidentiality", kexecLoaded: "0")

    func testEveryCheckBeforeTheFirstBootRefusesWithWhatIsMissing() {
        XCTAssertNil(good.refusal)
        var noLockdown = good
        noLockdown.lockdown = ""
        XCTAssertNil(noLockdown.refusal)
        let cases: [(String, (inout KexecMachine) -> Void)] = [
            ("needs root", { $0.effectiveUID = 1000 }),
            ("lacks CAP_SYS_BOOT", { $0.capabilities = 0x1ff_ffff_ffff & ~(1 << 22) }),
            ("PID 1 is 'init', not systemd", { $0.pid1 = "init" }),
            ("PID 1 is 'systemd', not systemd", { $0.systemdBooted = false }),
            ("kexec is not installed: apt-get install kexec-tools", { $0.kexecFound = false }),
            ("systemctl is not on PATH", { $0.systemctlFound = false }),
            ("this kernel has no kexec", { $0.loadDisabled = "" }),
            ("kernel.kexec_load_disabled is 1: this boot refuses kexec", { $0.loadDisabled = "1" }),
            ("the kernel is locked down (none [integrity] confidentiality; Secure Boot?)", { $0.lockdown = "none [integrity] confidentiality" }),
            ("a kernel is already loaded for kexec", { $0.kexecLoaded = "1" }),
        ]
        for (message, change) in cases {
            var machine = good
            change(&machine)
            XCTAssertTrue(machine.refusal?.contains(message) == true, "\(message): \(machine.refusal ?? "nil")")
        }
    }

    func testTheFolderMustBeOnADiskThatSurvivesAReboot() {
        let mountinfo = """
            22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
            23 22 0:21 / /tmp rw,nosuid shared:2 - tmpfs tmpfs rw
            24 22 0:22 / /srv/live rw shared:3 - overlay overlay rw,lowerdir=/a
            25 23 253:1 / /tmp/disk rw shared:4 - xfs /dev/vdb rw
            26 22 0:23 / /mnt/my\\040ram rw shared:5 - ramfs ramfs rw
            """
        for (path, type) in [("/", "ext4"), ("/var/results", "ext4"), ("/tmp", "tmpfs"), ("/tmp/k/journal.tsv", "tmpfs"),
                             ("/tmpfoo", "ext4"), ("/tmp/disk/k", "xfs"), ("/srv/live/k", "overlay"), ("/mnt/my ram/k", "ramfs")] {
            XCTAssertEqual(fileSystemType(of: path, mountinfo: mountinfo), type, path)
        }
        XCTAssertEqual(volatileFileSystem(type: "tmpfs"), "tmpfs")
        XCTAssertEqual(volatileFileSystem(type: "ramfs"), "ramfs")
        XCTAssertTrue(volatileFileSystem(type: "overlay")?.hasPrefix("overlay") == true)
        XCTAssertNil(volatileFileSystem(type: "ext4"))
        XCTAssertNil(volatileFileSystem(type: "xfs"))
        XCTAssertEqual(volatileFileSystem(of: "/dev/shm/not/made/yet"), "tmpfs")
    }

    func testEachBootIsCheckedAgainstThePlan() {
        XCTAssertEqual(plannedCommandLine(origin: "BOOT_IMAGE=/vmlinuz-6.1 root=/dev/vda  ro initrd=/initrd quiet", append: "mitigations=off"),
                       "root=/dev/vda ro quiet mitigations=off")
        XCTAssertEqual(plannedCommandLine(origin: "root=/dev/vda", append: ""), "root=/dev/vda")
        let boot = BootFacts(bootID: "b1", procVersion: "Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP",
                             release: "6.1.0-57-amd64", commandLine: "root=/dev/vda quiet")
        XCTAssertNil(unexpectedBoot(boot, release: "6.1.0-57-amd64", commandLine: "root=/dev/vda quiet"))
        XCTAssertEqual(unexpectedBoot(boot, release: "6.1.0-56-amd64", commandLine: "root=/dev/vda quiet"),
                       "boot b1 is not 6.1.0-56-amd64 with the command line 'root=/dev/vda quiet': uname -r says 6.1.0-57-amd64; /proc/version says 'Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP'")
        XCTAssertEqual(unexpectedBoot(boot, release: "6.1.0-57-amd64", commandLine: "root=/dev/vda quiet mitigations=off"),
                       "boot b1 is not 6.1.0-57-amd64 with the command line 'root=/dev/vda quiet mitigations=off': the command line is 'root=/dev/vda quiet'")
        let liar = BootFacts(bootID: "b2", procVersion: "Linux version 6.1.0-570-amd64 (x)", release: "6.1.0-57-amd64", commandLine: "")
        XCTAssertTrue(unexpectedBoot(liar, release: "6.1.0-57-amd64", commandLine: "")?.contains("/proc/version says") == true)
    }

    func testTheUnitRunsTheSameCommandQuotedForSystemd() {
        let text = KexecDriver.unitText(command: ["/usr/local/bin/ipcbench", "kernels", "a b", "100%", "$HOME", "say \"hi\"", "back\\slash"],
                                        paths: ["/var/k", "/usr/local/bin/ipcbench"], folder: "/var/k%")
        XCTAssertEqual(text, """
            [Unit]
            Description=ipcbench kernels: the comparison in /var/k%%, resumed at every boot
            After=local-fs.target
            RequiresMountsFor="/var/k" "/usr/local/bin/ipcbench"

            [Service]
            Type=oneshot
            ExecStart="/usr/local/bin/ipcbench" "kernels" "a b" "100%%" "$$HOME" "say \\"hi\\"" "back\\\\slash"
            StandardOutput=journal+console
            StandardError=journal+console
            TimeoutStartSec=infinity

            [Install]
            WantedBy=multi-user.target

            """)
    }

    func kexecPlan(boots: Int = 1) -> KernelPlan {
        let kernels = [KernelImage(label: "A", path: "/boot/vmlinuz-a", release: "a", append: "", initrd: "/boot/initrd.img-a"),
                       KernelImage(label: "B", path: "/boot/vmlinuz-b", release: "b", append: "mitigations=off", initrd: "/boot/initrd.img-b")]
        return KernelPlan(kernels: kernels, boots: boots, orderSeed: nil, runArguments: ["--size", "64"], configPath: nil,
                          guest: GuestShape(vcpus: 0, memoryMiB: 0, pinCPUs: [], accel: .none), driver: .kexec)
    }

    func testAKexecPlanNamesItsDriverAndInitrdsAndNoGuest() {
        let plan = kexecPlan()
        XCTAssertEqual(plan.fields.map(\.key), ["journal", "kernel A", "kernel B", "boots", "order seed", "order", "config", "run options", "driver"])
        XCTAssertEqual(plan.fields[2].value, "/boot/vmlinuz-b release=b append=mitigations=off initrd=/boot/initrd.img-b")
        XCTAssertEqual(plan.digest.count, 16)
        XCTAssertEqual(KexecDriver.unitName(plan), "ipcbench-kernels-\(plan.digest).service")
        XCTAssertNotEqual(kexecPlan(boots: 2).digest, plan.digest)
        XCTAssertEqual(KernelPlan.digest(of: plan.fields), plan.digest)
    }

    func testWithoutRebootThePlanIsPrinted() {
        let plan = kexecPlan(boots: 2)
        let now = BootFacts(bootID: "b0", procVersion: "Linux version a (x)", release: "a", commandLine: "BOOT_IMAGE=/vmlinuz-a root=/dev/sda1 ro")
        let text = kexecPlanText(plan: plan, folder: "/var/k", now: now, home: "/boot/vmlinuz-a", unit: "ipcbench-kernels-0123.service",
                                 binary: "/usr/local/bin/ipcbench", recorded: [.finished(slot: 2, stem: "B-b-boot1-try1", seconds: 1, accel: .none, bootID: "x")])
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "the plan (nothing is rebooted without --reboot):")
        XCTAssertEqual(lines[1], "  A: a (/boot/vmlinuz-a, initrd /boot/initrd.img-a) with the command line 'root=/dev/sda1 ro'")
        XCTAssertEqual(lines[2], "  B: b (/boot/vmlinuz-b, initrd /boot/initrd.img-b) with the command line 'root=/dev/sda1 ro mitigations=off'")
        XCTAssertEqual(lines[3], "  3 boots, in this order: A1 B1 (done) A2 B2")
        XCTAssertEqual(lines[4], "  the unit /etc/systemd/system/ipcbench-kernels-0123.service runs this command again at every boot (/usr/local/bin/ipcbench kernels ...)")
        XCTAssertTrue(lines[5].hasPrefix("  each boot: kexec -l its kernel, systemctl kexec"), lines[5])
        XCTAssertEqual(lines[6], "  at the end: the unit removed, the boots compared (/var/k/comparison.csv), and a kexec back into a (/boot/vmlinuz-a) with 'root=/dev/sda1 ro'")
        XCTAssertTrue(lines.last!.hasPrefix("to start, run the same command with --reboot"), lines.last!)
        let stay = kexecPlanText(plan: plan, folder: "/var/k", now: now, home: nil, unit: "u", binary: "/b", recorded: [])
        XCTAssertTrue(stay.contains("  4 boots, in this order: A1 B1 A2 B2\n"), stay)
        XCTAssertTrue(stay.contains("the machine left in the last boot's kernel (--no-return)"), stay)
    }

    /// A `kexec` and a `systemctl` that write their arguments to `calls` and succeed.
    func fakeTools() throws -> URL {
        let calls = folder.appendingPathComponent("calls")
        for tool in ["kexec", "systemctl"] {
            let script = folder.appendingPathComponent("bin/\(tool)")
            try Data("#!/bin/sh\necho \"\(tool) $*\" >> '\(calls.path)'\n".utf8).write(to: script)
            XCTAssertEqual(chmod(script.path, 0o755), 0)
        }
        setenv("PATH", folder.appendingPathComponent("bin").path + ":" + savedPath, 1)
        return calls
    }

    func takeCalls(_ calls: URL) -> [String] {
        defer { try? FileManager.default.removeItem(at: calls) }
        return ((try? String(contentsOf: calls, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testTheJournalWalksFromBootToBoot() throws {
        let calls = try fakeTools()
        let units = folder.appendingPathComponent("units").path
        let driver = KexecDriver(unitFolder: units)
        let plan = kexecPlan()
        let dir = folder.appendingPathComponent("k").path
        // A suite that fails: its boot is journalled failed, and the plan goes on.
        let comparison = try KernelComparison(plan: plan, folder: dir, driver: driver, binary: "/bin/false", timeoutNs: 60_000_000_000)
        let unit = (name: "ipcbench-kernels-test.service", text: "[Unit]\n")
        let line = "BOOT_IMAGE=/vmlinuz-a root=/dev/vda quiet"
        func boot(_ id: String, _ release: String, _ commandLine: String) -> BootFacts {
            BootFacts(bootID: id, procVersion: "Linux version \(release) (builder) #1", release: release, commandLine: commandLine)
        }
        func origin(_ id: String) -> JournalEvent {
            .origin(path: "/boot/vmlinuz-a", release: "a", initrd: "/boot/initrd.img-a", commandLine: line, bootID: id)
        }
        var reports: [String] = []
        func step(_ now: BootFacts) throws -> KexecStep {
            try comparison.runKexec(driver, now: now, startPass: origin(now.bootID), unit: unit, report: { reports.append($0) })
        }
        func failure(_ slot: Int) -> String? {
            for case .failed(slot, _, _, .none, let reason, _) in comparison.journal.events.reversed() { return reason }
            return nil
        }

        // By hand in boot b0: the pass starts here; the unit is installed and the machine kexecs into A.
        XCTAssertEqual(try step(boot("b0", "a", line)), .rebooting)
        XCTAssertEqual(try String(contentsOfFile: "\(units)/\(unit.name)", encoding: .utf8), unit.text)
        XCTAssertEqual(takeCalls(calls), ["systemctl daemon-reload", "systemctl enable --quiet \(unit.name)",
                                          "kexec -l /boot/vmlinuz-a --initrd=/boot/initrd.img-a --command-line=root=/dev/vda quiet",
                                          "systemctl kexec"])
        XCTAssertEqual(Array(comparison.journal.events.dropFirst()), [origin("b0"), .start(slot: 1, stem: "A-a-boot1-try1"),
                                                                      .kexec(slot: 1, stem: "A-a-boot1-try1", from: "b0")])
        XCTAssertEqual(try String(contentsOfFile: dir + "/attempts/next", encoding: .utf8), dir + "/attempts/A-a-boot1-try1.csv")

        // Boot b1 is B's kernel, not A's (someone booted by hand): A1 failed with what was found; on to B1.
        XCTAssertEqual(try step(boot("b1", "b", "root=/dev/vda quiet mitigations=off")), .rebooting)
        XCTAssertTrue(failure(1)?.hasPrefix("another kernel came up (a reset, a watchdog, a boot by hand?): boot b1 is not a with the command line 'root=/dev/vda quiet': uname -r says b") == true, "\(failure(1) ?? "nil")")
        XCTAssertEqual(takeCalls(calls), ["systemctl daemon-reload", "systemctl enable --quiet \(unit.name)",
                                          "kexec -l /boot/vmlinuz-b --initrd=/boot/initrd.img-b --command-line=root=/dev/vda quiet mitigations=off",
                                          "systemctl kexec"])

        // Boot b2 is B1 as planned: the suite runs (and fails); no boot is left in the pass: the unit
        // goes, and the pass is over, with the origin to return to.
        XCTAssertEqual(try step(boot("b2", "b", "root=/dev/vda quiet mitigations=off")), .passOver(returnTo: origin("b0")))
        XCTAssertTrue(comparison.journal.events.contains(.booted(slot: 2, stem: "B-b-boot1-try1", bootID: "b2")))
        XCTAssertTrue(failure(2)?.hasPrefix("its results are unreadable") == true, "\(failure(2) ?? "nil")")
        XCTAssertTrue(reports.contains("[boot 2/2] B b boot 1: up as planned (boot_id b2); running the suite"), "\(reports)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/logs/B-b-boot1-try1.log"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(units)/\(unit.name)"))
        XCTAssertEqual(takeCalls(calls), ["systemctl disable --quiet \(unit.name)", "systemctl daemon-reload"])

        // The same command by hand (boot b3) starts a new pass: the failed boots are retried, A1 first.
        XCTAssertEqual(try step(boot("b3", "a", line)), .rebooting)
        XCTAssertEqual(comparison.journal.events.suffix(3), [origin("b3"), .start(slot: 1, stem: "A-a-boot1-try2"),
                                                             .kexec(slot: 1, stem: "A-a-boot1-try2", from: "b3")])
        // The machine did not reboot (the command again in b3): A1 failed, on to B1.
        _ = takeCalls(calls)
        XCTAssertEqual(try step(boot("b3", "a", line)), .rebooting)
        XCTAssertEqual(failure(1), "the machine did not reboot into it: boot b3, which loaded it, is still up")
        XCTAssertEqual(comparison.journal.events.last, .kexec(slot: 2, stem: "B-b-boot1-try2", from: "b3"))
        // B1 came up and its boot died during the suite (a reset): the next boot says so.
        try comparison.journal.append(.booted(slot: 2, stem: "B-b-boot1-try2", bootID: "b4"))
        XCTAssertEqual(try step(boot("b5", "a", line)), .passOver(returnTo: origin("b3")))
        XCTAssertEqual(failure(2), "boot b4 ended during its suite (a reset, a crash, a power loss?); boot b5 came up in a")
        XCTAssertEqual(comparison.missingSlots, [1, 2])
        // Run again, the command retries both.
        XCTAssertEqual(try step(boot("b5", "a", line)), .rebooting)
        XCTAssertEqual(comparison.journal.events.suffix(2).first, .start(slot: 1, stem: "A-a-boot1-try3"))
    }
}
