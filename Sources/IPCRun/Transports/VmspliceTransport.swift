import CShims
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
    private var pipe: [Int32] = [-1, -1]

    package init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        try check("pipe2") { cshim_pipe_cloexec(&pipe) }
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let mine = role == .a ? pipe[1] : pipe[0]
        closeDescriptor(role == .a ? pipe[0] : pipe[1])
        var endpoint: Endpoint
        if role == .a {
            endpoint = Endpoint(.vmspliceSend(mine), .stream)
        } else if options.verify {
            endpoint = Endpoint(.readWrite(read: mine, write: -1), .stream)
        } else {
            let null = try check("open(/dev/null)") { Glibc.open("/dev/null", O_WRONLY | O_CLOEXEC) }
            endpoint = Endpoint(.spliceToNull(pipe: mine, null: null), .stream)
        }
        endpoint.knobsInForce = try applyPipeKnobs([mine], options.knobs)
        return endpoint
    }

    package func close() {
        pipe.forEach(closeDescriptor)
        pipe = [-1, -1]
    }
}

/// vmsplice(2)s all `count` bytes, looping on partial splices. Returns `count`, or -errno.
@inline(__always)
package func vmspliceFully(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    var done = 0
    while done < count {
        let n = retryingInterrupts { cshim_vmsplice(fd, buffer + done, count - done) }
        if n < 0 { return n }
        done += n
    }
    return done
}

/// The vmsplice sender's close: waits until the reader has taken every byte (or is gone), since
/// the pipe still refers to the sender's pages until then.
package func waitUntilDrained(_ fd: Int32) {
    while cshim_pipe_pending(fd) > 0 {
        var entry = pollfd(fd: fd, events: 0, revents: 0)
        if poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLERR) != 0 { return }  // the reader closed
        usleep(100)
    }
}
