import CShims
import Glibc

// What this process may use and has used: its limits, its CPU time, the kernel's random bytes,
// the file-size signal, and the hypervisor the CPU reports.

/// This process's limit on open descriptors (RLIMIT_NOFILE): the soft limit in force and the hard
/// limit it may be raised to (RLIM_INFINITY: none); nil when it cannot be read.
package func descriptorLimit() -> (soft: UInt64, hard: UInt64)? {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
    return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit, so that a trial with many links
/// (pubsub with many publishers and subscribers) can open them; its workers inherit it.
package func raiseDescriptorLimit() {
    guard let limit = descriptorLimit(), limit.soft < limit.hard else { return }
    var raised = rlimit(rlim_cur: rlim_t(limit.hard), rlim_max: rlim_t(limit.hard))
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised)
}

/// getrusage of this process (RUSAGE_SELF), or of the calling thread alone (RUSAGE_THREAD).
package func resourceUsage(threadOnly: Bool) -> rusage {
    var usage = rusage()
    if threadOnly { _ = cshim_thread_usage(&usage) } else { _ = getrusage(RUSAGE_SELF.rawValue, &usage) }
    return usage
}

/// Fills `buffer` from the kernel's random source (getrandom); throws naming getrandom.
package func fillWithRandomBytes(_ buffer: UnsafeMutableRawBufferPointer) throws {
    guard buffer.count > 0 else { return }
    try check("getrandom") { cshim_random_bytes(buffer.baseAddress, buffer.count) }
}

/// A write past RLIMIT_FSIZE (`ulimit -f`) then fails with EFBIG, which `CSVFile.write` reports,
/// instead of SIGXFSZ killing the process with a cut-off row.
public func ignoreFileSizeSignal() { cshim_ignore_file_size_signal() }

/// What the CPU says of a hypervisor (CPUID's hypervisor bit, and leaf 0x40000000's vendor).
package enum CPUHypervisor: Equatable {
    case absent
    case present(vendor: String)
}

/// The hypervisor the CPU reports; nil where there is no CPUID.
package func cpuHypervisor() -> CPUHypervisor? {
    var vendor = [CChar](repeating: 0, count: 13)
    switch cshim_hypervisor_vendor(&vendor) {
    case 0: return .absent
    case 1: return .present(vendor: cString(vendor))
    default: return nil
    }
}
