#!/usr/bin/env python3
"""Driver of bench/compare-escape.sh: do descendants that leave their program's process group
outlive a stop, or the supervisor's death? Runs supervisord, runit, s6 and the real agent
(`procmgr run --config`) with bench/peerbench.py's peer definitions and cleanup, and prints a
Markdown table.

Workload: N programs (default 100), each a shell that starts one descendant leaving its process
group and then execs the program's own `sleep`:
- half `setsid sleep M2 & exec sleep M1` (a child that calls setsid(): a new session and group),
- half `(setsid sleep M2 &); exec sleep M1` (a double fork: the descendant is orphaned, reparented,
  and in a new session, like a daemon(3)).
With --term-ignoring the descendant ignores SIGTERM (`trap '' TERM` before its exec), so only a
kill at the end of the grace period ends it. M1 and M2 are durations unique to this run
(`1000.<digits>1` / `…2`): /proc/PID/cmdline is exactly `sleep M1` (program) or `sleep M2`
(descendant), which is how both are found and counted, whatever their parent, group or session.

Scenarios (state from /proc, never from the supervisor's API):
- stop: all N through the supervisor's own stop with a 1 s grace period (supervisord
  `stopwaitsecs=1` + `supervisorctl stop all`; runit `sv -w 1 force-stop`; s6 `timeout-kill` 1000
  + `s6-svc -d`; the agent `grace_period: 1s` + SIGTERM to the agent, its "stop all"); the time
  from the stop command until the last program and descendant is gone (missing or zombie), polled
  every ~1 ms until grace + 4 s, and how many are alive then. TERM-obeying descendants are timed
  from the stop command; TERM-ignoring ones from the end of the grace period (the issue's figure:
  last descendant gone ≤ 100 ms after grace).
- kill: SIGKILL the supervisor's top process once everything runs; how many programs and
  descendants are alive 2 s later.

Cleanup: this process is a child subreaper (peerbench), so every orphan stays its descendant and
is SIGKILLed after each scenario; the calling script also kills whatever carries the marker.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerbench  # noqa: E402  (the peers, /proc helpers and cleanup shared with compare-supervisors.sh)
from peerbench import alive, log, now, read, stat  # noqa: E402

GRACE = 1  # s; an integer: supervisord takes whole seconds
DEADLINE_AFTER_GRACE = 4.0
SURVIVAL_WAIT = 2.0


class S6Escape(peerbench.S6):
    """s6 with a kill at the end of the grace period for every program (peerbench writes
    `timeout-kill` only for its TERM-ignoring body)."""

    def extra(self, path, body, grace):
        with open(os.path.join(path, "timeout-kill"), "w") as f:
            f.write(f"{int(grace * 1000)}\n")


PEERS = {"supervisord": peerbench.Supervisord, "runit": peerbench.Runit, "s6": S6Escape,
         "procmgr-agent": peerbench.ProcmgrAgent}


class Markers:
    """The two command lines of this run: the programs' own sleep and the escaped descendants'."""

    def __init__(self, base):
        self.program = f"1000.{base}1"
        self.descendant = f"1000.{base}2"
        self.lines = {f"sleep\0{self.program}\0".encode(): "program",
                      f"sleep\0{self.descendant}\0".encode(): "descendant"}

    def bodies(self, count, term_ignoring):
        escaped = f"sleep {self.descendant}"
        if term_ignoring:
            escaped = f"sh -c \"trap '' TERM; exec {escaped}\""
        setsid = f"setsid {escaped} & exec sleep {self.program}"
        double_fork = f"(setsid {escaped} &); exec sleep {self.program}"
        return [setsid if i % 2 == 0 else double_fork for i in range(count)]

    def scan(self):
        """{(pid, starttime): kind} of every live marker process on the machine."""
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            kind = self.lines.get(read(f"/proc/{entry}/cmdline") or b"")
            if kind:
                s = stat(int(entry))
                if s and s[0] != "Z":
                    found[(int(entry), s[2])] = kind
        return found


def counts(found):
    return {"program": sum(k == "program" for k in found.values()),
            "descendant": sum(k == "descendant" for k in found.values())}


class EscapeScenario(peerbench.Scenario):
    """peerbench's scenario (launch, teardown, logs) with a body per program."""

    def __init__(self, peer_class, bodies, env):
        self.dir = tempfile.mkdtemp(prefix=f"procmgr-escape-{peer_class.name}-")
        self.peer = peer_class(self.dir, env)
        self.count = len(bodies)
        self.label = f"{len(bodies)}-escape"
        self.peer.write([(f"p{i:04d}", body, GRACE) for i, body in enumerate(bodies)])

    def start_all(self, markers, timeout=120):
        """Launches the peer and waits until every program and every descendant runs: the
        markers found, or None."""
        self.launch()
        deadline = now() + timeout
        found = {}
        while now() < deadline:
            if self.process.poll() is not None:
                log(f"{self.peer.name} exited with {self.process.returncode}")
                return None
            found = markers.scan()
            if len(found) >= 2 * self.count:
                return found
            time.sleep(0.01)
        log(f"{self.peer.name}: only {counts(found)} of {self.count} programs and descendants after {timeout} s")
        return None


