#define _GNU_SOURCE
#include "CShims.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <time.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int cshim_set_pipe_size(int fd, int bytes) { return fcntl(fd, F_SETPIPE_SZ, bytes); }
int cshim_get_pipe_size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }
int cshim_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cshim_pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

int cshim_current_cpu(void) { return sched_getcpu(); }

int cshim_allowed_cpus(int *cpus, int max) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
        if (CPU_ISSET(cpu, &set)) cpus[n++] = cpu;
    return n;
}

int cshim_wifexited(int status) { return WIFEXITED(status); }
int cshim_wexitstatus(int status) { return WEXITSTATUS(status); }
int cshim_wifsignaled(int status) { return WIFSIGNALED(status); }
int cshim_wtermsig(int status) { return WTERMSIG(status); }

pid_t cshim_fork(void) { return fork(); }

struct thread_start { void (*body)(void *); void *context; };

static void *thread_main(void *argument) {
    struct thread_start start = *(struct thread_start *)argument;
    free(argument);
    start.body(start.context);
    return NULL;
}

int cshim_thread_start(unsigned long *thread, void (*body)(void *), void *context) {
    struct thread_start *start = malloc(sizeof *start);
    if (!start) return ENOMEM;
    start->body = body;
    start->context = context;
    pthread_t t;
    int r = pthread_create(&t, NULL, thread_main, start);
    if (r != 0) { free(start); return r; }
    *thread = (unsigned long)t;
    return 0;
}

int cshim_thread_join(unsigned long thread) { return pthread_join((pthread_t)thread, NULL); }

int cshim_own_descriptor_table(void) { return unshare(CLONE_FILES); }

int cshim_thread_usage(struct rusage *usage) { return getrusage(RUSAGE_THREAD, usage); }
int cshim_die_with_parent(void) { return prctl(PR_SET_PDEATHSIG, SIGKILL); }

static volatile sig_atomic_t stop_signal = 0;
static void on_stop(int sig) { stop_signal = sig; }

