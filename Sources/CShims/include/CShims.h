#ifndef IPCBENCH_CSHIMS_H
#define IPCBENCH_CSHIMS_H
// Only what Swift cannot import from Glibc: macros, _GNU_SOURCE calls and signal-handler state.
#include <sys/resource.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

// The standard streams, which Swift 6 will not let a program read as global variables.
static inline FILE *cshim_stderr(void) { return stderr; }
static inline FILE *cshim_stdout(void) { return stdout; }

int cshim_set_pipe_size(int fd, int bytes);
int cshim_get_pipe_size(int fd);
int cshim_pipe_cloexec(int fds[2]);
int cshim_accept_cloexec(int fd);
// The pid of the process at the other end of a connected AF_UNIX socket (SO_PEERCRED), or -1.
pid_t cshim_peer_pid(int fd);
// Fills `count` bytes from the kernel's random source (getrandom); 0, or -1 with errno set.
int cshim_random_bytes(void *buffer, size_t count);

int cshim_pin_to_cpu(int cpu);
int cshim_current_cpu(void);
// Writes up to `max` CPU numbers this process may run on into `cpus`; returns how many.
int cshim_allowed_cpus(int *cpus, int max);

int cshim_wifexited(int status);
int cshim_wexitstatus(int status);
int cshim_wifsignaled(int status);
int cshim_wtermsig(int status);

pid_t cshim_fork(void);
// Threads as workers: start `body(context)` on a new thread (0, or the error number); wait for it.
int cshim_thread_start(unsigned long *thread, void (*body)(void *), void *context);
int cshim_thread_join(unsigned long thread);
// This thread gets a file-descriptor table of its own (unshare(CLONE_FILES)): what it opens and
// closes from now on is its own, as a process's would be, while its memory stays shared.
int cshim_own_descriptor_table(void);
// getrusage of the calling thread only (RUSAGE_THREAD): 0, or -1 with errno set.
int cshim_thread_usage(struct rusage *usage);
// The worker dies with the runner, whatever kills the runner.
int cshim_die_with_parent(void);

// SIGINT/SIGTERM set a flag instead of killing the runner, so it can clean up first.
void cshim_install_stop_handlers(void);
void cshim_ignore_file_size_signal(void);
void cshim_restore_default_signals(void);
int cshim_stop_signal(void);

// An AF_UNIX socketpair(2) of `type`, close-on-exec; 0, or -1 with errno set.
int cshim_socketpair_cloexec(int type, int fds[2]);

// Shared-memory rings. memfd_create(2), close-on-exec; a descriptor, or -1 with errno set.
int cshim_memfd(const char *name);
// Bytes one ring of `capacity` data bytes (a power of two, at most 1 GiB) takes in memory.
size_t cshim_ring_bytes(uint32_t capacity);
void cshim_ring_init(void *ring, uint32_t capacity);
// Copies all `count` bytes in, waiting for room as the reader frees it. Returns `count`, or
// -EPIPE once the ring is closed. `spin` 1 busy-waits; 0 sleeps in FUTEX_WAIT.
ssize_t cshim_ring_write(void *ring, const void *data, size_t count, int spin);
// Waits until bytes are there, then copies up to `capacity` of them out. Returns how many, or 0
// once the ring is closed and empty.
ssize_t cshim_ring_read(void *ring, void *buffer, size_t capacity, int spin);
// Marks the ring closed and wakes whoever sleeps on it.
void cshim_ring_close(void *ring);

// POSIX message queues (mq_open is variadic, so Swift cannot call it). A descriptor, or -1.
int cshim_mq_create(const char *name, long max_messages, long message_bytes);
int cshim_mq_open_existing(const char *name);
int cshim_mq_unlink(const char *name);
ssize_t cshim_mq_send(int queue, const void *data, size_t count);
ssize_t cshim_mq_receive(int queue, void *buffer, size_t capacity);

// vmsplice(2) of `count` bytes at `data` into a pipe, no flags: the pipe refers to the caller's
// pages, which must not change until the reader has consumed them.
ssize_t cshim_vmsplice(int pipe, const void *data, size_t count);
// splice(2) of up to `count` bytes from `in` to `out`.
ssize_t cshim_splice(int in, int out, size_t count);
// Bytes waiting in a pipe (FIONREAD), or -1.
int cshim_pipe_pending(int fd);

