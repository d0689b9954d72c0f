import Glibc
import CShims

// Network namespaces, for udp-multicast's trials (a namespace of their own, where one can be had).

/// This thread's network namespace, as a descriptor to return to; -1 where it cannot be opened.
package func openNetworkNamespace() -> Int32 { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) }

/// Moves this thread into a new network namespace: 0, or -errno (EPERM without CAP_SYS_ADMIN).
package func enterNewNetworkNamespace() -> Int32 { cshim_unshare_net() }

/// Moves this thread into the namespace `fd` refers to: 0, or -errno.
package func enterNetworkNamespace(_ fd: Int32) -> Int32 { cshim_setns_net(fd) }

/// Brings `lo` up in this thread's namespace: 0, or -errno.
package func bringLoopbackUp() -> Int32 { cshim_loopback_up() }