void cshim_install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;  // no SA_RESTART: poll and waitpid return EINTR
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void cshim_restore_default_signals(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

int cshim_stop_signal(void) { return stop_signal; }

void cshim_ignore_file_size_signal(void) { signal(SIGXFSZ, SIG_IGN); }

int cshim_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

pid_t cshim_peer_pid(int fd) {
    struct ucred cred;
    socklen_t length = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return -1;
    return cred.pid;
}

int cshim_random_bytes(void *buffer, size_t count) {
    size_t done = 0;
    while (done < count) {
        ssize_t n = getrandom((char *)buffer + done, count - done, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

int cshim_socketpair_cloexec(int type, int fds[2]) { return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds); }

// MARK: - Shared-memory rings

int cshim_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

// One direction of the shm transport: a single-producer single-consumer byte ring.
// head and tail count bytes written and read, wrapping at 2^32 (the capacity is a power of two, so
// head - tail is the fill level and index & (capacity - 1) the position). Each word sits on its own
// cache line so that the producer's and the consumer's stores do not share one.
//
// Memory ordering: the producer copies the data in, then store-releases head; the consumer
// load-acquires head, so the data before it is visible, copies it out, then store-releases tail;
// the producer load-acquires tail before it reuses that space. Only the producer stores head and
// only the consumer stores tail, so each reads its own index relaxed.
//
// Futex mode: a side that finds nothing to do sets its `waiting` flag, issues a seq_cst fence and
// looks again before FUTEX_WAIT on the index it waits for; the other side stores that index, issues
// a seq_cst fence and reads the flag, and calls FUTEX_WAKE only when it is set. The two fences make
// sure that either the sleeper sees the new index or the waker sees the flag, so no wake-up is lost
// and no FUTEX_WAKE is paid while nobody sleeps. FUTEX_WAIT itself returns at once if the index
// has already moved.
struct ring {
    _Atomic uint32_t head;
    char pad0[60];
    _Atomic uint32_t tail;
    char pad1[60];
    _Atomic uint32_t reader_waiting;
    char pad2[60];
    _Atomic uint32_t writer_waiting;
    char pad3[60];
    _Atomic uint32_t closed;
    uint32_t capacity;
};

#define RING_HEADER 4096
// Spin mode: after this many looks at an unchanged index, sched_yield(), so that two workers on
// one CPU make progress without waiting for the scheduler's tick.
#define SPINS_BEFORE_YIELD 1024
// A close sets a flag, not the index a sleeper waits on, so a sleeper looks again this often.
#define CLOSE_CHECK_NS 50000000

static inline unsigned char *ring_data(struct ring *r) { return (unsigned char *)r + RING_HEADER; }

size_t cshim_ring_bytes(uint32_t capacity) { return RING_HEADER + (size_t)capacity; }

void cshim_ring_init(void *memory, uint32_t capacity) {
    struct ring *r = memory;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->reader_waiting, 0);
    atomic_init(&r->writer_waiting, 0);
    atomic_init(&r->closed, 0);
    r->capacity = capacity;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void futex_wake(_Atomic uint32_t *word) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

// Returns once *word differs from `seen` or the ring is closed (or spuriously: callers look again).
static void wait_for_change(struct ring *r, _Atomic uint32_t *word, uint32_t seen, _Atomic uint32_t *waiting, int spin) {
    if (spin) {
        unsigned spins = 0;
        while (atomic_load_explicit(word, memory_order_acquire) == seen &&
               !atomic_load_explicit(&r->closed, memory_order_acquire)) {
            if (++spins == SPINS_BEFORE_YIELD) {
                sched_yield();
                spins = 0;
            } else {
                cpu_relax();
            }
        }
        return;
    }
    atomic_store_explicit(waiting, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(word, memory_order_relaxed) == seen &&
        !atomic_load_explicit(&r->closed, memory_order_relaxed)) {
        struct timespec timeout = {0, CLOSE_CHECK_NS};
        syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, seen, &timeout, NULL, 0);
    }
    atomic_store_explicit(waiting, 0, memory_order_relaxed);
}

static inline void wake_if_waiting(_Atomic uint32_t *word, _Atomic uint32_t *waiting, int spin) {
    if (spin) return;
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(waiting, memory_order_relaxed)) futex_wake(word);
}

ssize_t cshim_ring_write(void *memory, const void *data, size_t count, int spin) {
    struct ring *r = memory;
    const uint32_t capacity = r->capacity, mask = capacity - 1;
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t done = 0;
    while (done < count) {
        uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        uint32_t room = capacity - (head - tail);
        if (room == 0) {
            if (atomic_load_explicit(&r->closed, memory_order_acquire)) return -EPIPE;
            wait_for_change(r, &r->tail, tail, &r->writer_waiting, spin);
            continue;
        }
        uint32_t n = count - done < room ? (uint32_t)(count - done) : room;
        uint32_t at = head & mask, first = capacity - at < n ? capacity - at : n;
        memcpy(ring_data(r) + at, (const unsigned char *)data + done, first);
        memcpy(ring_data(r), (const unsigned char *)data + done + first, n - first);
        head += n;
        atomic_store_explicit(&r->head, head, memory_order_release);
        wake_if_waiting(&r->head, &r->reader_waiting, spin);
        done += n;
    }
    return (ssize_t)count;
}

ssize_t cshim_ring_read(void *memory, void *buffer, size_t capacity_wanted, int spin) {
    struct ring *r = memory;
    const uint32_t capacity = r->capacity, mask = capacity - 1;
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t head;
    while ((head = atomic_load_explicit(&r->head, memory_order_acquire)) == tail) {
        if (atomic_load_explicit(&r->closed, memory_order_acquire)) {
            head = atomic_load_explicit(&r->head, memory_order_acquire);
            if (head != tail) break;
            return 0;
        }
        wait_for_change(r, &r->head, tail, &r->reader_waiting, spin);
    }
    uint32_t available = head - tail;
    uint32_t n = capacity_wanted < available ? (uint32_t)capacity_wanted : available;
    uint32_t at = tail & mask, first = capacity - at < n ? capacity - at : n;
    memcpy(buffer, ring_data(r) + at, first);
    memcpy((unsigned char *)buffer + first, ring_data(r), n - first);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    wake_if_waiting(&r->tail, &r->writer_waiting, spin);
    return (ssize_t)n;
}

void cshim_ring_close(void *memory) {
    struct ring *r = memory;
    atomic_store_explicit(&r->closed, 1, memory_order_seq_cst);
    futex_wake(&r->head);
    futex_wake(&r->tail);
}

// MARK: - POSIX message queues

int cshim_mq_create(const char *name, long max_messages, long message_bytes) {
    struct mq_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.mq_maxmsg = max_messages;
    attr.mq_msgsize = message_bytes;
    return mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
}

int cshim_mq_open_existing(const char *name) { return mq_open(name, O_RDWR | O_CLOEXEC); }
int cshim_mq_unlink(const char *name) { return mq_unlink(name); }
ssize_t cshim_mq_send(int queue, const void *data, size_t count) { return mq_send(queue, data, count, 0) == 0 ? (ssize_t)count : -1; }
ssize_t cshim_mq_receive(int queue, void *buffer, size_t capacity) { return mq_receive(queue, buffer, capacity, NULL); }

// MARK: - vmsplice

ssize_t cshim_vmsplice(int pipe, const void *data, size_t count) {
    struct iovec iov = {(void *)data, count};
    return vmsplice(pipe, &iov, 1, 0);
}

ssize_t cshim_splice(int in, int out, size_t count) { return splice(in, NULL, out, NULL, count, SPLICE_F_MOVE); }

int cshim_pipe_pending(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

pid_t cshim_spawn_group(char *const argv[], int output) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid > 0) setpgid(pid, pid);  // here too, so that the group exists when this returns
    if (pid != 0) return pid;
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(output, 1) < 0 || dup2(output, 2) < 0) _exit(127);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    _exit(127);
}

