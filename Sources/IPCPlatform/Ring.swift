import CShims
import Glibc

// io_uring rings (liburing, through the C shims): a worker's one ring for the reads and writes of
// all its endpoints (--wait uring). A ring is its address, as the shims take it.

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
