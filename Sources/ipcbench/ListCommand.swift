import ArgumentParser
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show the transports, the patterns and this machine's limits.")

    @Option(help: "text; csv: each pattern's metrics (a row per pattern and metric, the main one first), for scripts; or json: the transports, the patterns with their metrics, this machine's limits and the results' columns.")
    var format = "text"

    func run() throws {
        switch format {
        case "text": break
        case "json":
            print(try listJSON(), terminator: "")
            return
        case "csv":
            print(csvLine(metricTableColumns), terminator: "")
            for row in metricTable() { print(csvLine(row), terminator: "") }
            return
        default: throw InputError("--format \(format): expected text, csv or json")
        }
        let limits = Limits.shared
        print("transports:")
        for kind in TransportKind.allCases {
            let limit = kind.maxPayloadBytes().map { ", at most \($0) bytes per message on this kernel" } ?? ""
            print("  \(kind.rawValue.padding(16))\(kind.semantics.rawValue)\(limit)")
        }
        print("patterns:")
        for kind in PatternKind.allCases {
            print("  \(kind.rawValue.padding(15))\(kind.summary)")
        }
        print("wait modes (--wait; auto, the default, is each pattern's own way):")
        for line in waitModeLines() { print("  " + line) }
        print("  io_uring on this kernel       " + (limits.ioUringRefusal ?? "a ring can be made (tried at start-up)"))
        print("this machine:")
        print("  cpus the workers may use     \(allowedCPUs().map(String.init).joined(separator: ","))")
        print("  pipe capacity                \(limits.pipeCapacity) bytes (pipe-max-size \(limits.pipeMaxSize))")
        print("  udp datagram max             \(limits.udpDatagramMax) bytes")
        print("  unix-dgram datagram max      \(limits.unixDatagramMax) bytes")
        print("  unix-seqpacket message max   \(limits.unixSeqpacketMax) bytes")
        print("  udp6 datagram max            " + (limits.ipv6Loopback ? "\(limits.udp6DatagramMax) bytes" : "none: no IPv6 loopback (tcp6 and udp6 are skipped)"))
        print("  IP multicast on lo           " + (limits.multicastLoopback ? "delivers (tried at start-up)" : "does not deliver (udp-multicast is skipped)"))
        print("  mq message max               \(limits.mqMessageMax) bytes (fs.mqueue.msgsize_max), \(limits.mqQueueDepth) messages per queue")
    }
}

struct SysinfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sysinfo",
        abstract: "Print the environment columns as a run would write them.")

    @Option(help: "text (a `column: value` line each), csv (the header and the row a run writes) or json (the environment object of the results' JSON form).")
    var format = "text"

    func run() throws {
        let env = Environment.current()
        switch format {
        case "csv":
            print(csvLine(environmentColumns), terminator: "")
            print(csvLine(environmentRow(env)), terminator: "")
        case "text":
            for (column, value) in zip(environmentColumns, environmentRow(env)) { print("\(column): \(value)") }
        case "json":
            print(try environmentJSON(env), terminator: "")
        default:
            throw InputError("--format \(format): expected text, csv or json")
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
