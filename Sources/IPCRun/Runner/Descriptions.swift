import FoundationEssentials
import IPCPlatform
import IPCModel

/// A column as `list --format json` describes it: name, version, unit, kind and JSON path.
private func describe(_ column: ResultColumn) -> JSONTree {
    var o: [String: JSONTree] = ["name": .string(column.name), "version": .string(formatVersionText(column.version)),
                                 "unit": column.unit.map(JSONTree.string) ?? .null, "path": .array(column.path.map(JSONTree.string))]
    switch column.kind {
    case .whole(let least): o["kind"] = .string("whole"); o["minimum"] = .int(least)
    case .decimal(let places): o["kind"] = .string("decimal"); o["places"] = .int(places)
    case .text(let names): o["kind"] = .string("text"); if let names { o["names"] = .array(names.map(JSONTree.string)) }
    case .flag: o["kind"] = .string("flag")
    }
    return .object(o)
}

/// `ipcbench list --format json`: the transports, the patterns with their parameters and metrics,
/// this machine's limits, and the results format's columns (what the scripts read instead of a
/// table of their own).
public func listJSON() throws -> String {
    let limits = Limits.shared
    let transports = TransportKind.allCases.map { kind -> JSONTree in
        .object(["name": .string(kind.rawValue), "semantics": .string(kind.semantics.rawValue),
                 "max_payload_bytes": kind.maxPayloadBytes().map(JSONTree.int) ?? .null])
    }
    let patterns = PatternKind.allCases.map { kind -> JSONTree in
        .object([
            "name": .string(kind.rawValue), "summary": .string(kind.summary),
            "parameters": .array(kind.parameters.map { .string($0.rawValue) }),
            "metrics": .array(kind.metrics.map { m in
                .object(["name": .string(m.name), "unit": .string(m.unit), "higher_is_better": .bool(m.higherIsBetter),
                         "trial_column": .string(m.trialColumn), "case_column": .string(m.caseColumn)])
            }),
        ])
    }
    let machine: JSONTree = .object([
        "cpus": .array(allowedCPUs().map(JSONTree.int)),
        "pipe_capacity_bytes": .int(limits.pipeCapacity), "pipe_max_size_bytes": .int(limits.pipeMaxSize),
        "udp_datagram_max_bytes": .int(limits.udpDatagramMax), "unix_dgram_datagram_max_bytes": .int(limits.unixDatagramMax),
        "unix_seqpacket_message_max_bytes": .int(limits.unixSeqpacketMax),
        "udp6_datagram_max_bytes": limits.ipv6Loopback ? .int(limits.udp6DatagramMax) : .null,
        "ipv6_loopback": .bool(limits.ipv6Loopback), "multicast_loopback": .bool(limits.multicastLoopback),
        "mq_message_max_bytes": .int(limits.mqMessageMax), "mq_queue_depth": .int(limits.mqQueueDepth),
    ])
    return try jsonText(.object([
        "ipcbench_version": .string(ipcbenchVersion),
        "results_format": .object(["schema_version": .string(formatVersionText(resultsFormatVersion)),
                                   "case_columns": .array(caseFileColumns().map(describe)),
                                   "trial_columns": .array(trialFileColumns().map(describe))]),
        "transports": .array(transports), "patterns": .array(patterns), "machine": machine,
    ]))
}

/// `ipcbench sysinfo --format json`: the environment as the results' JSON form writes it.
public func environmentJSON(_ env: Environment) throws -> String {
    let columns = caseFileColumns().filter { $0.path.first == "environment" }
    let row = RowValues(environmentSchema.map { $0.value(env) })
    return try jsonText(jsonObject(row, columns)["environment"] ?? .object([:]))
}
