import Glibc
import CShims

// Pipes beyond pipe2(2): their capacity, splice(2), vmsplice(2), and what waits in them.

/// A pipe's capacity in bytes (F_GETPIPE_SZ), or -1 with errno set.
package func pipeSize(_ fd: Int32) -> Int32 { cshim_get_pipe_size(fd) }

/// Asks for a pipe capacity of `bytes` (F_SETPIPE_SZ): the capacity the kernel set, or -errno.
package func setPipeSize(_ fd: Int32, _ bytes: Int) -> Int {
    retryingInterrupts { Int(cshim_set_pipe_size(fd, Int32(clamping: bytes))) }
}

/// One vmsplice(2) of up to `count` bytes into a pipe: the bytes it took, or -errno.
@inlinable @inline(__always)
package func vmspliceOnce(_ pipe: Int32, _ data: UnsafeRawPointer, _ count: Int) -> Int {
    retryingInterrupts { cshim_vmsplice(pipe, data, count) }
}

/// One splice(2) of up to `count` bytes from `input` to `output`: the bytes moved, 0 at the end, or -errno.
@inlinable @inline(__always)
package func spliceOnce(_ input: Int32, _ output: Int32, _ count: Int) -> Int {
    retryingInterrupts { cshim_splice(input, output, count) }
}

/// vmsplice(2)s all `count` bytes, looping on partial splices: `count`, or -errno.
@inlinable @inline(__always)
package func vmspliceFully(_ pipe: Int32, _ data: UnsafeRawPointer, _ count: Int) -> Int {
    var done = 0
    while done < count {
        let n = vmspliceOnce(pipe, data + done, count - done)
        if n < 0 { return n }
        done += n
    }
    return done
}

/// Waits until the reader has taken every byte in the pipe or closed its end (a vmsplice sender's
/// pages stay in the pipe until then).
package func waitUntilPipeDrained(_ fd: Int32) {
    while cshim_pipe_pending(fd) > 0 {
        var entry = pollfd(fd: fd, events: 0, revents: 0)
        if poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLERR) != 0 { return }  // the reader closed
        usleep(100)
    }
}
