import Glibc
import CShims

// Waiting for descriptors: poll(2), epoll(7), non-blocking descriptors. The loops call the
// @inlinable ones; each returns what the call returns (a count, or -1 with errno set) unless it says.

/// poll(2) on `count` descriptors: how many are ready, 0 when the timeout ran out, or -errno.
@inlinable @inline(__always)
package func pollOnce(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, timeoutMs: Int32) -> Int {
    retryingInterrupts { Int(poll(fds, nfds_t(count), timeoutMs)) }
}

/// A new epoll set (close-on-exec): its descriptor, or -1 with errno set.
package func makeEpoll() -> Int32 { cshim_epoll_create() }

/// Adds `fd` to the set, watched for input, tagged `tag`: 0, or -1 with errno set.
package func epollAdd(_ epoll: Int32, _ fd: Int32, tag: UInt32) -> Int32 { cshim_epoll_add(epoll, fd, tag) }

/// Takes `fd` out of the set: 0, or -1 with errno set.
@discardableResult
package func epollRemove(_ epoll: Int32, _ fd: Int32) -> Int32 { cshim_epoll_remove(epoll, fd) }

/// Sets what `fd`, in the set, is watched for: 0, or -1 with errno set.
@inlinable @inline(__always)
package func epollWatch(_ epoll: Int32, _ fd: Int32, input: Bool, output: Bool) -> Int32 {
    cshim_epoll_watch(epoll, fd, input ? 1 : 0, output ? 1 : 0)
}

/// Waits up to `timeoutMs` (-1: for ever) for one descriptor of the set: 1 (its tag in `tag`), 0
/// when the time ran out, or -errno.
@inlinable @inline(__always)
package func epollWaitOne(_ epoll: Int32, timeoutMs: Int32, tag: UnsafeMutablePointer<UInt32>? = nil) -> Int {
    retryingInterrupts { Int(cshim_epoll_wait_one(epoll, timeoutMs, tag)) }
}

/// Makes a descriptor's open file non-blocking (O_NONBLOCK): 0, or the errno of the fcntl that failed.
package func makeNonBlocking(_ fd: Int32) -> Int32 {
    let flags = resultOrErrno { Int(fcntl(fd, F_GETFL)) }
    let set = flags < 0 ? flags : resultOrErrno { Int(fcntl(fd, F_SETFL, Int32(flags) | O_NONBLOCK)) }
    return set < 0 ? Int32(-set) : 0
}

/// Gives the CPU to another runnable thread, if there is one (sched_yield).
@inlinable @inline(__always)
package func yieldProcessor() { sched_yield() }

/// An epoll set watching `read` for input (tag 0) and `write` for room to write (tag 1), one entry
/// for both where they are one descriptor: the set's descriptor, or -errno.
package func makeEpollForBothDirections(read: Int32, write: Int32) -> Int32 {
    let epoll = cshim_epoll_create()
    if epoll < 0 { return -errno }
    let added = cshim_epoll_add(epoll, read, 0) == 0
        && (write == read ? cshim_epoll_watch(epoll, read, 1, 1) == 0
            : cshim_epoll_add(epoll, write, 1) == 0 && cshim_epoll_watch(epoll, write, 0, 1) == 0)
    if added { return epoll }
    let failure = errno
    closeDescriptor(epoll)
    return -failure
}
