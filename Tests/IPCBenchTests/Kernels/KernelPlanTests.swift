import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The plan of a kernel comparison without QEMU: the order of boots, the kernels named on the
/// command line, the guest's CPU list, and what makes two plans differ.
final class KernelPlanTests: XCTestCase {
    func names(_ order: [BootSlot]) -> String {
        order.map { "\(kernelLabel($0.kernel))\($0.boot)" }.joined(separator: " ")
    }

    func testOrderAlternates() {
        XCTAssertEqual(names(bootOrder(kernels: 2, boots: 3, seed: nil)), "A1 B1 A2 B2 A3 B3")
        XCTAssertEqual(names(bootOrder(kernels: 3, boots: 2, seed: nil)), "A1 B1 C1 A2 B2 C2")
        XCTAssertEqual(names(bootOrder(kernels: 2, boots: 1, seed: nil)), "A1 B1")
    }

    func testSeededOrderShufflesEachRoundAndReplays() {
        let orders = (0..<20).map { bootOrder(kernels: 3, boots: 4, seed: UInt64($0)) }
        for order in orders {
            for round in 1...4 {
                XCTAssertEqual(order.filter { $0.boot == round }.map(\.kernel).sorted(), [0, 1, 2], names(order))
                XCTAssertEqual(order[(round - 1) * 3..<round * 3].map(\.boot), [round, round, round], names(order))
            }
        }
        XCTAssertEqual(bootOrder(kernels: 3, boots: 4, seed: 7), orders[7])
        XCTAssertTrue(orders.contains { $0 != bootOrder(kernels: 3, boots: 4, seed: nil) })
        XCTAssertGreaterThan(Set(orders.map(names)).count, 10)
    }

