import IPCPlatform

/// How a worker waits for data to read (`--wait`, config `wait`; a case per mode). `auto` is what
/// each pattern does without the option: a blocking read where it reads one descriptor at a time,
/// poll(2) where it watches several (duplex, pipelined async-request, pubsub).
public enum WaitMode: String, CaseIterable, Sendable {
    case auto
    /// A blocking read(2) / recv(2) / mq_receive(3): the kernel puts the reader to sleep.
    case block
    /// poll(2) on the descriptor (or, for a pattern that watches several, on all of them), then the read.
    case poll
    /// epoll_wait(2) on an epoll set made before the timed loop, then the read.
    case epoll
    /// Non-blocking reads in a loop (O_NONBLOCK, or MSG_DONTWAIT on a socket): the reader never sleeps.
    case busy
    /// Each read (and each write) submitted to an io_uring ring of the worker's own (liburing) and its
    /// completion waited for; a pattern that watches several descriptors keeps a read in flight on each.
    case uring
}
