import Glibc
import IPCPlatform
import IPCModel

/// Two single-producer single-consumer byte rings (a→b and b→a) in one memfd_create(2) region,
/// mapped MAP_SHARED by the runner before the fork so both workers inherit the mapping; the memfd
/// is closed at once, so nothing but the mapping refers to it. A write copies the bytes into the
/// ring and a read copies them out: the floor beneath the kernel's paths. `shm-futex` sleeps in
/// FUTEX_WAIT when the ring is empty (reader) or full (writer) and is woken by FUTEX_WAKE, paid only
/// when the other side sleeps; `shm-spin` busy-waits, with no system call in the data path except a
/// sched_yield() after 1024 idle looks (so two workers on one CPU still progress). No other process
/// can reach the rings: the memfd has no name in any file system and is gone before the fork.
package class SharedMemoryTransport: Transport {
    package static let semantics = MessageSemantics.stream
    package static let pollable = false
    package class var spins: Bool { false }
    /// Bytes of data per direction (a power of two).
    package static let ringCapacity: UInt32 = 1 << 20
    private var region: UnsafeMutableRawPointer?
    private var regionBytes = 0

    package required init(_ options: TransportOptions) {}

    private static var ringBytes: Int { sharedRingBytes(ringCapacity) }

    package func prepare(in directory: String) throws {
        regionBytes = 2 * Self.ringBytes
        let mapped = try mapSharedMemory(regionBytes, name: "ipcbench-shm")
        region = mapped
        // Touch every page now, so that no page fault lands in a timed loop's first pass.
        memset(mapped, 0, regionBytes)
        initializeSharedRing(mapped, capacity: Self.ringCapacity)
        initializeSharedRing(mapped + Self.ringBytes, capacity: Self.ringCapacity)
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        guard let region else { throw SystemCallError("mmap", code: EBADF) }
        let forward = SharedRing(base: region), backward = SharedRing(base: region + Self.ringBytes)
        switch role {
        case .a: return Endpoint(.rings(receive: backward, send: forward, spin: Self.spins), .stream)
        case .b: return Endpoint(.rings(receive: forward, send: backward, spin: Self.spins), .stream)
        }
    }

    package func close() {
        if let region { unmapSharedMemory(region, regionBytes) }
        region = nil
    }
}

/// `shm-futex`: the rings, sleeping in FUTEX_WAIT.
package final class SharedMemoryFutexTransport: SharedMemoryTransport {}

/// `shm-spin`: the rings, busy-waiting.
package final class SharedMemorySpinTransport: SharedMemoryTransport {
    package override class var spins: Bool { true }
}
