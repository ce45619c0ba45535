#!/usr/bin/env python3
"""Peer side of bench/compare-supervisors.sh: runs supervisord, runit and s6 (and procmgr's
`procmgr-bench runtime-host` and the real agent, `procmgr run --config`, both measured from
outside exactly like them) through the comparison workloads, and prints the combined Markdown
table.

Method (the same for every supervisor):
- State is read from /proc (the supervisor's process tree), never from the supervisor's API:
  polling supervisord's API speeds it up. A program counts as running once its process exists
  and has exec'd `sleep` (its comm is `sleep`).
- Cold start: from launching the supervisor until all N programs run (so it includes the
  supervisor's own start-up; procmgr's in-process figure starts at the first `update`).
- Memory: sum of PSS (/proc/PID/smaps_rollup) of the supervisor's own processes, 3 s after all
  programs run (settled: procmgr trims its heap and pages out start-up code 1 s after a burst of
  spawns): every process of its tree that is not a `sleep` (supervisord; runsvdir + runsv×N;
  s6-svscan + s6-supervise×N; procmgr + its guardian); for the real agent exactly the agent and
  its guardian child.
- Idle CPU: scheduler runtime (/proc/PID/task/*/sched, se.sum_exec_runtime, ns precision) of the
  same processes over a window, as % of one core, summed per thread (see cpu_between).
- Exit → running: SIGKILL the oldest program process (once it ran ≥ 2 s), time until its parent
  has a new child that exec'd `sleep` (polled every ~0.2 ms).
- Stop: the peer's own stop command for all 100 programs; "command returns" is that command
  exiting, "last gone" is the last program process dead (missing or zombie). The agent has no
  "stop all": an operator stops everything by stopping the agent, so its command is SIGTERM to
  the agent and it "returns" once the agent has exited (which includes the agent's own shutdown).
- SIGKILL: 20 programs `sh -c 'sleep 600 & sleep 600 & exec sleep 600'`, SIGKILL the top process
  (supervisord, runsvdir, s6-svscan, procmgr, the agent), count the 60 `sleep`s alive 2 s later.

Cleanup: this process is a child subreaper, so every process it started — and every orphan of
them — stays its descendant; after each scenario all descendants are SIGKILLed and reaped.
"""
import argparse
import ctypes
import itertools
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SLEEP = "exec sleep 600"
TERM_IGNORING = "trap '' TERM; exec sleep 600"
FAMILY = "sleep 600 & sleep 600 & exec sleep 600"
BODIES = {SLEEP: "sleep", TERM_IGNORING: "term-ignoring", FAMILY: "family"}

now = time.monotonic


def log(message):
    print(f"[peerbench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc

def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def children(pid):
    """Children of every thread of pid."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        data = read(f"/proc/{pid}/task/{task}/children")
        if data:
            out.extend(int(x) for x in data.split())
    return out


def comm(pid):
    data = read(f"/proc/{pid}/comm")
    return data.decode(errors="replace").strip() if data else None


def stat(pid):
    """(state, ppid, starttime) or None."""
    data = read(f"/proc/{pid}/stat")
    if not data:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    return rest[0].decode(), int(rest[1]), int(rest[19])


def alive(pid, start=None):
    s = stat(pid)
    return s is not None and s[0] != "Z" and (start is None or s[2] == start)


def tree(root):
    out, queue = [], [root]
    while queue:
        for child in children(queue.pop()):
            out.append(child)
            queue.append(child)
    return out


def supervisor_processes(root):
    """The supervisor's own processes: its tree minus the programs."""
    return [root] + [p for p in tree(root) if comm(p) not in ("sleep", None)]


def thread_runtimes(pids):
    """{(pid, tid): scheduler runtime in s} of every thread (ns precision, unlike ticks)."""
    out = {}
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            data = read(f"/proc/{pid}/task/{task}/sched")
            for line in (data or b"").split(b"\n"):
                if line.startswith(b"se.sum_exec_runtime"):
                    out[(pid, task)] = float(line.split(b":")[1]) / 1000  # ms → s
    return out


def cpu_between(before, after):
    """CPU seconds used between two thread_runtimes() samples. Per thread, because a thread
    that exits takes its runtime out of the process's sum (libdispatch retires idle workers):
    a thread gone by the end contributes nothing, one new at the end all it used."""
    return sum(value - before.get(key, 0.0) for key, value in after.items())


def sharing_executable(pids):
    """Processes outside this run that run the executable of one of `pids`. PSS divides a file's
    pages among every process that maps it: with these, the memory figure reads too low."""
    def identity(pid):
        try:
            st = os.stat(f"/proc/{pid}/exe")
            return st.st_dev, st.st_ino
        except OSError:
            return None
    files = {identity(pid) for pid in pids} - {None}
    ours = set(tree(os.getpid())) | {os.getpid()}
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) not in ours and identity(e) in files]


