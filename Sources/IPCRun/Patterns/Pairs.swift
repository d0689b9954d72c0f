import IPCPlatform
import IPCModel

/// pairs (scaling): N independent throughput pairs at once, each on its own link. Time runs from
/// the earliest sender's first write to the latest receiver's last byte.
package enum PairsPattern: Pattern {
    package static func topology(_ shape: CaseShape) -> Topology {
        let n = shape.pairs
        return Topology(roles: (1...n).flatMap { ["sender \($0)", "receiver \($0)"] },
                        links: (0..<n).map { Topology.Link(from: 2 * $0, to: 2 * $0 + 1) })
    }

    package static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { 1 }

    package static func requirements(_ shape: CaseShape) -> Requirements { ThroughputPattern.requirements(shape) }

    package static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        oneWayLoop(sending: index % 2 == 0, endpoints[0], work)
    }

    /// Aggregate MiB/s and msgs/s: every receiver's bytes and messages over the earliest first write
    /// to the latest last byte. Slowest: the least of the pairs' own throughput figures.
    package static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        let pairs = stride(from: 0, to: reports.count - 1, by: 2).map { (sender: reports[$0], receiver: reports[$0 + 1]) }
        let each = pairs.map { oneWayFigures(sender: $0.sender, receiver: $0.receiver) }
        var f = TrialFigures()
        f.durationNs = pairs.map(\.receiver.endNs).max()! &- pairs.map(\.sender.startNs).min()!
        f.bytes = pairs.reduce(0) { $0 + $1.receiver.bytes }
        f.messages = pairs.reduce(0) { $0 + $1.sender.messages }
        let delivered = pairs.reduce(0) { $0 + $1.receiver.messages }
        f.values[.throughput] = mibPerSecond(f.bytes, f.durationNs)
        f.values[.messagesPerSecond] = f.durationNs > 0 ? Double(delivered) / (Double(f.durationNs) / 1e9) : 0
        f.values[.slowest] = each.compactMap { $0.values[.throughput] }.min()
        var d = DatagramCounts()
        for p in each {
            let c = p.datagrams!
            d.sent += c.sent
            d.received += c.received
            d.lost += c.lost
            d.reordered += c.reordered
            d.duplicated += c.duplicated
        }
        f.datagrams = d
        addPacingFigures(&f, shape, senders: pairs.map(\.sender), achieved: Double(delivered))
        addDeliveryFigures(&f, shape, receivers: pairs.map(\.receiver))
        return f
    }
}
