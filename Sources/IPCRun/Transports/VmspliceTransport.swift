import Glibc
import IPCPlatform
import IPCModel

/// One pipe a→b, fed by vmsplice(2) from the sender's own pages (no copy into the pipe: the pipe
/// refers to those pages) and drained by splice(2) into /dev/null (no copy out either), or by
/// read(2) under `--verify` so that the bytes reach the checker. Throughput only: it is one-way.
/// Without SPLICE_F_GIFT the sender must not change the pages until the reader has consumed them.
/// That holds: a stream sender sends from its pattern buffer, which it fills before the loop and
/// never writes again (only message transports write a header into it), and its endpoint's close
/// waits until the pipe is empty, so the buffer outlives every page reference in the pipe as long
/// as the worker keeps its loop until the endpoint is closed. Reachable only by the two workers,
/// like `pipe`.
package final class VmspliceTransport: Transport {
    package static let semantics = MessageSemantics.stream
    package static let oneWay = true
    package static let discardsReceivedBytes = true
    package static let knobs: [Knob] = [.pipeSize]
    private let options: TransportOptions
    private var pipe: (read: Int32, write: Int32) = (-1, -1)

    package init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        pipe = try makePipe()
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let mine = role == .a ? pipe.write : pipe.read
        closeDescriptor(role == .a ? pipe.read : pipe.write)
        var endpoint: Endpoint
        if role == .a {
            endpoint = Endpoint(.vmspliceSend(mine), .stream)
        } else if options.verify {
            endpoint = Endpoint(.readWrite(read: mine, write: -1), .stream)
        } else {
            let null = try openFile("/dev/null", O_WRONLY)
            endpoint = Endpoint(.spliceToNull(pipe: mine, null: null), .stream)
        }
        endpoint.knobsInForce = try applyPipeKnobs([mine], options.knobs)
        return endpoint
    }

    package func close() {
        closeDescriptor(pipe.read)
        closeDescriptor(pipe.write)
        pipe = (-1, -1)
    }
}