    func testKernelsByPathOrRelease() throws {
        let boot = FileManager.default.temporaryDirectory.appendingPathComponent("kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: boot, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: boot) }
        try Data("not a bzImage".utf8).write(to: boot.appendingPathComponent("vmlinuz-1.2.3-test"))
        // A bzImage's setup header: "HdrS" at 0x202, the version string's offset (less 0x200) at 0x20E.
        var image = Data(count: 0x400)
        image.replaceSubrange(0x202..<0x206, with: Data("HdrS".utf8))
        image[0x20E] = 0x00; image[0x20F] = 0x01
        image.replaceSubrange(0x300..<0x31C, with: Data("6.1.0-99-amd64 (builder) #1 ".utf8))
        let bz = boot.appendingPathComponent("bzImage")
        try image.write(to: bz)

        let byRelease = try resolveKernel("1.2.3-test", bootDirectory: boot.path)
        XCTAssertEqual(byRelease.release, "1.2.3-test")
        XCTAssertTrue(byRelease.path.hasSuffix("/vmlinuz-1.2.3-test"))
        XCTAssertEqual(try resolveKernel(bz.path, bootDirectory: boot.path).release, "6.1.0-99-amd64")
        XCTAssertThrowsError(try resolveKernel("9.9.9", bootDirectory: boot.path)) { error in
            XCTAssertEqual((error as? InputError)?.message,
                           "kernel '9.9.9': no such kernel image (\(boot.path)/vmlinuz-9.9.9); give the path to an image or a release (in \(boot.path): 1.2.3-test)")
        }
        XCTAssertThrowsError(try resolveKernel(boot.path, bootDirectory: boot.path))  // a folder is no image
        XCTAssertEqual(KernelImage(label: "B", path: "/k", release: "6.1 test/x", append: "").stem(boot: 2), "B-6.1_test_x-boot2")
    }

    func testCPUList() throws {
        XCTAssertEqual(try parseCPUList("1,0", what: "--pin-vcpus", allowed: [0, 1]), [1, 0])
        XCTAssertEqual(try parseCPUList("0-2", what: "--pin-vcpus", allowed: [0, 1, 2, 3]), [0, 1, 2])
        for (text, message) in [
            ("x", "--pin-vcpus 'x': 'x' is not a CPU or a range; write CPUs as 0,1 or 0-3"),
            ("3-1", "--pin-vcpus '3-1': '3-1' is not a CPU or a range; write CPUs as 0,1 or 0-3"),
            ("0,,1", "--pin-vcpus '0,,1': '' is not a CPU or a range; write CPUs as 0,1 or 0-3"),
            ("5", "--pin-vcpus '5': CPU 5 is not one this process may use (0,1)"),
        ] {
            XCTAssertThrowsError(try parseCPUList(text, what: "--pin-vcpus", allowed: [0, 1])) { error in
                XCTAssertEqual((error as? InputError)?.message, message)
            }
        }
    }

    func testPlansDifferInTheFieldThatChanged() {
        let kernels = [KernelImage(label: "A", path: "/boot/a", release: "a", append: ""),
                       KernelImage(label: "B", path: "/boot/b", release: "b", append: "mitigations=off")]
        let guest = GuestShape(vcpus: 2, memoryMiB: 1024, pinCPUs: [], accel: .tcg)
        let plan = KernelPlan(kernels: kernels, boots: 2, orderSeed: nil, runArguments: ["--size", "64"], configPath: nil, guest: guest)
        XCTAssertNil(plan.difference(from: plan.fields))
        XCTAssertEqual(plan.fields.first { $0.key == "order" }?.value, "A1 B1 A2 B2")
        let more = KernelPlan(kernels: kernels, boots: 3, orderSeed: nil, runArguments: ["--size", "64"], configPath: nil, guest: guest)
        XCTAssertEqual(plan.difference(from: more.fields), "boots: '3' then, '2' now")
        let seeded = KernelPlan(kernels: kernels, boots: 2, orderSeed: 5, runArguments: ["--size", "64"], configPath: nil, guest: guest)
        XCTAssertEqual(plan.difference(from: seeded.fields), "order seed: '5' then, 'none' now")
        let three = KernelPlan(kernels: kernels + [KernelImage(label: "C", path: "/boot/c", release: "c", append: "")], boots: 2,
                               orderSeed: nil, runArguments: ["--size", "64"], configPath: nil, guest: guest)
        XCTAssertEqual(plan.difference(from: three.fields)?.hasPrefix("order: "), true)
        XCTAssertEqual(three.difference(from: plan.fields), "kernel C: none then, '/boot/c release=c append=' now")
    }
}

/// The journal: events written one line each, read back, a line cut short by a crash dropped, and a
/// comparison resumed with only its missing boots (through a boot driver that needs no QEMU).
final class KernelJournalTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testEventsRoundTrip() throws {
        let path = folder.appendingPathComponent("journal.tsv").path
        let plan = [JournalField("journal", "1"), JournalField("run options", "--size 64 --cpus=a,b")]
        let events: [JournalEvent] = [
            .accel(.tcg, "a KVM guest did not answer"),
            .start(slot: 1, stem: "A-6.1-boot1-try1"),
            .finished(slot: 1, stem: "A-6.1-boot1-try1", seconds: 41.2, accel: .tcg, bootID: "0f6c0c9e"),
            .failed(slot: 2, stem: "B-6.1-boot1-try1", seconds: 600, accel: .tcg, reason: "no end within --boot-timeout (600 s)",
                    console: ["[ 1.0] Probing EDD", "tab\there", "back\\slash"]),
            .stopped(slot: 3, stem: "A-6.1-boot2-try1", signal: 2),
            .origin(path: "/boot/vmlinuz-6.1", release: "6.1", initrd: "/boot/initrd.img-6.1", commandLine: "root=/dev/vda\tquiet", bootID: "b0"),
            .kexec(slot: 3, stem: "A-6.1-boot2-try2", from: "b0"),
            .booted(slot: 3, stem: "A-6.1-boot2-try2", bootID: "b1"),
        ]
        do {
            let journal = try KernelJournal(path: path, plan: plan)
            for event in events { try journal.append(event) }
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, 9)
        XCTAssertTrue(text.contains("origin\t/boot/vmlinuz-6.1\t6.1\t/boot/initrd.img-6.1\troot=/dev/vda\\tquiet\tb0\nkexec\t3\tA-6.1-boot2-try2\tb0\nbooted\t3\tA-6.1-boot2-try2\tb1\n"))
        XCTAssertTrue(text.contains("failed\t2\tB-6.1-boot1-try1\t600.0\ttcg\tno end within --boot-timeout (600 s)\t[ 1.0] Probing EDD\ttab\\there\tback\\\\slash\n"))
        let read = try XCTUnwrap(KernelJournal.read(path))
        XCTAssertEqual(read.events, [.plan(plan)] + events)
        XCTAssertEqual(KernelJournal.decidedAccel(in: read.events), .tcg)
        let journal = try KernelJournal(path: path, plan: [])
        XCTAssertEqual(journal.finishedSlots, [1])
        XCTAssertEqual(journal.events.count, 9)
    }

