import Glibc
import IPCPlatform
import IPCModel

/// POSIX message queues, one per direction, made by the runner with O_CREAT|O_EXCL and mode 0600
/// under names unique to the run and the trial (`/ipcbench-<pid>-<n>-ab` and `-ba`), and unlinked
/// right after: the workers inherit the open queues across the fork, so the names exist only
/// between two system calls in `prepare`, and no queue outlives the trial whatever kills whom. A
/// queue's message size is the payload size (a receive must have room for the largest message the
/// queue allows), and its depth the kernel's fs.mqueue.msg_max, at most 10. Each queue is opened
/// twice, once for its sender and once for its receiver, so that one worker's O_NONBLOCK (which
/// lives in the open file, and forked descriptors share it) is not the other's.
package final class MessageQueueTransport: Transport {
    package static let semantics = MessageSemantics.reliableMessages
    package static func maxMessageBytes() -> Int? { Limits.shared.mqMessageMax }
    package static let limitHint: String? = "raise it with sysctl fs.mqueue.msgsize_max"
    package static let payloadSizedMessagesOnly = true
    /// Messages one queue holds before mq_send blocks.
    package static var depth: Int { Limits.shared.mqQueueDepth }
    nonisolated(unsafe) private static var trials = 0
    private let options: TransportOptions
    /// a→b for a, a→b for b, b→a for a, b→a for b.
    private var queues: [Int32] = [-1, -1, -1, -1]
    /// The names the queues had while they had one.
    private(set) var names = ["", ""]

    package init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        guard options.payloadBytes > 0 else {
            throw SystemCallError("mq_open: the message size (the payload size) is not set", code: EINVAL)
        }
        if Self.trials == 0 { removeStaleQueues() }
        Self.trials += 1
        let stem = "/ipcbench-\(currentProcessID)-\(Self.trials)"
        names = [stem + "-ab", stem + "-ba"]
        for i in 0..<2 {
            let name = names[i]
            queues[2 * i] = try check("mq_open(\(name), \(options.payloadBytes)-byte messages)") {
                createMessageQueue(name, depth: Int(Self.depth), messageBytes: Int(options.payloadBytes))
            }
            queues[2 * i + 1] = try check("mq_open(\(name))") { openMessageQueue(name) }
            removeMessageQueue(name)
        }
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let io: MessageIO
        switch role {
        case .a:
            closeDescriptor(queues[1]); closeDescriptor(queues[3])
            io = .messageQueues(receive: queues[2], send: queues[0])
        case .b:
            closeDescriptor(queues[0]); closeDescriptor(queues[2])
            io = .messageQueues(receive: queues[1], send: queues[3])
        }
        return Endpoint(io, Self.semantics, datagramKey: peer.secret.datagramKey)
    }

    package func close() {
        queues.forEach(closeDescriptor)
        queues = [-1, -1, -1, -1]
        // Already gone unless `prepare` failed between mq_open and mq_unlink.
        for name in names where !name.isEmpty { removeMessageQueue(name) }
    }
}

/// Removes the message queues that a runner killed inside `prepare` left behind: names
/// `ipcbench-<pid>-<n>-ab` or `-ba` in `listing` (where the mqueue file system is mounted), owned by
/// this user, whose runner `kill(pid, 0)` says is gone. Without the mount there is nothing to list
/// and nothing is removed. Returns the names removed.
@discardableResult
package func removeStaleQueues(listing: String = "/dev/mqueue") -> [String] {
    guard let names = directoryNames(listing) else { return [] }
    var removed: [String] = []
    for name in names {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "ipcbench", parts[3] == "ab" || parts[3] == "ba",
              !parts[2].isEmpty, parts[2].allSatisfy({ $0.isASCII && $0.isNumber }),
              !parts[1].isEmpty, parts[1].count < 10, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              let pid = pid_t(parts[1]), pid > 0, pid != currentProcessID else { continue }
        guard fileStatus(listing + "/" + name, followingLinks: false)?.owner == currentUserID else { continue }
        guard !processExists(pid) else { continue }
        if removeMessageQueue("/" + name) == 0 { removed.append(name) }
    }
    return removed
}
