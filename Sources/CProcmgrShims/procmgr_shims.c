// See procmgr_shims.h for why this code is in C.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "procmgr_shims.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <link.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif
// 32-bit ABIs with 16-bit legacy calls name the 32-bit-id versions differently.
#ifdef SYS_setgroups32
#define PROCMGR_SYS_SETGROUPS SYS_setgroups32
#define PROCMGR_SYS_SETGID SYS_setgid32
#define PROCMGR_SYS_SETUID SYS_setuid32
#else
#define PROCMGR_SYS_SETGROUPS SYS_setgroups
#define PROCMGR_SYS_SETGID SYS_setgid
#define PROCMGR_SYS_SETUID SYS_setuid
#endif

// Kernel sigset size in bytes (the kernel's, not glibc's 1024-bit sigset_t).
#define PROCMGR_KERNEL_SIGSET_BYTES (_NSIG / 8)
// Upper bound of fd mappings handled by the child (no malloc there, so a fixed array).
#define PROCMGR_MAX_FD_MAPPINGS 256
#define PROCMGR_CHILD_STACK_BYTES (128 * 1024)

// MARK: - signal mask helpers (raw syscalls: glibc's wrappers refuse to block its own
// internal signals, and a glibc-internal handler must not run in a CLONE_VM child either).

static void block_all_signals(sigset_t *old) {
    sigset_t all;
    memset(&all, 0xff, sizeof all);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, old, PROCMGR_KERNEL_SIGSET_BYTES);
}

static void set_signal_mask(const sigset_t *mask) {
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, mask, NULL, PROCMGR_KERNEL_SIGSET_BYTES);
}

/// In the child: PR_SET_PDEATHSIG(SIGKILL), then a check that the parent did not die before it
/// was armed (then nobody would kill us). Returns the failed stage (errno set), or
/// PROCMGR_STAGE_NONE. Plain syscalls only: it runs between clone and exec.
static int arm_pdeathsig(const procmgr_spawn_attr *a) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return PROCMGR_STAGE_PDEATHSIG;
    if (getppid() != a->expected_parent) {
        errno = ESRCH;
        return PROCMGR_STAGE_PARENT_GONE;
    }
    return PROCMGR_STAGE_NONE;
}

static void reset_signal_dispositions(void) {
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        // EINVAL for glibc-internal real-time signals is expected and harmless.
        (void)sigaction(sig, &sa, NULL);
    }
}

// MARK: - spawn

typedef struct child_context {
    const procmgr_spawn_attr *attr;
    int err_fd;
    /// Non-zero: the child was cloned with CLONE_FILES and must unshare its fd table (keeping
    /// only descriptors below this number) before it changes any descriptor.
    int unshare_below;
    /// Index of `cgroup_procs_fds` not to write (-1: none): clone3 created the child in it.
    int skip_cgroup_index;
} child_context;

static void report_failure(int fd, int stage, int err, int detail) {
    int32_t rec[3] = {stage, err, detail};
    ssize_t r;
    do {
        r = write(fd, rec, sizeof rec);
    } while (r < 0 && errno == EINTR);
}

// Runs in the child on its own stack while the parent thread is suspended (CLONE_VFORK).
// Shares the parent's memory: syscalls only, no malloc, no locks, no Swift.
// Under the thread sanitizer (the test command's TSan pass builds this file with it), the child
// must not share the agent's memory: the sanitizer's interceptors of close/dup2/execve would
// update its bookkeeping from a thread it never saw, and it aborts ("CHECK failed ...
// thr->slot"). A copy-on-write child behaves the same, only slower to clone.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PROCMGR_CLONE_VM 0
#endif
#endif
#ifndef PROCMGR_CLONE_VM
#define PROCMGR_CLONE_VM CLONE_VM
#endif