pid_t cshim_watch_group(pid_t group) {
    pid_t parent = getpid();
    sigset_t wake, old;
    sigemptyset(&wake);
    sigaddset(&wake, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &wake, &old);  // before fork: the signal cannot come before sigwait
    pid_t pid = fork();
    if (pid != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return pid;
    }
    // In the group, so that its id stays taken while the watcher lives; the SIGTERM that ends the
    // guest politely is not for the watcher, which waits for its parent's death (SIGUSR1).
    setpgid(0, group);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    syscall(SYS_close_range, 3, ~0U, 0);
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
    if (getppid() == parent) {
        int signal_number;
        sigwait(&wake, &signal_number);
    }
    kill(-group, SIGKILL);
    _exit(0);
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
int cshim_hypervisor_vendor(char vendor[13]) {
    unsigned a, b, c, d;
    vendor[0] = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return -1;
    if (!(c & (1u << 31))) return 0;
    __cpuid(0x40000000, a, b, c, d);
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &c, 4);
    memcpy(vendor + 8, &d, 4);
    vendor[12] = 0;
    return 1;
}
#else
int cshim_hypervisor_vendor(char vendor[13]) {
    vendor[0] = 0;
    return -1;
}
#endif

#include <net/if.h>

int cshim_unshare_net(void) { return unshare(CLONE_NEWNET) == 0 ? 0 : -errno; }

int cshim_setns_net(int fd) { return setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno; }

int cshim_loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    int result = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
        result = -errno;
    } else {
        request.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) result = -errno;
    }
    close(fd);
    return result;
}

int cshim_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cshim_epoll_add(int epoll, int fd, uint32_t tag) {
    struct epoll_event event = { .events = EPOLLIN, .data.u32 = tag };
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

int cshim_epoll_watch(int epoll, int fd, int in, int out) {
    struct epoll_event event = { .events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0), .data.u32 = 0 };
    return epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event);
}

int cshim_epoll_remove(int epoll, int fd) {
    struct epoll_event event = { 0 };
    return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event);
}

int cshim_epoll_wait_one(int epoll, int timeout_ms, uint32_t *tag) {
    struct epoll_event event;
    int n = epoll_wait(epoll, &event, 1, timeout_ms);
    if (n == 1 && tag) *tag = event.data.u32;
    return n;
}

