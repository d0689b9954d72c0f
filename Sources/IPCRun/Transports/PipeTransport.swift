import Glibc
import IPCPlatform
import IPCModel

/// Two anonymous pipes made before the fork: one a→b, one b→a for the echo.
package final class PipeTransport: Transport {
    package static let semantics = MessageSemantics.stream
    package static let knobs: [Knob] = [.pipeSize]
    private let options: TransportOptions
    private var forward: [Int32] = [-1, -1]
    private var backward: [Int32] = [-1, -1]

    package init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        (forward[0], forward[1]) = try makePipe()
        (backward[0], backward[1]) = try makePipe()
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
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

    package func close() {
        (forward + backward).forEach(closeDescriptor)
        forward = [-1, -1]
        backward = [-1, -1]
    }
}
