#ifndef PROCMGR_SHIMS_H
#define PROCMGR_SHIMS_H

// Low-level process primitives for procmgr that Swift cannot express safely.
//
// Why C at all: the code that runs in a child between clone() and execve() shares the
// parent's memory (CLONE_VM|CLONE_VFORK) and must not allocate, take locks or touch the Swift
// runtime. Only plain syscalls are allowed there. The same holds for the guardian process,
// which is fork()ed from a multi-threaded parent and therefore may only use
// async-signal-safe functions for the rest of its life.

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - spawn

/// Where a spawn failed. Reported back to the parent through a CLOEXEC pipe so the parent can
/// build a precise error (for example "working directory does not exist" vs "executable not
/// found").
typedef enum procmgr_spawn_stage {
    PROCMGR_STAGE_NONE = 0,
    /// In the parent, before the child existed (pipe/mmap/clone failed).
    PROCMGR_STAGE_PARENT = 1,
    PROCMGR_STAGE_SETPGID = 2,
    PROCMGR_STAGE_PDEATHSIG = 3,
    /// The parent died between clone() and prctl(PR_SET_PDEATHSIG): the child gives up.
    PROCMGR_STAGE_PARENT_GONE = 4,
    PROCMGR_STAGE_FDS = 5,
    PROCMGR_STAGE_CHDIR = 6,
    PROCMGR_STAGE_EXEC = 7,
    /// Writing "0" to one of `cgroup_procs_fds` (joining the process's cgroup) failed.
    PROCMGR_STAGE_CGROUP = 8,
    /// prlimit64 on the child itself failed; the failing entry's index is reported as `detail`.
    PROCMGR_STAGE_RLIMIT = 9,
    PROCMGR_STAGE_SETGROUPS = 10,
    PROCMGR_STAGE_SETGID = 11,
    PROCMGR_STAGE_SETUID = 12,
} procmgr_spawn_stage;

/// One resource limit set in the child before exec (`resource` is an RLIMIT_* number;
/// `UINT64_MAX` is RLIM_INFINITY).
typedef struct procmgr_spawn_rlimit {
    int resource;
    uint64_t soft;
    uint64_t hard;
} procmgr_spawn_rlimit;

typedef struct procmgr_spawn_attr {
    /// Path handed to execve (absolute, or relative to working_dir). PATH lookup is done by the
    /// caller before the call, because the child must not allocate.
    const char *path;
    char *const *argv;
    char *const *envp;
    /// NULL: inherit the parent's working directory.
    const char *working_dir;
    /// fd_sources[i] (a descriptor of the parent) becomes fd_targets[i] in the child. Every
    /// other descriptor is closed at exec. Targets 0, 1 and 2 should always be present.
    const int *fd_sources;
    const int *fd_targets;
    int fd_count;
    /// Non-zero: prctl(PR_SET_PDEATHSIG, SIGKILL) in the child.
    int set_pdeathsig;
    /// Non-zero: setpgid(0, 0), the child leads its own process group.
    int new_process_group;
    /// getpid() of the parent; the child exits if its parent changed before PDEATHSIG was armed.
    pid_t expected_parent;
    /// Upper bound for the fallback close loop when close_range() is unavailable.
    int fd_limit;
    /// Optional fast path (NULL: none). Descriptors reserved by ``procmgr_spawn_reserve_slots``
    /// at low numbers, owned by the one thread that spawns, each open on `slot_filler`. When
    /// fd_count + 1 fit, the sources and the error pipe are parked in them and the child
    /// shares the parent's fd table (CLONE_FILES), then unshares only the descriptors below the
    /// highest slot (close_range(CLOSE_RANGE_UNSHARE)). Why: copying the agent's thousands of
    /// close-on-exec descriptors into every child at clone, and closing them all at exec, is
    /// most of a spawn's cost once ~1,000 children run.
    const int *slots;
    int slot_count;
    int slot_filler;
    /// Open descriptors of membership files — `cgroup.procs`, or a v1 `tasks` (of the parent; not
    /// closed). The child writes "0" to each (but `cgroup_into_skip` after a clone3 into the
    /// cgroup) right after setpgid/PDEATHSIG, before it touches descriptors, limits or
    /// credentials, so it is a member before any code of the program runs. The write happens
    /// while the child still shares (fast path) or has just copied (plain path) the parent's
    /// descriptor table, so these need no slot.
    const int *cgroup_procs_fds;
    int cgroup_procs_count;
    /// Resource limits applied after the descriptors are in place (a low RLIMIT_NOFILE would
    /// otherwise break the descriptor shuffle) and before the credentials change (a limit
    /// raised above the user's hard limit needs root).
    const procmgr_spawn_rlimit *rlimits;
    int rlimit_count;
    /// Non-zero: switch credentials before chdir with the raw syscalls setgroups(groups),
    /// setgid(gid), setuid(uid) — never glibc's wrappers, which broadcast the change to every
    /// thread of the process, and in a CLONE_VM child that is the agent's threads.
    int set_identity;
    uint32_t uid;
    uint32_t gid;
    const uint32_t *groups;
    int group_count;
    /// Optional (-1: none): an `O_DIRECTORY` descriptor of the process's cgroup v2 directory.
    /// The child is then created in it (clone3 with CLONE_INTO_CGROUP) and does not write itself
    /// into that directory's `cgroup.procs`, entry `cgroup_into_skip` of `cgroup_procs_fds`.
    /// Why: a write to `cgroup.procs` takes the kernel's cgroup_threadgroup_rwsem for writing,
    /// which waits for an RCU grace period — 6–14 ms measured on an idle machine, most of a
    /// restart's latency —, a creation into the cgroup does not. Where clone3 or
    /// CLONE_INTO_CGROUP is missing (Linux < 5.7, an architecture without the entry code) the
    /// spawn falls back to clone and the write.
    int cgroup_into_fd;
    int cgroup_into_skip;
} procmgr_spawn_attr;