// A worker's ring and what it knows of each operation it has submitted, by tag (the operation's
// user_data): in flight, or completed with a result not yet taken. One operation per tag at a time.
struct uring_worker {
    struct io_uring ring;
    unsigned tags;
    int *result;
    unsigned char *state;  // 0: idle; 1: in flight; 2: completed, result not yet taken
    const void **base;     // what the operation in flight reads or writes
    size_t *length;
    unsigned next;         // where wait_any looks first, so that every tag gets its turn
    // Registered (fixed) buffers: those added before cshim_uring_register_buffers; `fixed` is 1
    // once the kernel took them, and `fixed_error` says why it did not.
    struct iovec *buffers;
    unsigned buffer_count;
    int fixed;
    int fixed_error;
};

// The ring makePatternBuffer adds its buffers to, while a worker makes its loop (a thread of its own
// per worker, so thread-local).
static __thread struct uring_worker *current_ring;

void *cshim_uring_open(unsigned entries) {
    struct uring_worker *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    int r = io_uring_queue_init(entries, &w->ring, 0);
    if (r < 0) {
        free(w);
        errno = -r;
        return NULL;
    }
    w->tags = entries;
    w->result = calloc(entries, sizeof *w->result);
    w->state = calloc(entries, 1);
    w->base = calloc(entries, sizeof *w->base);
    w->length = calloc(entries, sizeof *w->length);
    w->buffers = calloc(UIO_MAXIOV, sizeof *w->buffers);
    if (!w->result || !w->state || !w->base || !w->length || !w->buffers) {
        cshim_uring_close(w);
        errno = ENOMEM;
        return NULL;
    }
    return w;
}

void cshim_uring_close(void *ring) {
    struct uring_worker *w = ring;
    if (!w) return;
    if (current_ring == w) current_ring = NULL;
    io_uring_queue_exit(&w->ring);  // cancels what is still in flight
    free(w->result);
    free(w->state);
    free(w->base);
    free(w->length);
    free(w->buffers);
    free(w);
}

void cshim_uring_collect_buffers(void *ring) { current_ring = ring; }

void cshim_uring_add_buffer(void *base, size_t length) {
    struct uring_worker *w = current_ring;
    if (!w || w->buffer_count == UIO_MAXIOV) return;
    w->buffers[w->buffer_count].iov_base = base;
    w->buffers[w->buffer_count].iov_len = length;
    w->buffer_count++;
}

int cshim_uring_register_buffers(void *ring) {
    struct uring_worker *w = ring;
    current_ring = NULL;
    if (w->buffer_count == 0) return w->fixed_error = -ENOENT;
    int r = io_uring_register_buffers(&w->ring, w->buffers, w->buffer_count);
    w->fixed = r == 0;
    w->fixed_error = r;
    return r;
}

int cshim_uring_fixed_error(void *ring) { return ((struct uring_worker *)ring)->fixed_error; }

// The registered buffer that holds [base, base + length), or -1.
static inline int fixed_index(struct uring_worker *w, const void *base, size_t length) {
    if (!w->fixed) return -1;
    const char *b = base;
    for (unsigned i = 0; i < w->buffer_count; i++) {
        const char *start = w->buffers[i].iov_base;
        if (b >= start && b + length <= start + w->buffers[i].iov_len) return (int)i;
    }
    return -1;
}

