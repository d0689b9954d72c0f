import Foundation
import Glibc
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// A lab of test hosts on this machine, for LabTests: each host is a network namespace with an
/// address from the benchmarking range (198.18.0.0/15) on a veth pair to a bridge in the root
/// namespace, a UTS namespace with its own host name, mount, IPC and PID namespaces of its own, and a
/// root file system of its own (a copy of scripts/lab-root's tar: Debian with python3 and
/// openssh-server, no Swift) in which its own sshd runs with a host key made for it. The host's
/// first process (`sleep` chrooted into its root) holds the namespaces; killing it ends the host and
/// everything in it, and its mounts with its mount namespace.
final class LabHosts {
    struct Host {
        let name: String
        let address: String
        let root: String
        /// The host's first process, as this machine's PID namespace numbers it.
        let initPID: pid_t
        /// Its PID namespace (`pid:[4026…]`): every process of the host is in it.
        let pidNamespace: String
    }

    let folder: String
    let bridge: String
    let gateway: String
    /// The controller's key, and the known hosts file with every host's key.
    let key: String
    let knownHosts: String
    private(set) var hosts: [Host] = []
    private var unshares: [Process] = []
    private var bridgeMade = false

    /// Makes the hosts named `names` from the root file system `tar`, in `folder` (which must exist).
    init(names: [String], tar: String, folder: String) throws {
        self.folder = folder
        // A subnet of the range per test process, so two runs on one machine never share one.
        let subnet = "198.18.\(10 + getpid() % 200)"
        gateway = subnet + ".1"
        bridge = "ibl\(getpid() % 100000)br"
        key = folder + "/id_ed25519"
        knownHosts = folder + "/known_hosts"
        do {
            try Self.sh("ssh-keygen -q -t ed25519 -N '' -C ipcbench-lab-test -f \(key)")
            try Self.sh("ip link add \(bridge) type bridge && ip addr add \(gateway)/24 dev \(bridge) && ip link set \(bridge) up")
            bridgeMade = true
            // The copies at once: each is some 180 MB of small files.
            try Self.sh(names.map { "(mkdir \(folder)/\($0)-root && tar -xf \(tar) -C \(folder)/\($0)-root) & jobs=\"$jobs $!\"; " }.joined()
                        + "for job in $jobs; do wait $job || exit 1; done")
            var known = ""
            for (i, name) in names.enumerated() {
                let host = try makeHost(name: name, index: i, address: "\(subnet).\(11 + i)", tar: tar)
                hosts.append(host)
                known += "\(host.address) \(try String(contentsOfFile: host.root + "/etc/ssh/ssh_host_ed25519_key.pub", encoding: .utf8))"
                try startSSHD(host)
            }
            try known.write(toFile: knownHosts, atomically: false, encoding: .utf8)
        } catch {
            stop()
            throw error
        }
    }