static int child_main(void *arg) {
    child_context *ctx = (child_context *)arg;
    const procmgr_spawn_attr *a = ctx->attr;
    int err_fd = ctx->err_fd;
    int stage = PROCMGR_STAGE_NONE;
    int detail = 0;

    // All signals are blocked (inherited from the parent thread). Put every disposition back
    // to the default before unblocking, so no handler of the agent ever runs in the child and
    // signals the agent ignores (SIGPIPE, typically) behave normally in the child.
    reset_signal_dispositions();

    if (a->new_process_group && setpgid(0, 0) != 0) {
        stage = PROCMGR_STAGE_SETPGID;
        goto fail;
    }

    if (a->set_pdeathsig && (stage = arm_pdeathsig(a)) != PROCMGR_STAGE_NONE) goto fail;

    // Join the process's cgroups before anything else: from here on every descendant and every
    // resource the child uses is accounted there. The descriptors are the parent's: still
    // shared (CLONE_FILES) or just copied (plain path), so they are valid here and nowhere later.
    // A write of "0" moves the writer's whole process (this child).
    if (a->cgroup_procs_count < 0) {
        errno = EINVAL;
        stage = PROCMGR_STAGE_CGROUP;
        goto fail;
    }
    for (int i = 0; i < a->cgroup_procs_count; i++) {
        if (i == ctx->skip_cgroup_index) continue;
        ssize_t w;
        do {
            w = write(a->cgroup_procs_fds[i], "0", 1);
        } while (w < 0 && errno == EINTR);
        if (w != 1) {
            if (w >= 0) errno = EIO;
            stage = PROCMGR_STAGE_CGROUP;
            detail = i;
            goto fail;
        }
    }

    if (ctx->unshare_below > 0) {
        // Until this point the table is the parent's own: every change would be seen by the
        // agent's other threads. close_range(UNSHARE) copies only the descriptors below
        // `unshare_below` (the slots holding what we keep are among them); unshare() is the
        // slow but equivalent fallback for kernels without it.
        if (syscall(SYS_close_range, (unsigned)ctx->unshare_below, ~0U, CLOSE_RANGE_UNSHARE) != 0 &&
            syscall(SYS_unshare, CLONE_FILES) != 0) {
            stage = PROCMGR_STAGE_FDS;
            goto fail;
        }
    }

    {
        int count = a->fd_count;
        if (count < 0 || count > PROCMGR_MAX_FD_MAPPINGS) {
            errno = EINVAL;
            stage = PROCMGR_STAGE_FDS;
            goto fail;
        }
        int max_target = 2;
        for (int i = 0; i < count; i++) {
            if (a->fd_targets[i] > max_target) max_target = a->fd_targets[i];
        }
        int floor = max_target + 1;
        // Move the error pipe and every source above all target numbers first, so a dup2 onto
        // a target can never clobber a descriptor that is still needed.
        if (err_fd <= max_target) {
            int moved = fcntl(err_fd, F_DUPFD_CLOEXEC, floor);
            if (moved < 0) {
                stage = PROCMGR_STAGE_FDS;
                goto fail;
            }
            err_fd = moved;
        }
        int moved[PROCMGR_MAX_FD_MAPPINGS];
        for (int i = 0; i < count; i++) {
            moved[i] = fcntl(a->fd_sources[i], F_DUPFD_CLOEXEC, floor);
            if (moved[i] < 0) {
                stage = PROCMGR_STAGE_FDS;
                goto fail;
            }
        }
        for (int i = 0; i < count; i++) {
            // dup2 clears FD_CLOEXEC on the target: exactly the descriptors we want to pass.
            if (dup2(moved[i], a->fd_targets[i]) < 0) {
                stage = PROCMGR_STAGE_FDS;
                goto fail;
            }
        }
        for (int fd = 0; fd <= max_target; fd++) {
            int is_target = 0;
            for (int i = 0; i < count; i++) {
                if (a->fd_targets[i] == fd) {
                    is_target = 1;
                    break;
                }
            }
            if (!is_target) (void)close(fd);
        }
        // Everything above the targets (including the error pipe) closes at exec.
        if (syscall(SYS_close_range, (unsigned)floor, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            for (int fd = floor; fd < a->fd_limit; fd++) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }

    // Limits after the descriptor shuffle (a low RLIMIT_NOFILE would make its dups fail) and
    // before the credentials change (raising a hard limit needs the privileges we drop next;
    // RLIMIT_NPROC then counts against the new user at exec).
    for (int i = 0; i < a->rlimit_count; i++) {
        struct {
            uint64_t soft;
            uint64_t hard;
        } lim = {a->rlimits[i].soft, a->rlimits[i].hard};
        if (syscall(SYS_prlimit64, 0, a->rlimits[i].resource, &lim, NULL) != 0) {
            stage = PROCMGR_STAGE_RLIMIT;
            detail = i;
            goto fail;
        }
    }

    // Raw syscalls only (see set_identity in the header): they change this task's credentials
    // and nothing else. Groups first and uid last: both earlier steps need the privilege the
    // uid switch drops. Before chdir, so the directory is entered with the user's rights.
    if (a->set_identity) {
        if (syscall(PROCMGR_SYS_SETGROUPS, (size_t)(a->group_count < 0 ? 0 : a->group_count), a->groups) != 0) {
            stage = PROCMGR_STAGE_SETGROUPS;
            goto fail;
        }
        if (syscall(PROCMGR_SYS_SETGID, (gid_t)a->gid) != 0) {
            stage = PROCMGR_STAGE_SETGID;
            goto fail;
        }
        if (syscall(PROCMGR_SYS_SETUID, (uid_t)a->uid) != 0) {
            stage = PROCMGR_STAGE_SETUID;
            goto fail;
        }
        // The kernel clears PDEATHSIG when the effective uid or gid changes: arm it again, and
        // again make sure the parent did not die in between.
        if (a->set_pdeathsig && (stage = arm_pdeathsig(a)) != PROCMGR_STAGE_NONE) goto fail;
    }

    if (a->working_dir != NULL && chdir(a->working_dir) != 0) {
        stage = PROCMGR_STAGE_CHDIR;
        goto fail;
    }

    {
        sigset_t empty;
        memset(&empty, 0, sizeof empty);
        set_signal_mask(&empty);
    }
    execve(a->path, a->argv, a->envp);
    stage = PROCMGR_STAGE_EXEC;

fail:
    report_failure(err_fd, stage, errno, detail);
    _exit(127);
}

// MARK: - clone3 into a cgroup

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/// The kernel's `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2, Linux 5.7).
typedef struct procmgr_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
} procmgr_clone_args;

/// clone3(args, size); in the child (on `args->stack`) calls fn(arg) and exits with its result,
/// never returning. Returns the child's pid, or -errno. glibc does not export its clone3, and a
/// child on a new stack cannot return through C frames: hence the few instructions of assembly,
/// the same sequence as glibc's clone for the child side.
__attribute__((visibility("hidden")))
long procmgr_raw_clone3(procmgr_clone_args *args, size_t size, int (*fn)(void *), void *arg);
#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl procmgr_raw_clone3\n"
    ".hidden procmgr_raw_clone3\n"
    ".type procmgr_raw_clone3,@function\n"
    "procmgr_raw_clone3:\n"
    "    mov %rdx, %r8\n"          // fn and arg survive the syscall in r8/r9 (it clobbers rcx, r11)
    "    mov %rcx, %r9\n"
    "    mov $435, %eax\n"         // SYS_clone3; rdi = args, rsi = size
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 1f\n"                 // the parent (pid) or an error (-errno)
    "    xor %ebp, %ebp\n"         // the child, on its own stack: outermost frame
    "    mov %r9, %rdi\n"
    "    call *%r8\n"
    "    mov %eax, %edi\n"
    "    mov $60, %eax\n"          // SYS_exit
    "    syscall\n"
    "    hlt\n"
    "1:  ret\n"
    ".size procmgr_raw_clone3, .-procmgr_raw_clone3\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".globl procmgr_raw_clone3\n"
    ".hidden procmgr_raw_clone3\n"
    ".type procmgr_raw_clone3,%function\n"
    "procmgr_raw_clone3:\n"
    "    mov x10, x2\n"
    "    mov x11, x3\n"
    "    mov x8, #435\n"           // SYS_clone3; x0 = args, x1 = size
    "    svc #0\n"
    "    cbnz x0, 1f\n"
    "    mov x29, xzr\n"
    "    mov x0, x11\n"
    "    blr x10\n"
    "    mov x8, #93\n"            // SYS_exit
    "    svc #0\n"
    "1:  ret\n"
    ".size procmgr_raw_clone3, .-procmgr_raw_clone3\n");
