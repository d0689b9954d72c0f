import Glibc
import IPCPlatform
import IPCModel

/// Which of the two workers: `a` sends (throughput) or asks (latency); `b` receives or echoes.
public enum Role: Int32, Sendable {
    case a = 0
    case b = 1
}

/// How a transport delivers what a worker sends. One boolean cannot say it: SOCK_SEQPACKET keeps
/// boundaries like a datagram socket but never loses a message.
public enum MessageSemantics: String, Sendable {
    /// Bytes in order, no message boundaries (pipes, FIFOs, stream sockets).
    case stream = "byte stream"
    /// One receive returns one whole message, and none is lost (AF_UNIX datagrams).
    case reliableMessages = "reliable messages"
    /// One receive returns one whole message, but the kernel may drop messages (UDP).
    case lossyMessages = "lossy messages"

    public var keepsBoundaries: Bool {
        switch self {
        case .stream: return false
        case .reliableMessages, .lossyMessages: return true
        }
    }
}

/// The system calls that move a worker's bytes on one endpoint; the transport chooses them.
public enum MessageIO: Sendable {
    /// read(2) and write(2) on one or two descriptors.
    case readWrite(read: Int32, write: Int32)
    /// send(2) and recv(2) on a connected socket, one message a call.
    case sendReceive(Int32)
    /// send(2) and recv(2) on a connected SOCK_SEQPACKET socket: one message a call, and a receive
    /// of 0 bytes means the peer closed (we never send empty messages).
    case packets(Int32)
    /// mq_send(3) and mq_receive(3), one queue per direction; a receive needs room for the queue's
    /// message size, which the transport sets to the payload size.
    case messageQueues(receive: Int32, send: Int32)
    /// Shared-memory byte rings, one per direction: a copy in, a copy out, and FUTEX_WAIT/FUTEX_WAKE
    /// (or busy-waiting, `spin`) instead of a system call per message.
    case rings(receive: SharedRing, send: SharedRing, spin: Bool)
    /// The sending side of a pipe fed by vmsplice(2) from the caller's pages.
    case vmspliceSend(Int32)
    /// The receiving side of that pipe, drained by splice(2) into /dev/null: nothing is copied to
    /// user space (so a read returns a count, and the buffer holds nothing).
    case spliceToNull(pipe: Int32, null: Int32)
}

/// The start of one shared-memory ring (see CShims: `cshim_ring_*`), mapped MAP_SHARED in both workers.
public struct SharedRing: @unchecked Sendable {
    package let base: UnsafeMutableRawPointer
}

/// One worker's side of a connection: how it sends and receives, and what the transport promises.
/// The timed loops call `write`, `read` and `readFully`, which cost one switch on top of the call.
public struct Endpoint: Sendable {
    public let io: MessageIO
    public let semantics: MessageSemantics
    /// The trial's 64-bit key, first in every message's header; 0 for byte streams.
    public let datagramKey: UInt64
    /// Connections and datagrams from strangers that `open` refused while setting up.
    public let rejected: UInt64
    /// The knobs `open` set, with the values the kernel put in force.
    public internal(set) var knobsInForce = TransportKnobs()
    /// Where anyone may read and send the datagrams (udp-multicast): the trial's MAC key, which
    /// seals every header in place of the key (`sealDatagramHeader`); nil elsewhere.
    package var seal: SipHashKey?
    /// How its reads wait for data (`--wait`); a plain call unless `prepareWaiting` says otherwise.
    package var waiting = ReadWaiting()

    public init(_ io: MessageIO, _ semantics: MessageSemantics, datagramKey: UInt64 = 0, rejected: UInt64 = 0) {
        self.io = io
        self.semantics = semantics
        self.datagramKey = datagramKey
        self.rejected = rejected
    }

    /// Messages keep their boundaries: one write is one message, one read returns one message.
    public var isDatagram: Bool { semantics.keepsBoundaries }
    /// True where the kernel may drop a message (UDP); AF_UNIX datagrams block instead.
    public var losesDatagrams: Bool { semantics == .lossyMessages }

