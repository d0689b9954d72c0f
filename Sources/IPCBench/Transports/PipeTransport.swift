import CShims
import Glibc

/// Two anonymous pipes made before the fork: one a→b, one b→a for the echo.
final class PipeTransport: Transport {
    static let semantics = MessageSemantics.stream
    private var forward: [Int32] = [-1, -1]
    private var backward: [Int32] = [-1, -1]

    init(_ options: TransportOptions) {}

    func prepare(in directory: String) throws {
        try check("pipe2") { cshim_pipe_cloexec(&forward) }
        try check("pipe2") { cshim_pipe_cloexec(&backward) }
    }

    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        // pipe[0] is the read end, pipe[1] the write end.
        switch role {
        case .a:
            closeDescriptor(forward[0]); closeDescriptor(backward[1])
            return Endpoint(.readWrite(read: backward[0], write: forward[1]), .stream)
        case .b:
            closeDescriptor(forward[1]); closeDescriptor(backward[0])
            return Endpoint(.readWrite(read: forward[0], write: backward[1]), .stream)
        }
    }

    func close() {
        (forward + backward).forEach(closeDescriptor)
        forward = [-1, -1]
        backward = [-1, -1]
    }
}
