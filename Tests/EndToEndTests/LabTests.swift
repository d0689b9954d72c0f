import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// Many machines (docs/many-machines.md): the Debian package of scripts/package, the Ansible role of
/// deploy/ansible, three test hosts this machine makes for itself (LabHosts: namespaces, a Debian
/// root of their own with no Swift, an sshd each) and the lab's PostgreSQL database (TestPostgres).
///
/// Budget: 5 minutes for the class with the static binary and the hosts' root file system built
/// (measured: 71 to 113 s in release on this 2-CPU machine, up to 3 minutes in debug while other builds
/// ran). Building them the first time comes on top: the static binary is a release build of its
/// own, shared with KexecTests in .build/static (4 minutes), the package then about 25 s, and
/// scripts/lab-root's mmdebstrap 2 minutes (cached in /var/cache/ipcbench). scripts/test --quick
/// leaves it out.
final class LabTests: XCTestCase {
    var h: Harness!
    var lab: LabHosts?
    var server: TestPostgres?
    var namespaces: [String] = []
    var folder: String { h.work.appendingPathComponent("lab").path }

    override func setUpWithError() throws {
        // Namespaces, a bridge, chroot and mmdebstrap need root; the tools come from scripts/setup --lab.
        try XCTSkipUnless(getuid() == 0, "the lab's test hosts need root")
        for tool in ["ansible-playbook", "ansible-lint", "lintian", "dpkg-shlibdeps", "mmdebstrap", "ssh"] {
            try XCTSkipUnless(["/usr/bin/", "/usr/local/bin/"].contains { access($0 + tool, X_OK) == 0 }, "\(tool) is not installed: run scripts/setup --lab")
        }
        h = try Harness()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
    }

    override func tearDownWithError() throws {
        guard h != nil else { return }
        lab?.stop()
        server?.stop()
        // The play's SSH connections to the hosts (Ansible keeps them open a while): they end with
        // the hosts' namespaces on their own only after a timeout.
        for pid in sshMasters() { kill(pid, SIGTERM) }
        for _ in 0..<100 where !sshMasters().isEmpty { usleep(20_000) }
        if let lab {
            XCTAssertEqual(lab.leftovers(namespaces: namespaces), [])
        }
        XCTAssertEqual(sshMasters(), [])
        try h.finishChecks()
    }