    /// Sends `count` bytes: all of them on a stream, one message otherwise. Returns `count` (or the
    /// message's length), or -errno.
    @inline(__always)
    package func write(_ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        if waiting.mode == .uring { return uringWrite(buffer, count) }
        switch io {
        case let .readWrite(_, fd): return writeFully(fd, buffer, count)
        case let .sendReceive(fd), let .packets(fd): return sendDatagram(fd, buffer, count)
        case let .messageQueues(_, queue):
            return sendMessage(queue, buffer, count)
        case let .rings(_, ring, spin): return sharedRingWrite(ring.base, buffer, count, spin: spin)
        case let .vmspliceSend(fd): return vmspliceFully(fd, buffer, count)
        case .spliceToNull: return -Int(EBADF)
        }
    }

    /// Receives up to `capacity` bytes (a stream) or one message, waiting as `waiting` says. Returns
    /// its length, 0 when the peer closed a stream, or -errno (-EAGAIN when a receive timeout ran out).
    @inline(__always)
    package func read(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        switch waiting.mode {
        case .direct:
            return receive(buffer, capacity)
        case .poll, .epoll:
            let ready = waiting.awaitReadable()
            if ready <= 0 { return ready == 0 ? -Int(EAGAIN) : ready }
            return receive(buffer, capacity)
        case .busy:
            return busyRead(buffer, capacity)
        case .uring:
            return uringRead(buffer, capacity)
        }
    }

    /// The transport's own receive call, as its descriptor's blocking mode makes it wait.
    @inline(__always)
    package func receive(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        switch io {
        case let .readWrite(fd, _): return readOnce(fd, buffer, capacity)
        case let .sendReceive(fd): return receiveDatagram(fd, buffer, capacity)
        case let .packets(fd):
            let n = receiveDatagram(fd, buffer, capacity)
            return n == 0 ? -Int(EPIPE) : n
        case let .messageQueues(queue, _):
            return receiveMessage(queue, buffer, capacity)
        case let .rings(ring, _, spin): return sharedRingRead(ring.base, buffer, capacity, spin: spin)
        case .vmspliceSend: return -Int(EBADF)
        case let .spliceToNull(pipe, null): return spliceOnce(pipe, null, capacity)
        }
    }

    /// Streams: reads exactly `count` bytes unless the peer closes first; returns the bytes read or -errno.
    @inline(__always)
    package func readFully(_ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var done = 0
        while done < count {
            let n = read(buffer + done, count - done)
            if n <= 0 { return n < 0 ? n : done }
            done += n
        }
        return done
    }

    /// The descriptors a loop waits on with poll(2): the one it reads and the one it writes.
    package var pollDescriptors: (read: Int32, write: Int32) {
        switch io {
        case let .readWrite(read, write): return (read, write)
        case let .sendReceive(fd), let .packets(fd): return (fd, fd)
        case let .messageQueues(receive, send): return (receive, send)  // mq descriptors poll like files
        case .rings: return (-1, -1)  // nothing to poll: duplex skips the rings
        case let .vmspliceSend(fd): return (-1, fd)
        case let .spliceToNull(pipe, _): return (pipe, -1)
        }
    }

    /// One write(2) or send(2): the bytes it took (fewer than `count` on a non-blocking stream whose
    /// buffer is nearly full), or -errno (-EAGAIN when a non-blocking descriptor has no room).
    @inline(__always)
    package func writeOnce(_ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        switch io {
        case let .readWrite(_, fd): return IPCPlatform.writeOnce(fd, buffer, count)
        case let .sendReceive(fd), let .packets(fd): return sendDatagram(fd, buffer, count)
        case let .messageQueues(_, queue): return sendMessage(queue, buffer, count)
        case let .rings(_, ring, spin): return sharedRingWrite(ring.base, buffer, count, spin: spin)
        case let .vmspliceSend(fd): return vmspliceOnce(fd, buffer, count)
        case .spliceToNull: return -Int(EBADF)
        }
    }

    /// Makes both directions non-blocking, for a worker that waits for either in poll(2): 0, or the
    /// errno of the fcntl that failed.
    package func makeNonBlocking() -> Int32 {
        let fds = pollDescriptors
        for fd in Set([fds.read, fds.write]) where fd >= 0 {
            let failure = IPCPlatform.makeNonBlocking(fd)
            if failure != 0 { return failure }
        }
        return 0
    }

