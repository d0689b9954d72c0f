import CShims
import Glibc

/// Two anonymous pipes made before the fork: one a→b, one b→a for the echo.
final class PipeTransport: Transport {
    static let semantics = MessageSemantics.stream
    static let knobs: [Knob] = [.pipeSize]
    private let options: TransportOptions
    private var forward: [Int32] = [-1, -1]
    private var backward: [Int32] = [-1, -1]

    init(_ options: TransportOptions) { self.options = options }

    func prepare(in directory: String) throws {
        try check("pipe2") { cshim_pipe_cloexec(&forward) }
        try check("pipe2") { cshim_pipe_cloexec(&backward) }
    }

    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        // pipe[0] is the read end, pipe[1] the write end.
        let read: Int32, write: Int32
        switch role {
        case .a:
            closeDescriptor(forward[0]); closeDescriptor(backward[1])
            (read, write) = (backward[0], forward[1])
        case .b:
            closeDescriptor(forward[1]); closeDescriptor(backward[0])
            (read, write) = (forward[0], backward[1])
        }
        var endpoint = Endpoint(.readWrite(read: read, write: write), .stream)
        endpoint.knobsInForce = try applyPipeKnobs([read, write], options.knobs)
        return endpoint
    }

    func close() {
        (forward + backward).forEach(closeDescriptor)
        forward = [-1, -1]
        backward = [-1, -1]
    }
}
