import Glibc
import IPCPlatform
import IPCModel

/// Two named FIFOs (a→b and b→a) in the run's private directory, opened by the workers themselves.
package final class FIFOTransport: Transport {
    package static let semantics = MessageSemantics.stream
    package static let knobs: [Knob] = [.pipeSize]
    private let options: TransportOptions
    private var forwardPath = ""
    private var backwardPath = ""

    package init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        forwardPath = directory + "/fifo-ab"
        backwardPath = directory + "/fifo-ba"
        for path in [forwardPath, backwardPath] {
            try makeFIFO(path)
        }
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        // Both workers open a→b first: each open blocks until the other end is opened too.
        let read: Int32, write: Int32
        switch role {
        case .a:
            write = try openFile(forwardPath, O_WRONLY)
            read = try openFile(backwardPath, O_RDONLY)
        case .b:
            read = try openFile(forwardPath, O_RDONLY)
            write = try openFile(backwardPath, O_WRONLY)
        }
        var endpoint = Endpoint(.readWrite(read: read, write: write), .stream)
        endpoint.knobsInForce = try applyPipeKnobs([read, write], options.knobs)
        return endpoint
    }

    package func close() {
        for path in [forwardPath, backwardPath] where !path.isEmpty { removeFile(path) }
    }
}
