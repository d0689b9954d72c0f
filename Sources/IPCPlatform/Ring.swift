import CShims
import Glibc

// io_uring rings (liburing, through the C shims): a worker's one ring for the reads and writes of
// all its endpoints (--wait uring). A ring is its address, as the shims take it; the loops
// keep it as a UInt, and put an operation in the ring under a tag, then wait for it.

/// Opens a ring of `entries` entries; throws naming io_uring_queue_init with errno (ENOSYS: no
/// io_uring; EPERM: kernel.io_uring_disabled).
package func openRing(entries: Int) throws -> UnsafeMutableRawPointer {
    guard let ring = cshim_uring_open(UInt32(entries)) else { throw SystemCallError("io_uring_queue_init", code: errno) }
    return ring
}

/// Closes a ring, cancelling what is still in flight; nil: nothing to close.
package func closeRing(_ ring: UnsafeMutableRawPointer?) { cshim_uring_close(ring) }

/// From now on every buffer a loop makes is kept, for `registerRingBuffers`.
package func collectRingBuffers(_ ring: UnsafeMutableRawPointer) { cshim_uring_collect_buffers(ring) }

/// Hands the buffers kept since `collectRingBuffers` to the kernel at once (fixed buffers): 0, or
/// -errno (the ring's operations then use plain buffers).
@discardableResult
package func registerRingBuffers(_ ring: UnsafeMutableRawPointer) -> Int32 { cshim_uring_register_buffers(ring) }

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
    do {
        closeRing(try openRing(entries: 2))
        return 0
    } catch {
        return (error as? SystemCallError)?.code ?? EINVAL
    }
}

/// nil when this kernel takes registered (fixed) buffers for a ring, or no ring can be made; else
/// the errno io_uring_register_buffers failed with.
package func ringRegisteredBuffersError() -> Int32? {
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
    defer { buffer.deallocate() }
    guard let ring = try? openRing(entries: 2) else { return nil }
    defer { closeRing(ring) }
    collectRingBuffers(ring)
    offerRingBuffer(buffer, 4096)
    let r = registerRingBuffers(ring)
    return r == 0 ? nil : -r
}