    func testALineCutShortByACrashIsDropped() throws {
        let path = folder.appendingPathComponent("journal.tsv").path
        try KernelJournal(path: path, plan: [JournalField("journal", "1")]).append(.start(slot: 1, stem: "A-boot1-try1"))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("finished\t1\tA-boot1-try1\t4".utf8))
        handle.closeFile()
        XCTAssertEqual(try KernelJournal.read(path)?.events.count, 2)
        let journal = try KernelJournal(path: path, plan: [])
        try journal.append(.stopped(slot: 1, stem: "A-boot1-try1", signal: 15))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8),
                       "plan\tjournal=1\nstart\t1\tA-boot1-try1\nstopped\t1\tA-boot1-try1\t15\n")
    }

    func testADamagedLineIsAnError() throws {
        let path = folder.appendingPathComponent("journal.tsv").path
        try Data("plan\tjournal=1\nfinished\tone\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try KernelJournal.read(path)) { error in
            XCTAssertEqual((error as? InputError)?.message,
                           "\(path):2: not a journal line ('finished\tone'); the journal is damaged: move its folder away and start again")
        }
    }

    /// A journal whose plan names four boots, then `lines`.
    func journal(_ lines: [String]) throws -> String {
        let path = folder.appendingPathComponent("journal.tsv").path
        let text = (["plan\tjournal=1\torder=A1 B1 A2 B2"] + lines).map { $0 + "\n" }.joined()
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertDamaged(_ path: String, _ why: String, line: UInt = #line) {
        XCTAssertThrowsError(try KernelJournal.read(path), line: line) { error in
            let message = (error as? InputError)?.message ?? "\(error)"
            XCTAssertTrue(message.hasPrefix(path) && message.contains(why)
                          && message.hasSuffix("; the journal is damaged: move its folder away and start again"), message, line: line)
        }
    }

    func testASlotOutsideThePlanIsADamagedLine() throws {
        for slot in ["0", "-1", "5", "999"] {
            let path = try journal(["start\t1\tA-a-boot1-try1", "failed\t\(slot)\tA-a-boot1-try1\t1.0\ttcg\twhy"])
            assertDamaged(path, ":3: slot \(slot) is not a boot of the plan's 4")
        }
        XCTAssertEqual(try KernelJournal.read(journal(["finished\t4\tB-b-boot2-try1\t1.0\ttcg\tid"]))?.events.count, 2)
    }

    func testAStemThatIsNotAFileNameInTheFolderIsADamagedLine() throws {
        for stem in ["../../evil", "a/b", "..", ".hidden", ""] {
            assertDamaged(try journal(["finished\t1\t\(stem)\t1.0\ttcg\tid"]), ":2: '\(stem)' is not an attempt's name")
        }
    }

    func testAJournalThatCannotBeReadIsRefusedNotTakenForNone() throws {
        let path = folder.appendingPathComponent("journal.tsv").path
        let whole = "plan\tjournal=1\torder=A1 B1\nstart\t1\tA-a-boot1-try1\n"
        for (bytes, why) in [("", "empty"), (String(whole.prefix(20)), "its plan line is cut short"),
                             (whole.replacingOccurrences(of: "\n", with: "\r\n"), "a carriage return (CRLF line ends?) in line 1"),
                             ("start\t1\tA-a-boot1-try1\n" + whole, ":1: the first line is not the plan"),
                             (whole + whole, ":3: a second plan")] {
            try Data(bytes.utf8).write(to: URL(fileURLWithPath: path))
            assertDamaged(path, why)
        }
        try Data(whole.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(truncate(path, 16 << 20 + 1), 0)
        assertDamaged(path, "larger than 16 MiB")
        // A journal that is a symbolic link is not followed, neither read nor written.
        let elsewhere = folder.appendingPathComponent("elsewhere.tsv").path
        try Data(whole.utf8).write(to: URL(fileURLWithPath: elsewhere))
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: elsewhere)
        assertDamaged(path, "a symbolic link")
        XCTAssertThrowsError(try KernelJournal(path: path, plan: [JournalField("journal", "1")]).append(.stopped(slot: 1, stem: "x", signal: 2)))
        XCTAssertEqual(try String(contentsOfFile: elsewhere, encoding: .utf8), whole)
    }

    /// A driver that boots nothing: it writes the results file a run would, or fails or stops as told.
    final class ScriptedDriver: BootDriver {
        let name = "scripted"
        var results: [BootResult]
        var booted: [String] = []

        init(_ results: [BootResult]) { self.results = results }

        func boot(_ request: BootRequest) -> BootOutcome {
            booted.append(request.kernel.label)
            let result = results.isEmpty ? BootResult.ran(status: 0) : results.removeFirst()
            if case .ran = result {
                let staged = (try? String(contentsOfFile: request.sharedFolder + "/attempts/next", encoding: .utf8)) ?? ""
                var env = Environment.current()
                env.bootID = "boot-\(booted.count)"
                env.kernelRelease = request.kernel.release
                let c = BenchCase(suite: "t", transport: .pipe, pattern: .latency, payloadBytes: 64, messages: 10, repetitions: 1,
                                  warmup: 0, placement: .split, timeoutNs: 1, minTrialNs: 0, verify: false)
                let r = CaseResult(c, status: .ok, error: "")
                try! CSVFile(creating: staged, header: caseColumns).write(caseRow(r, env))
                let trial = TrialRecord(trial: 1, durationNs: 1_000_000, bytes: 640, messages: 10, values: [.throughput: 1], round: 1, startNs: 0)
                try! CSVFile(creating: String(staged.dropLast(4)) + "-trials.csv", header: trialColumns).write(trialRow(r, trial, env))
            }
            return BootOutcome(result: result, seconds: 1, accel: .tcg, consoleTail: ["Probing EDD", "last line"], decision: nil)
        }
    }

    func testResumeRunsOnlyTheMissingBoots() throws {
        let kernels = [KernelImage(label: "A", path: "/boot/a", release: "a", append: ""),
                       KernelImage(label: "B", path: "/boot/b", release: "b", append: "")]
        let plan = KernelPlan(kernels: kernels, boots: 2, orderSeed: nil, runArguments: [], configPath: nil,
                              guest: GuestShape(vcpus: 1, memoryMiB: 256, pinCPUs: [], accel: .tcg))
        let dir = folder.appendingPathComponent("cmp/nested").path
        let first = ScriptedDriver([.ran(status: 0), .failed("the guest ended before its command did"), .stopped(2)])
        var lines: [String] = []
        let comparison = try KernelComparison(plan: plan, folder: dir, driver: first, binary: "/bin/ipcbench", timeoutNs: 1)
        XCTAssertThrowsError(try comparison.runMissing(report: { lines.append($0) })) { error in
            XCTAssertEqual(error as? RunStopped, RunStopped(signal: 2))
        }
        XCTAssertEqual(first.booted, ["A", "B", "A"])
        XCTAssertEqual(comparison.missingSlots, [2, 3, 4])
        XCTAssertTrue(lines.contains("    Probing EDD"), "\(lines)")
        let (sides, lacking) = try comparison.sides()
        XCTAssertEqual(sides.map { $0.files.count }, [1, 0])
        XCTAssertEqual(lacking, ["A boot 2 (stopped by signal 2)", "B boot 1 (failed: the guest ended before its command did)", "B boot 2 (not run)"])
        let firstFile = try Data(contentsOf: URL(fileURLWithPath: dir + "/A-a-boot1.csv"))

        XCTAssertNil(plan.difference(from: try XCTUnwrap(KernelJournal.plan(in: XCTUnwrap(KernelJournal.read(dir + "/journal.tsv")).events))))
        let second = ScriptedDriver([])
        let resumed = try KernelComparison(plan: plan, folder: dir, driver: second, binary: "/bin/ipcbench", timeoutNs: 1)
        try resumed.runMissing(report: { _ in })
        XCTAssertEqual(second.booted, ["B", "A", "B"])
        XCTAssertEqual(resumed.missingSlots, [])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/A-a-boot1.csv")), firstFile)
        let done = try resumed.sides()
        XCTAssertEqual(done.lacking, [])
        XCTAssertEqual(done.sides.map { $0.files.map { URL(fileURLWithPath: $0.path).lastPathComponent } },
                       [["A-a-boot1.csv", "A-a-boot2.csv"], ["B-b-boot1.csv", "B-b-boot2.csv"]])
        XCTAssertEqual(done.sides.flatMap { $0.files.map { $0.cases[0]["boot_id"]! } }, ["boot-1", "boot-2", "boot-1", "boot-3"])
    }
}
