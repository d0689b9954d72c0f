import Glibc
import CShims

// Shared memory: an anonymous file (memfd) mapped MAP_SHARED, holding the shm transport's rings.
// A ring is CShims' single-producer single-consumer byte ring (cshim_ring_*), futex-woken.

/// Maps `bytes` of a new anonymous file (memfd) shared, readable and writable, and closes the file:
/// what a fork then shares with its parent.
package func mapSharedMemory(_ bytes: Int, name: String) throws -> UnsafeMutableRawPointer {
    let fd = try check("memfd_create") { cshim_memfd(name) }
    defer { closeDescriptor(fd) }
    try check("ftruncate(memfd)") { ftruncate(fd, off_t(bytes)) }
    let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
    guard let mapped, mapped != MAP_FAILED else { throw SystemCallError("mmap(\(bytes) bytes)", code: errno) }
    return mapped
}

/// Unmaps what mapSharedMemory mapped.
package func unmapSharedMemory(_ base: UnsafeMutableRawPointer, _ bytes: Int) { _ = munmap(base, bytes) }

/// Bytes one ring of `capacity` data bytes (a power of two) takes in memory.
package func sharedRingBytes(_ capacity: UInt32) -> Int { cshim_ring_bytes(capacity) }

/// Makes an empty ring of `capacity` data bytes at `base`.
package func initializeSharedRing(_ base: UnsafeMutableRawPointer, capacity: UInt32) { cshim_ring_init(base, capacity) }

/// Copies all `count` bytes into the ring, waiting for room (`spin`: busy-waiting, else in a futex):
/// `count`, or -EPIPE once the ring is closed.
@inlinable @inline(__always)
package func sharedRingWrite(_ ring: UnsafeMutableRawPointer, _ data: UnsafeRawPointer, _ count: Int, spin: Bool) -> Int {
    cshim_ring_write(ring, data, count, spin ? 1 : 0)
}

/// Waits for bytes in the ring and copies up to `capacity` out: how many, or 0 once it is closed and empty.
@inlinable @inline(__always)
package func sharedRingRead(_ ring: UnsafeMutableRawPointer, _ buffer: UnsafeMutableRawPointer, _ capacity: Int, spin: Bool) -> Int {
    cshim_ring_read(ring, buffer, capacity, spin ? 1 : 0)
}

/// Marks the ring closed and wakes whoever waits on it.
package func closeSharedRing(_ ring: UnsafeMutableRawPointer) { cshim_ring_close(ring) }
