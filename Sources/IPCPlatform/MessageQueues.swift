import Glibc
import CShims

// POSIX message queues (mq_overview(7)). mq_open is variadic, so CShims calls it.

/// Makes the queue `name` (exclusively, mode 0600, close-on-exec) holding `depth` messages of at
/// most `messageBytes`: its descriptor, or -1 with errno set.
package func createMessageQueue(_ name: String, depth: Int, messageBytes: Int) -> Int32 {
    cshim_mq_create(name, depth, messageBytes)
}

/// Opens the existing queue `name` for reading and writing: its descriptor, or -1 with errno set.
package func openMessageQueue(_ name: String) -> Int32 { cshim_mq_open_existing(name) }

/// Removes the queue `name`: 0, or -1 with errno set.
@discardableResult
package func removeMessageQueue(_ name: String) -> Int32 { cshim_mq_unlink(name) }

/// Sends one message of `count` bytes: `count`, or -errno.
@inlinable @inline(__always)
package func sendMessage(_ queue: Int32, _ data: UnsafeRawPointer, _ count: Int) -> Int {
    retryingInterrupts { cshim_mq_send(queue, data, count) }
}

/// Receives the oldest message: its length, or -errno.
@inlinable @inline(__always)
package func receiveMessage(_ queue: Int32, _ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
    retryingInterrupts { cshim_mq_receive(queue, buffer, capacity) }
}