#else
long procmgr_raw_clone3(procmgr_clone_args *args, size_t size, int (*fn)(void *), void *arg) {
    (void)args; (void)size; (void)fn; (void)arg;
    return -ENOSYS;
}
#endif

static __thread void *cached_child_stack = NULL;

int procmgr_spawn_reserve_slots(int filler, int *slots, int count) {
    for (int i = 0; i < count; i++) {
        slots[i] = fcntl(filler, F_DUPFD_CLOEXEC, 0);
        if (slots[i] < 0) {
            int saved = errno;
            for (int j = 0; j < i; j++) close(slots[j]);
            errno = saved;
            return -1;
        }
    }
    return 0;
}

// Points `slots[0..<used]` back at the filler, dropping the parent's extra references (a pipe's
// write end parked in a slot would otherwise keep the reader from ever seeing EOF).
static void restore_slots(const procmgr_spawn_attr *attr, int used) {
    for (int i = 0; i < used; i++) (void)dup3(attr->slot_filler, attr->slots[i], O_CLOEXEC);
}

int procmgr_spawn(const procmgr_spawn_attr *attr, pid_t *out_pid, int *out_pidfd,
                  int *out_stage, int *out_errno, int *out_detail) {
    *out_stage = PROCMGR_STAGE_NONE;
    *out_errno = 0;
    *out_detail = 0;
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0) {
        *out_stage = PROCMGR_STAGE_PARENT;
        *out_errno = errno;
        return -1;
    }

    // Spawns are serialised on one thread, so one stack per thread is enough.
    if (cached_child_stack == NULL) {
        void *stack = mmap(NULL, PROCMGR_CHILD_STACK_BYTES, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED) {
            *out_stage = PROCMGR_STAGE_PARENT;
            *out_errno = errno;
            close(errpipe[0]);
            close(errpipe[1]);
            return -1;
        }
        cached_child_stack = stack;
    }

    // Fast path: park every source and the error pipe's write end in the slots (only this
    // thread touches them), so the child keeps just the low end of a shared fd table.
    procmgr_spawn_attr parked = *attr;
    int parked_sources[PROCMGR_MAX_FD_MAPPINGS];
    int slots_used = 0;
    int unshare_below = 0;
    int child_err_fd = errpipe[1];
    if (attr->slots != NULL && attr->fd_count >= 0 && attr->fd_count < PROCMGR_MAX_FD_MAPPINGS &&
        attr->fd_count + 1 <= attr->slot_count) {
        int highest = 0;
        for (int i = 0; i <= attr->fd_count; i++) {
            int source = i < attr->fd_count ? attr->fd_sources[i] : errpipe[1];
            int slot = attr->slots[i];
            if (dup3(source, slot, O_CLOEXEC) < 0) {
                int saved = errno;
                restore_slots(attr, slots_used);
                close(errpipe[0]);
                close(errpipe[1]);
                *out_stage = PROCMGR_STAGE_FDS;
                *out_errno = saved;
                return -1;
            }
            slots_used++;
            if (i < attr->fd_count) parked_sources[i] = slot;
            if (slot > highest) highest = slot;
        }
        child_err_fd = attr->slots[attr->fd_count];
        close(errpipe[1]);
        errpipe[1] = -1;
        parked.fd_sources = parked_sources;
        unshare_below = highest + 1;
    }
    child_context ctx = {.attr = &parked, .err_fd = child_err_fd, .unshare_below = unshare_below, .skip_cgroup_index = -1};
    int pidfd = -1;
    int flags = PROCMGR_CLONE_VM | CLONE_VFORK | CLONE_PIDFD | (unshare_below > 0 ? CLONE_FILES : 0);
    sigset_t old;
    block_all_signals(&old);
    pid_t pid = -1;
    int clone_errno = 0;
    if (attr->cgroup_into_fd >= 0) {
        procmgr_clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP;
        args.pidfd = (uint64_t)(uintptr_t)&pidfd;
        args.exit_signal = SIGCHLD;
        args.stack = (uint64_t)(uintptr_t)cached_child_stack;
        args.stack_size = PROCMGR_CHILD_STACK_BYTES;
        args.cgroup = (uint64_t)attr->cgroup_into_fd;
        ctx.skip_cgroup_index = attr->cgroup_into_skip;
        long r = procmgr_raw_clone3(&args, sizeof args, child_main, &ctx);
        if (r > 0) {
            pid = (pid_t)r;
        } else {
            // Any refusal (ENOSYS, E2BIG before 5.7, a cgroup the kernel will not create into):
            // the plain clone below, whose child writes cgroup.procs and reports its own error.
            ctx.skip_cgroup_index = -1;
            pidfd = -1;
        }
    }
    if (pid < 0) {
        pid = clone(child_main, (char *)cached_child_stack + PROCMGR_CHILD_STACK_BYTES, flags | SIGCHLD,
                    &ctx, &pidfd);
        clone_errno = errno;
    }
    set_signal_mask(&old);
    // The child has exec'd or exited (CLONE_VFORK): our parked copies, including the error
    // pipe's write end, must go now or the read below would never see EOF.
    restore_slots(attr, slots_used);
    if (errpipe[1] >= 0) close(errpipe[1]);

    if (pid < 0) {
        close(errpipe[0]);
        *out_stage = PROCMGR_STAGE_PARENT;
        *out_errno = clone_errno;
        return -1;
    }

    // CLONE_VFORK: we resume only after the child called execve (pipe closed by CLOEXEC, read
    // returns 0) or _exit (after writing its failure record).
    int32_t rec[3];
    ssize_t n;
    do {
        n = read(errpipe[0], rec, sizeof rec);
    } while (n < 0 && errno == EINTR);
    close(errpipe[0]);

    if (n == (ssize_t)sizeof rec) {
        siginfo_t si;
        int r;
        do {
            memset(&si, 0, sizeof si);
            r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL);
        } while (r < 0 && errno == EINTR);
        close(pidfd);
        *out_stage = rec[0];
        *out_errno = rec[1];
        *out_detail = rec[2];
        return -1;
    }
    *out_pid = pid;
    *out_pidfd = pidfd;
    return 0;
}