    public func close() {
        closeDescriptor(waiting.epoll)  // the uring ring is the worker's, which closes it
        switch io {
        case let .readWrite(read, write):
            closeDescriptor(read)
            if write != read { closeDescriptor(write) }
        case let .sendReceive(fd), let .packets(fd):
            closeDescriptor(fd)
        case let .messageQueues(receive, send):
            closeDescriptor(receive)
            closeDescriptor(send)
        case let .rings(receive, send, _):
            // The mapping goes with the worker; the peer sees end of stream.
            closeSharedRing(send.base)
            closeSharedRing(receive.base)
        case let .vmspliceSend(fd):
            waitUntilPipeDrained(fd)
            closeDescriptor(fd)
        case let .spliceToNull(pipe, null):
            closeDescriptor(pipe)
            closeDescriptor(null)
        }
    }
}

/// The write side of an endpoint made never to wait while its reads still block: MSG_DONTWAIT on a
/// socket (one open file for both directions), O_NONBLOCK on a pipe's or FIFO's write end (an open
/// file of its own).
package struct NonWaitingWriter {
    private let endpoint: Endpoint
    private let fd: Int32
    private let socket: Bool
    /// errno of the fcntl that makes a pipe's write end non-blocking, or 0.
    package let failure: Int32

    package init(_ endpoint: Endpoint) {
        self.endpoint = endpoint
        fd = endpoint.pollDescriptors.write
        socket = isSocket(fd)
        // Under --wait uring the writes go through the ring, which waits without blocking the
        // caller and would only be refused by a non-blocking descriptor.
        failure = socket || endpoint.waiting.mode == .uring ? 0 : makeNonBlocking(fd)
    }

    /// One write that never waits: the bytes the kernel took, or -errno (-EAGAIN when none).
    @inline(__always)
    package func write(_ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        if socket { return sendWithoutWaiting(fd, buffer, count) }
        return endpoint.writeOnce(buffer, count)
    }
}

/// Makes connected endpoints for two workers. The runner calls `prepare` before it forks, each
/// worker calls `open` for its own role after the fork, and the runner calls `close` after reaping.
/// A new transport is a type conforming to this in its own file plus a line in TransportRegistry.swift.
public protocol Transport: AnyObject {
    /// What one receive returns and whether messages can be lost.
    static var semantics: MessageSemantics { get }
    /// The largest payload one message can carry on this kernel, or nil for a byte stream.
    static func maxMessageBytes() -> Int?
    /// How to raise `maxMessageBytes`, for the skip message; nil where the limit is fixed.
    static var limitHint: String? { get }
    /// Bytes go from a to b only (vmsplice): latency cannot run.
    static var oneWay: Bool { get }
    /// Runs on ::1, so it needs the IPv6 loopback.
    static var needsIPv6: Bool { get }
    /// Its endpoints have descriptors that poll(2) can wait on (not the shared-memory rings).
    static var pollable: Bool { get }
    /// Every message must be the payload's size (mq: a receive needs room for the queue's
    /// message size), so a pattern whose replies are smaller (sync-message's acknowledgement) cannot run.
    static var payloadSizedMessagesOnly: Bool { get }
    /// The knobs this transport applies; it ignores the others.
    static var knobs: [Knob] { get }
    /// One send reaches every receiver (IP multicast): the links from one worker share one
    /// transport, and that worker has one endpoint for them all.
    static var oneToMany: Bool { get }
    /// It needs IP multicast to deliver on the loopback (`Limits.multicastLoopback`).
    static var needsMulticastLoopback: Bool { get }
    /// Its receiver takes the bytes without reading them (vmsplice's splice into /dev/null).
    static var discardsReceivedBytes: Bool { get }
    init(_ options: TransportOptions)
    /// In the runner: make what both workers share (pipes, FIFOs, bound sockets) inside `directory`.
    func prepare(in directory: String) throws
    /// In a worker: the endpoint for `role`, its peer authenticated with `peer`; closes everything
    /// that belongs to the other role.
    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint
    /// In the runner: close what `prepare` made and remove its files.
    func close()
}

extension Transport {
    public static func maxMessageBytes() -> Int? { nil }
    public static var limitHint: String? { nil }
    public static var oneWay: Bool { false }
    public static var needsIPv6: Bool { false }
    public static var pollable: Bool { true }
    public static var payloadSizedMessagesOnly: Bool { false }
    public static var knobs: [Knob] { [] }
    public static var oneToMany: Bool { false }
    public static var needsMulticastLoopback: Bool { false }
    public static var discardsReceivedBytes: Bool { false }
}