// Starts argv[0] (found on PATH) in a process group of its own, with standard input from /dev/null
// and standard output and error on `output`; it is killed when this process dies. Its pid, or -1.
pid_t cshim_spawn_group(char *const argv[], int output);
// A watcher for process group `group` (one cshim_spawn_group started): once this process dies, by
// SIGKILL too, it kills the whole group, so that nothing the group started (vng's QEMU) outlives this
// process. It ends with the group (kill it when the group is done, and reap it). Its pid, or -1.
pid_t cshim_watch_group(pid_t group);

// CPUID's hypervisor bit and vendor (leaf 0x40000000, 12 bytes into `vendor`, NUL-terminated):
// 1 when the bit is set, 0 when it is clear, -1 where there is no CPUID (not x86).
int cshim_hypervisor_vendor(char vendor[13]);

// Network namespaces (udp-multicast's trials): 0 or -errno.
int cshim_unshare_net(void);
int cshim_setns_net(int fd);
// Brings up `lo` in the current network namespace: 0 or -errno.
int cshim_loopback_up(void);

// epoll for --wait epoll (Glibc's Swift module has no sys/epoll.h). Each returns what the call does,
// or -1 with errno set.
// A new epoll set (EPOLL_CLOEXEC).
int cshim_epoll_create(void);
// Adds `fd` to the set, for input, tagged with `tag`; removes it.
int cshim_epoll_add(int epoll, int fd, uint32_t tag);
int cshim_epoll_remove(int epoll, int fd);
// Sets what `fd`, already in the set, is watched for: input (`in`), room to write (`out`), both or neither.
int cshim_epoll_watch(int epoll, int fd, int in, int out);
// Waits up to `timeout_ms` (-1: for ever) for one descriptor of the set to have input: 1 with its
// tag in *tag, 0 when the time ran out.
int cshim_epoll_wait_one(int epoll, int timeout_ms, uint32_t *tag);

// io_uring for --wait uring: one ring per worker (liburing), for the reads and writes of all its
// endpoints. Opens one of `entries` entries, whose operations are told apart by a tag below
// `entries`: the ring, or NULL with errno set (ENOSYS: no io_uring; EPERM: kernel.io_uring_disabled).
void *cshim_uring_open(unsigned entries);
// Closes it, cancelling what is still in flight.
void cshim_uring_close(void *ring);
// Registered buffers: after cshim_uring_collect_buffers(ring), each cshim_uring_add_buffer (called
// by every buffer a loop makes, a no-op otherwise) is kept, and cshim_uring_register_buffers hands
// them all to the kernel at once: 0, or -errno (the operations then use plain buffers; the error
// stays in cshim_uring_fixed_error).
void cshim_uring_collect_buffers(void *ring);
void cshim_uring_add_buffer(void *base, size_t length);
int cshim_uring_register_buffers(void *ring);
int cshim_uring_fixed_error(void *ring);
enum { CSHIM_URING_READ = 0, CSHIM_URING_WRITE = 1, CSHIM_URING_SPLICE = 2 };
// Prepares operation `op` under `tag` (submitted by the next wait): a read (IORING_OP_READ_FIXED in
// a registered buffer, else IORING_OP_RECV on a socket, IORING_OP_READ otherwise), a write
// (IORING_OP_WRITE_FIXED, IORING_OP_SEND, IORING_OP_WRITE) of `length` bytes at `buffer` on `fd`, or
// a splice (IORING_OP_SPLICE) of up to `length` bytes from `fd` to `out`. 0; also 0 when the same
// operation is already under the tag; -EBUSY when another is.
long cshim_uring_start(void *ring, unsigned tag, int op, int fd, void *buffer, size_t length, int socket, int out);
// Waits for the operation under `tag` (timeout_ns < 0: for ever; 0: not at all; else at most that
// long): its result (bytes, 0 at the end, -errno), or -EAGAIN when the time ran out (it stays in
// flight, and a later wait takes it).
long cshim_uring_wait(void *ring, unsigned tag, int64_t timeout_ns);
// The same for whichever operation completes first (its tag in *tag); -EINVAL when none is in
// flight. With `take` 0 it only says which (returning 0), and leaves the result for cshim_uring_wait.
long cshim_uring_wait_any(void *ring, unsigned *tag, int64_t timeout_ns, int take);

#endif
