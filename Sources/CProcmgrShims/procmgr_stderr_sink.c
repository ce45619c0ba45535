// The shared stderr sink: one AF_UNIX datagram socket of the agent that receives every child's
// stderr, each child writing through its own socket bound to a name of its own (see
// StderrSink.swift for why).
#include "procmgr_shims.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/// Fills an abstract address (leading NUL) for `name`; returns its length or -1 (too long).
static int abstract_address(const char *name, struct sockaddr_un *address) {
    size_t length = strlen(name);
    if (length == 0 || length > sizeof(address->sun_path) - 1) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    memcpy(address->sun_path + 1, name, length);
    return (int)(offsetof(struct sockaddr_un, sun_path) + 1 + length);
}

/// A datagram socket of `flags` bound to the abstract `name`, and connected to `peer` unless it
/// is NULL; -1 with errno (the socket closed) on any failure.
static int bound_datagram_socket(const char *name, const char *peer, int flags) {
    struct sockaddr_un own, remote;
    int own_length = abstract_address(name, &own);
    int remote_length = peer == NULL ? 0 : abstract_address(peer, &remote);
    if (own_length < 0 || remote_length < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | flags, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&own, (socklen_t)own_length) != 0 ||
        (peer != NULL && connect(fd, (struct sockaddr *)&remote, (socklen_t)remote_length) != 0)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/// Sets a socket buffer (SO_SNDBUF or SO_RCVBUF) to `bytes`, past the sysctl cap where the process
/// may (the FORCE variant), else as far as the cap allows.
static void set_buffer(int fd, int force_option, int option, int bytes) {
    if (bytes <= 0) return;
    if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) != 0)
        (void)setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

int procmgr_stderr_sink_open(const char *name, int receive_buffer) {
    int fd = bound_datagram_socket(name, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, receive_buffer);
    return fd;
}

int procmgr_stderr_sink_child_end(const char *sink_name, const char *own_name, int send_buffer) {
    // Blocking (the child's writes wait when the sink's queue is full, as on a full pipe). The
    // largest single write() the child can make to stderr is the send buffer minus a little.
    int fd = bound_datagram_socket(own_name, sink_name, SOCK_CLOEXEC);
    if (fd >= 0) set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, send_buffer);
    return fd;
}

long procmgr_stderr_sink_receive(int fd, void *buffer, size_t capacity, char *from, size_t from_capacity, size_t *from_length) {
    struct sockaddr_un address;
    socklen_t address_length = sizeof address;
    ssize_t received;
    do {
        address_length = sizeof address;
        received = recvfrom(fd, buffer, capacity, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&address, &address_length);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return -1;
    *from_length = 0;
    size_t path_offset = offsetof(struct sockaddr_un, sun_path);
    // Only an abstract sender name identifies a child's stderr; anything else reads as unnamed.
    if (address_length > path_offset + 1 && address.sun_path[0] == '\0') {
        size_t length = address_length - path_offset - 1;
        if (length > from_capacity) length = from_capacity;
        memcpy(from, address.sun_path + 1, length);
        *from_length = length;
    }
    return (long)received;
}
