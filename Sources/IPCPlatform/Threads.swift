import CShims
import Glibc

// Workers as threads and as processes: starting and joining a thread, a descriptor table of its
// own, the CPU it runs on, forking, process groups, signals' default actions, and ending at once.

/// A thread `startThread` started, for `joinThread`.
package struct ThreadHandle {
    let id: UInt
}

/// What a new thread runs: handed to it through the C shim as an opaque, retained reference.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Starts `body` on a new thread; throws naming pthread_create with its error number.
package func startThread(_ body: @escaping () -> Void) throws -> ThreadHandle {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread: UInt = 0
    let started = cshim_thread_start(&thread, { context in
        Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().run()
    }, context)
    guard started == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(context).release()
        throw SystemCallError("pthread_create", code: started)
    }
    return ThreadHandle(id: thread)
}

/// Waits until a thread `startThread` started has ended.
package func joinThread(_ thread: ThreadHandle) {
    _ = cshim_thread_join(thread.id)
}

/// The calling thread gets a descriptor table of its own (unshare(CLONE_FILES)): what it opens and
/// closes from now on, the other threads do not see, as if it were a process of its own.
package func takeOwnDescriptorTable() throws {
    try check("unshare(CLONE_FILES)") { cshim_own_descriptor_table() }
}

/// Pins the calling thread to one CPU (sched_setaffinity).
package func pinToCPU(_ cpu: Int) throws {
    try check("sched_setaffinity(CPU \(cpu))") { cshim_pin_to_cpu(Int32(cpu)) }
}

/// The CPU the calling thread runs on now (sched_getcpu); -1 when the kernel does not say.
package func currentCPU() -> Int { Int(cshim_current_cpu()) }

/// This process is killed (SIGKILL) when the thread that forked it ends, however that ends
/// (PR_SET_PDEATHSIG); false when the kernel refused.
@discardableResult
package func dieWithParent() -> Bool { cshim_die_with_parent() == 0 }

/// Forks this process: 0 in the child, the child's pid in the parent; throws naming fork.
package func forkProcess() throws -> pid_t {
    try check("fork") { cshim_fork() }
}

/// Puts process `pid` (0: this one) into the process group `group` leads (0: a new group that
/// `pid` leads); false when it failed (the process has exec'd or ended, no such group).
@discardableResult
package func setProcessGroup(_ pid: pid_t, to group: pid_t) -> Bool { setpgid(pid, group) == 0 }

/// Gives `signal` its default action again (a handler the runtime installed is dropped).
package func restoreDefaultAction(_ signal: Int32) { _ = Glibc.signal(signal, SIG_DFL) }

/// The kernel's name of a signal: "Killed" for SIGKILL.
package func signalName(_ signal: Int32) -> String { String(cString: strsignal(signal)) }

/// Ends this process at once with `status`, running no exit handlers and flushing no streams: a
/// forked child must not run what the parent registered.
package func exitImmediately(_ status: Int32) -> Never { _exit(status) }
