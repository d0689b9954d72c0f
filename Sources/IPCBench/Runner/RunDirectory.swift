import Glibc

/// The run's private 0700 directory for FIFOs and socket files, under $TMPDIR (default /tmp).
/// The runner removes it on every exit path; `remove()` also deletes anything a worker left.
public final class RunDirectory {
    public let path: String

    public init() throws {
        var base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        var template = Array((base + "/ipcbench-XXXXXX").utf8CString)
        try check("mkdtemp(\(base)/ipcbench-XXXXXX)") { mkdtemp(&template) == nil ? -1 : 0 }
        path = String(cString: template)
    }

    public func remove() {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name != "." && name != ".." { _ = unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        _ = rmdir(path)
    }
}