long cshim_uring_start(void *ring, unsigned tag, int op, int fd, void *buffer, size_t length, int socket, int out) {
    struct uring_worker *w = ring;
    if (tag >= w->tags) return -EINVAL;
    if (w->state[tag] != 0) return w->base[tag] == buffer && w->length[tag] == length ? 0 : -EBUSY;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe) {
        int s = io_uring_submit(&w->ring);
        if (s < 0) return s;
        sqe = io_uring_get_sqe(&w->ring);
        if (!sqe) return -EBUSY;
    }
    int index = fixed_index(w, buffer, length);
    switch (op) {
    case CSHIM_URING_READ:
        if (index >= 0) io_uring_prep_read_fixed(sqe, fd, buffer, (unsigned)length, (uint64_t)-1, index);
        else if (socket) io_uring_prep_recv(sqe, fd, buffer, length, 0);
        else io_uring_prep_read(sqe, fd, buffer, (unsigned)length, (uint64_t)-1);
        break;
    case CSHIM_URING_WRITE:
        if (index >= 0) io_uring_prep_write_fixed(sqe, fd, buffer, (unsigned)length, (uint64_t)-1, index);
        else if (socket) io_uring_prep_send(sqe, fd, buffer, length, 0);
        else io_uring_prep_write(sqe, fd, buffer, (unsigned)length, (uint64_t)-1);
        break;
    case CSHIM_URING_SPLICE:
        io_uring_prep_splice(sqe, fd, -1, out, -1, (unsigned)length, SPLICE_F_MOVE);
        break;
    default:
        return -EINVAL;
    }
    io_uring_sqe_set_data64(sqe, tag);
    w->state[tag] = 1;
    w->base[tag] = buffer;
    w->length[tag] = length;
    return 0;
}

static inline uint64_t monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

// Submits what is prepared and takes every completion there is, waiting until `deadline` (0: for
// ever; UINT64_MAX: not at all) for one: 0, -ETIME when the time ran out, or -errno.
static int pump(struct uring_worker *w, uint64_t deadline) {
    int r;
    if (deadline == UINT64_MAX) {
        r = io_uring_submit(&w->ring);
    } else {
        struct io_uring_cqe *cqe;
        do {
            struct __kernel_timespec limit = { 0 };
            if (deadline) {
                uint64_t now = monotonic_ns(), left = deadline > now ? deadline - now : 0;
                limit.tv_sec = (long long)(left / 1000000000u);
                limit.tv_nsec = (long long)(left % 1000000000u);
            }
            r = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, deadline ? &limit : NULL, NULL);
        } while (r == -EINTR);
    }
    if (r < 0 && r != -ETIME) return r;
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&w->ring, head, cqe) {
        uint64_t tag = io_uring_cqe_get_data64(cqe);
        if (tag < w->tags && w->state[tag] == 1) {
            w->result[tag] = cqe->res;
            w->state[tag] = 2;
        }
        seen++;
    }
    io_uring_cq_advance(&w->ring, seen);
    return r == -ETIME && seen == 0 ? -ETIME : 0;
}

static inline uint64_t deadline_of(int64_t timeout_ns) {
    if (timeout_ns < 0) return 0;
    if (timeout_ns == 0) return UINT64_MAX;
    return monotonic_ns() + (uint64_t)timeout_ns;
}

long cshim_uring_wait(void *ring, unsigned tag, int64_t timeout_ns) {
    struct uring_worker *w = ring;
    if (tag >= w->tags || w->state[tag] == 0) return -EINVAL;
    uint64_t deadline = deadline_of(timeout_ns);
    for (int pumped = 0; w->state[tag] != 2; pumped = 1) {
        if (pumped && deadline == UINT64_MAX) return -EAGAIN;
        int r = pump(w, deadline);
        if (r == -ETIME) return -EAGAIN;
        if (r < 0) return r;
    }
    w->state[tag] = 0;
    return w->result[tag];
}

long cshim_uring_wait_any(void *ring, unsigned *tag, int64_t timeout_ns, int take) {
    struct uring_worker *w = ring;
    uint64_t deadline = deadline_of(timeout_ns);
    for (int pumped = 0;; pumped = 1) {
        int busy = 0;
        for (unsigned step = 0; step < w->tags; step++) {
            unsigned t = (w->next + step) % w->tags;
            if (w->state[t] == 2) {
                *tag = t;
                if (!take) return 0;
                w->state[t] = 0;
                w->next = t + 1;
                return w->result[t];
            }
            busy |= w->state[t];
        }
        if (!busy) return -EINVAL;  // nothing in flight: a wait would never end
        if (pumped && deadline == UINT64_MAX) return -EAGAIN;
        int r = pump(w, deadline);
        if (r == -ETIME) return -EAGAIN;
        if (r < 0) return r;
    }
}