// MARK: - pidfd, waitid, subreaper

int procmgr_pidfd_open(pid_t pid, unsigned int flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

int procmgr_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int procmgr_set_child_subreaper(int on) {
    return prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)(on ? 1 : 0), 0, 0, 0);
}

int procmgr_is_child_subreaper(void) {
    int value = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&value, 0, 0, 0) != 0) return -1;
    return value;
}

static int finish_wait(int r, const siginfo_t *si, pid_t *out_pid, int *out_code,
                       int *out_status) {
    if (r < 0) return -1;
    if (si->si_pid == 0) return 0;
    if (out_pid) *out_pid = si->si_pid;
    if (out_code) *out_code = si->si_code;
    if (out_status) *out_status = si->si_status;
    return 1;
}

int procmgr_wait_pidfd(int pidfd, pid_t *out_pid, int *out_code, int *out_status) {
    siginfo_t si;
    int r;
    do {
        memset(&si, 0, sizeof si);
        r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | __WALL);
    } while (r < 0 && errno == EINTR);
    return finish_wait(r, &si, out_pid, out_code, out_status);
}

int procmgr_peek_exited_child(pid_t *out_pid) {
    siginfo_t si;
    int r;
    do {
        memset(&si, 0, sizeof si);
        r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL);
    } while (r < 0 && errno == EINTR);
    return finish_wait(r, &si, out_pid, NULL, NULL);
}

