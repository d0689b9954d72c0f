import ArgumentParser
import IPCBench

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show the transports, the patterns and this machine's limits.")

    func run() throws {
        let limits = Limits.shared
        print("transports:")
        for kind in TransportKind.allCases {
            let limit = kind.maxPayloadBytes().map { ", at most \($0) bytes per message on this kernel" } ?? ""
            print("  \(kind.rawValue.padding(12))\(kind.semantics.rawValue)\(limit)")
        }
        print("patterns:")
        for kind in PatternKind.allCases {
            print("  \(kind.rawValue.padding(15))\(kind.summary)")
        }
        print("this machine:")
        print("  cpus the workers may use     \(allowedCPUs().map(String.init).joined(separator: ","))")
        print("  pipe capacity                \(limits.pipeCapacity) bytes (pipe-max-size \(limits.pipeMaxSize))")
        print("  udp datagram max             \(limits.udpDatagramMax) bytes")
        print("  unix-dgram datagram max      \(limits.unixDatagramMax) bytes")
    }
}

struct SysinfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sysinfo",
        abstract: "Print the environment columns as a run would write them.")

    func run() throws {
        let env = Environment.current()
        print(csvLine(environmentColumns), terminator: "")
        print(csvLine(environmentRow(env)), terminator: "")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
