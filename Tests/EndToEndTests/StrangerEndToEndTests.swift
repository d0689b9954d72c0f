import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// The attack as it was reported: a process that watches /proc/net/tcp and /proc/net/udp and, as
/// soon as ipcbench's runner opens a 127.0.0.1 listener or datagram socket, connects to it or sends
/// it datagrams that look like data. Whether it gets there before the workers is up to the
/// scheduler (the unit tests in StrangerTests make that race deterministic; here its datagrams
/// usually land, its connections rarely, as reading /proc/net/tcp takes milliseconds); whatever
/// happens, every case must finish ok with every byte checked.
final class StrangerEndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// Targets only sockets that the given runner holds, so that nothing else on the machine is hit.
    static let attacker = #"""
    import os, random, signal, socket, struct, sys, time

    pid_file = sys.argv[1]
    data = bytes(i % 251 for i in range(64))
    hits = {"tcp": 0, "udp": 0}
    tried, kept = set(), []
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def stop(*_):
        print(hits, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while not os.path.exists(pid_file):
        time.sleep(0.001)
    with open(pid_file) as f:
        runner = int(f.read())

    def runner_sockets():
        inodes = set()
        try:
            for fd in os.listdir(f"/proc/{runner}/fd"):
                try:
                    link = os.readlink(f"/proc/{runner}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
        return inodes

    def loopback(table, state):
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                address, port = fields[1].split(":")
                if address == "0100007F" and fields[3] == state:
                    yield int(port, 16), fields[9]

    ours, others = set(), set()
    while True:
        for table, state in (("/proc/net/tcp", "0A"), ("/proc/net/udp", "07")):  # listening; bound, not connected
            for port, inode in loopback(table, state):
                if inode in others or inode in tried:
                    continue
                if inode not in ours:
                    if inode not in runner_sockets():
                        others.add(inode)
                        continue
                    ours.add(inode)
                if table.endswith("tcp"):
                    tried.add(inode)
                    try:
                        s = socket.create_connection(("127.0.0.1", port), timeout=1)
                        s.sendall(data)
                        kept.append(s)
                        hits["tcp"] += 1
                    except OSError:
                        pass
                else:
                    for number in (0, 1, 2**64 - 1):
                        header = struct.pack("<QQ", random.getrandbits(64), number)
                        try:
                            udp.sendto(header + data[16:], ("127.0.0.1", port))
                            hits["udp"] += 1
                        except OSError:
                            pass
    """#

    func testCasesSurviveAStrangerWatchingForListeners() throws {
        let script = h.work.appendingPathComponent("stranger.py")
        try Self.attacker.write(to: script, atomically: true, encoding: .utf8)
        let pidFile = h.work.appendingPathComponent("runner.pid")
        let output = h.work.appendingPathComponent("attacked.csv").path
        let stranger = try h.start(["python3", script.path, pidFile.path], executable: "/usr/bin/env")
        XCTAssertTrue(String(decoding: stranger.1.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("ready"))
        // One CPU for both workers, as in the report, leaves the other to the stranger.
        let run = try h.start(["run", "-t", "tcp,udp", "-p", "throughput,latency", "-s", "64", "--total", "64K",
                               "--count", "200", "-r", "10", "--warmup", "1", "--min-trial-time", "0s",
                               "--cpus", "same", "--verify", "-o", output])
        try "\(run.0.processIdentifier)".write(to: pidFile, atomically: true, encoding: .utf8)
        let outcome = h.finish(run)
        stranger.0.terminate()
        let attack = h.finish(stranger)
        XCTAssertEqual(outcome.status, 0, "\(outcome.stderr)\nstranger: \(attack.stdout) \(attack.stderr)")
        let rows = try h.readCSV(output)
        XCTAssertEqual(rows.count - 1, 4)
        for row in rows.dropFirst() {
            XCTAssertEqual(column("status", row), "ok", "\(column("error", row)); stranger: \(attack.stdout)")
            XCTAssertEqual(column("alloc_bytes_in_loop", row), "0")
        }
        XCTAssertTrue(attack.stdout.contains("{'tcp': "), "the stranger ran: \(attack.stdout) \(attack.stderr)")
    }

    /// The multicast attack as it was reported: a process that reads /proc/net/udp, binds every
    /// 239.0.0.0/8 group and port it finds there (SO_REUSEADDR), joins it on 127.0.0.1, reads what
    /// comes, and sends each datagram it reads back to the group twice: as it was (a replay) and
    /// with its sequence number moved ahead.
    static let multicastAttacker = #"""
    import os, select, signal, socket, struct, sys

    stats = {"groups": 0, "bytes": 0, "sent": 0}
    joined, sockets = set(), []

    def stop(*_):
        print(stats, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while True:
        with open("/proc/net/udp") as f:
            for line in f.read().splitlines()[1:]:
                address, port = line.split()[1].split(":")
                group = socket.inet_ntoa(struct.pack("<I", int(address, 16)))
                if not group.startswith("239.") or (group, port) in joined:
                    continue
                joined.add((group, port))
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((group, int(port, 16)))
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
                except OSError:
                    continue
                s.setblocking(False)
                sockets.append((s, (group, int(port, 16)), [0]))
                stats["groups"] += 1
        ready = select.select([s for s, _, _ in sockets], [], [], 0.001)[0] if sockets else select.select([], [], [], 0.001)[0]
        for s, target, sent in sockets:
            if s not in ready:
                continue
            try:
                data = s.recv(65536)
            except OSError:
                continue
            stats["bytes"] += len(data)
            if len(data) >= 16 and sent[0] < 2000:  # it reads its own sends too: a bound per group
                ahead = data[:8] + struct.pack("<Q", (struct.unpack("<Q", data[8:16])[0] + 1000) % 2**64) + data[16:]
                for forged in (data, ahead):
                    try:
                        s.sendto(forged, target)
                        stats["sent"] += 1
                        sent[0] += 1
                    except OSError:
                        pass
    """#

    /// Runs fanout over udp-multicast with the attacker watching; returns the rows and what it says it did.
    func attackMulticast(namespace: Bool) throws -> (rows: [[String]], attack: String) {
        let script = h.work.appendingPathComponent("multicast-stranger.py")
        try Self.multicastAttacker.write(to: script, atomically: true, encoding: .utf8)
        let output = h.work.appendingPathComponent("multicast-\(namespace).csv").path
        let stranger = try h.start(["python3", script.path], executable: "/usr/bin/env")
        XCTAssertTrue(String(decoding: stranger.1.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("ready"))
        if !namespace { setenv("IPCBENCH_TEST_NO_NETNS", "1", 1) }
        defer { unsetenv("IPCBENCH_TEST_NO_NETNS") }
        let outcome = try h.run(["run", "-t", "udp-multicast", "-p", "fanout", "--receivers", "2", "-s", "1KiB", "--total", "4MiB",
                                 "-r", "5", "--warmup", "1", "--min-trial-time", "300ms", "--verify", "-q", "-o", output])
        stranger.0.terminate()
        let attack = h.finish(stranger)
        XCTAssertEqual(outcome.status, 0, "\(outcome.stderr)\nstranger: \(attack.stdout) \(attack.stderr)")
        XCTAssertTrue(attack.stdout.contains("'groups': "), "the stranger ran: \(attack.stdout) \(attack.stderr)")
        return (try h.readCSV(output), attack.stdout)
    }

    /// Without a namespace (the test switch, as where the kernel refuses one), the stranger joins
    /// the trial's groups and reads the payload, as the README says; what it sends back is refused
    /// and counted: a replay is rejected, not a duplicate, and a changed number fails the MAC.
    func testMulticastStrangerIsRejectedWithoutANamespace() throws {
        let (rows, attack) = try attackMulticast(namespace: false)
        XCTAssertEqual(rows.count - 1, 1)
        let row = rows[1]
        XCTAssertEqual(column("status", row), "ok", "\(column("error", row)); stranger: \(attack)")
        XCTAssertFalse(attack.contains("'bytes': 0,"), "the stranger read the group: \(attack)")
        XCTAssertGreaterThan(Int(column("peers_rejected", row)) ?? 0, 0, "stranger: \(attack)")
        XCTAssertEqual(column("msgs_duplicated", row), "0", "a replay is rejected, not a duplicate; stranger: \(attack)")
        XCTAssertEqual(column("alloc_bytes_in_loop", row), "0")
    }

    /// In the trial's own namespace the stranger finds no group to join and receives nothing.
    func testMulticastStrangerReceivesNothingFromANamespace() throws {
        let (rows, attack) = try attackMulticast(namespace: true)
        let row = rows[1]
        XCTAssertEqual(column("status", row), "ok", "\(column("error", row)); stranger: \(attack)")
        XCTAssertTrue(attack.contains("'groups': 0, 'bytes': 0, 'sent': 0"), "stranger: \(attack)")
        XCTAssertEqual(column("peers_rejected", row), "0")
    }

    /// The start-up check that multicast delivers on lo joins a group too: it does so in a namespace
    /// of its own, as the trials do. A runner in a namespace whose lo is down (`unshare --net`) shows
    /// it: checked there, multicast would not deliver.
    func testTheMulticastCheckJoinsNoGroupInTheRunnersNamespace() throws {
        let outcome = h.finish(try h.start(["--net", Harness.binary, "list"], executable: "/usr/bin/unshare"))
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.contains("IP multicast on lo           delivers"), outcome.stdout)
    }
}