def memory_mib(pids):
    pss = rss = 0
    for pid in pids:
        for line in (read(f"/proc/{pid}/smaps_rollup") or b"").split(b"\n"):
            if line.startswith(b"Pss:"):
                pss += int(line.split()[1])
            elif line.startswith(b"Rss:"):
                rss += int(line.split()[1])
    return pss / 1024, rss / 1024


# ---------------------------------------------------------------- cleanup

def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log("warning: cannot become a child subreaper; orphans go to init")


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_descendants(timeout=15):
    """SIGKILLs every descendant of this process (orphans included: we are their subreaper)."""
    deadline = now() + timeout
    while True:
        reap()
        pids = [p for p in tree(os.getpid()) if alive(p)]
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if now() > deadline:
            log(f"warning: {len(pids)} descendants survive SIGKILL: {pids[:10]}")
            return False
        time.sleep(0.02)


# ---------------------------------------------------------------- peers

class Peer:
    name = "?"
    depth = 1  # program processes are children (1) or grandchildren (2) of the top process
    # The stop command only asks (a signal): the stop is over when the top process has exited.
    stop_waits_for_exit = False

    def __init__(self, workdir, env):
        self.dir = workdir
        self.env = env
        self.logfile = open(os.path.join(workdir, f"{self.name}.out"), "wb")

    def launch(self, argv):
        return subprocess.Popen(argv, cwd=self.dir, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=self.logfile, stderr=subprocess.STDOUT, start_new_session=True)

    def own_processes(self, root):
        """What memory and idle CPU are summed over."""
        return supervisor_processes(root)

    def stop_command(self, ignoring):
        raise NotImplementedError

    def problems(self):
        """Lines of the peer's output worth a warning (read when its scenario ends)."""
        return []


class Supervisord(Peer):
    name = "supervisord"

    def write(self, programs):
        conf = os.path.join(self.dir, "supervisord.conf")
        self.conf = conf
        lines = [
            "[unix_http_server]", f"file={self.dir}/supervisor.sock", "",
            "[supervisord]", f"logfile={self.dir}/supervisord.log", f"pidfile={self.dir}/supervisord.pid",
            "nodaemon=true", "minfds=8192", f"childlogdir={self.dir}", "loglevel=info", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl=unix://{self.dir}/supervisor.sock", "",
        ]
        for name, body, grace in programs:
            command = "sleep 600" if body == SLEEP else shlex.join(["sh", "-c", body])
            lines += [
                f"[program:{name}]", f"command={command}", "startsecs=0", "autorestart=true",
                f"stopwaitsecs={grace}", "stdout_logfile=NONE", "stderr_logfile=NONE", "",
            ]
        with open(conf, "w") as f:
            f.write("\n".join(lines))

    def start(self):
        return self.launch(["supervisord", "-n", "-c", self.conf])

    def stop_command(self, ignoring):
        return ["supervisorctl", "-c", self.conf, "stop", "all"]


class ServiceDirPeer(Peer):
    depth = 2
    subdir = "service"

    def write(self, programs):
        self.root = os.path.join(self.dir, self.subdir)
        os.makedirs(self.root)
        self.services = []
        for name, body, grace in programs:
            path = os.path.join(self.root, name)
            os.makedirs(path)
            with open(os.path.join(path, "run"), "w") as f:
                f.write("#!/bin/sh\n" + body + "\n")
            os.chmod(os.path.join(path, "run"), 0o755)
            self.extra(path, body, grace)
            self.services.append(path)

    def extra(self, path, body, grace):
        pass


class Runit(ServiceDirPeer):
    name = "runit"

    def start(self):
        return self.launch(["runsvdir", "-P", self.root])

    def stop_command(self, ignoring):
        # force-stop: down, wait -w seconds, then kill what is still up.
        return (["sv", "-w", "1", "force-stop"] if ignoring else ["sv", "-w", "10", "down"]) + self.services


class S6(ServiceDirPeer):
    name = "s6"
    subdir = "scan"

    def extra(self, path, body, grace):
        if body == TERM_IGNORING:
            with open(os.path.join(path, "timeout-kill"), "w") as f:
                f.write(f"{int(grace * 1000)}\n")

    def start(self):
        # -c: s6-svscan maintains at most 500 services by default.
        return self.launch(["s6-svscan", "-c", "4096", self.root])

    def stop_command(self, ignoring):
        # s6-svc takes one service directory: one call each, then wait for all of them.
        script = 'for d do s6-svc -d "$d" || exit 1; done; exec s6-svwait -a -d -t 20000 "$@"'
        return ["sh", "-c", script, "s6-stop"] + self.services


