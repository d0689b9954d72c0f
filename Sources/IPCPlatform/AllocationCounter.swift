import CJemalloc

/// jemalloc's running count of bytes this thread has allocated. Reading it is a plain load through
/// the pointer jemalloc hands out, so the reading itself allocates nothing.
public struct AllocationCounter {
    @usableFromInline let counter: UnsafeMutablePointer<UInt64>?

    public init() {
        var pointer: UnsafeMutablePointer<UInt64>? = nil
        var size = MemoryLayout<UnsafeMutablePointer<UInt64>?>.size
        if mallctl("thread.allocatedp", &pointer, &size, nil, 0) == 0 {
            counter = pointer
        } else {
            counter = nil
        }
    }

    /// False when jemalloc is not the allocator answering this process.
    public var isAvailable: Bool { counter != nil }

    @inlinable @inline(__always)
    public var allocatedBytes: UInt64 { counter?.pointee ?? 0 }
}
