import Foundation
import Glibc
import XCTest

/// `ipcbench bisect` through the binary, its steps real kernel comparisons whose guests are a `vng`
/// of the test's own: it runs the guest's command here, or fails to boot where the kernel arguments
/// say `noboot`. Budget: 60 s.
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

    /// A git tree of the test's own, each commit naming one of the two Debian kernels in /boot (or
    /// none: its build fails), bisected through `git bisect run` with a build that copies the named
    /// image to --image. The test's `vng` runs the suite here, under strace for the newer image: a
    /// pipe latency several times the older's, far past the threshold. The steps are real: git
    /// checks out each commit, the build runs, `ipcbench kernels` compares the step's image with the
    /// good commit's, and the tree is left as it was.
    func testCommitsThroughGitBisectRun() throws {
        try XCTSkipUnless(access("/usr/bin/strace", X_OK) == 0, "strace is not installed (it makes the bad kernel slow here)")
        let releases = try h.newestDebianKernels()
        try XCTSkipUnless(releases.allSatisfy { access("/boot/vmlinuz-\($0)", R_OK) == 0 }, "the Debian kernels are not in /boot: run scripts/setup --kernels")
        let (older, newer) = (releases[0], releases[1])
        let bin = h.work.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            slow=
            for a in "$@"; do [ -f "$a" ] && cmp -s "$a" /boot/vmlinuz-\(newer) && slow=1; last="$a"; done
            if [ -n "$slow" ]; then exec strace -f -o /dev/null /bin/sh -c "$last"; fi
            exec /bin/sh -c "$last"

            """
        try Data(script.utf8).write(to: bin.appendingPathComponent("vng"))
        XCTAssertEqual(chmod(bin.appendingPathComponent("vng").path, 0o755), 0)
        let tree = h.work.appendingPathComponent("linux").path
        var commits: [String] = []
        XCTAssertEqual(try h.shell("git init -q -b master \(tree)").status, 0)
        for (n, kernel) in [older, older, "none", older, newer, newer].enumerated() {
            try Data("\(kernel)\ncommit \(n)\n".utf8).write(to: URL(fileURLWithPath: tree + "/kernel.txt"))
            let made = try h.shell("cd \(tree) && git add kernel.txt && git -c user.name=t -c user.email=t@t commit -qm 'commit \(n): \(kernel)' && git rev-parse HEAD")
            XCTAssertEqual(made.status, 0, made.output)
            commits.append(String(made.output.split(separator: "\n").last!))
        }
        let folder = h.work.appendingPathComponent("bisect").path
        let arguments = ["bisect", "--good", commits[0], "--bad", "master", "--git", tree,
                         "--build", "mkdir -p out && cp /boot/vmlinuz-$(head -1 kernel.txt) out/bzImage", "--image", "out/bzImage",
                         "--threshold", "50", "--boots", "2", "--max-boots", "4", "--metric", "rtt_us_p50", "--accel", "tcg", "--memory", "256MiB",
                         "-t", "pipe", "-p", "latency", "-s", "64", "-r", "3", "--warmup", "0", "--count", "200", "--min-trial-time", "0s", "-o", folder]
        let environment = ["PATH=\(bin.path):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"]
        let outcome = h.finish(try h.start(environment + [Harness.binary] + arguments, executable: "/usr/bin/env"))
        XCTAssertEqual(outcome.status, 0, outcome.stdout + outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        let short = commits.map { String($0.prefix(12)) }
        XCTAssertEqual(lines.last, "first bad commit: \(short[4]) commit 4: \(newer)", outcome.stdout)
        // git's first step is the commit that does not build: skipped; then a good and a bad one.
        XCTAssertTrue(lines.contains { $0.hasPrefix("step: \(short[2]) commit 2: none: did not build") && $0.hasSuffix(": skipped") }, outcome.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("step: \(short[4]) commit 4: \(newer), ") && $0.hasSuffix(": bad") }, outcome.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("\(short[2])  ") && $0.hasSuffix("skipped (did not build)") }, outcome.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("\(short[4])  ") && $0.hasSuffix("  bad") }, outcome.stdout)
        // Every measured step is a kernels folder, kept; the images compared are the commits' own.
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(folder)/step-\(short[4])-boots-2/comparison.csv"))
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: "\(folder)/kernel-\(short[0])", andPath: "/boot/vmlinuz-\(older)"))
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: "\(folder)/kernel-\(short[4])", andPath: "/boot/vmlinuz-\(newer)"))
        // The tree is as it was: on its branch, at its commit, no bisect under way.
        XCTAssertEqual(try h.shell("git -C \(tree) symbolic-ref --short HEAD").output, "master\n")
        XCTAssertEqual(try h.shell("git -C \(tree) rev-parse HEAD").output, commits[5] + "\n")
        XCTAssertNotEqual(try h.shell("git -C \(tree) bisect log").status, 0)

        // A good commit that does not build: exit 2, one line, the tree as it was.
        let broken = h.finish(try h.start(environment + [Harness.binary] + arguments.map { $0 == commits[0] ? commits[2] : $0 }
                                              .map { $0 == folder ? folder + "-broken" : $0 }, executable: "/usr/bin/env"))
        XCTAssertEqual(broken.status, 2, broken.stdout + broken.stderr)
        XCTAssertTrue(broken.stderr.contains("the good commit \(short[2]) does not build"), broken.stderr)
        XCTAssertEqual(try h.shell("git -C \(tree) symbolic-ref --short HEAD").output, "master\n")
        XCTAssertNotEqual(try h.shell("git -C \(tree) bisect log").status, 0)

        // A bisect already under way there is refused and left as it is.
        XCTAssertEqual(try h.shell("git -C \(tree) bisect start").status, 0)
        let busy = try h.run(arguments.map { $0 == folder ? folder + "-busy" : $0 })
        XCTAssertEqual(busy.status, 2, busy.stderr)
        XCTAssertTrue(busy.stderr.contains("a git bisect is under way there"), busy.stderr)
        XCTAssertEqual(try h.shell("git -C \(tree) bisect log").status, 0)
        XCTAssertEqual(try h.shell("git -C \(tree) bisect reset").status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "-busy"))
    }

    /// SIGINT while a step builds: the build is ended, the bisect exits 130, and the tree is back on
    /// its branch with no bisect under way.
    func testAStoppedBisectLeavesTheTreeAsItWas() throws {
        let tree = h.work.appendingPathComponent("linux").path
        XCTAssertEqual(try h.shell("git init -q -b master \(tree)").status, 0)
        for n in 0..<4 {
            try Data("commit \(n)\n".utf8).write(to: URL(fileURLWithPath: tree + "/kernel.txt"))
            XCTAssertEqual(try h.shell("cd \(tree) && git add kernel.txt && git -c user.name=t -c user.email=t@t commit -qm 'commit \(n)'").status, 0)
        }
        let started = h.work.appendingPathComponent("started").path
        // The good commit builds at once; any other starts a long build.
        let build = "if [ \"$(cat kernel.txt)\" = 'commit 0' ]; then cp kernel.txt image; else touch \(started); exec sleep 31.7; fi"
        let folder = h.work.appendingPathComponent("bisect").path
        let bisect = try h.start(["bisect", "--good", "HEAD~3", "--bad", "master", "--git", tree, "--build", build, "--image", "image", "-o", folder])
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: started) && bisect.0.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: started), "no step started its build")
        kill(bisect.0.processIdentifier, SIGINT)
        let outcome = h.finish(bisect)
        XCTAssertEqual(outcome.status, 130, outcome.stdout + outcome.stderr)
        XCTAssertEqual(try h.shell("git -C \(tree) symbolic-ref --short HEAD").output, "master\n")
        XCTAssertNotEqual(try h.shell("git -C \(tree) bisect log").status, 0)
        XCTAssertEqual(try h.shell("git -C \(tree) status --porcelain --untracked-files=no").output, "")
        // The step's build was ended with it.
        usleep(200_000)
        XCTAssertEqual(try h.shell("pgrep -f '^sleep 31[.]7$' || true").output, "")
    }

    func testBadCommitArgumentsExitTwo() throws {
        let tree = h.work.appendingPathComponent("tree").path
        XCTAssertEqual(try h.shell("git init -q \(tree) && cd \(tree) && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m one").status, 0)
        let o = ["-o", h.work.path + "/b"]
        for (arguments, message) in [(["--good", "HEAD", "--bad", "HEAD"] + o, "bisecting commits needs --build CMD too"),
                                     (["--list", "x", "--good", "HEAD"] + o, "give --list FILE, or --good and --bad commits with --build and --image; not both"),
                                     (o, "give --list FILE (an ordered list of kernels), or --good and --bad commits"),
                                     (["--good", "a", "--bad", "b", "--build", "true", "--image", "i", "--git", h.work.path] + o, "not a git work tree"),
                                     (["--good", "nosuch", "--bad", "HEAD", "--build", "true", "--image", "i", "--git", tree] + o, "--good nosuch: not a commit"),
                                     (["--good", "HEAD", "--bad", "HEAD", "--build", "true", "--image", "i", "--git", tree] + o, "is not an ancestor of --bad")] {
            let outcome = try h.run(["bisect"] + arguments)
            XCTAssertEqual(outcome.status, 2, outcome.stderr)
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains(message), outcome.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.work.path + "/b"))
    }
}