/// Reserves `count` descriptors for ``procmgr_spawn_attr/slots``: the lowest free numbers, each
/// a CLOEXEC duplicate of `filler` (typically /dev/null). Call early, while the fd table is
/// small: the fast path copies every descriptor below the highest slot into each child.
/// Returns 0, or -1 with errno (nothing is left reserved).
int procmgr_spawn_reserve_slots(int filler, int *slots, int count);

/// Starts a child with clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) (clone3 with CLONE_INTO_CGROUP
/// when `cgroup_into_fd` is set). Returns 0 and fills out_pid /
/// out_pidfd (CLOEXEC) on success. Returns -1 on failure with *out_stage / *out_errno set, and
/// *out_detail the index of the failing entry for PROCMGR_STAGE_CGROUP / PROCMGR_STAGE_RLIMIT
/// (0 otherwise); a child that failed after clone has already been reaped.
int procmgr_spawn(const procmgr_spawn_attr *attr, pid_t *out_pid, int *out_pidfd,
                  int *out_stage, int *out_errno, int *out_detail);

// MARK: - pidfd, waitid, subreaper

int procmgr_pidfd_open(pid_t pid, unsigned int flags);
int procmgr_pidfd_send_signal(int pidfd, int sig);
int procmgr_set_child_subreaper(int on);
int procmgr_is_child_subreaper(void);

/// waitid(P_PIDFD, pidfd, WEXITED | WNOHANG). Returns 1 when reaped (fills pid, si_code,
/// si_status), 0 when the process has not exited yet, -1 with errno (ECHILD: not our child or
/// already reaped).
int procmgr_wait_pidfd(int pidfd, pid_t *out_pid, int *out_code, int *out_status);

/// waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT): peeks at one exited child without reaping it.
/// Returns 1 (and the pid) when one exists, 0 when none has exited, -1 with errno (ECHILD: no
/// children at all).
int procmgr_peek_exited_child(pid_t *out_pid);

/// waitid(P_PID, pid, WEXITED | WNOHANG). Same return convention as procmgr_wait_pidfd.
int procmgr_reap_pid(pid_t pid, int *out_code, int *out_status);

// MARK: - epoll (epoll_event is packed on x86_64; keep it out of Swift)

int procmgr_epoll_create(void);
int procmgr_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits like epoll_wait and unpacks the results into two parallel arrays.
int procmgr_epoll_wait(int epfd, uint64_t *out_data, uint32_t *out_events, int max_events,
                       int timeout_ms);

enum {
    PROCMGR_EPOLLIN = 0x001,
    PROCMGR_EPOLLOUT = 0x004,
    PROCMGR_EPOLLERR = 0x008,
    PROCMGR_EPOLLHUP = 0x010,
    PROCMGR_EPOLLRDHUP = 0x2000,
    PROCMGR_EPOLLONESHOT = 0x40000000,
    PROCMGR_EPOLL_CTL_ADD = 1,
    PROCMGR_EPOLL_CTL_DEL = 2,
    PROCMGR_EPOLL_CTL_MOD = 3,
};

// Returns free heap memory of every malloc arena to the kernel (glibc malloc_trim(0)): after a
// burst (1,000 spawns) the arenas keep megabytes of freed chunks resident otherwise. Returns 1
// when memory was released. Not exported by Swift's Glibc module, hence here.
int procmgr_heap_trim(void);