def stop(peer_class, markers, count, term_ignoring, env):
    with EscapeScenario(peer_class, markers.bodies(count, term_ignoring), env) as scenario:
        if (found := scenario.start_all(markers)) is None:
            return None
        time.sleep(1)
        remaining = sorted(found)
        argv = scenario.peer.stop_command(True)
        start = now()
        command = subprocess.Popen(argv, cwd=scenario.dir, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gone = None
        deadline = start + GRACE + DEADLINE_AFTER_GRACE
        while gone is None and now() < deadline:
            command.poll()
            if scenario.peer.stop_waits_for_exit:
                scenario.process.poll()  # the agent is our child: reaped, its zombie is not "alive"
            peerbench.reap()  # orphans reparented to us: their zombies are not "alive" either
            remaining = [p for p in remaining if alive(*p)]
            if not remaining:
                gone = now()
            else:
                time.sleep(0.001)
        if command.poll() is None:
            command.kill()
        left = {p: found[p] for p in remaining}
        return {"last_gone": None if gone is None else gone - start,
                "alive_at_deadline": counts(left), "total": counts(found)}


def kill_supervisor(peer_class, markers, count, term_ignoring, env):
    with EscapeScenario(peer_class, markers.bodies(count, term_ignoring), env) as scenario:
        if (found := scenario.start_all(markers)) is None:
            return None
        os.kill(scenario.process.pid, signal.SIGKILL)
        scenario.process.wait()
        time.sleep(SURVIVAL_WAIT)
        peerbench.reap()
        return {"alive": counts({p: k for p, k in found.items() if alive(*p)}), "total": counts(found)}


def run_peer(name, args, env, markers):
    cls = PEERS[name]
    result = {}
    for term_ignoring in (False, True):
        key = "ignoring" if term_ignoring else "obeying"
        runs = []
        for run in range(args.runs):
            r = stop(cls, markers, args.count, term_ignoring, env)
            log(f"{name}: stop, descendants {key} TERM, run {run + 1}: {r}")
            if r:
                runs.append(r)
        result[f"stop_{key}"] = runs
    r = kill_supervisor(cls, markers, args.count, False, env)
    log(f"{name}: SIGKILL of the top process: {r}")
    result["kill"] = r
    return result


def seconds(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return "n/a"
    return "/".join(f"{v:.3f}" for v in (values[0], values[len(values) // 2], values[-1])) + " s"


def stop_cells(runs, offset):
    """(last gone `offset` s after the stop command, min/median/max; alive at the deadline, each run)."""
    if not runs:
        return "n/a", "n/a"
    complete = [r["last_gone"] - offset for r in runs if r["last_gone"] is not None]
    after = seconds(complete) if len(complete) == len(runs) else "never (survivors)"
    left = [r["alive_at_deadline"] for r in runs]
    alive_cell = "/".join(f"{a['program']}+{a['descendant']}" for a in left)
    return after, alive_cell


def table(results, count):
    versions = results.get("_versions", {})
    names = [n for n in ("supervisord", "runit", "s6", "procmgr-agent") if n in results]
    header = ["workload"] + [f"{n} {versions.get(n, '')}".strip() for n in names] + ["goal"]
    rows = []
    # Descendants that obey TERM can be gone long before the grace period ends: that row is timed
    # from the stop command; TERM-ignoring ones only go with the kill at its end, timed from there.
    for key, what, offset, since, goal in (
            ("obeying", "descendants obey TERM", 0, "the stop command", "—"),
            ("ignoring", "descendants ignore TERM", GRACE, "the grace period", "≤ 0.1 s")):
        cells = [stop_cells(results[n].get(f"stop_{key}"), offset) for n in names]
        rows.append((f"stop {count} ({what}), grace {GRACE} s: last gone after {since}, min/median/max",
                     [c[0] for c in cells], goal))
        rows.append((f"stop {count} ({what}): programs+descendants alive at grace + {DEADLINE_AFTER_GRACE:.0f} s, each run",
                     [c[1] for c in cells], "0+0"))
    kill_cells = []
    for n in names:
        k = results[n].get("kill")
        kill_cells.append(f"{k['alive']['program']}+{k['alive']['descendant']} of "
                          f"{k['total']['program']}+{k['total']['descendant']}" if k else "n/a")
    rows.append((f"programs+descendants alive {SURVIVAL_WAIT:.0f} s after the supervisor is SIGKILLed", kill_cells, "0+0"))
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for label, cells, goal in rows:
        out.append("| " + " | ".join([label] + cells + [goal]) + " |")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--peers", default="supervisord,runit,s6,procmgr-agent")
    run.add_argument("--count", type=int, default=100)
    run.add_argument("--runs", type=int, default=3)
    run.add_argument("--agent", help="procmgr executable (for the procmgr-agent peer: `procmgr run --config`)")
    run.add_argument("--marker", required=True, help="digits unique to this run: the sleeps run 1000.<marker>1 and 1000.<marker>2")
    run.add_argument("--tag", help="exported as PROCMGR_BENCH_TAG to everything started")
    run.add_argument("--versions", default="{}", help="JSON {peer: version}")
    run.add_argument("--logs", help="keep each scenario's supervisor output in this directory")
    run.add_argument("--out", required=True)
    tab = sub.add_parser("table")
    tab.add_argument("--results", required=True)
    tab.add_argument("--count", type=int, default=100)
    args = parser.parse_args()

    if args.command == "table":
        with open(args.results) as f:
            print(table(json.load(f), args.count))
        return

    if not args.marker.isdigit():
        parser.error("--marker must be digits (it is part of a sleep duration)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    peerbench.become_subreaper()
    env = dict(os.environ)
    if args.tag:
        env["PROCMGR_BENCH_TAG"] = args.tag
    peerbench.Scenario.keep_logs = args.logs
    peerbench.ProcmgrAgent.agent = args.agent
    markers = Markers(args.marker)
    results = {"_versions": json.loads(args.versions)}
    if args.agent and "procmgr-agent" not in results["_versions"]:
        version = subprocess.run([args.agent, "--version"], capture_output=True, text=True).stdout.strip()
        results["_versions"]["procmgr-agent"] = version.splitlines()[0] if version else "?"
    try:
        for name in [p for p in args.peers.split(",") if p]:
            if name == "procmgr-agent" and not args.agent:
                continue
            try:
                results[name] = run_peer(name, args, env, markers)
            finally:
                peerbench.kill_descendants()
            with open(args.out, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        peerbench.kill_descendants()


if __name__ == "__main__":
    main()
