import Glibc

/// Two named FIFOs (a→b and b→a) in the run's private directory, opened by the workers themselves.
final class FIFOTransport: Transport {
    let kind = TransportKind.fifo
    private var forwardPath = ""
    private var backwardPath = ""

    func prepare(in directory: String) throws {
        forwardPath = directory + "/fifo-ab"
        backwardPath = directory + "/fifo-ba"
        for path in [forwardPath, backwardPath] {
            try check("mkfifo(\(path))") { Glibc.mkfifo(path, 0o600) }
        }
    }

    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        // Both workers open a→b first: each open blocks until the other end is opened too.
        switch role {
        case .a:
            let write = try check("open(\(forwardPath))") { Glibc.open(forwardPath, O_WRONLY | O_CLOEXEC) }
            let read = try check("open(\(backwardPath))") { Glibc.open(backwardPath, O_RDONLY | O_CLOEXEC) }
            return Endpoint(readFD: read, writeFD: write, isDatagram: false)
        case .b:
            let read = try check("open(\(forwardPath))") { Glibc.open(forwardPath, O_RDONLY | O_CLOEXEC) }
            let write = try check("open(\(backwardPath))") { Glibc.open(backwardPath, O_WRONLY | O_CLOEXEC) }
            return Endpoint(readFD: read, writeFD: write, isDatagram: false)
        }
    }

    func close() {
        for path in [forwardPath, backwardPath] where !path.isEmpty { _ = unlink(path) }
    }
}
