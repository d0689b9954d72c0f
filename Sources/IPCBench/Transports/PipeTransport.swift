import CShims
import Glibc

/// Two anonymous pipes made before the fork: one a→b, one b→a for the echo.
final class PipeTransport: Transport {
    let kind = TransportKind.pipe
    private var forward: [Int32] = [-1, -1]
    private var backward: [Int32] = [-1, -1]

    func prepare(in directory: String) throws {
        try check("pipe2") { cshim_pipe_cloexec(&forward) }
        try check("pipe2") { cshim_pipe_cloexec(&backward) }
    }

    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        // pipe[0] is the read end, pipe[1] the write end.
        switch role {
        case .a:
            closeDescriptor(forward[0]); closeDescriptor(backward[1])
            return Endpoint(readFD: backward[0], writeFD: forward[1], isDatagram: false)
        case .b:
            closeDescriptor(forward[1]); closeDescriptor(backward[0])
            return Endpoint(readFD: forward[0], writeFD: backward[1], isDatagram: false)
        }
    }

    func close() {
        (forward + backward).forEach(closeDescriptor)
        forward = [-1, -1]
        backward = [-1, -1]
    }
}
