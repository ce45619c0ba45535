#ifndef PROCMGR_NOTIFY_H
#define PROCMGR_NOTIFY_H

// sd_notify datagrams (NOTIFY_SOCKET). In C because the ancillary data (SCM_CREDENTIALS,
// SCM_RIGHTS) is walked with the CMSG_* macros, which Swift cannot import.

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The most a NOTIFY_SOCKET datagram may carry; longer ones are truncated by the kernel and
/// dropped. systemd's limit (NOTIFY_BUFFER_MAX), so what systemd accepts, procmgr accepts.
enum { PROCMGR_NOTIFY_DATAGRAM_MAX = 4096 };
/// The kernel's limit of descriptors in one SCM_RIGHTS message (SCM_MAX_FD).
enum { PROCMGR_NOTIFY_MAX_FDS = 253 };

/// What one recvmsg() delivered.
typedef struct procmgr_notify_datagram {
    /// Bytes in the buffer (at most its capacity).
    size_t length;
    /// Non-zero when the datagram was longer than the buffer (MSG_TRUNC).
    int truncated;
    /// Non-zero when SCM_CREDENTIALS came with it (always, with SO_PASSCRED on).
    int has_credentials;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    /// Descriptors passed with SCM_RIGHTS (CLOEXEC), for ``procmgr_notify_close_fds``.
    int fd_count;
    int fds[PROCMGR_NOTIFY_MAX_FDS];
} procmgr_notify_datagram;

/// An AF_UNIX SOCK_DGRAM socket (CLOEXEC, non-blocking, SO_PASSCRED on) bound to the abstract
/// name `name` (`name_length` bytes, no leading NUL, at most 107). Returns the descriptor, or
/// -1 with errno (ENAMETOOLONG for a longer name).
int procmgr_notify_socket_open(const char *name, size_t name_length);

/// Receives one datagram into `buffer`, with the descriptors it passed in `out->fds`: the caller
/// must close them with ``procmgr_notify_close_fds`` — after it checked the sender, because a
/// client waiting on BARRIER=1 exits once they are closed, and an exited sender cannot be
/// placed in its process group any more. Returns 1 when a datagram was read, 0 when none is
/// waiting, -1 with errno otherwise.
int procmgr_notify_receive(int fd, void *buffer, size_t capacity, procmgr_notify_datagram *out);

/// Closes every descriptor the datagram passed (a client waiting on BARRIER=1 sees its end
/// close; nothing leaks) and returns how many.
int procmgr_notify_close_fds(procmgr_notify_datagram *datagram);

/// Sends one datagram to `address` the way sd_notify does (a leading '@' means the abstract
/// namespace), passing `pass_fd` with SCM_RIGHTS when it is >= 0. Returns 0 or -1 with errno.
/// For tests and the benchmark: a client of our own beside the real ones.
int procmgr_notify_send(const char *address, const void *data, size_t length, int pass_fd);

#ifdef __cplusplus
}
#endif

#endif
