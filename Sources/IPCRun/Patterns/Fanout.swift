import IPCPlatform
import IPCModel

/// fanout (one writer, N readers): a broadcast. Over point-to-point links the sender writes every
/// message once to each receiver's link (N copies through the kernel); over a one-to-many transport
/// (udp-multicast) it sends each message once and the kernel delivers a copy to every receiver. Each
/// receiver is throughput's receiver. Time runs from the sender's first write to the last receiver's
/// last byte.
package enum FanoutPattern: Pattern {
    package static func topology(_ shape: CaseShape) -> Topology {
        let n = shape.receivers
        return Topology(roles: ["sender"] + (1...n).map { "receiver \($0)" },
                        links: (1...n).map { Topology.Link(from: 0, to: $0) })
    }

    package static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { 1 }

    package static func requirements(_ shape: CaseShape) -> Requirements {
        var r = ThroughputPattern.requirements(shape)
        r.broadcast = true
        return r
    }

    package static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        index == 0 ? senderLoop(endpoints, work) : oneWayLoop(sending: false, endpoints[0], work)
    }

    /// Delivered MiB/s: every receiver's bytes over the sender's first write to the last receiver's
    /// last byte. Slowest: the least, over receivers, of its bytes over the sender's first write to
    /// its own last byte.
    package static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        let sender = reports[0]
        let receivers = reports.dropFirst()
        var f = TrialFigures()
        f.durationNs = receivers.map(\.endNs).max()! &- sender.startNs
        f.bytes = receivers.reduce(0) { $0 + $1.bytes }
        f.messages = sender.messages
        f.values[.throughput] = mibPerSecond(f.bytes, f.durationNs)
        f.values[.slowest] = receivers.map { mibPerSecond($0.bytes, $0.endNs &- sender.startNs) }.min()
        // The copies due: one per message and receiver.
        f.datagrams = DatagramCounts(due: sender.messages * UInt64(receivers.count), receivers: receivers)
        // At a rate, a message got through once every receiver has it: the receivers' messages on average.
        addPacingFigures(&f, shape, senders: [sender], achieved: Double(receivers.reduce(0) { $0 + $1.messages }) / Double(receivers.count))
        addDeliveryFigures(&f, shape, receivers: Array(receivers))
        return f
    }
}