    private func makeHost(name: String, index: Int, address: String, tar: String) throws -> Host {
        let root = "\(folder)/\(name)-root"
        try Self.sh("ssh-keygen -q -t ed25519 -N '' -C \(name) -f \(root)/etc/ssh/ssh_host_ed25519_key")
        try Self.sh("install -m 600 \(key).pub \(root)/root/.ssh/authorized_keys")
        try """
        HostKey /etc/ssh/ssh_host_ed25519_key
        ListenAddress \(address)
        PermitRootLogin prohibit-password
        PasswordAuthentication no
        UsePAM no

        """.write(toFile: root + "/etc/ssh/sshd_config.d/ipcbench-lab.conf", atomically: false, encoding: .utf8)
        let ready = "\(folder)/\(name).ready"
        // The host's first process: waits for its end of the veth pair, sets its network and
        // mounts up, says it is ready, then holds the namespaces as `sleep` inside its root.
        let setup = """
        set -e
        hostname \(name)
        while ! ip link show eth0 >/dev/null 2>&1; do sleep 0.05; done
        ip link set lo up
        ip addr add \(address)/24 dev eth0
        ip link set eth0 up
        ip route add default via \(gateway)
        mount -t proc proc \(root)/proc
        mount -t sysfs sysfs \(root)/sys
        mount --rbind /dev \(root)/dev
        mount -t tmpfs -o mode=1777 tmpfs \(root)/dev/shm
        mkdir -p \(root)/dev/mqueue && mount -t mqueue mqueue \(root)/dev/mqueue
        mount -t tmpfs -o mode=755 tmpfs \(root)/run && mkdir -m 755 \(root)/run/sshd
        touch \(ready)
        exec chroot \(root) /bin/sleep infinity
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        // --kill-child: a host whose unshare is killed (stop(), a host that failed to come up) ends too.
        process.arguments = ["--net", "--uts", "--ipc", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private",
                             "/bin/sh", "-c", setup]
        let log = FileHandle(forWritingAtPath: try Self.created("\(folder)/\(name).log"))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        unshares.append(process)
        var first: pid_t = 0
        for _ in 0..<200 where first == 0 {
            first = children(of: process.processIdentifier).first ?? 0
            if first == 0 { usleep(10_000) }
        }
        guard first > 0 else { throw InputError("host \(name): unshare started no process") }
        let veth = "ibl\(getpid() % 100000)h\(index)"
        try Self.sh("ip link add \(veth) type veth peer name eth0 netns \(first) && ip link set \(veth) master \(bridge) && ip link set \(veth) up")
        // Up: it is `sleep` inside its root (the ready file is written just before the chroot).
        func up() -> Bool {
            access(ready, F_OK) == 0 && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(first)/root")) == root
        }
        for _ in 0..<500 where !up() && process.isRunning { usleep(20_000) }
        guard up() else {
            throw InputError("host \(name) did not come up: \((try? String(contentsOfFile: "\(folder)/\(name).log", encoding: .utf8)) ?? "")")
        }
        let namespace = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(first)/ns/pid")) ?? ""
        return Host(name: name, address: address, root: root, initPID: first, pidNamespace: namespace)
    }

    private static func created(_ path: String) throws -> String {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw InputError("cannot create \(path)") }
        return path
    }

    /// Starts the host's sshd (it puts itself in the background) inside every namespace of the host
    /// and its root, and waits until it listens.
    func startSSHD(_ host: Host) throws {
        try Self.sh("nsenter -t \(host.initPID) -n -u -i -m -p -r -w /usr/sbin/sshd -E /var/log/sshd.log")
        for _ in 0..<250 {
            if (try? Self.sh("nsenter -t \(host.initPID) -n cat /proc/net/tcp"))?.contains(":0016 00000000:0000 0A") == true { return }
            usleep(20_000)
        }
        throw InputError("host \(host.name): sshd does not listen")
    }

    /// The pids (this namespace's numbers) of the host's processes, its first one left out.
    func processes(of host: Host) -> [(pid: pid_t, command: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> (pid_t, String)? in
            guard let pid = pid_t(entry), pid != host.initPID,
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/pid")) == host.pidNamespace else { return nil }
            let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return (pid, command)
        }
    }

    /// Kills the host's sshd and all it started (the play's session, the suite running in it): the
    /// host drops off the network as a box whose sshd died would. Its first process stays.
    func killSSHD(_ host: Host) {
        for _ in 0..<3 {
            for process in processes(of: host) { kill(process.pid, SIGKILL) }
            usleep(50_000)
        }
    }

    /// Ends every host (its first process, and with it the namespaces, the mounts and everything in
    /// it), removes the bridge (the veth pairs went with the namespaces) and the roots.
    func stop() {
        for host in hosts { kill(host.initPID, SIGKILL) }
        for process in unshares {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        unshares = []
        // The kernel ends the rest of a host once its first process is gone; on a busy machine a
        // process may still be forking into it then, so whatever is still in a host is killed too,
        // until nothing is (at most 20 s).
        let namespaces = Set(hosts.map(\.pidNamespace))
        for _ in 0..<400 {
            let left = inNamespaces(namespaces)
            if left.isEmpty { break }
            for pid in left { kill(pid, SIGKILL) }
            usleep(50_000)
        }
        if bridgeMade { _ = try? Self.sh("ip link del \(bridge)") }
        bridgeMade = false
        for host in hosts { _ = try? Self.sh("rm -rf \(host.root)") }
        hosts = []
    }

    /// Every process (this namespace's numbers) in one of these PID namespaces, first processes included.
    func inNamespaces(_ namespaces: Set<String>) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/ns/pid"),
                  namespaces.contains(ns) else { return nil }
            return pid
        }
    }

    /// What the stopped lab may have left: processes of its hosts, its links, mounts under its folder.
    func leftovers(namespaces: [String]) -> [String] {
        var found: [String] = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries where pid_t(entry) != nil {
            if let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/ns/pid"), namespaces.contains(ns) {
                found.append("process \(entry) in a host's PID namespace")
            }
            if let root = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/root"), root.hasPrefix(folder) {
                found.append("process \(entry) with its root in \(root)")
            }
        }
        let links = (try? Self.sh("ip -o link show")) ?? ""
        found += links.split(separator: "\n").filter { $0.contains("ibl\(getpid() % 100000)") }.map { "link \($0)" }
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        found += mounts.split(separator: "\n").filter { $0.contains(folder) }.map { "mount \($0)" }
        return found
    }

    /// Runs a shell command to its end; its output, or an error with it.
    @discardableResult
    static func sh(_ command: String) throws -> String {
        try TestPostgres.command(["/bin/sh", "-c", command])
    }
}
