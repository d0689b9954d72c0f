import Glibc
import CShims

// The worker's io_uring ring (liburing, through CShims) as the loops use it: an operation put in
// the ring under a tag, then waited for. The ring is passed as its address (a UInt), as the
// endpoints keep it.

/// What a ring operation does with its descriptor.
@usableFromInline package enum RingOperation {
    /// A read (of a registered buffer where the buffers were registered).
    case read
    /// A write (likewise); a send on a socket.
    case write
    /// A splice from the descriptor into another (a splicing receiver).
    case splice

    @usableFromInline var code: Int32 {
        switch self {
        case .read: Int32(CSHIM_URING_READ)
        case .write: Int32(CSHIM_URING_WRITE)
        case .splice: Int32(CSHIM_URING_SPLICE)
        }
    }
}

/// Puts `operation` on `fd` (`count` bytes at `buffer`; a splice goes into `spliceTo`) in the ring
/// under `tag`, submitted by the next wait: 0 (also when the same one is already there), or -errno.
@inlinable @inline(__always)
package func ringStart(_ ring: UInt, tag: UInt32, _ operation: RingOperation, _ fd: Int32, _ buffer: UnsafeMutableRawPointer,
                       _ count: Int, socket: Bool, spliceTo: Int32) -> Int {
    cshim_uring_start(UnsafeMutableRawPointer(bitPattern: ring), tag, operation.code, fd, buffer, count, socket ? 1 : 0, spliceTo)
}

/// Waits for the operation under `tag` (`timeoutNs` < 0: for ever; 0: not at all): its result
/// (bytes, 0 at the end, -errno), or -EAGAIN when it has not completed in that time.
@inlinable @inline(__always)
package func ringWait(_ ring: UInt, tag: UInt32, timeoutNs: Int64) -> Int {
    cshim_uring_wait(UnsafeMutableRawPointer(bitPattern: ring), tag, timeoutNs)
}

/// Waits for whichever operation completes first: its tag and, with `take`, its result (without,
/// 0, and ringWait takes it); -EAGAIN when none did in that time, -EINVAL when none is in flight.
@inlinable @inline(__always)
package func ringWaitAny(_ ring: UInt, timeoutNs: Int64, take: Bool) -> (tag: UInt32, result: Int) {
    var tag: UInt32 = 0
    let n = cshim_uring_wait_any(UnsafeMutableRawPointer(bitPattern: ring), &tag, timeoutNs, take ? 1 : 0)
    return (tag, n)
}

/// Offers a buffer a loop made to be registered with the ring being set up (a no-op when none is).
package func offerRingBuffer(_ base: UnsafeMutableRawPointer, _ length: Int) { cshim_uring_add_buffer(base, length) }

/// 0 when this kernel makes a ring; else the errno io_uring_setup failed with.
package func ringSetupError() -> Int32 {
    guard let ring = cshim_uring_open(2) else { return errno }
    cshim_uring_close(ring)
    return 0
}

/// nil when this kernel takes registered (fixed) buffers for a ring, or no ring can be made; else
/// the errno io_uring_register_buffers failed with.
package func ringRegisteredBuffersError() -> Int32? {
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
    defer { buffer.deallocate() }
    guard let ring = cshim_uring_open(2) else { return nil }
    defer { cshim_uring_close(ring) }
    cshim_uring_collect_buffers(ring)
    cshim_uring_add_buffer(buffer, 4096)
    let r = cshim_uring_register_buffers(ring)
    return r == 0 ? nil : -r
}