int procmgr_reap_pid(pid_t pid, int *out_code, int *out_status) {
    siginfo_t si;
    int r;
    do {
        memset(&si, 0, sizeof si);
        r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | __WALL);
    } while (r < 0 && errno == EINTR);
    return finish_wait(r, &si, NULL, out_code, out_status);
}

// MARK: - epoll

int procmgr_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int procmgr_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int procmgr_epoll_wait(int epfd, uint64_t *out_data, uint32_t *out_events, int max_events,
                       int timeout_ms) {
    struct epoll_event evs[256];
    if (max_events > 256) max_events = 256;
    int n;
    do {
        n = epoll_wait(epfd, evs, max_events, timeout_ms);
    } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        out_data[i] = evs[i].data.u64;
        out_events[i] = evs[i].events;
    }
    return n;
}

int procmgr_eventfd(unsigned int initval, int nonblocking) {
    return eventfd(initval, EFD_CLOEXEC | (nonblocking ? EFD_NONBLOCK : 0));
}

int procmgr_timerfd_create(void) {
    return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

int procmgr_timerfd_arm_absolute(int fd, uint64_t deadline_ns) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    // 0 would disarm; the clock never reads 0, so 1 ns is "already past".
    if (deadline_ns == 0) deadline_ns = 1;
    spec.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ULL);
    spec.it_value.tv_nsec = (long)(deadline_ns % 1000000000ULL);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

