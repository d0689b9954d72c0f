import Foundation
import XCTest

/// Only IPCPlatform talks to the kernel: no file outside Sources/IPCPlatform imports CShims or calls
/// a C shim or a libc function that reaches the system (or reads errno). Only IPCPlatform declares
/// CShims, but SwiftPM lets its dependents import it anyway (a C module reaches them through it), and
/// every Swift module can import Glibc: so this test is the wall.
final class PlatformBoundaryTests: XCTestCase {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources")

    /// libc's calls into the system and the process's state; math, types and constants are not here.
    static let systemCalls: Set<String> = Set("""
        socket bind connect listen accept accept4 setsockopt getsockopt getsockname getpeername send sendto sendmsg
        recv recvfrom recvmsg read write pread pwrite readv writev open openat creat close fcntl ioctl pipe pipe2 fork
        execv execve execvp _exit exit waitpid wait4 waitid kill killpg setpgid getpgid getpid getppid gettid prctl
        mmap munmap mprotect madvise ftruncate truncate lseek fstat stat lstat unlink rename mkdir rmdir mkfifo
        opendir readdir closedir poll ppoll select epoll_create1 epoll_ctl epoll_wait clock_gettime nanosleep usleep
        sleep sched_setaffinity sched_getaffinity sched_yield getrusage sysconf shm_open shm_unlink mq_open mq_unlink
        mq_send mq_receive splice vmsplice tee eventfd signal sigaction sigprocmask raise alarm setenv getenv unsetenv
        dup dup2 dup3 fsync fdatasync flock chmod fchmod chown getuid geteuid getgid getegid uname time strerror
        realpath access symlink readlink posix_spawn posix_spawnp setsid setns unshare getrlimit setrlimit isatty
        mkstemp mkdtemp fopen fclose fread fwrite fgets popen pclose getcwd chdir memfd_create syscall
        pthread_create pthread_join statfs statvfs mount umount umount2 getrandom
        """.split(whereSeparator: \.isWhitespace).map(String.init))

    /// Every raw call outside IPCPlatform, as "file:line: call".
    static func rawCalls() throws -> [String] {
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" && !$0.path.contains("/Sources/IPCPlatform/") }
        // IPCPlatform's own functions may share a libc name (bind, connect, listen): those are fine.
        let platform = try FileManager.default.contentsOfDirectory(at: sources.appendingPathComponent("IPCPlatform"), includingPropertiesForKeys: nil)
        var own: Set<String> = []
        let function = try NSRegularExpression(pattern: #"\bfunc\s+(\w+)"#)
        for file in platform {
            let text = try String(contentsOf: file, encoding: .utf8)
            for m in function.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                own.insert(String(text[Range(m.range(at: 1), in: text)!]))
            }
        }
        let call = try NSRegularExpression(pattern: #"(?<![\w.])(Glibc\.)?(\w+)\s*\(|\bGlibc\.(\w+)|\b(cshim_\w+)|\berrno\b"#)
        let literal = try NSRegularExpression(pattern: #""(?:[^"\\]|\\.)*""#)
        let declaration = try NSRegularExpression(pattern: #"\b(func|case)\s+$"#)
        var found: [String] = []
        XCTAssertFalse(files.isEmpty, "no sources under \(sources.path)")
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            // A call without a receiver in a file that defines a function of that name is that
            // function (inside a type, Swift does not fall back to a global of the same name).
            var local = own
            for m in function.matches(in: text, range: NSRange(text.startIndex..., in: text)) { local.insert(String(text[Range(m.range(at: 1), in: text)!])) }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() {
                if line.hasPrefix("import CShims") { found.append("\(file.path.replacingOccurrences(of: sources.path + "/", with: "")):\(number + 1): import CShims") }
                var code = String(line)
                code = literal.stringByReplacingMatches(in: code, range: NSRange(code.startIndex..., in: code), withTemplate: "\"\"")
                if let comment = code.range(of: "//") { code = String(code[..<comment.lowerBound]) }
                for m in call.matches(in: code, range: NSRange(code.startIndex..., in: code)) {
                    func group(_ i: Int) -> String? { Range(m.range(at: i), in: code).map { String(code[$0]) } }
                    let before = String(code[..<Range(m.range, in: code)!.lowerBound])
                    if declaration.firstMatch(in: before, range: NSRange(before.startIndex..., in: before)) != nil { continue }
                    let name: String
                    if let qualified = group(1), let called = group(2) {
                        name = qualified + called
                    } else if let called = group(2) {
                        guard called.hasPrefix("cshim_") || (Self.systemCalls.contains(called) && !local.contains(called)) else { continue }
                        name = called
                    } else {
                        name = group(3).map { "Glibc." + $0 } ?? group(4) ?? "errno"
                    }
                    found.append("\(file.path.replacingOccurrences(of: sources.path + "/", with: "")):\(number + 1): \(name)")
                }
            }
        }
        return found
    }

    func testOnlyThePlatformCallsTheSystem() throws {
        let calls = try Self.rawCalls()
        XCTAssertEqual(calls, [], "raw libc or C-shim calls outside Sources/IPCPlatform: move each behind a platform helper")
    }
}