class ProcmgrHost(Peer):
    """procmgr-bench runtime-host: procmgr measured from outside, like the peers."""
    name = "procmgr"
    bench = None

    def write(self, programs):
        self.count = len(programs)
        body = programs[0][1]
        self.kind = "sleep" if body == SLEEP else "family" if body == FAMILY else None
        if self.kind is None:
            raise ValueError("runtime-host runs only sleep or family programs")

    def start(self):
        return self.launch([self.bench, "runtime-host", str(self.count), self.kind, "400"])


def duration(seconds):
    """A config duration (`10s`, `1500ms`): whole seconds where exact, else milliseconds."""
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{round(seconds * 1000)}ms"


# 9464 is the agent's default listen address and 19464 the one other runs on this machine use.
RESERVED_PORTS = {9464, 19464}


def free_port():
    """A loopback TCP port nothing listens on. Picked below the ephemeral range (32768–60999 on
    Linux), where only listeners compete: an ephemeral port found free can be taken by any
    outgoing connection before the agent binds it. No SO_REUSEADDR, so a port with connections
    in TIME_WAIT counts as taken too."""
    start = random.randrange(20000, 30000)
    for port in itertools.chain(range(start, 30000), range(20000, start)):
        if port in RESERVED_PORTS:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000–29999")


class ProcmgrAgent(Peer):
    """`procmgr run --config FILE`: the real agent (config stack, reconciler, HTTP server,
    guardian), measured from outside like the peers. Its direct children are the programs and its
    guardian (`procmgr-guard`, forked first thing; it kills the programs if the agent dies)."""
    name = "procmgr-agent"
    agent = None
    guardian = "procmgr-guard"
    # SIGTERM is the agent's "stop all": it stops every program with its grace, then exits 0.
    stop_waits_for_exit = True
    # Restarts at once (the restart row is "backoff initial 0"): every delay is
    # initial × multiplierⁿ = 0; the validator wants max > 0, which then caps nothing.
    backoff = "{initial: 0s, max: 1s, multiplier: 2, jitter: 0, reset_after: 60s}"
    problem = re.compile(rb"^\S+ (warning|error|critical) |.*Fatal error")  # log levels; Swift traps

    def write(self, programs):
        self.conf = os.path.join(self.dir, "procmgr.yaml")
        self.port = free_port()
        # JSON strings are YAML double-quoted scalars: no quoting rules of our own.
        lines = [
            "agent:",
            f"  listen: 127.0.0.1:{self.port}",
            f"  state_dir: {json.dumps(os.path.join(self.dir, 'state'))}",
            "  shutdown_grace_period: 30s",
            "processes:",
        ]
        for name, body, grace in programs:
            # What runs is what the peers run: `sleep 600` exec'd directly (as supervisord and
            # runtime-host do; runit's and s6's run scripts exec it from sh), anything else in sh.
            argv = ["sleep", "600"] if body == SLEEP else ["sh", "-c", body]
            lines.append(
                f"  - {{ id: {name}, command: {json.dumps(argv)}, port: none, "
                f"grace_period: {duration(grace)}, restart: always, backoff: {self.backoff} }}")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self.process = self.launch([self.agent, "run", "--config", self.conf])
        return self.process

    def own_processes(self, root):
        """The agent and its guardian, named, not "the tree minus the sleeps": a program caught
        between fork and exec (a restart) still has the agent's comm and would count as agent."""
        guardians = [c for c in children(root) if comm(c) == self.guardian]
        if len(guardians) != 1:
            log(f"warning: {self.name}: {len(guardians)} {self.guardian} children, expected 1")
        return [root] + guardians

    def stop_command(self, ignoring):
        # Only the signal: whether the agent has exited is seen by stop_all, which is its parent
        # and reaps it (a `kill -0` loop elsewhere would see its zombie as alive, until reaped).
        return ["kill", "-TERM", str(self.process.pid)]

    def problems(self):
        self.logfile.flush()
        with open(self.logfile.name, "rb") as f:
            return [line.decode(errors="replace").rstrip() for line in f if self.problem.match(line)]


class Floor(Peer):
    """bench/spawn-floor.c: N `posix_spawnp`s of `sleep 600` and nothing else — what a cold
    start costs on this machine before any supervision. Only the cold-start rows apply."""
    name = "floor"
    binary = None

    def write(self, programs):
        if any(body != SLEEP for _, body, _ in programs):
            raise ValueError("the floor runs only sleep programs")
        self.count = len(programs)

    def start(self):
        return self.launch([self.binary, str(self.count)])

    def own_processes(self, root):
        return [root]

    def internal_seconds(self):
        """The spawner's own figure: first spawn → last spawn returned."""
        self.logfile.flush()
        with open(self.logfile.name) as f:
            for line in f:
                if line.startswith("SPAWNED "):
                    return float(line.split()[2])
        return None


