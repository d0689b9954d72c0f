import Glibc

// What this machine and process are: environment variables, the kernel's name, the clock on the
// wall, the CPUs and memory, the terminal.

/// An environment variable's value; nil when it is not set.
package func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// Sets an environment variable for this process and what it starts.
package func setEnvironmentValue(_ name: String, _ value: String) {
    setenv(name, value, 1)
}

/// The running kernel's names (uname(2)).
package struct KernelNames: Equatable {
    package let system, node, release, version, machine: String

    package init() {
        var names = utsname()
        _ = uname(&names)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        }
        system = text(names.sysname)
        node = text(names.nodename)
        release = text(names.release)
        version = text(names.version)
        machine = text(names.machine)
    }
}

/// Seconds since the epoch, by the wall clock.
package func wallClockSeconds() -> Int { time(nil) }

/// The CPUs the kernel has online, and configured (online or not).
package var onlineCPUCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
package var configuredCPUCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_CONF))) }

/// The machine's physical memory in bytes.
package var physicalMemoryBytes: Int { sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE)) }

/// True when a descriptor is a terminal (progress lines are drawn only there).
package func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
