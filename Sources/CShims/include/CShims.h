#ifndef IPCBENCH_CSHIMS_H
#define IPCBENCH_CSHIMS_H
// Only what Swift cannot import from Glibc: macros, _GNU_SOURCE calls and signal-handler state.
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

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
// The worker dies with the runner, whatever kills the runner.
int cshim_die_with_parent(void);

// SIGINT/SIGTERM set a flag instead of killing the runner, so it can clean up first.
void cshim_install_stop_handlers(void);
void cshim_restore_default_signals(void);
int cshim_stop_signal(void);

#endif