PEERS = {"supervisord": Supervisord, "runit": Runit, "s6": S6, "procmgr": ProcmgrHost,
         "procmgr-agent": ProcmgrAgent, "floor": Floor}


# ---------------------------------------------------------------- workloads

class Scenario:
    """A peer with `count` programs, started and torn down."""
    keep_logs = None  # a directory: each scenario's peer output is copied there before removal
    serial = itertools.count(1)

    def __init__(self, peer_class, count, body, grace=10, env=None):
        self.dir = tempfile.mkdtemp(prefix=f"procmgr-compare-{peer_class.name}-")
        self.peer = peer_class(self.dir, env or os.environ)
        self.count = count
        self.label = f"{count}-{BODIES.get(body, 'other')}"
        self.peer.write([(f"p{i:04d}", body, grace) for i in range(count)])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        kill_descendants()
        problems = self.peer.problems()
        if problems:
            log(f"warning: {self.peer.name} ({self.label}) logged {len(problems)} warnings/errors, first: {problems[0][:300]}")
        self.peer.logfile.close()
        if self.keep_logs:
            os.makedirs(self.keep_logs, exist_ok=True)
            kept = os.path.join(self.keep_logs, f"{next(self.serial):03d}-{self.peer.name}-{self.label}.out")
            shutil.copyfile(self.peer.logfile.name, kept)
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def launch(self):
        self.process = self.peer.start()
        return self.process

    def program_processes(self):
        """{pid: starttime} of the programs' top processes that exec'd sleep."""
        level = [self.process.pid]
        for _ in range(self.peer.depth):
            level = [c for p in level for c in children(p)]
        out = {}
        for pid in level:
            s = stat(pid)
            if s and s[0] != "Z" and comm(pid) == "sleep":
                out[pid] = s[2]
        return out

    def wait_ready(self, timeout=120):
        """Returns the instant all programs run (exec'd sleep), or None. Caches what it saw."""
        interval = 0.001 if self.count <= 100 else 0.005
        deadline = now() + timeout
        seen = set()  # depth 1: program pids; depth 2: intermediate pids with a running program
        root = self.process.pid
        while now() < deadline:
            if self.process.poll() is not None:
                log(f"{self.peer.name} exited with {self.process.returncode}")
                return None
            for top in children(root):
                if top in seen:
                    continue
                if self.peer.depth == 1:
                    if comm(top) == "sleep":
                        seen.add(top)
                elif any(comm(c) == "sleep" for c in children(top)):
                    seen.add(top)
            if len(seen) >= self.count:
                return now()
            time.sleep(interval)
        log(f"{self.peer.name}: only {len(seen)} of {self.count} programs running after {timeout} s")
        return None


def cold_start(peer_class, count, idle=None, env=None):
    with Scenario(peer_class, count, SLEEP, env=env) as scenario:
        begin = now()
        scenario.launch()
        ready = scenario.wait_ready()
        if ready is None:
            return None
        result = {"cold": ready - begin}
        if hasattr(scenario.peer, "internal_seconds"):  # the floor also reports its own clock
            deadline = now() + 10
            while (internal := scenario.peer.internal_seconds()) is None and now() < deadline:
                time.sleep(0.01)
            result["internal"] = internal
        if idle:
            settle, window = idle
            time.sleep(3)
            own = scenario.peer.own_processes(scenario.process.pid)
            result["pss_mib"], result["rss_mib"] = memory_mib(own)
            result["processes"] = len(own)
            sharers = sharing_executable(own)
            if sharers:
                result["exe_shared_with"] = len(sharers)
                log(f"warning: {len(sharers)} other processes run {scenario.peer.name}'s executable (PSS too low): {sharers[:10]}")
            time.sleep(max(0, ready + settle - now()))
            cpu_before, start = thread_runtimes(own), now()
            time.sleep(window)
            result["idle_cpu_pct"] = cpu_between(cpu_before, thread_runtimes(own)) / (now() - start) * 100
            gone = [p for p in own if not alive(p)]
            if gone:
                log(f"warning: {len(gone)} supervisor processes ended during the idle window")
        return result


def restart_latencies(peer_class, programs, samples, env=None):
    with Scenario(peer_class, programs, SLEEP, env=env) as scenario:
        scenario.launch()
        if scenario.wait_ready() is None:
            return None
        # runsv holds back the restart of a service that ran less than 1 s: every victim has
        # run at least 2 s (a crash loop is not what this row measures). Same for procmgr.
        ticks = os.sysconf("SC_CLK_TCK")
        latencies, failures = [], 0
        for _ in range(samples):
            running = scenario.program_processes()
            if not running:
                failures += 1
                time.sleep(0.1)
                continue
            victim = min(running, key=lambda pid: (running[pid], pid))  # the oldest: round robin
            age = time.clock_gettime(time.CLOCK_BOOTTIME) - running[victim] / ticks
            if age < 2:
                time.sleep(2 - age)
            parent = stat(victim)[1]
            before = set(children(parent))
            since = last_pid()
            start = now()
            os.kill(victim, signal.SIGKILL)
            found = new_sleep_child(parent, before, deadline=start + 5, since=since)
            if found is None:
                failures += 1
            else:
                latencies.append((found[1] - start) * 1000)
        return {"latencies_ms": latencies, "failures": failures}


