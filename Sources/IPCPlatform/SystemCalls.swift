import CShims
import Glibc

/// A failed system call: which call, on what, and errno.
public struct SystemCallError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let code: Int32

    public init(_ call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    public var description: String { "\(call): \(String(cString: strerror(code)))" }
}

// The timed loops call the helpers marked @inlinable from another target: inlined there, as they
// were when everything was one module.

/// The one place that reads errno: the call's result, or -errno when it failed (returned < 0).
@inlinable @inline(__always)
package func resultOrErrno(_ body: () -> Int) -> Int {
    let result = body()
    return result >= 0 ? result : -Int(errno)
}

/// Runs `body` until it does not fail with EINTR and returns its result, or -errno.
/// Allocation-free, so the timed loops use it directly.
@inlinable @inline(__always)
package func retryingInterrupts(_ body: () -> Int) -> Int {
    while true {
        let result = resultOrErrno(body)
        if result != -Int(EINTR) { return result }
    }
}

/// Setup-time wrapper: a negative result becomes a thrown `SystemCallError` naming the call.
@discardableResult
package func check(_ call: @autoclosure () -> String, _ body: () -> Int) throws -> Int {
    let result = retryingInterrupts(body)
    if result < 0 { throw SystemCallError(call(), code: Int32(-result)) }
    return result
}

@discardableResult
package func check(_ call: @autoclosure () -> String, _ body: () -> Int32) throws -> Int32 {
    Int32(try check(call(), { Int(body()) }))
}

/// Reads exactly `count` bytes unless the peer closes first. Returns the bytes read, or -errno.
@inlinable @inline(__always)
package func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    var done = 0
    while done < count {
        let n = retryingInterrupts { Glibc.read(fd, buffer + done, count - done) }
        if n < 0 { return n }
        if n == 0 { return done }
        done += n
    }
    return done
}

/// Writes all `count` bytes, looping on short writes. Returns `count`, or -errno.
@inlinable @inline(__always)
package func writeFully(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    var done = 0
    while done < count {
        let n = retryingInterrupts { Glibc.write(fd, buffer + done, count - done) }
        if n < 0 { return n }
        done += n
    }
    return done
}

/// One read(2) of up to `capacity` bytes: how many, 0 at the end, or -errno.
@inlinable @inline(__always)
package func readOnce(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
    retryingInterrupts { Glibc.read(fd, buffer, capacity) }
}

/// One write(2) of up to `count` bytes: how many it took, or -errno.
@inlinable @inline(__always)
package func writeOnce(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    retryingInterrupts { Glibc.write(fd, buffer, count) }
}

/// Sends one datagram. Returns its length, or -errno.
@inlinable @inline(__always)
package func sendDatagram(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    retryingInterrupts { Glibc.send(fd, buffer, count, 0) }
}

/// Receives one datagram. Returns its length, or -errno (-EAGAIN when the receive timeout ran out).
/// Plain recv: the socket is connected, so the kernel has already matched the sender to the peer.
@inlinable @inline(__always)
package func receiveDatagram(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
    retryingInterrupts { Glibc.recv(fd, buffer, capacity, 0) }
}

/// Closes a descriptor the caller owns; a close error cannot be acted on, so it is not reported.
package func closeDescriptor(_ fd: Int32) {
    if fd >= 0 { _ = Glibc.close(fd) }
}

package func setSocketOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ what: String) throws {
    var v = value
    try check("setsockopt(\(what))") {
        Glibc.setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }
}

package func setReceiveTimeout(_ fd: Int32, nanoseconds: UInt64) throws {
    var tv = timeval(tv_sec: Int(nanoseconds / 1_000_000_000),
                     tv_usec: Int((nanoseconds % 1_000_000_000) / 1000))
    try check("setsockopt(SO_RCVTIMEO)") {
        Glibc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
}

/// The standard error and output streams, for the command's table and messages.
public var standardError: UnsafeMutablePointer<FILE> { cshim_stderr() }
public var standardOutput: UnsafeMutablePointer<FILE> { cshim_stdout() }

/// The text of a NUL-terminated C buffer.
public func cString(_ buffer: [CChar]) -> String { buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
