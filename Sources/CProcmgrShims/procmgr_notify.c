// See procmgr_notify.h for why this code is in C.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "procmgr_notify.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_address(struct sockaddr_un *address, socklen_t *length, const char *name, size_t name_length, int abstract) {
    memset(address, 0, sizeof(*address));
    address->sun_family = AF_UNIX;
    size_t offset = abstract ? 1 : 0;
    if (name_length == 0 || name_length + offset > sizeof(address->sun_path) - (abstract ? 0 : 1)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(address->sun_path + offset, name, name_length);
    *length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + offset + name_length + (abstract ? 0 : 1));
    return 0;
}

int procmgr_notify_socket_open(const char *name, size_t name_length) {
    struct sockaddr_un address;
    socklen_t address_length;
    if (fill_address(&address, &address_length, name, name_length, 1) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&address, address_length) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int procmgr_notify_receive(int fd, void *buffer, size_t capacity, procmgr_notify_datagram *out) {
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * PROCMGR_NOTIFY_MAX_FDS)];
    } control;
    struct iovec iov = {.iov_base = buffer, .iov_len = capacity};
    struct msghdr message = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = sizeof(control.bytes),
    };
    memset(out, 0, sizeof(*out));
    ssize_t n;
    do {
        n = recvmsg(fd, &message, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    // With MSG_TRUNC, recvmsg returns the datagram's real length.
    out->truncated = (message.msg_flags & MSG_TRUNC) != 0 || (size_t)n > capacity;
    out->length = (size_t)n > capacity ? capacity : (size_t)n;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET) continue;
        if (header->cmsg_type == SCM_CREDENTIALS && header->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
            struct ucred credentials;
            memcpy(&credentials, CMSG_DATA(header), sizeof(credentials));
            out->has_credentials = 1;
            out->pid = credentials.pid;
            out->uid = credentials.uid;
            out->gid = credentials.gid;
        } else if (header->cmsg_type == SCM_RIGHTS) {
            size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int passed;
                memcpy(&passed, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
                if (out->fd_count < PROCMGR_NOTIFY_MAX_FDS) {
                    out->fds[out->fd_count++] = passed;
                } else {
                    close(passed);  // cannot happen with one SCM_RIGHTS header; never leak
                }
            }
        }
    }
    return 1;
}

int procmgr_notify_close_fds(procmgr_notify_datagram *datagram) {
    int closed = datagram->fd_count;
    for (int i = 0; i < datagram->fd_count; i++) close(datagram->fds[i]);
    datagram->fd_count = 0;
    return closed;
}

int procmgr_notify_send(const char *address, const void *data, size_t length, int pass_fd) {
    struct sockaddr_un target;
    socklen_t target_length;
    int abstract = address[0] == '@';
    const char *name = abstract ? address + 1 : address;
    if (fill_address(&target, &target_length, name, strlen(name), abstract) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct iovec iov = {.iov_base = (void *)data, .iov_len = length};
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr message = {
        .msg_name = &target,
        .msg_namelen = target_length,
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };
    if (pass_fd >= 0) {
        memset(&control, 0, sizeof(control));
        message.msg_control = control.bytes;
        message.msg_controllen = sizeof(control.bytes);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &pass_fd, sizeof(int));
    }
    ssize_t n;
    do {
        n = sendmsg(fd, &message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : 0;
}
