import Glibc

// Every file ipcbench reads goes through `readRegularFile`: configs and results files (with their
// limits and one-line errors), and the kernel's files under /proc and /sys.

/// A value the user wrote that ipcbench cannot use; the message names it and says what is accepted.
/// It is one line whatever the user wrote: control characters in it are shown escaped.
public struct InputError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = oneLine(message) }
    public var description: String { message }
}

/// The one reader of input files (configs, results files): a regular file of at most `limit` bytes,
/// or nil when it does not exist. Anything else (a FIFO, a device, a directory, a file too big) is an
/// `InputError` that names the path and `what` was expected there, for example "a config file (.toml)".
package func readRegularFile(_ path: String, limit: Int, what: String) throws -> String? {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let fd = Int32(retryingInterrupts { Int(open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) })
    if fd < 0 {
        if -fd == ENOENT { return nil }
        throw InputError("\(path): cannot read the file: \(String(cString: strerror(-fd)))")
    }
    defer { closeDescriptor(fd) }
    var info = stat()
    let statResult = resultOrErrno { Int(fstat(fd, &info)) }
    guard statResult >= 0 else { throw InputError("\(path): cannot read the file: \(String(cString: strerror(Int32(-statResult))))") }
    let type = info.st_mode & S_IFMT
    guard type == S_IFREG else {
        let kind = type == S_IFDIR ? "a directory" : type == S_IFIFO ? "a FIFO" : type == S_IFCHR ? "a character device"
            : type == S_IFBLK ? "a block device" : type == S_IFSOCK ? "a socket" : "not a plain file"
        throw InputError("\(path): \(kind), not a regular file; expected \(what)")
    }
    let tooBig = InputError("\(path): larger than \(limit >> 20) MiB, the most ipcbench reads for \(what)")
    guard info.st_size <= limit else { throw tooBig }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = retryingInterrupts { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        if n < 0 { throw InputError("\(path): cannot read the file: \(String(cString: strerror(Int32(-n))))") }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
        if bytes.count > limit { throw tooBig }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A file of the kernel's (/proc, /sys), whole; nil when it cannot be read.
package func readWholeFile(_ path: String) -> String? {
    (try? readRegularFile(path, limit: 1 << 20, what: "a file of the kernel's")) ?? nil
}

/// The first line of a file of the kernel's, trimmed: a sysctl's or a sysfs attribute's value.
package func readProcValue(_ path: String) -> String? {
    readWholeFile(path).map { String($0.prefix { $0 != "\n" }).trimmingWhitespace() }
}

package func tooBig(_ path: String) -> InputError {
    InputError("\(path): larger than \(compareFileLimit >> 20) MiB, the most ipcbench reads for a results file (.csv)")
}

/// The largest results or trials file compare, pivot and the scripts read, in bytes.
public let compareFileLimit = 256 << 20