// Pages out (madvise MADV_PAGEOUT, Linux 5.4+) the main program's loadable segments that are not
// writable: code, constants and unwind tables (found with dl_iterate_phdr; the writable segment,
// RELRO included, is left alone). Start-up (config parsing, 1,000 spawns) maps most of a 28 MB
// text segment (fault-around maps 64 KiB per fault) while the settled agent runs ~1 MiB of it;
// this hands the rest back for real (page cache included, so a cgroup limit sees it too). Pages
// another process maps too (the guardian) are kept; what runs again later is read back by
// ordinary page faults. The kernel does this only for a caller that owns the binary, may write
// it, or is privileged; otherwise this returns -1 with EPERM without calling madvise. Returns
// the bytes advised, or -1 with errno (EINVAL: kernel older than 5.4).
long procmgr_release_executable_pages(void);

int procmgr_eventfd(unsigned int initval, int nonblocking);

/// timerfd on CLOCK_MONOTONIC, CLOEXEC | NONBLOCK.
int procmgr_timerfd_create(void);
/// Arms a one-shot timer for an absolute CLOCK_MONOTONIC time in nanoseconds (a time already
/// past fires at once).
int procmgr_timerfd_arm_absolute(int fd, uint64_t deadline_ns);

/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds: the clock of procmgr_timerfd_arm_absolute.
uint64_t procmgr_monotonic_ns(void);

/// pipe2(O_CLOEXEC); the read end (fds[0]) is additionally O_NONBLOCK when requested.
int procmgr_pipe_cloexec(int fds[2], int nonblocking_read_end);

/// Names the calling thread (prctl PR_SET_NAME, 15 bytes max).
void procmgr_set_current_thread_name(const char *name);

// MARK: - SIGCHLD notification

/// Installs a SIGCHLD handler (SA_RESTART | SA_NOCLDSTOP) that writes 1 to `eventfd`, and then
/// calls whatever handler was installed before. Returns 0 or -1 with errno.
int procmgr_install_sigchld_notifier(int eventfd);

// MARK: - guardian

/// One record the agent sends to the guardian (SOCK_SEQPACKET, fixed size).
typedef struct procmgr_guardian_record {
    int32_t op;
    int32_t pgid;
} procmgr_guardian_record;

enum {
    PROCMGR_GUARDIAN_ADD = 1,
    PROCMGR_GUARDIAN_REMOVE = 2,
    /// Exit without killing anything (graceful shutdown, `orphans: adopt`).
    PROCMGR_GUARDIAN_DISARM = 3,
};

/// Forks the guardian. The child closes every descriptor but its end of a socketpair, calls
/// setsid(), and from then on only reads records; on EOF (the agent died, however) it sends
/// SIGKILL to every registered process group and exits. Returns 0 and fills the agent's
/// socket end (CLOEXEC, blocking) and the guardian pid, or -1 with errno.
int procmgr_guardian_start(int *out_socket, pid_t *out_pid);

/// send(MSG_NOSIGNAL) of one record; returns 0 or -1 with errno (EPIPE: guardian gone).
int procmgr_guardian_send(int socket_fd, int32_t op, int32_t pgid);

// MARK: - guardian: the cgroup it kills (issue 12)

enum {
    /// A record followed by a path (`pgid` holds its length): the cgroup v2 directory whose
    /// cgroup.kill the guardian writes "1" to when the agent dies. Replaces the previous one;
    /// an empty path clears it.
    PROCMGR_GUARDIAN_KILL_CGROUP = 4,
    /// The longest such path, in bytes (without the terminating zero).
    PROCMGR_GUARDIAN_PATH_MAX = 4000,
};

/// Sends the kill-cgroup record; returns 0 or -1 with errno (ENAMETOOLONG, EPIPE: guardian gone).
int procmgr_guardian_send_kill_cgroup(int socket_fd, const char *path);

// MARK: - the shared stderr sink (issue 15)

/// Opens the agent's receiving datagram socket (non-blocking, CLOEXEC) bound to the abstract
/// name `name` (no leading '@'), with a receive buffer of `receive_buffer` bytes where allowed.
/// Returns the descriptor or -1 with errno.
int procmgr_stderr_sink_open(const char *name, int receive_buffer);

/// A child's stderr: a blocking datagram socket (CLOEXEC) bound to the abstract `own_name` and
/// connected to the sink `sink_name`, with a send buffer of `send_buffer` bytes where allowed.
/// Returns the descriptor or -1 with errno.
int procmgr_stderr_sink_child_end(const char *sink_name, const char *own_name, int send_buffer);

/// Receives one datagram without blocking; the sender's abstract name goes to `from` (cut to
/// `from_capacity`, `*from_length` 0 for an unnamed sender). Returns the datagram's full length
/// (more than `capacity` if it was cut), or -1 with errno (EAGAIN: none queued).
long procmgr_stderr_sink_receive(int fd, void *buffer, size_t capacity, char *from, size_t from_capacity, size_t *from_length);

#ifdef __cplusplus
}
#endif

#endif