uint64_t procmgr_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int procmgr_pipe_cloexec(int fds[2], int nonblocking_read_end) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    if (nonblocking_read_end) {
        int flags = fcntl(fds[0], F_GETFL);
        (void)fcntl(fds[0], F_SETFL, flags | O_NONBLOCK);
    }
    return 0;
}

void procmgr_set_current_thread_name(const char *name) {
    (void)prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

// MARK: - SIGCHLD notification

static volatile int sigchld_eventfd = -1;
static struct sigaction previous_sigchld;

static void on_sigchld(int sig, siginfo_t *info, void *context) {
    int saved = errno;
    int fd = sigchld_eventfd;
    if (fd >= 0) {
        uint64_t one = 1;
        ssize_t r = write(fd, &one, sizeof one);
        (void)r;
    }
    if (previous_sigchld.sa_flags & SA_SIGINFO) {
        if (previous_sigchld.sa_sigaction != NULL) previous_sigchld.sa_sigaction(sig, info, context);
    } else if (previous_sigchld.sa_handler != SIG_DFL && previous_sigchld.sa_handler != SIG_IGN &&
               previous_sigchld.sa_handler != NULL) {
        previous_sigchld.sa_handler(sig);
    }
    errno = saved;
}

int procmgr_install_sigchld_notifier(int eventfd) {
    sigchld_eventfd = eventfd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigchld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    struct sigaction old;
    if (sigaction(SIGCHLD, &sa, &old) != 0) return -1;
    if (old.sa_sigaction != on_sigchld) previous_sigchld = old;
    return 0;
}

// MARK: - guardian

// PID_MAX_LIMIT on 64-bit Linux is 2^22: a bitmap of every possible pgid is 512 KiB, touched
// lazily (MAP_NORESERVE), O(1) add/remove, no allocation.
#define GUARDIAN_PID_LIMIT (1 << 22)

static void close_all_except(int keep) {
    if (keep > 0 && syscall(SYS_close_range, 0U, (unsigned)(keep - 1), 0U) != 0) {
        for (int fd = 0; fd < keep; fd++) (void)close(fd);
    }
    if (syscall(SYS_close_range, (unsigned)(keep + 1), ~0U, 0U) != 0) {
        for (int fd = keep + 1; fd < 65536; fd++) (void)close(fd);
    }
}

static void guardian_set_kill_cgroup(const char *path, size_t length);
static void guardian_kill_cgroup(void);

__attribute__((noreturn)) static void guardian_main(int fd) {
    // Async-signal-safe code only from here on: we were forked from a multi-threaded process.
    reset_signal_dispositions();
    {
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        (void)sigaction(SIGPIPE, &ign, NULL);
        (void)sigaction(SIGINT, &ign, NULL);
        (void)sigaction(SIGHUP, &ign, NULL);
    }
    {
        sigset_t empty;
        memset(&empty, 0, sizeof empty);
        set_signal_mask(&empty);
    }
    close_all_except(fd);
    (void)setsid();
    (void)prctl(PR_SET_NAME, (unsigned long)"procmgr-guard", 0, 0, 0);

    uint64_t *bits = mmap(NULL, GUARDIAN_PID_LIMIT / 8, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (bits == MAP_FAILED) _exit(70);
    int32_t highest = 0;

    for (;;) {
        // A fixed record, or one followed by a path (PROCMGR_GUARDIAN_KILL_CGROUP): one
        // SOCK_SEQPACKET message per read, never split or merged.
        union {
            procmgr_guardian_record rec;
            char bytes[sizeof(procmgr_guardian_record) + PROCMGR_GUARDIAN_PATH_MAX];
        } msg;
        ssize_t n = read(fd, &msg, sizeof msg);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EOF or error: the agent is gone.
        if (n < (ssize_t)sizeof msg.rec) continue;
        procmgr_guardian_record rec = msg.rec;
        if (rec.op == PROCMGR_GUARDIAN_KILL_CGROUP) {
            guardian_set_kill_cgroup(msg.bytes + sizeof rec, (size_t)n - sizeof rec);
            continue;
        }
        if (n != (ssize_t)sizeof rec) continue;
        int32_t pg = rec.pgid;
        switch (rec.op) {
        case PROCMGR_GUARDIAN_ADD:
            if (pg > 1 && pg < GUARDIAN_PID_LIMIT) {
                bits[pg / 64] |= (uint64_t)1 << (pg % 64);
                if (pg > highest) highest = pg;
            }
            break;
        case PROCMGR_GUARDIAN_REMOVE:
            if (pg > 1 && pg < GUARDIAN_PID_LIMIT) bits[pg / 64] &= ~((uint64_t)1 << (pg % 64));
            break;
        case PROCMGR_GUARDIAN_DISARM:
            _exit(0);
        default:
            break;
        }
    }
    guardian_kill_cgroup();
    for (int32_t pg = 2; pg <= highest; pg++) {
        if (bits[pg / 64] & ((uint64_t)1 << (pg % 64))) (void)kill(-pg, SIGKILL);
    }
    _exit(0);
}

int procmgr_guardian_start(int *out_socket, pid_t *out_pid) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    sigset_t old;
    block_all_signals(&old);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        guardian_main(sv[1]);
    }
    int fork_errno = errno;
    set_signal_mask(&old);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        errno = fork_errno;
        return -1;
    }
    *out_socket = sv[0];
    *out_pid = pid;
    return 0;
}

