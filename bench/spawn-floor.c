// The floor for the cold-start rows of bench/compare-supervisors.sh: what starting N `sleep 600`
// costs on this machine when nothing else is done — one posix_spawnp per program, each the leader
// of its own process group, no supervision, no output capture, no bookkeeping.
//
// Usage: spawn-floor N. Prints "SPAWNED N SECONDS" (from before the first spawn to the return of
// the last: glibc's posix_spawn returns once the child has exec'd), then sleeps until killed.
// Its children are left to the caller (peerbench.py is a subreaper and kills what it started).
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 2 || atoi(argv[1]) <= 0) {
        fprintf(stderr, "usage: spawn-floor N\n");
        return 2;
    }
    int count = atoi(argv[1]);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    char *arguments[] = {"sleep", "600", NULL};
    double start = seconds();
    for (int i = 0; i < count; i++) {
        pid_t pid;
        int error = posix_spawnp(&pid, "sleep", NULL, &attributes, arguments, environ);
        if (error != 0) {
            fprintf(stderr, "posix_spawnp: error %d at %d\n", error, i);
            return 1;
        }
    }
    printf("SPAWNED %d %.6f\n", count, seconds() - start);
    fflush(stdout);
    for (;;) pause();
}
