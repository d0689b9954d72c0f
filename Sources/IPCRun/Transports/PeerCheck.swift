import Glibc
import IPCPlatform
import IPCModel

/// A random secret from getrandom(2), made by the runner for each trial before it forks. The
/// workers inherit it in memory, so only a process that can read their memory (our uid, via
/// ptrace or /proc) can know it.
package struct TrialSecret {
    /// 128 bits for TCP, where a stranger gets one guess per connection; datagrams carry the first 64.
    package static let byteCount = 16
    package let bytes: [UInt8]
    /// A second 128 bits that no message ever carries: the SipHash key of udp-multicast's MACs.
    package let macKey: SipHashKey

    package static func random() throws -> TrialSecret {
        var bytes = [UInt8](repeating: 0, count: 2 * byteCount)
        try bytes.withUnsafeMutableBytes { try fillWithRandomBytes($0) }
        return TrialSecret(bytes: Array(bytes[0..<byteCount]), macKey: SipHashKey(Array(bytes[byteCount...])))
    }

    /// The first 64 bits, little-endian: the key at the front of every datagram of the trial.
    package var datagramKey: UInt64 {
        bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    /// Looks at every byte whatever the first difference, so the time taken says nothing about a guess.
    package func matches(_ candidate: [UInt8]) -> Bool {
        guard candidate.count == bytes.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<bytes.count { difference |= bytes[i] ^ candidate[i] }
        return difference == 0
    }
}

/// What a worker needs to tell its peer from a stranger while it sets up.
public struct PeerCheck {
    package let secret: TrialSecret
    /// Worker a's pid: the only process whose unix-stream connection b accepts (0 in a).
    package let connectorPid: pid_t
    /// The runner's pid: it made the unix-stream listener, so a's connection must lead to it.
    package let listenerPid: pid_t
    /// The trial's deadline (CLOCK_MONOTONIC ns): b stops waiting for its peer then.
    package let deadlineNs: UInt64
}

/// How long a worker on a transport that never loses a message waits for the next one: as long as
/// the trial's timeout allows (at least 1 ms), since a message that has not come is only late (a
/// busy machine), and the runner ends the trial at its deadline.
package func untilDeadline(_ peer: PeerCheck) -> UInt64 {
    let now = monotonicNanoseconds()
    return max(peer.deadlineNs > now ? peer.deadlineNs - now : 0, 1_000_000)
}

/// Set-up found no peer, or found a stranger where the peer should be.
package struct PeerCheckFailure: Error, CustomStringConvertible {
    package let description: String
}

/// At most this many TCP connections wait to present the secret at once; beyond it the oldest
/// goes, so a stranger cannot make the worker run out of descriptors.
package let maxPendingConnections = 64

/// TCP, in b: accepts until a connection presents the trial's secret, reading from all pending
/// connections at once so that a silent stranger cannot hold up the peer. Every other connection
/// is closed and counted. A secret is compared only once all its bytes are in, so a stranger does
/// not learn from when it is closed which of its bytes were right.
package func acceptPresentingSecret(_ listener: Int32, _ peer: PeerCheck) throws -> (fd: Int32, rejected: UInt64) {
    let length = TrialSecret.byteCount
    var pending: [(fd: Int32, received: [UInt8])] = []
    var rejected: UInt64 = 0
    var found: Int32 = -1
    defer { if found < 0 { pending.forEach { closeDescriptor($0.fd) } } }
    func reject(_ i: Int) {
        closeDescriptor(pending[i].fd)
        pending.remove(at: i)
        rejected += 1
    }
    while true {
        var entries = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            + pending.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        guard try pollUntil(&entries, peer.deadlineNs) else {
            throw PeerCheckFailure(description: "no TCP connection presented the trial's secret before the trial's timeout (\(rejected) rejected)")
        }
        // Backwards, so that removing pending[i] leaves entries[j + 1] matched to pending[j] for j < i.
        for i in pending.indices.reversed() where entries[i + 1].revents != 0 {
            var chunk = [UInt8](repeating: 0, count: length - pending[i].received.count)
            let fd = pending[i].fd
            let n = chunk.withUnsafeMutableBytes { raw in
                readOnce(fd, raw.baseAddress!, raw.count)
            }
            if n <= 0 { reject(i); continue }
            pending[i].received += chunk[0..<n]
            if pending[i].received.count < length { continue }
            if peer.secret.matches(pending[i].received) {
                found = fd
                pending.remove(at: i)
                rejected += UInt64(pending.count)
                pending.forEach { closeDescriptor($0.fd) }
                return (found, rejected)
            }
            reject(i)
        }
        if entries[0].revents != 0, let fd = try acceptUnlessAborted(listener, &rejected) {
            if pending.count == maxPendingConnections { reject(0) }
            pending.append((fd, []))
        }
    }
}

/// AF_UNIX stream and seqpacket (`name`), in b: accepts until the connection comes from worker a's
/// pid (SO_PEERCRED); closes and counts every other one.
package func acceptFromConnector(_ listener: Int32, _ peer: PeerCheck, _ name: String = "unix-stream") throws -> (fd: Int32, rejected: UInt64) {
    var rejected: UInt64 = 0
    while true {
        var entries = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        guard try pollUntil(&entries, peer.deadlineNs) else {
            throw PeerCheckFailure(description: "no \(name) connection from the other worker (pid \(peer.connectorPid)) arrived before the trial's timeout (\(rejected) rejected)")
        }
        guard let fd = try acceptUnlessAborted(listener, &rejected) else { continue }
        if peerProcessID(fd) == peer.connectorPid { return (fd, rejected) }
        closeDescriptor(fd)
        rejected += 1
    }
}

/// accept(), except that a connection its client aborted before it was accepted counts as rejected
/// (nil) rather than failing the trial.
package func acceptUnlessAborted(_ listener: Int32, _ rejected: inout UInt64) throws -> Int32? {
    let fd = Int(acceptConnection(listener))
    if fd == -Int(ECONNABORTED) {
        rejected += 1
        return nil
    }
    if fd < 0 { throw SystemCallError("accept", code: Int32(-fd)) }
    return Int32(fd)
}

/// Datagram sockets, right after connect(): from then on the kernel delivers only the peer's
/// datagrams, so whatever is already queued came from someone else before. Returns how many.
package func drainQueuedDatagrams(_ fd: Int32) -> UInt64 {
    var count: UInt64 = 0
    var byte: UInt8 = 0
    while withUnsafeMutableBytes(of: &byte, { raw in
        receiveWithoutWaiting(fd, raw.baseAddress!, 1)
    }) >= 0 {
        count += 1
    }
    return count
}

/// Polls `entries` until one is ready; false once `deadlineNs` (CLOCK_MONOTONIC) has passed.
package func pollUntil(_ entries: inout [pollfd], _ deadlineNs: UInt64) throws -> Bool {
    while true {
        let now = monotonicNanoseconds()
        if now >= deadlineNs { return false }
        let timeout = Int32(min((deadlineNs - now) / 1_000_000 + 1, 1_000_000))
        let ready = entries.withUnsafeMutableBufferPointer { pollOnce($0.baseAddress!, $0.count, timeoutMs: timeout) }
        if ready < 0 { throw SystemCallError("poll", code: Int32(-ready)) }
        if ready > 0 { return true }
    }
}
