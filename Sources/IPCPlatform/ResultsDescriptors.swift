import Glibc

// Descriptors the results files and the runner's control channels use: cutting a file back,
// reading what has come, waiting for input on several.

/// Cuts the file open on `fd` back to its first `length` bytes and moves the write offset there, so
/// that what was written after it is gone (a row that could not be written whole).
package func truncateFile(_ fd: Int32, toLength length: Int) {
    _ = ftruncate(fd, off_t(length))
    _ = lseek(fd, off_t(length), SEEK_SET)
}

/// One read of at most `count` bytes, whatever has come (retrying EINTR): the bytes read, 0 at the
/// end, or -errno.
package func readAvailable(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    retryingInterrupts { Glibc.read(fd, buffer, count) }
}

/// Waits up to `timeoutMilliseconds` (-1: for ever) until one of `descriptors` has input, its end or
/// an error: the first such one's index; nil when the time ran out or a signal came (EINTR, so that
/// the caller sees it at once). Other failures throw, naming poll on `what`.
package func firstWithInput(_ descriptors: [Int32], timeoutMilliseconds: Int32, what: @autoclosure () -> String) throws -> Int? {
    var entries = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let n = resultOrErrno { Int(poll(&entries, nfds_t(entries.count), timeoutMilliseconds)) }
    if n > 0, let i = entries.firstIndex(where: { $0.revents != 0 }) { return i }
    if n < 0 && n != -Int(EINTR) { throw SystemCallError("poll(\(what()))", code: Int32(-n)) }
    return nil
}