def last_pid():
    """The pid the kernel handed out last (ns_last_pid), or None where it cannot be read."""
    data = read("/proc/sys/kernel/ns_last_pid")
    return int(data) if data else None


def pids_after(cursor, newest):
    """The pids allocated after `cursor` up to `newest`, across a wrap of pid_max."""
    if newest >= cursor:
        return range(cursor + 1, newest + 1)
    pid_max = int(read("/proc/sys/kernel/pid_max") or b"4194304")
    return list(range(cursor + 1, pid_max)) + list(range(1, newest + 1))


def new_sleep_child(parent, before, deadline, since=None):
    """Polls (every 0.2 ms) until `parent` has a `sleep` child not in `before`: (pid, when seen),
    or None at `deadline`.

    With `since` (last_pid() read before the kill) a poll looks only at the pids handed out since
    then, not at the parent's whole child list: with 10,000 children reading and parsing that list
    took milliseconds per poll on a 2-core machine — as long as the restart being timed — so the
    figure measured the poller, and more so the more children the supervisor has."""
    if since is None:
        while now() < deadline:
            for child in children(parent):
                if child not in before and comm(child) == "sleep":
                    return child, now()
            time.sleep(0.0002)
        return None
    # A pid is handed out a moment before its /proc entry appears: one not there yet is looked at
    # again for 50 ms (a thread or a process that already ended is never there).
    cursor, candidates, pending = since, [], {}
    while now() < deadline:
        newest = last_pid()
        if newest is not None and newest != cursor:
            pending.update((pid, now()) for pid in pids_after(cursor, newest))
            cursor = newest
        for pid, first in list(pending.items()):
            s = stat(pid)
            if s or now() - first > 0.05:
                del pending[pid]
            if s and s[1] == parent and pid not in before:
                candidates.append(pid)
        for child in candidates:
            if comm(child) == "sleep":
                return child, now()
        time.sleep(0.0002)
    return None