int procmgr_guardian_send(int socket_fd, int32_t op, int32_t pgid) {
    procmgr_guardian_record rec = {.op = op, .pgid = pgid};
    ssize_t n;
    do {
        n = send(socket_fd, &rec, sizeof rec, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if (n != (ssize_t)sizeof rec) {
        errno = EIO;
        return -1;
    }
    return 0;
}

// MARK: - guardian: the cgroup it kills (issue 12)
//
// Besides process groups, the guardian kills one cgroup v2 subtree — the agent's — by writing
// "1" to its cgroup.kill: that reaches members that left their process group (setsid, double
// fork). The path is kept in the guardian's static storage; open/write/close only.

static char guardian_cgroup_kill_file[PROCMGR_GUARDIAN_PATH_MAX + sizeof "/cgroup.kill"];

static void guardian_set_kill_cgroup(const char *path, size_t length) {
    static const char suffix[] = "/cgroup.kill";
    if (length == 0 || length >= PROCMGR_GUARDIAN_PATH_MAX) {
        guardian_cgroup_kill_file[0] = 0;
        return;
    }
    memcpy(guardian_cgroup_kill_file, path, length);
    memcpy(guardian_cgroup_kill_file + length, suffix, sizeof suffix);
}

static void guardian_kill_cgroup(void) {
    if (guardian_cgroup_kill_file[0] == 0) return;
    int fd = open(guardian_cgroup_kill_file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n;
    do {
        n = write(fd, "1", 1);
    } while (n < 0 && errno == EINTR);
    (void)close(fd);
}

int procmgr_guardian_send_kill_cgroup(int socket_fd, const char *path) {
    size_t length = strlen(path);
    if (length >= PROCMGR_GUARDIAN_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char msg[sizeof(procmgr_guardian_record) + PROCMGR_GUARDIAN_PATH_MAX];
    procmgr_guardian_record rec = {.op = PROCMGR_GUARDIAN_KILL_CGROUP, .pgid = (int32_t)length};
    memcpy(msg, &rec, sizeof rec);
    memcpy(msg + sizeof rec, path, length);
    ssize_t n;
    do {
        n = send(socket_fd, msg, sizeof rec + length, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if (n != (ssize_t)(sizeof rec + length)) {
        errno = EIO;
        return -1;
    }
    return 0;
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

struct release_pass {
    long advised;
    int failed;
};

// Called for every loaded object; the first is the main program (empty name).
static int release_main_program(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct release_pass *pass = data;
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        // Loadable and not writable: code, constants, unwind tables — clean file pages. The
        // writable segment (data, and RELRO, made read-only after relocation but anonymous
        // copies by then) is left alone: paging it out would only swap it.
        if (segment->p_type != PT_LOAD || (segment->p_flags & PF_W)) continue;
        uintptr_t first = info->dlpi_addr + segment->p_vaddr;
        uintptr_t last = first + segment->p_memsz;
        first = (first + page - 1) & ~(uintptr_t)(page - 1);  // inward: never a neighbour's page
        last &= ~(uintptr_t)(page - 1);
        if (last <= first) continue;
        if (madvise((void *)first, last - first, MADV_PAGEOUT) == 0) {
            pass->advised += (long)(last - first);
        } else {
            pass->failed = errno;
        }
    }
    return 1;  // the main program only
}

long procmgr_release_executable_pages(void) {
    // The kernel pages out a file's cached pages only for a caller that owns the file, may
    // write it, or has CAP_FOWNER (the page-cache side-channel rule); for anyone else the call
    // is a silent no-op, so do not make it.
    struct stat file;
    if (stat("/proc/self/exe", &file) != 0) return -1;
    if (geteuid() != 0 && geteuid() != file.st_uid && access("/proc/self/exe", W_OK) != 0) {
        errno = EPERM;
        return -1;
    }
    struct release_pass pass = {0, 0};
    dl_iterate_phdr(release_main_program, &pass);
    if (pass.advised == 0 && pass.failed) {
        errno = pass.failed;
        return -1;
    }
    return pass.advised;
}

int procmgr_heap_trim(void) {
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return 0;
#endif
}
