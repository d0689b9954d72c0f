import Glibc

// Open descriptors and whole files: reading a descriptor to its end or at an offset, writing a file
// whole, appending to one, syncing to the disk, truncating, locking. Each helper says what it returns
// or throws when a call fails.

/// A file operation that failed: what was done, to which file, and errno
/// ("write /results/next: No space left on device").
package struct FileError: Error, CustomStringConvertible, Equatable {
    package let operation: String
    package let path: String
    package let code: Int32

    package init(_ operation: String, _ path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    package var description: String { "\(operation) \(path): \(errorText(code))" }
}

/// Reads `fd` to its end: its bytes, or nil as soon as they are more than `limit`. Throws a
/// `FileError` ("read PATH") when a read fails.
package func readToEnd(_ fd: Int32, path: String, limit: Int) throws -> [UInt8]? {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { readOnce(fd, $0.baseAddress!, $0.count) }
        if n < 0 { throw FileError("read", path, code: Int32(-n)) }
        if n == 0 { return bytes }
        bytes += chunk[0..<n]
        if bytes.count > limit { return nil }
    }
}

/// Up to `count` bytes of the file open on `fd`, from `offset` (pread): fewer at its end, none where
/// it cannot be read.
package func readBytes(_ fd: Int32, at offset: Int, count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
        let n = bytes.withUnsafeMutableBytes { buffer in
            retryingInterrupts { pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done)) }
        }
        if n <= 0 { break }
        done += n
    }
    return Array(bytes[0..<done])
}

/// Opens `path` for reading when it is a regular file of at most `limit` bytes; nil when nothing is
/// there. Anything else (a FIFO, a device, a folder, a file too big, an error) is an `InputError`
/// that names the path, and `what` was expected there, for example "a results file (.csv)".
package func openRegularFile(_ path: String, limit: Int, what: String) throws -> Int32? {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let fd = openFileOrErrno(path, O_RDONLY | O_NONBLOCK)
    if fd < 0 {
        if -fd == ENOENT { return nil }
        throw InputError("\(path): cannot read the file: \(errorText(-fd))")
    }
    let problem: String?
    do {
        let status = try fileStatus(descriptor: fd)
        problem = status.kind != .regular ? "\(path): \(status.kindDescription), not a regular file; expected \(what)"
            : status.size > limit ? "\(path): larger than \(limit >> 20) MiB, the most ipcbench reads for \(what)" : nil
    } catch let error as SystemCallError {
        problem = "\(path): cannot read the file: \(errorText(error.code))"
    }
    if let problem {
        closeDescriptor(fd)
        throw InputError(problem)
    }
    return fd
}

/// Writes `text` to `path` whole: into a new file beside it (`path` + `temporarySuffix`; O_EXCL and
/// O_NOFOLLOW, so that a symbolic link left there is not written through), renamed over `path` once
/// written, so that a reader sees the old file or the new one. `durably`: the data and then the
/// folder's entry are on the disk (fsync) before it returns. Throws a `FileError` naming the file it
/// failed on, and leaves no temporary file behind.
package func writeFileWhole(_ path: String, _ text: String, permissions: UInt32 = 0o644, durably: Bool = false,
                            temporarySuffix: String = ".tmp") throws {
    let temporary = path + temporarySuffix
    removeFile(temporary)
    let fd = openFileOrErrno(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, permissions: permissions)
    guard fd >= 0 else { throw FileError("open", temporary, code: -fd) }
    let bytes = Array(text.utf8)
    let written = bytes.isEmpty ? 0 : bytes.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) }
    var failure = written < 0 ? FileError("write", path, code: Int32(-written)) : nil
    if failure == nil && durably && fsync(fd) != 0 { failure = FileError("fsync", path, code: errno) }
    if close(fd) != 0 && failure == nil { failure = FileError("close", path, code: errno) }
    if failure == nil && rename(temporary, path) != 0 { failure = FileError("rename", path, code: errno) }
    if let failure {
        removeFile(temporary)
        throw failure
    }
    if durably { syncDirectory(of: path) }
}

/// Appends `text` to the file at `path`, made (0644) where it is missing; 0, or the errno it failed with.
@discardableResult
package func appendToFile(_ path: String, _ text: String) -> Int32 {
    let fd = openFileOrErrno(path, O_WRONLY | O_CREAT | O_APPEND)
    guard fd >= 0 else { return -fd }
    defer { closeDescriptor(fd) }
    let bytes = Array(text.utf8)
    let written = bytes.isEmpty ? 0 : bytes.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) }
    return written < 0 ? Int32(-written) : 0
}

/// Waits until what was written to the file open on `fd` is on the disk (fsync); 0, or the errno it failed with.
package func syncToDisk(_ fd: Int32) -> Int32 {
    fsync(fd) == 0 ? 0 : errno
}

/// fsync on the folder that holds `path`, so that a file's new name is on the disk too; a folder
/// that cannot be opened is left as it is.
package func syncDirectory(of path: String) {
    let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
    let fd = openFileOrErrno(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY)
    if fd >= 0 {
        _ = fsync(fd)
        closeDescriptor(fd)
    }
}

/// Cuts (or extends with zeros) the file open on `fd` to `length` bytes and moves its offset there,
/// so that a write goes on from the cut; 0, or the errno ftruncate failed with.
@discardableResult
package func truncateFile(_ fd: Int32, to length: Int) -> Int32 {
    let failure = ftruncate(fd, off_t(length)) == 0 ? 0 : errno
    _ = lseek(fd, off_t(length), SEEK_SET)
    return failure
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

/// What became of an attempt to lock a file.
package enum FileLock: Equatable {
    case locked
    /// Another process holds the lock: its pid.
    case heldBy(pid_t)
}

/// Takes the write lock on the whole file open on `fd` (fcntl F_SETLK, not waiting; the kernel
/// releases it when this process ends or closes the file), or says which process holds it. Throws a
/// `SystemCallError` when the lock cannot be asked for (a file system without locks).
package func lockWholeFile(_ fd: Int32) throws -> FileLock {
    while true {
        var wanted = flock()
        wanted.l_type = Int16(F_WRLCK)
        wanted.l_whence = Int16(SEEK_SET)
        if fcntl(fd, F_SETLK, &wanted) == 0 { return .locked }
        let code = errno
        guard code == EACCES || code == EAGAIN else { throw SystemCallError("fcntl(F_SETLK)", code: code) }
        var holder = wanted
        // The holder may have ended between the two calls: then try again.
        if fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != Int16(F_UNLCK) { return .heldBy(holder.l_pid) }
    }
}

/// Opens /dev/null on each of descriptors 0, 1 and 2 that is closed, so that no file opened later
/// takes one of their numbers (a results file on descriptor 1 would get the run's table); false when
/// /dev/null cannot take the number.
package func openClosedStandardDescriptors() -> Bool {
    for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
        // open returns the lowest free descriptor: this one. Not close-on-exec: children keep it.
        guard open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == fd else { return false }
    }
    return true
}
