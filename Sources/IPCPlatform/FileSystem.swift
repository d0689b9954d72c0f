import Glibc

// The file system as the rest of ipcbench uses it: what a path is, folders, removing and renaming,
// descriptors opened on paths. Each helper says what it returns when the call fails.

/// The text of an errno value ("No such file or directory").
public func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// The calling thread's errno, for the few calls whose failure the caller words itself.
package var lastError: Int32 { errno }

/// What is at a path.
package struct FileStatus: Equatable {
    package enum Kind: Equatable { case regular, directory, fifo, characterDevice, blockDevice, socket, symbolicLink, other }
    package let kind: Kind
    package let size: Int
    /// The permission bits (st_mode & 0o7777).
    package let permissions: UInt32
    package let owner: UInt32
    package let device: UInt64
    package let inode: UInt64

    init(_ s: stat) {
        switch s.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFIFO: kind = .fifo
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        case S_IFSOCK: kind = .socket
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        size = Int(s.st_size)
        permissions = UInt32(s.st_mode & 0o7777)
        owner = s.st_uid
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
    }

    /// "a directory", "a FIFO", ...: what a message calls this kind.
    package var kindDescription: String {
        switch kind {
        case .regular: "a regular file"
        case .directory: "a directory"
        case .fifo: "a FIFO"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .socket: "a socket"
        case .symbolicLink: "a symbolic link"
        case .other: "not a plain file"
        }
    }
}

/// What `path` is (following a final symbolic link unless `followingLinks` is false); nil when
/// nothing is there or it cannot be looked at.
package func fileStatus(_ path: String, followingLinks: Bool = true) -> FileStatus? {
    var s = stat()
    return (followingLinks ? stat(path, &s) : lstat(path, &s)) == 0 ? FileStatus(s) : nil
}

/// What an open descriptor is.
package func fileStatus(descriptor fd: Int32) throws -> FileStatus {
    var s = stat()
    try check("fstat") { fstat(fd, &s) }
    return FileStatus(s)
}

/// What the calling process may do with a path (access(2), with the real user's rights).
package struct FileAccess: OptionSet, Sendable {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }
    package static let exists = FileAccess([])
    package static let read = FileAccess(rawValue: R_OK)
    package static let write = FileAccess(rawValue: W_OK)
    package static let execute = FileAccess(rawValue: X_OK)
}

/// True when `path` exists and this process may do `what` with it.
package func canAccess(_ path: String, _ what: FileAccess = .exists) -> Bool {
    access(path, what.isEmpty ? F_OK : what.rawValue) == 0
}

/// Makes a folder; one that is already there is fine. Throws with errno otherwise.
package func makeDirectory(_ path: String, permissions: UInt32 = 0o755) throws {
    let r = resultOrErrno { Int(mkdir(path, mode_t(permissions))) }
    if r < 0 && -r != Int(EEXIST) { throw SystemCallError("mkdir(\(path))", code: Int32(-r)) }
}

/// Removes a file (or a symbolic link, a FIFO, a socket); 0, or the errno it failed with (ENOENT
/// when nothing was there).
@discardableResult
package func removeFile(_ path: String) -> Int32 {
    unlink(path) == 0 ? 0 : errno
}

/// Removes an empty folder; 0, or the errno it failed with.
@discardableResult
package func removeDirectory(_ path: String) -> Int32 {
    rmdir(path) == 0 ? 0 : errno
}

/// Renames `from` to `to`, replacing `to` (atomic within one file system).
package func renameFile(_ from: String, to: String) throws {
    try check("rename(\(from), \(to))") { rename(from, to) }
}

/// The names in a folder, without "." and ".."; nil when it cannot be listed.
public func directoryNames(_ path: String) -> [String]? {
    guard let dir = opendir(path) else { return nil }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Makes a new folder named `prefix` and six random characters (mkdtemp), mode 0700; its path.
package func makeTemporaryDirectory(_ prefix: String) throws -> String {
    var template = Array((prefix + "XXXXXX").utf8CString)
    guard mkdtemp(&template) != nil else { throw SystemCallError("mkdtemp(\(prefix)XXXXXX)", code: errno) }
    return cString(template)
}

/// The path with every symbolic link, "." and ".." resolved; nil when it does not exist.
package func resolvedPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// The current working folder; nil when it cannot be named.
package func currentDirectory() -> String? {
    guard let cwd = getcwd(nil, 0) else { return nil }
    defer { free(cwd) }
    return String(cString: cwd)
}

/// Opens `path` (close-on-exec added) and returns the descriptor; throws `open(PATH)` with errno.
package func openFile(_ path: String, _ flags: Int32, permissions: UInt32 = 0o644) throws -> Int32 {
    try check("open(\(path))") { open(path, flags | O_CLOEXEC, mode_t(permissions)) }
}

/// Like openFile, but returns -errno instead of throwing, for callers that word each failure.
package func openFileOrErrno(_ path: String, _ flags: Int32, permissions: UInt32 = 0o644) -> Int32 {
    Int32(retryingInterrupts { Int(open(path, flags | O_CLOEXEC, mode_t(permissions))) })
}

/// Makes a FIFO at `path` (mode 0600).
package func makeFIFO(_ path: String) throws {
    try check("mkfifo(\(path))") { mkfifo(path, 0o600) }
}
