import Glibc

/// AF_UNIX SOCK_STREAM: the runner binds and listens on a path; b accepts, a connects.
final class UnixStreamTransport: Transport {
    let kind = TransportKind.unixStream
    private var listener: Int32 = -1
    private var path = ""

    func prepare(in directory: String) throws {
        path = directory + "/unix-stream.sock"
        listener = try makeSocket(AF_UNIX, Int32(SOCK_STREAM.rawValue))
        try bind(listener, unixAddress(path), path)
        try check("listen") { Glibc.listen(listener, 1) }
    }

    func open(_ role: Role) throws -> Endpoint {
        let fd: Int32
        switch role {
        case .a:
            closeDescriptor(listener)
            fd = try makeSocket(AF_UNIX, Int32(SOCK_STREAM.rawValue))
            try connect(fd, unixAddress(path), path)
        case .b:
            fd = try accept(listener)
            closeDescriptor(listener)
        }
        return Endpoint(readFD: fd, writeFD: fd, isDatagram: false)
    }

    func close() {
        closeDescriptor(listener)
        listener = -1
        if !path.isEmpty { _ = unlink(path) }
    }
}