def stop_all(peer_class, count, ignoring, env=None):
    body = TERM_IGNORING if ignoring else SLEEP
    grace = 1 if ignoring else 10
    with Scenario(peer_class, count, body, grace=grace, env=env) as scenario:
        scenario.launch()
        if scenario.wait_ready() is None:
            return None
        time.sleep(1)
        remaining = sorted(scenario.program_processes().items())
        if len(remaining) != count:
            log(f"warning: {len(remaining)} of {count} programs found")
        argv = scenario.peer.stop_command(ignoring)
        start = now()
        command = subprocess.Popen(argv, cwd=scenario.dir, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        returned = gone = None
        deadline = start + 30
        waits = scenario.peer.stop_waits_for_exit
        while (returned is None or gone is None) and now() < deadline:
            # poll() of the top process reaps it: it is our child, so it is gone only then.
            if returned is None and command.poll() is not None and (not waits or scenario.process.poll() is not None):
                returned = now()
            while remaining and not alive(*remaining[0]):
                remaining.pop(0)
            if gone is None and not remaining:
                gone = now()
            time.sleep(0.0005)
        error = command.stderr.read().decode(errors="replace").strip() if returned else "still running"
        # `sv force-stop` exits with the number of services it had to kill: expected here.
        if (command.returncode not in (0, None) and not ignoring) or returned is None:
            log(f"warning: {shlex.join(argv[:4])}… exited {command.returncode}: {error[:300]}")
        if returned is None:
            command.kill()
        elif waits and scenario.process.returncode != 0:
            log(f"warning: {scenario.peer.name} exited {scenario.process.returncode} on SIGTERM (expected 0)")
        return {"command": None if returned is None else returned - start,
                "last_gone": None if gone is None else gone - start}


def survivors(peer_class, programs=20, env=None):
    with Scenario(peer_class, programs, FAMILY, env=env) as scenario:
        scenario.launch()
        root = scenario.process.pid
        if scenario.wait_ready() is None:
            return None
        deadline = now() + 30
        while now() < deadline:
            members = {p: stat(p)[2] for p in tree(root) if comm(p) == "sleep" and stat(p)}
            if len(members) >= 3 * programs:
                break
            time.sleep(0.01)
        else:
            log(f"{scenario.peer.name}: only {len(members)} of {3 * programs} family members appeared")
            return None
        os.kill(root, signal.SIGKILL)
        scenario.process.wait()
        time.sleep(2)
        return {"alive": sum(alive(p, s) for p, s in members.items()), "total": len(members)}


def run_floor(args, env):
    result = {}
    for count in (1000, 100):
        runs = [r for r in (cold_start(Floor, count, env=env) for _ in range(args.runs)) if r]
        result[f"cold{count}"] = [r["cold"] for r in runs]
        result[f"internal{count}"] = [r["internal"] for r in runs if r["internal"] is not None]
        log(f"floor: cold start {count}: outside {result[f'cold{count}']}, internal {result[f'internal{count}']}")
    return result


def run_peer(name, args, env):
    if name == "floor":
        return run_floor(args, env)
    cls = PEERS[name]
    result = {}
    runs = args.runs
    idle = (args.idle_settle, args.idle_window)
    log(f"{name}: cold start 1000 (run 1 also memory and idle CPU over {args.idle_window} s)")
    cold1000 = []
    for run in range(runs):
        r = cold_start(cls, 1000, idle if run == 0 else None, env=env)
        if r:
            cold1000.append(r["cold"])
            if run == 0:
                result.update({k: r[k] for k in ("pss_mib", "rss_mib", "idle_cpu_pct", "processes") if k in r})
        log(f"  run {run + 1}: {r}")
    result["cold1000"] = cold1000
    log(f"{name}: cold start 100")
    result["cold100"] = [r["cold"] for r in (cold_start(cls, 100, env=env) for _ in range(runs)) if r]
    log(f"  {result['cold100']}")
    if name != "procmgr":
        log(f"{name}: exit → running, {args.restarts} kills over 20 programs")
        r = restart_latencies(cls, 20, args.restarts, env=env)
        if r:
            result["restart"] = r
            lat = sorted(r["latencies_ms"])
            if lat:
                log(f"  p50 {percentile(lat, 0.5):.2f} p99 {percentile(lat, 0.99):.2f} max {lat[-1]:.2f} ms, {r['failures']} failed")
        for ignoring, key in ((True, "stop_ignoring"), (False, "stop_obeying")):
            log(f"{name}: stop 100 {'TERM-ignoring, grace 1 s' if ignoring else 'TERM-obeying'}")
            values = [stop_all(cls, 100, ignoring, env=env) for _ in range(runs)]
            result[key] = [v for v in values if v]
            log(f"  {result[key]}")
    log(f"{name}: SIGKILL of the top process, 20 × 3")
    result["survivors"] = survivors(cls, 20, env=env)
    log(f"  {result['survivors']}")
    return result


# ---------------------------------------------------------------- table

def percentile(values, fraction):
    values = sorted(values)
    if not values:
        return float("nan")
    rank = max(1, -(-int(fraction * len(values) * 1000) // 1000))  # ceil without float noise
    return values[min(len(values), rank) - 1]


def mmm(values, decimals=2):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    values = sorted(values)
    return "/".join(f"{v:.{decimals}f}" for v in (values[0], values[len(values) // 2], values[-1]))


def read_procmgr(path):
    figures = {}
    if path and os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if parts:
                figures[parts[0]] = [float(x) for x in parts[1:]]
    return figures


def table(args):
    peers = json.load(open(args.peers)) if args.peers and os.path.exists(args.peers) else {}
    versions = peers.pop("_versions", {})
    pm = read_procmgr(args.procmgr)
    columns = [n for n in ("supervisord", "runit", "s6") if n in peers]
    host = peers.get("procmgr", {})
    agent = peers.get("procmgr-agent", {})

    def peer_cell(name, key, kind):
        p = peers.get(name, {})
        if kind == "mmm_s":
            return f"{mmm(p.get(key, []))} s" if p.get(key) else "n/a"
        if kind == "mib":
            return f"{p[key]:.0f} MiB" if key in p else "n/a"
        if kind == "pct":
            return f"{p[key]:.3f} %" if key in p else "n/a"
        if kind == "restart":
            r = p.get("restart")
            if not r or not r["latencies_ms"]:
                return "n/a"
            lat = r["latencies_ms"]
            fail = f", {r['failures']} lost" if r["failures"] else ""
            return f"{percentile(lat, 0.99):.0f} ms (p50 {percentile(lat, 0.5):.0f}, max {max(lat):.0f}; n={len(lat)}{fail})"
        if kind in ("stop_gone", "stop_cmd"):
            field = "last_gone" if kind == "stop_gone" else "command"
            return f"{mmm([v[field] for v in p.get(key, [])])} s" if p.get(key) else "n/a"
        if kind == "surv":
            s = p.get("survivors")
            return f"{s['alive']} of {s['total']}" if s else "n/a"
        return "?"

    def pm_mmm(key, decimals=3):
        return f"{mmm(pm[key], decimals)} s" if pm.get(key) else "n/a"

    rows = []
    restart = pm.get("restart_ms")
    samples = pm.get("restart_samples", [0, 0])
    survivors_pm = host.get("survivors")
    rows.append(("cold start, 100 processes running", [peer_cell(c, "cold100", "mmm_s") for c in columns], pm_mmm("cold100"), "≤ 0.06 s"))
    rows.append(("cold start, 1,000 processes running", [peer_cell(c, "cold1000", "mmm_s") for c in columns], pm_mmm("cold1000"), "≤ 0.6 s"))
    rows.append(("memory (PSS) with 1,000 running", [peer_cell(c, "pss_mib", "mib") for c in columns],
                 f"{pm['pss_mib'][0]:.1f} MiB" if pm.get("pss_mib") else "n/a", "≤ 30 MiB"))
    rows.append(("idle CPU with 1,000 running, no probes", [peer_cell(c, "idle_cpu_pct", "pct") for c in columns],
                 f"{pm['idle_cpu_pct'][0]:.3f} %" if pm.get("idle_cpu_pct") else "n/a", "≤ 0.05 %"))
    rows.append(("exit → running again, p99 (backoff initial 0)", [peer_cell(c, "restart", "restart") for c in columns],
                 f"{restart[1]:.1f} ms (p50 {restart[0]:.1f}, max {restart[2]:.1f}; n={int(samples[0])})" if restart else "n/a", "≤ 5 ms"))
    rows.append(("stop 100 TERM-ignoring, grace 1 s: last gone", [peer_cell(c, "stop_ignoring", "stop_gone") for c in columns], pm_mmm("stop_ignore"), "≤ 1.05 s"))
    rows.append(("stop 100 TERM-obeying: command returns", [peer_cell(c, "stop_obeying", "stop_cmd") for c in columns], pm_mmm("stop_obey"), "≤ 0.1 s"))
    rows.append(("descendants alive 2 s after the supervisor is SIGKILLed (20 × 3)", [peer_cell(c, "survivors", "surv") for c in columns],
                 f"{survivors_pm['alive']} of {survivors_pm['total']}" if survivors_pm else
                 (f"{int(pm['survivors'][0])} of {int(pm['survivors'][1])}" if pm.get("survivors") else "n/a"), "0"))
    rows.append(("idle CPU with 1,000 children, heartbeats every 2 s", ["—" for _ in columns],
                 f"{pm['heartbeat_cpu_pct'][0]:.2f} %" if pm.get("heartbeat_cpu_pct") else "n/a", "≤ 1 %"))

    header = ["workload"] + [f"{c} {versions.get(c, '')}".strip() for c in columns] + ["procmgr", "goal"]
    out = []
    if columns or pm or host:  # a run of the agent alone has nothing for this table
        out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        for label, cells, procmgr, goal in rows:
            out.append("| " + " | ".join([label] + cells + [procmgr, goal]) + " |")
    if host:
        memory = f"{host['pss_mib']:.1f} MiB (RSS {host['rss_mib']:.1f} MiB)" if "pss_mib" in host else "n/a"
        out += ["", "procmgr measured from outside, like the peers (`procmgr-bench runtime-host`: launch → all running, "
                "so including its own process start-up; PSS and CPU of agent + guardian):", "",
                "| workload | procmgr (runtime-host) |", "|---|---|",
                f"| cold start, 100 processes running | {peer_cell('procmgr', 'cold100', 'mmm_s')} |",
                f"| cold start, 1,000 processes running | {peer_cell('procmgr', 'cold1000', 'mmm_s')} |",
                f"| memory (PSS) with 1,000 running | {memory} |",
                f"| idle CPU with 1,000 running, no probes | {peer_cell('procmgr', 'idle_cpu_pct', 'pct')} |"]
    if agent:
        def stop(key, main, other, what):
            """The row's figure, and the other one: the agent's own shutdown is their difference."""
            if not agent.get(key):
                return "n/a"
            return (f"{mmm([v[main] for v in agent[key]], 3)} s ({what} "
                    f"{mmm([v[other] for v in agent[key]], 3)} s)")
        memory = f"{agent['pss_mib']:.1f} MiB (RSS {agent['rss_mib']:.1f} MiB)" if "pss_mib" in agent else "n/a"
        if agent.get("exe_shared_with"):
            memory += f"; too low: {agent['exe_shared_with']} other processes ran the same binary"
        name = f"procmgr run {versions.get('procmgr-agent', '')}".strip()
        out += ["", "The real agent measured from outside, like the peers (`procmgr run --config`: config, reconciler, "
                "HTTP server; launch → all running; PSS and CPU of agent + guardian; stop = SIGTERM to the agent, "
                "\"command returns\" = the agent has exited, so it includes the agent's own shutdown):", "",
                f"| workload | {name} | goal |", "|---|---|---|",
                f"| cold start, 100 processes running | {peer_cell('procmgr-agent', 'cold100', 'mmm_s')} | ≤ 0.06 s |",
                f"| cold start, 1,000 processes running | {peer_cell('procmgr-agent', 'cold1000', 'mmm_s')} | ≤ 0.6 s |",
                f"| memory (PSS) with 1,000 running | {memory} | ≤ 30 MiB |",
                f"| idle CPU with 1,000 running, no probes | {peer_cell('procmgr-agent', 'idle_cpu_pct', 'pct')} | ≤ 0.05 % |",
                f"| exit → running again, p99 (backoff initial 0) | {peer_cell('procmgr-agent', 'restart', 'restart')} | ≤ 5 ms |",
                f"| stop 100 TERM-ignoring, grace 1 s: last gone | {stop('stop_ignoring', 'last_gone', 'command', 'agent exited')} | ≤ 1.05 s |",
                f"| stop 100 TERM-obeying: command returns (agent exited) | {stop('stop_obeying', 'command', 'last_gone', 'last gone')} | ≤ 0.1 s |",
                f"| descendants alive 2 s after the agent is SIGKILLed (20 × 3) | {peer_cell('procmgr-agent', 'survivors', 'surv')} | 0 |"]
    floor = peers.get("floor", {})
    if floor:
        def both(count):
            outside = f"{mmm(floor[f'cold{count}'])} s" if floor.get(f"cold{count}") else "n/a"
            inside = f"{mmm(floor[f'internal{count}'], 3)} s" if floor.get(f"internal{count}") else "n/a"
            return f"| cold start, {count:,} processes running | {outside} | {inside} |"
        out += ["", "The floor: bench/spawn-floor.c, one `posix_spawnp` of `sleep 600` per program and nothing "
                "else (no supervision, capture or bookkeeping), measured from outside like the peers and by "
                "its own clock (first spawn → last spawn returned, which glibc does once the child exec'd):", "",
                "| workload | floor, from outside | floor, its own clock |", "|---|---|---|",
                both(100), both(1000)]
    print("\n".join(out).strip("\n"))


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--peers", default="supervisord,runit,s6,procmgr,procmgr-agent")
    run.add_argument("--runs", type=int, default=3)
    run.add_argument("--restarts", type=int, default=100)
    run.add_argument("--idle-settle", type=float, default=15)
    run.add_argument("--idle-window", type=float, default=30)
    run.add_argument("--bench", help="procmgr-bench executable (for the procmgr peer)")
    run.add_argument("--floor", help="bench/spawn-floor.c, built (for the floor peer)")
    run.add_argument("--agent", help="procmgr executable (for the procmgr-agent peer: `procmgr run --config`)")
    run.add_argument("--logs", help="keep each scenario's supervisor output (and the agent's log) in this directory")
    run.add_argument("--tag", help="exported as PROCMGR_BENCH_TAG to everything started (a backstop for the caller's cleanup)")
    run.add_argument("--versions", default="{}", help="JSON {peer: version}")
    run.add_argument("--out", required=True)
    tab = sub.add_parser("table")
    tab.add_argument("--peers")
    tab.add_argument("--procmgr")
    args = parser.parse_args()

    if args.command == "table":
        table(args)
        return

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    become_subreaper()
    env = dict(os.environ)
    if args.tag:
        env["PROCMGR_BENCH_TAG"] = args.tag
    ProcmgrHost.bench = args.bench
    Floor.binary = args.floor
    Scenario.keep_logs = args.logs
    results = {"_versions": json.loads(args.versions)}
    names = [p for p in args.peers.split(",") if p]
    private = None
    try:
        if "procmgr-agent" in names and args.agent:
            # A private copy, so that no other process maps the same file (another agent of this
            # build would take half its pages off the PSS) and a rebuild midway changes nothing.
            private = tempfile.mkdtemp(prefix="procmgr-compare-bin-")
            ProcmgrAgent.agent = shutil.copy2(args.agent, private)
            if "procmgr-agent" not in results["_versions"]:
                version = subprocess.run([ProcmgrAgent.agent, "--version"], capture_output=True, text=True).stdout.strip()
                results["_versions"]["procmgr-agent"] = version.splitlines()[0] if version else "?"
        for name in names:
            if (name == "procmgr" and not args.bench) or (name == "procmgr-agent" and not ProcmgrAgent.agent) \
                    or (name == "floor" and not args.floor):
                continue
            try:
                results[name] = run_peer(name, args, env)
            finally:
                kill_descendants()
            with open(args.out, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        kill_descendants()
        if private:
            shutil.rmtree(private, ignore_errors=True)


if __name__ == "__main__":
    main()