    /// The SSH processes whose control socket is in the test's folder.
    func sshMasters() -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), let line = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            return String(decoding: line, as: UTF8.self).contains(folder + "/ansible-home") ? pid : nil
        }
    }

    /// The package, built by scripts/package (the static binary shared with KexecTests).
    static let package: Result<String, Error> = Result {
        let start = Date()
        let built = try TestPostgres.command(["/bin/sh", "-c", "cd \(Harness.repository.path) && scripts/package 2>&1"])
        print("LabTests: scripts/package took \(Int(Date().timeIntervalSince(start))) s (with the static binary up to date, seconds)")
        return Harness.repository.appendingPathComponent(String(built.split(separator: "\n").last ?? "")).path
    }

    func testThePackageAndTheRolePassTheirCheckers() throws {
        let deb = try Self.package.get()
        XCTAssertTrue(deb.hasSuffix("dist/ipcbench_\(ipcbenchVersion)_amd64.deb"), deb)
        let fields = try h.shell("dpkg-deb --field \(deb) Package Version Architecture Depends Recommends")
        XCTAssertEqual(fields.status, 0, fields.output)
        for expected in ["Package: ipcbench", "Version: \(ipcbenchVersion)", "Architecture: amd64", "libjemalloc2", "libpq5",
                         "libsqlite3-0", "liburing2", "Recommends: python3, python3-matplotlib"] {
            XCTAssertTrue(fields.output.contains(expected), "\(expected) not in \(fields.output)")
        }
        // The Swift runtime is in the binary: it links none of the toolchain's libraries.
        let contents = try h.shell("dpkg-deb --contents \(deb)")
        for path in ["./usr/bin/ipcbench", "./usr/share/ipcbench/scripts/plot.py", "./usr/share/ipcbench/scripts/ipcbench_files.py",
                     "./usr/share/man/man1/ipcbench.run.1.gz", "./usr/share/bash-completion/completions/ipcbench",
                     "./usr/share/zsh/vendor-completions/_ipcbench", "./usr/share/fish/vendor_completions.d/ipcbench.fish"] {
            XCTAssertTrue(contents.output.contains(path), "\(path) not in the package")
        }
        XCTAssertFalse(contents.output.contains("libswift"), contents.output)
        // lintian: no error (exit 0); the warnings it still gives are in docs/many-machines.md.
        // (lintian leaves a folder of its own in TMPDIR: one in the test's folder)
        let lintian = try h.shell("mkdir \(folder)/lintian-tmp && TMPDIR=\(folder)/lintian-tmp lintian --tag-display-limit 0 \(deb)")
        XCTAssertEqual(lintian.status, 0, lintian.output)
        XCTAssertFalse(lintian.output.split(separator: "\n").contains { $0.hasPrefix("E:") }, lintian.output)
        // ansible-lint on the role, the playbook and the inventory: nothing.
        let ansible = Harness.repository.appendingPathComponent("deploy/ansible").path
        let lint = try h.shell("cd \(ansible) && HOME=\(folder) ansible-lint --offline --nocolor -p")
        XCTAssertEqual(lint.status, 0, lint.output)
        XCTAssertTrue(lint.output.contains("0 failure(s), 0 warning(s)"), lint.output)
    }

    /// The package installed by the role on three hosts over SSH, a suite run on each, every host's
    /// run in PostgreSQL once; one host's sshd killed mid-suite fails that host alone, and the play
    /// again with --limit @site.retry completes it without touching the others.
    func testThreeHostsOverSSHEveryRunOnceAndAFailedHostCompletedAlone() throws {
        let deb = try Self.package.get()
        var start = Date()
        let built = try h.shell("\(Harness.repository.path)/scripts/lab-root \(deb)")
        XCTAssertEqual(built.status, 0, built.output)
        let tar = try XCTUnwrap(built.output.split(separator: "\n").last.map(String.init))
        let firstBuild = (try? String(contentsOfFile: (tar as NSString).deletingLastPathComponent + "/build-seconds", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        print("LabTests: the root file system \(tar) took \(Int(Date().timeIntervalSince(start))) s now (its first build took \(firstBuild) s)")
        start = Date()
        server = try TestPostgres()
        let lab = try LabHosts(names: ["lab-a", "lab-b", "lab-c"], tar: tar, folder: folder)
        self.lab = lab
        namespaces = lab.hosts.map(\.pidNamespace)
        print("LabTests: three hosts up in \(Int(Date().timeIntervalSince(start))) s")

        // The controller's copy of deploy/ansible, with the test's inventory and variables.
        let ansible = folder + "/ansible"
        XCTAssertEqual(try h.shell("cp -r \(Harness.repository.path)/deploy/ansible \(ansible)").status, 0)
        // The controller itself (the import runs there) with its temporary files in the test's folder.
        var inventory = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3 ansible_remote_tmp=\(folder)/ansible-home/controller-tmp\n\n[lab]\n"
        for host in lab.hosts { inventory += "\(host.name) ansible_host=\(host.address)\n" }
        inventory += """
        [lab:vars]
        ansible_user=root
        ansible_python_interpreter=/usr/bin/python3
        ansible_ssh_private_key_file=\(lab.key)
        ansible_ssh_common_args='-o UserKnownHostsFile=\(lab.knownHosts) -o StrictHostKeyChecking=yes -o ConnectTimeout=10'

        """
        try inventory.write(toFile: ansible + "/inventory.ini", atomically: false, encoding: .utf8)
        // A tiny suite: two cases, a few seconds a host.
        try """
        [defaults]
        repetitions = 3
        warmup = 1
        min_trial_time = "200ms"
        sizes = ["4KiB"]
        transports = ["pipe", "unix-stream"]

        [[suite]]
        pattern = "throughput"

        """.write(toFile: folder + "/lab.toml", atomically: false, encoding: .utf8)
        let variables: [String: String] = ["ipcbench_package": deb, "ipcbench_config": folder + "/lab.toml",
                                           "ipcbench_db": try XCTUnwrap(server).url, "ipcbench_controller_binary": Harness.binary]
        try JSONSerialization.data(withJSONObject: variables).write(to: URL(fileURLWithPath: folder + "/vars.json"))

        // The first play; lab-b's sshd (and the suite it runs) killed while lab-b runs the suite.
        start = Date()
        let hostB = lab.hosts[1]
        var killed = false
        let first = try playbook(["-e", "@\(folder)/vars.json"], log: "play1.log") {
            if !killed && lab.processes(of: hostB).contains(where: { $0.command == "ipcbench" }) {
                lab.killSSHD(hostB)
                killed = true
            }
        }
        print("LabTests: the first play took \(Int(Date().timeIntervalSince(start))) s")
        XCTAssertTrue(killed, "lab-b's suite never ran: \(first.output)")
        XCTAssertNotEqual(first.status, 0, first.output)
        // lab-b dropped off in the suite's task (unreachable, or failed when Ansible lost it while
        // the task ran); lab-a and lab-c went on to the end.
        let unreachable = recap(first.output, "unreachable"), failed = recap(first.output, "failed")
        XCTAssertEqual(Set(unreachable.keys), ["lab-a", "lab-b", "lab-c"], first.output)
        for host in unreachable.keys {
            XCTAssertEqual((Int(unreachable[host] ?? "") ?? -1) + (Int(failed[host] ?? "") ?? -1), host == "lab-b" ? 1 : 0, first.output)
        }
        let suiteTask = first.output.components(separatedBy: "TASK [ipcbench : Run the suite (").dropFirst().first?
            .components(separatedBy: "TASK [").first ?? ""
        XCTAssertTrue(suiteTask.contains("fatal: [lab-b]"), first.output)
        XCTAssertEqual(try String(contentsOfFile: ansible + "/site.retry", encoding: .utf8), "lab-b\n")
        XCTAssertEqual(try runsByHost(), ["lab-a": 1, "lab-c": 1], first.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ansible + "/results/lab-b/suite/suite.csv"))

        // The play again on the failed host alone.
        try lab.startSSHD(hostB)
        start = Date()
        let second = try playbook(["-e", "@\(folder)/vars.json", "--limit", "@\(ansible)/site.retry"], log: "play2.log")
        print("LabTests: the second play took \(Int(Date().timeIntervalSince(start))) s")
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertEqual(recap(second.output).keys.sorted(), ["lab-b"], second.output)
        XCTAssertEqual(try runsByHost(), ["lab-a": 1, "lab-b": 1, "lab-c": 1], second.output)

        // The database keeps the hosts apart: each host's series holds its own run alone.
        for host in lab.hosts {
            let series = try h.run(["history", "series", "--db", try XCTUnwrap(server).url, "--host", host.name, "--metric", "mib_per_s", "--format", "csv"])
            XCTAssertEqual(series.status, 0, series.stderr)
            let rows = parseCSV(series.stdout)
            XCTAssertEqual(rows.count, 1 + 2, series.stdout)
            let hostname = try XCTUnwrap(rows.first?.firstIndex(of: "hostname"))
            XCTAssertEqual(Set(rows.dropFirst().map { $0[hostname] }), [host.name])
        }

        // Everything landed, from where it ran: a host of its own with no Swift on it.
        let version = ipcbenchVersion
        for host in lab.hosts {
            let results = "\(ansible)/results/\(host.name)/suite/suite.csv"
            let rows = try h.readCSV(results).dropFirst()
            XCTAssertEqual(rows.count, 2, results)
            for row in rows {
                XCTAssertEqual(column("hostname", row), host.name)
                XCTAssertEqual(column("ipcbench_version", row), version)
                XCTAssertEqual(column("status", row), "ok")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: ResultsReader.trialsPath(results)))
            let installed = try h.shell("chroot \(host.root) dpkg-query -W -f '${Status} ${Version}' ipcbench")
            XCTAssertEqual(installed.output, "install ok installed \(version)")
            // --no-install-recommends: the scripts' matplotlib is not there.
            let recommended = try h.shell("chroot \(host.root) dpkg-query -W -f '${Status}' python3-matplotlib python3-openpyxl")
            XCTAssertFalse(recommended.output.contains("install ok installed"), recommended.output)
            XCTAssertFalse(FileManager.default.fileExists(atPath: host.root + "/usr/lib/python3/dist-packages/matplotlib"))
            let swift = try h.shell("find \(host.root) -xdev \\( -name 'libswift*' -o -name swift -o -name swiftc \\) -print")
            XCTAssertEqual(swift.output, "", host.name)
            let runs = try FileManager.default.contentsOfDirectory(atPath: "\(host.root)/var/lib/ipcbench/ansible").sorted()
            XCTAssertEqual(runs, ["ipcbench_amd64.deb", "suite", "suite.toml"], host.name)
        }

        // The whole play once more: every host has finished, so nothing runs, changes or lands twice.
        start = Date()
        let third = try playbook(["-e", "@\(folder)/vars.json"], log: "play3.log")
        print("LabTests: the third play took \(Int(Date().timeIntervalSince(start))) s")
        XCTAssertEqual(third.status, 0, third.output)
        XCTAssertEqual(recap(third.output), ["lab-a": "0", "lab-b": "0", "lab-c": "0"], third.output)
        XCTAssertEqual(try runsByHost(), ["lab-a": 1, "lab-b": 1, "lab-c": 1])
    }

    /// Runs ansible-playbook on the controller's copy to its end, calling `watch` every 50 ms while it
    /// runs; its exit status and output.
    func playbook(_ arguments: [String], log: String, watch: () -> Void = {}) throws -> (status: Int32, output: String) {
        let home = folder + "/ansible-home"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ansible-playbook", "site.yml"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder + "/ansible")
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = h.tmp.path
        environment["HOME"] = home
        environment["ANSIBLE_HOME"] = home
        environment["ANSIBLE_LOCAL_TEMP"] = home + "/tmp"
        environment["ANSIBLE_SSH_CONTROL_PATH_DIR"] = home + "/cp"
        environment["ANSIBLE_NOCOLOR"] = "1"
        process.environment = environment
        let path = folder + "/" + log
        guard FileManager.default.createFile(atPath: path, contents: nil), let output = FileHandle(forWritingAtPath: path) else {
            throw InputError("cannot create \(path)")
        }
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        while process.isRunning {
            watch()
            usleep(50_000)
        }
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOfFile: path, encoding: .utf8))
    }

    /// PLAY RECAP's hosts, each with one of its counts (`changed`, `unreachable`, `failed`, …).
    func recap(_ output: String, _ count: String = "changed") -> [String: String] {
        guard let range = output.range(of: "PLAY RECAP") else { return [:] }
        var hosts: [String: String] = [:]
        for line in output[range.upperBound...].split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count > 2, words[1] == ":" else { continue }
            hosts[String(words[0])] = words.first { $0.hasPrefix(count + "=") }.map { String($0.dropFirst(count.count + 1)) }
        }
        return hosts
    }

    /// The runs in the lab's database, counted by the hostname they carry.
    func runsByHost() throws -> [String: Int] {
        let db = try XCTUnwrap(server).connect()
        defer { db.close() }
        var counts: [String: Int] = [:]
        for row in try db.query("SELECT hostname, count(*) FROM runs GROUP BY hostname", []) {
            counts[row[0].string ?? "?"] = Int(row[1].integer ?? -1)
        }
        return counts
    }
}
