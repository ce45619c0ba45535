#!/usr/bin/env python3
"""Child side of the procmgr heartbeat, without dependencies.

procmgr passes one end of a socketpair as the descriptor named by PROCMGR_HEARTBEAT_FD and
writes "PING <seq>\n" on it; answer each with "PONG <seq>\n". End-of-file means the agent
died (or dropped us): exit, so no orphan keeps running without its supervisor.

Run the answering loop on a thread of its own so a busy main loop does not delay PONGs
(a delayed PONG is exactly what the agent reports as a hung process).
"""
import os
import sys
import threading


def serve(fd: int) -> None:
    pending = b""
    while True:
        try:
            data = os.read(fd, 4096)
        except InterruptedError:
            continue
        except OSError:
            data = b""
        if not data:
            os._exit(0)  # the agent is gone
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.startswith(b"PING "):
                os.write(fd, b"PONG " + line[5:].strip() + b"\n")
        if len(pending) > 64:  # not our protocol; do not grow without bound
            pending = b""


def start() -> bool:
    raw = os.environ.get("PROCMGR_HEARTBEAT_FD")
    if raw is None:
        return False
    fd = int(raw)
    os.set_inheritable(fd, False)  # do not leak it to our own children
    threading.Thread(target=serve, args=(fd,), name="heartbeat", daemon=True).start()
    return True


if __name__ == "__main__":
    if not start():
        sys.exit("PROCMGR_HEARTBEAT_FD is not set")
    print("ready", flush=True)
    # The real work of the service would go here.
    threading.Event().wait()
