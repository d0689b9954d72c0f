import IPCPlatform
import IPCModel

/// What a pattern needs of a transport for one case's shape. Each pattern declares its own
/// (`Pattern.requirements`); each transport declares what it offers (`Transport`: semantics, one-way,
/// pollable, payload-sized messages, limits); `skipReason` below weighs one against the other, once,
/// for the plan.
package struct Requirements {
    /// Messages go both ways (a one-way transport cannot serve it).
    package var bothWays = false
    /// What it waits for in poll(2), where it does (a transport without descriptors cannot serve it).
    package var polling: String?
    /// Why every message must arrive, where it must (a lossy transport cannot serve it).
    package var noLoss: String?
    /// A message it sends that is not the payload's size (a transport that carries only
    /// payload-sized messages cannot serve it).
    package var otherSizedMessage: String?
    /// On a message transport each message carries the trial's 64-bit key and this 64-bit number,
    /// so a payload must hold 16 bytes.
    package var numberedMessages: String?
    /// The same where messages may be lost, for request patterns: a request without a reply in
    /// time is counted as lost, and the number tells its late reply from the next request's.
    package var numberedWhereLost: String?
    /// Its sender's messages go to every receiver alike, so one send may reach them all (a
    /// one-to-many transport serves only such patterns).
    package var broadcast = false
    /// Messages in flight toward one receiver at once: on a lossy transport they must fit its
    /// socket's receive buffer.
    package var inFlight = 1
    /// Every message starts with a header of this many bytes, saying what it holds, on every transport.
    package var header: (bytes: Int, what: String)?
    /// Its receivers read what each message says (a transport whose receiver discards the bytes unread cannot serve it).
    package var readsEveryMessage = false
    /// Its loops read their descriptors without blocking and wait for them as --wait says
    /// themselves (duplex, pubsub), so its endpoints' reads must not wait on their own.
    package var waitsItself = false
}

/// Why `pattern` with `shape` cannot run on `transport` on this machine, or nil: the one decision
/// whether a case runs, with the reason its row gives.
public func skipReason(_ transport: TransportKind, _ pattern: PatternKind, _ shape: CaseShape, limits: Limits = .shared) -> String? {
    let t = transport.implementation, name = transport.rawValue
    let needs = pattern.implementation.requirements(shape)
    if t.needsIPv6 && !limits.ipv6Loopback {
        return "this machine has no IPv6 loopback: a socket cannot be bound to ::1"
    }
    if t.needsMulticastLoopback && !limits.multicastLoopback {
        return "IP multicast does not deliver on this machine's loopback (a datagram sent to a 239.0.0.0/8 group joined on 127.0.0.1 did not arrive)"
    }
    if t.oneToMany && !needs.broadcast {
        let takers = PatternKind.allCases.filter { $0.implementation.requirements(shape).broadcast }.map(\.rawValue)
        return "\(name) delivers one send to every receiver of a group: it serves \(takers.joined(separator: ", ")), not \(pattern.rawValue)'s point-to-point links"
    }
    if t.oneWay && needs.bothWays {
        let oneWay = PatternKind.allCases.filter { !$0.implementation.requirements(shape).bothWays }.map(\.rawValue)
        return "\(name) is one-way: \(pattern.rawValue) sends both ways; use it for \(oneWay.dropLast().joined(separator: ", ")) or \(oneWay.last!)"
    }
    if t.payloadSizedMessagesOnly, let other = needs.otherSizedMessage {
        return "\(pattern.rawValue) sends \(other), and \(name) carries only messages of the payload's size"
    }
    if let header = needs.header, shape.payloadBytes < header.bytes {
        return "\(pattern.rawValue) needs at least \(header.bytes) bytes per message for \(header.what)"
    }
    if t.discardsReceivedBytes && needs.readsEveryMessage {
        return "\(pattern.rawValue) reads each message's header, and \(name)'s receiver splices the bytes into /dev/null unread (except under --verify)"
    }
    if !t.pollable, let what = needs.polling {
        return "\(pattern.rawValue) waits for \(what) in poll(2), and \(name) has no descriptor to poll"
    }
    if t.semantics == .lossyMessages, let why = needs.noLoss {
        return "\(pattern.rawValue) needs every message to arrive (\(why)); \(name) may drop them, so its loss is measured by throughput"
    }
    if let number = needs.numberedMessages, transport.isDatagram && shape.payloadBytes < datagramHeaderBytes {
        return "\(pattern.rawValue) on \(name) needs at least \(datagramHeaderBytes) bytes per message for the 64-bit trial key and the 64-bit \(number)"
    }
    if let number = needs.numberedWhereLost, t.semantics == .lossyMessages && shape.payloadBytes < datagramHeaderBytes {
        return "\(pattern.rawValue) on \(name) needs at least \(datagramHeaderBytes) bytes per message for the 64-bit trial key and the 64-bit \(number): \(name) may drop a request, and a late reply must not pass for the next one's"
    }
    if let max = t.maxMessageBytes(), shape.payloadBytes > max {
        let hint = t.limitHint.map { "; \($0)" } ?? ""
        return "payload of \(shape.payloadBytes) bytes exceeds this kernel's \(name) message limit of \(max) bytes\(hint)"
    }
    if let wait = shape.wait, wait != .auto {
        if !t.pollable {
            return "\(name) has no descriptor to wait on: its rings wait in futex(2) or spin, whatever --wait says"
        }
        if wait == .uring, let refusal = limits.ioUringRefusal { return refusal }
        if wait == .uring, t.semantics == .reliableMessages, transport == .mq {
            return "mq's receive is mq_receive(3), which io_uring has no operation for (a read(2) of a queue's descriptor gives its attributes)"
        }
        // uring serves the rest: a ring waits for several operations at once, and vmsplice's
        // receiver splices through it (IORING_OP_SPLICE).
        if wait == .block, let what = needs.polling {
            return "\(pattern.rawValue) waits for \(what) at once, and a blocking read on one descriptor would stall the others: --wait block cannot serve it"
        }
    }
    if t.semantics == .lossyMessages && needs.inFlight > 1, let buffer = Int(readProcValue("/proc/sys/net/core/rmem_default") ?? ""),
       needs.inFlight * chargedBytes(shape.payloadBytes) > buffer {
        return "\(needs.inFlight) messages of \(shape.payloadBytes) bytes in flight overflow the receiving socket's buffer (net.core.rmem_default = \(buffer) bytes), so \(name) would drop them; raise it with sysctl or lower the depth"
    }
    return nil
}

/// What the kernel charges a socket's receive buffer for one datagram: its data in a
/// power-of-two allocation plus the buffer head (about 512 bytes), an estimate on the safe side.
package func chargedBytes(_ payload: Int) -> Int {
    var allocation = 512
    while allocation < payload + 512 { allocation *= 2 }
    return allocation + 512
}
