import Foundation
import XCTest
import IPCBench

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
}
