#!/usr/bin/env python3
"""Driver of bench/compare-scale.sh: procmgr's real agent (`procmgr run --config`), runit, s6 and
supervisord with 1,000 to 10,000 `sleep` programs each, measured from outside with
bench/peerbench.py's peer definitions, /proc helpers and cleanup, beside the spawn floor
(bench/spawn-floor.c) and, for the agent's /metrics, Go's client_golang (bench/go-metrics-peer).

Method, per size N and supervisor (state from /proc, never from a supervisor's API):
- cold start: from launching the supervisor until N programs run (a program runs once the
  supervisor's child — runit's runsv's, s6's s6-supervise's child — has exec'd `sleep`), polled
  every 5 ms (peerbench's wait_ready). A supervisor
  that has not got there within --limit s, or exits, is recorded with how many ran; the later
  steps are skipped for it at that size. The floor is spawn-floor.c for the same N in the same run.
- memory: PSS (and RSS) from /proc/PID/smaps_rollup, 3 s after all run, of the supervision
  processes: the agent and its guardian (procmgr-guard); runsvdir + N runsv; s6-svscan + N
  s6-supervise; supervisord.
- idle CPU: scheduler runtime (se.sum_exec_runtime, per thread) of the same processes over
  --idle s, begun --settle s after all ran, as % of one core. For procmgr also a second window of
  the same length with `curl -H 'Accept-Encoding: gzip'` of /metrics every --scrape-every s
  (the first at the window's start).
- /metrics (procmgr only): 2 warm-up scrapes, then --scrapes scrapes on one keep-alive curl, identity
  then gzip; CPU per scrape = the agent's utime+stime over them (scheduler runtime, ns
  precision) / --scrapes, and the body bytes. The series are the body's sample lines; Go's peer
  then serves the same number (bench/go-metrics-peer serves 20 series per synthetic process:
  -processes round(series / 20)) and is scraped the same way, alone on the machine.
- exit → running: --restarts times, SIGKILL a random program that has run ≥ 2 s (runsv and
  s6-supervise hold back the restart of a service that ran < 1 s), then time until its parent
  has a new child that exec'd `sleep`; --spacing s between kills. Restart delays are zero or
  minimal, as in compare-supervisors.sh: the agent `backoff.initial: 0s`, supervisord
  `startsecs=0`, runit and s6 restart a service that ran ≥ 1 s at once.
- stop all: SIGTERM to the top process (agent, s6-svscan, supervisord), time until the last of
  the N programs is gone (dead or zombie) and until the top process exited. runsvdir's SIGTERM
  only ends runsvdir (runsvdir(8): services go on running), so runit's "stop all" is what its
  stage 3 does: `sv -w 10 down` on every service.

Cleanup: as peerbench, this process is a child subreaper and SIGKILLs every descendant after
each scenario.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerbench  # noqa: E402  (peers, /proc helpers and cleanup shared with compare-supervisors.sh)
from peerbench import (SLEEP, alive, children, comm, cpu_between, log, memory_mib, now,  # noqa: E402
                       percentile, read, stat, thread_runtimes)

SERIES_PER_GO_PROCESS = 20  # bench/go-metrics-peer: 5 states + 5 reasons + 7 phases + 3 gauges


class S6Scale(peerbench.S6):
    """s6-svscan maintains at most `-c` services: peerbench's 4096 is too few at 5,000."""

    def write(self, programs):
        self.count = len(programs)
        super().write(programs)

    def start(self):
        return self.launch(["s6-svscan", "-c", str(max(4096, self.count + 64)), self.root])


class ProcmgrScale(peerbench.ProcmgrAgent):
    """The agent with a lean config: peerbench's entries spell out every backoff field (25 YAML
    nodes each), and the agent reads at most 200,000 nodes (ReadLimits.maxNodes), fewer than
    10,000 of them take. Here only what differs from the defaults: `port: none` (the default,
    auto, allocates from a 1,000-port range) and `backoff: {initial: 0s}` (every restart delay
    initial × multiplierⁿ = 0, as peerbench's) — 13 nodes an entry. `restart: always` and the
    grace period are the defaults."""

    # How long each `sleep` runs: peerbench's 600 s, the same as the peers' programs.
    sleep_seconds = 600

    def write(self, programs):
        if any(body != SLEEP for _, body, _ in programs):
            raise ValueError("the scale config runs only sleep programs")
        self.conf = os.path.join(self.dir, "procmgr.yaml")
        self.port = peerbench.free_port()
        lines = ["agent:", f"  listen: 127.0.0.1:{self.port}",
                 f"  state_dir: {json.dumps(os.path.join(self.dir, 'state'))}",
                 "  shutdown_grace_period: 30s", "processes:"]
        lines += [f'  - {{ id: {name}, command: ["sleep", "{self.sleep_seconds}"], port: none, backoff: {{ initial: 0s }} }}'
                  for name, _, _ in programs]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")


PEERS = {"procmgr": ProcmgrScale, "runit": peerbench.Runit, "s6": S6Scale,
         "supervisord": peerbench.Supervisord}


# Limits of a peer that explain a failure at a size (printed under the table when it fails).
KNOWN_LIMITS = {
    "runit": lambda n: "runsvdir supervises at most 1,000 service directories: MAXSERVICES in runsvdir.c"
    if n > 1000 else None,
    "supervisord": lambda n: "supervisord keeps 3 pipe ends per program: its descriptors are ulimit -n"
    if 3 * n > os.sysconf("SC_OPEN_MAX") else None,
}


# ---------------------------------------------------------------- steps

def wait_running(scenario, limit):
    """(instant all run or None, programs running, why not): peerbench's wait_ready, and when it
    gives up, how far the supervisor got."""
    ready = scenario.wait_ready(limit)
    if ready is not None:
        return ready, scenario.count, None
    running = len(scenario.program_processes())
    code = scenario.process.poll()
    return None, running, f"after {limit:.0f} s" if code is None else f"(exited with {code})"


def tail(peer, lines=3):
    """The last lines of a supervisor's output (its log file is removed with the scenario)."""
    peer.logfile.flush()
    with open(peer.logfile.name, "rb") as f:
        return [line.decode(errors="replace").rstrip()[:300] for line in f.readlines()[-lines:]]


def cpu_percent(pids, seconds, during=None):
    """CPU of pids over `seconds` as % of one core; `during(elapsed)` is called every 0.5 s."""
    before, start = thread_runtimes(pids), now()
    while (elapsed := now() - start) < seconds:
        if during:
            during(elapsed)
        time.sleep(min(0.5, max(0.0, seconds - (now() - start))))
    return cpu_between(before, thread_runtimes(pids)) / (now() - start) * 100


def curl(port, times=1, gzip=False, keep=None):
    """GETs /metrics `times` times on one keep-alive connection; the body sizes. `keep`: a
    file for the (last) body."""
    url = f"http://127.0.0.1:{port}/metrics"
    argv = ["curl", "-s", "--fail", "--max-time", "60", "-w", "%{size_download}\n"]
    if gzip:
        argv += ["-H", "Accept-Encoding: gzip"]
    for index in range(times):
        argv += ["-o", keep if keep and index == times - 1 else "/dev/null", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60 + 10 * times)
    if done.returncode != 0:
        raise RuntimeError(f"curl exited {done.returncode}: {done.stderr.strip()[:200]}")
    return [int(line) for line in done.stdout.split()]


def scrape_cost(pid, port, scrapes, gzip):
    """{cpu_ms, bytes}: the server's CPU per scrape and the body size, after 2 warm-up scrapes."""
    curl(port, 2, gzip)
    before = thread_runtimes([pid])
    sizes = curl(port, scrapes, gzip)
    cpu = cpu_between(before, thread_runtimes([pid]))
    return {"cpu_ms": cpu / scrapes * 1000, "bytes": sorted(sizes)[len(sizes) // 2]}


def sample_lines(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip() and not line.startswith(b"#"))


def metrics(scenario, args, workdir):
    """The agent's /metrics at this N: series, bytes and CPU per scrape, identity and gzip."""
    port, pid = scenario.peer.port, scenario.process.pid
    body = os.path.join(workdir, "agent-metrics.txt")
    curl(port, 1, keep=body)
    out = {"series": sample_lines(body)}
    for encoding in ("identity", "gzip"):
        out[encoding] = scrape_cost(pid, port, args.scrapes, encoding == "gzip")
    return out


def restarts(scenario, samples, spacing, limit=5.0):
    """Latencies (ms) from SIGKILL of a random program to a new `sleep` child of its parent."""
    ticks = os.sysconf("SC_CLK_TCK")
    programs = {}  # pid → (starttime, parent)
    for pid, start in scenario.program_processes().items():
        s = stat(pid)
        if s:
            programs[pid] = (start, s[1])
    latencies, failures = [], 0
    for _ in range(samples):
        if not programs:
            failures += 1
            time.sleep(0.1)
            continue
        victim = random.choice(list(programs))
        start_ticks, parent = programs[victim]
        if not alive(victim, start_ticks):
            del programs[victim]
            continue
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / ticks
        if age < 2:
            time.sleep(2 - age)
        before = set(children(parent))
        since = peerbench.last_pid()
        start = now()
        os.kill(victim, signal.SIGKILL)
        del programs[victim]
        found = peerbench.new_sleep_child(parent, before, deadline=start + limit, since=since)
        if found is None:
            failures += 1
        else:
            child, seen = found
            latencies.append((seen - start) * 1000)
            s = stat(child)
            if s:
                programs[child] = (s[2], parent)
        time.sleep(spacing)
    return {"latencies_ms": latencies, "failures": failures}


def stop_all(scenario, limit):
    """SIGTERM to the top process (runit: `sv -w 10 down` on every service): seconds until the
    last program is gone and until the top process exited."""
    remaining = sorted(scenario.program_processes().items())
    found = len(remaining)
    command = None
    start = now()
    if isinstance(scenario.peer, peerbench.Runit):
        command = subprocess.Popen(scenario.peer.stop_command(False), cwd=scenario.dir,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        os.kill(scenario.process.pid, signal.SIGTERM)
    gone = exited = None
    while now() - start < limit:
        while remaining and not alive(*remaining[0]):
            remaining.pop(0)
        if gone is None and not remaining:
            gone = now() - start
        if exited is None and command is None and scenario.process.poll() is not None:
            exited = now() - start
        if gone is not None and (exited is not None or command is not None):
            break
        peerbench.reap()  # programs whose supervisor exited are ours now: zombies until reaped
        time.sleep(0.002)
    if command is not None and command.poll() is None:
        command.kill()
        command.wait()
    return {"gone": gone, "exited": exited, "found": found, "left": len(remaining), "limit": limit}


# ---------------------------------------------------------------- scenarios

def run_supervisor(name, count, args, env, workdir, result):
    """Fills `result` step by step: what a step that raises leaves is kept."""
    cls = PEERS[name]
    log(f"{name}, {count:,} programs: cold start (limit {args.limit:.0f} s)")
    with peerbench.Scenario(cls, count, SLEEP, env=env) as scenario:
        begin = now()
        scenario.launch()
        ready, running, why = wait_running(scenario, args.limit)
        if ready is None:
            result["failed"] = {"running": running, "why": why, "output": tail(scenario.peer)}
            log(f"  ✘ {running:,}/{count:,} running, {why}; its output ends: {result['failed']['output']}")
            return
        result["cold"] = ready - begin
        result["peak_mib"] = peak_rss_mib(scenario.process.pid)
        log(f"  {result['cold']:.3f} s, top process's peak RSS {result['peak_mib']:.1f} MiB")
        time.sleep(max(0.0, ready + 3 - now()))
        own = scenario.peer.own_processes(scenario.process.pid)
        result["pss_mib"], result["rss_mib"] = memory_mib(own)
        result["processes"] = len(own)
        log(f"  PSS {result['pss_mib']:.1f} MiB over {len(own):,} processes; idle CPU over {args.idle:.0f} s")
        time.sleep(max(0.0, ready + args.settle - now()))
        result["idle_pct"] = cpu_percent(own, args.idle)
        log(f"  idle {result['idle_pct']:.3f} %")
        gone = [p for p in own if not alive(p)]
        if gone:
            log(f"  warning: {len(gone)} supervision processes ended during the idle window")
        if name == "procmgr":
            port = scenario.peer.port
            scraped = {"next": 0.0, "count": 0, "failed": 0}

            def scrape(elapsed):
                if elapsed >= scraped["next"]:
                    try:
                        curl(port, 1, gzip=True)
                        scraped["count"] += 1
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        scraped["failed"] += 1
                        log(f"  scrape failed: {error}")
                    scraped["next"] += args.scrape_every

            result["scraped_pct"] = cpu_percent(own, args.idle, scrape)
            result["scraped_count"], result["scrapes_failed"] = scraped["count"], scraped["failed"]
            log(f"  idle with a scrape every {args.scrape_every:.0f} s: {result['scraped_pct']:.3f} %")
            result["metrics"] = metrics(scenario, args, workdir)
            log(f"  /metrics: {result['metrics']}")
        log(f"  exit → running: {args.restarts} kills")
        r = restarts(scenario, args.restarts, args.spacing)
        result["restart"] = r
        if r["latencies_ms"]:
            log(f"  p99 {percentile(r['latencies_ms'], 0.99):.1f} ms, {r['failures']} lost")
        result["stop"] = stop_all(scenario, args.limit)
        log(f"  stop: {result['stop']}")


def peak_rss_mib(pid):
    """The process's peak resident set so far (VmHWM): a start burst's heap shows here, not in
    the PSS taken seconds later (issue 15's cold start peaked at 11.4 GB at 10,000 programs)."""
    for line in (read(f"/proc/{pid}/status") or b"").split(b"\n"):
        if line.startswith(b"VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_floor(count, env):
    with peerbench.Scenario(peerbench.Floor, count, SLEEP, env=env) as scenario:
        begin = now()
        scenario.launch()
        ready, running, why = wait_running(scenario, 120)
        if ready is None:
            return {"failed": {"running": running, "why": why}}
        deadline = now() + 10
        while (internal := scenario.peer.internal_seconds()) is None and now() < deadline:
            time.sleep(0.01)
        return {"cold": ready - begin, "internal": internal}


def run_go(series, args, workdir, env):
    """Go's client_golang serving the same number of series, scraped like the agent."""
    processes = max(1, round(series / SERIES_PER_GO_PROCESS))
    out = open(os.path.join(workdir, "go-peer.out"), "w+")
    server = subprocess.Popen([args.go_peer, "-processes", str(processes)], stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=env)
    try:
        port, deadline = None, now() + 30
        while port is None and now() < deadline and server.poll() is None:
            text = open(out.name).read()
            port = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("port ")), None)
            time.sleep(0.05)
        if port is None:
            return {"failed": open(out.name).read()[-300:]}
        body = os.path.join(workdir, "go-metrics.txt")
        curl(port, 1, keep=body)
        result = {"processes": processes, "series": sample_lines(body)}
        for encoding in ("identity", "gzip"):
            result[encoding] = scrape_cost(server.pid, port, args.scrapes, encoding == "gzip")
        return result
    finally:
        server.kill()
        server.wait()
        out.close()


def run(args):
    env = dict(os.environ)
    if args.tag:
        env["PROCMGR_BENCH_TAG"] = args.tag
    results = {"_versions": json.loads(args.versions), "_settings": {
        "idle": args.idle, "settle": args.settle, "scrape_every": args.scrape_every, "scrapes": args.scrapes,
        "restarts": args.restarts, "spacing": args.spacing, "limit": args.limit}}
    workdir = os.environ.get("TMPDIR", "/tmp")

    def save():
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)

    for count in args.sizes:
        size = results.setdefault(str(count), {})
        if peerbench.Floor.binary:
            size["floor"] = run_floor(count, env)
            log(f"floor, {count:,}: {size['floor']}")
            peerbench.kill_descendants(60)
            save()
        for name in args.peers:
            if name == "procmgr" and not ProcmgrScale.agent:
                continue
            started = now()
            size[name] = {"count": count}
            try:
                run_supervisor(name, count, args, env, workdir, size[name])
            except Exception as error:  # a peer that breaks is recorded; the others still run
                log(f"{name}, {count:,}: failed: {error!r}")
                size[name]["error"] = repr(error)[:300]
            finally:
                peerbench.kill_descendants(60)
            size[name]["wall"] = now() - started
            save()
        series = size.get("procmgr", {}).get("metrics", {}).get("series")
        if series and args.go_peer:
            size["go"] = run_go(series, args, workdir, env)
            log(f"client_golang, {series:,} series: {size['go']}")
            save()


# ---------------------------------------------------------------- rss-flat

def rss_flat(args):
    """The agent with N programs for --duration s, /metrics scraped (gzip) every --scrape-every
    s; its own RSS and PSS sampled every --sample-every s from --sample-every s after all ran."""
    env = dict(os.environ)
    if args.tag:
        env["PROCMGR_BENCH_TAG"] = args.tag
    samples = []

    class ProcmgrSteady(ProcmgrScale):
        # Programs that outlive the run: with peerbench's `sleep 600` all N end together every
        # 10 minutes and the agent restarts N at once — a burst, not the steady state measured here
        # (issue 15's first run saw exactly that at 600 s and took it for an unexplained mass exit).
        sleep_seconds = int(args.duration) + 3600

    with peerbench.Scenario(ProcmgrSteady, args.count, SLEEP, env=env) as scenario:
        begin = now()
        scenario.launch()
        ready, running, why = wait_running(scenario, args.limit)
        if ready is None:
            print(f"✘ {running:,}/{args.count:,} running, {why}")
            return 1
        log(f"{args.count:,} running after {ready - begin:.2f} s; {args.duration:.0f} s with a scrape every "
            f"{args.scrape_every:.0f} s, sampling every {args.sample_every:.0f} s")
        root, port = scenario.process.pid, scenario.peer.port
        next_scrape, next_sample, errors = ready, ready + args.sample_every, 0
        end = ready + args.duration
        next_sample = min(next_sample, end)
        while now() < end + 1:
            if scenario.process.poll() is not None:
                log(f"the agent exited with {scenario.process.returncode}")
                break
            if now() >= next_scrape:
                try:
                    curl(port, 1, gzip=True)
                except (RuntimeError, subprocess.TimeoutExpired) as error:
                    errors += 1
                    log(f"scrape failed: {error}")
                next_scrape += args.scrape_every
            if now() >= next_sample:
                pss, rss = memory_mib([root])
                running = sum(1 for c in children(root) if comm(c) == "sleep")
                samples.append({"t": now() - ready, "rss_mib": rss, "pss_mib": pss, "running": running})
                log(f"  t={samples[-1]['t']:.0f} s: RSS {rss:.2f} MiB, PSS {pss:.2f} MiB, {running:,} running")
                if next_sample >= end:  # the last sample is at the end of the duration
                    break
                next_sample = min(next_sample + args.sample_every, end)
            time.sleep(max(0.0, min(next_scrape, next_sample) - now()))
    versions = json.loads(args.versions)
    print(f"procmgr run {versions.get('procmgr', '')}: {args.count:,} `sleep` programs for {args.duration:.0f} s, "
          f"/metrics (gzip) every {args.scrape_every:.0f} s ({errors} failed), the agent's own memory every "
          f"{args.sample_every:.0f} s from {args.sample_every:.0f} s after all ran.")
    print()
    if not samples:
        print("no sample")
        return 1
    print("| | RSS | PSS |")
    print("|---|---|---|")
    for label, pick in (("first", samples[0]), ("last", samples[-1])):
        print(f"| {label} (t = {pick['t']:.0f} s) | {pick['rss_mib']:.2f} MiB | {pick['pss_mib']:.2f} MiB |")
    rss = [s["rss_mib"] for s in samples]
    pss = [s["pss_mib"] for s in samples]
    print(f"| max | {max(rss):.2f} MiB | {max(pss):.2f} MiB |")
    print(f"| drift, last − first | {rss[-1] - rss[0]:+.2f} MiB | {pss[-1] - pss[0]:+.2f} MiB |")
    print(f"| spread, max − min | {max(rss) - min(rss):.2f} MiB | {max(pss) - min(pss):.2f} MiB |")
    flat = max(rss) - min(rss) <= 1.0
    print()
    print(f"{len(samples)} samples; programs running at the last: {samples[-1]['running']:,}/{args.count:,}. "
          f"Goal: flat within 1 MiB — RSS {'✔' if flat else '✘'} (spread {max(rss) - min(rss):.2f} MiB).")
    return 0


# ---------------------------------------------------------------- table

def seconds(value):
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def failed_cell(r):
    f = r["failed"]
    if f.get("running") is None:
        return f"✘ {f['why']}"
    return f"✘ {f['running']:,}/{r['count']:,} running {f['why']}"


def supervisor_cells(name, r, floor):
    """One table column: what the supervisor reached at this size; "—" for what it did not."""
    if r is None:
        return ["—"] * 6
    cells = []
    if "failed" in r:
        cells.append(failed_cell(r))
    elif "cold" in r:
        ratio = f" ({r['cold'] / floor['cold']:.1f}×)" if floor.get("cold") else ""
        cells.append(f"{seconds(r['cold'])}{ratio}")
    else:
        cells.append("—")
    if "pss_mib" in r:
        plural = "es" if r["processes"] != 1 else ""
        peak = f"; peak RSS {r['peak_mib']:.0f} MiB" if "peak_mib" in r else ""
        cells.append(f"{r['pss_mib']:.1f} MiB ({r['processes']:,} process{plural}{peak})")
    else:
        cells.append("—")
    cells.append(f"{r['idle_pct']:.3f} %" if "idle_pct" in r else "—")
    if "scraped_pct" in r:
        failed = f", ✘ {r['scrapes_failed']} failed" if r.get("scrapes_failed") else ""
        cells.append(f"{r['scraped_pct']:.3f} % ({r['scraped_count']} scrapes{failed})")
    else:
        cells.append("—")
    restart = r.get("restart")
    if restart is None:
        cells.append("—")
    elif restart["latencies_ms"]:
        lat, lost = restart["latencies_ms"], restart["failures"]
        cells.append(f"{percentile(lat, 0.99):.1f} ms ({percentile(lat, 0.5):.1f}, {max(lat):.1f}; "
                     f"n={len(lat)}{f', ✘ {lost} lost' if lost else ''})")
    else:
        cells.append(f"✘ {restart['failures']} lost")
    stop = r.get("stop")
    how = "sv down" if name == "runit" else "SIGTERM"
    if stop is None:
        cells.append("—")
    elif stop["gone"] is None:
        cells.append(f"✘ {stop['left']:,}/{stop['found']:,} still running after {stop['limit']:.0f} s ({how})")
    else:
        exited = f" ({seconds(stop['exited'])})" if stop["exited"] is not None else ""
        cells.append(f"{seconds(stop['gone'])}{exited} ({how})")
    if "error" in r:  # the step after the last figure raised
        cells[next((i for i, c in enumerate(cells) if c == "—"), len(cells) - 1)] = f"✘ {r['error'][:80]}"
    return cells


def table(args):
    results = json.load(open(args.results))
    versions = results.pop("_versions", {})
    settings = results.pop("_settings", {})
    names = [n for n in PEERS if any(n in size for size in results.values())]
    header = [f"procmgr run {versions.get('procmgr', '')}".strip() if n == "procmgr"
              else f"{n} {versions.get(n, '')}".strip() for n in names]
    summary = []
    for key in sorted(results, key=int):
        size = results[key]
        count = int(key)
        floor = size.get("floor", {})
        print(f"### {count:,} `sleep` programs")
        print()
        if floor.get("cold") is not None:
            internal = f", {seconds(floor['internal'])} by its own clock" if floor.get("internal") is not None else ""
            print(f"Spawn floor (bench/spawn-floor.c, {count:,} × posix_spawnp, same run): {seconds(floor['cold'])} "
                  f"launch → all running{internal}.")
            print()
        labels = ["cold start → all running (× floor)", "memory (PSS) of the supervision processes; the top process's peak RSS (VmHWM) by then",
                  f"idle CPU, {settings.get('idle', 0):.0f} s, unscraped",
                  f"idle CPU, {settings.get('idle', 0):.0f} s, /metrics (gzip) every {settings.get('scrape_every', 0):.0f} s",
                  "exit → running, p99 (p50, max; kills)", "stop all → last program gone (supervisor exited)"]
        rows = {label: [] for label in labels}
        for name in names:
            cells = supervisor_cells(name, size.get(name), floor)
            for label, cell in zip(labels, cells):
                rows[label].append(cell)
            if name in size:
                summary.append((count, name, "; ".join(f"{what} {cell}" for what, cell in zip(
                    ("cold start", "PSS", "idle CPU", "restart p99"), (cells[0], cells[1], cells[2], cells[4]))
                    if cell != "—")))
        print("| workload | " + " | ".join(header) + " |")
        print("|---|" + "---|" * len(header))
        for label in labels:
            print(f"| {label} | " + " | ".join(rows[label]) + " |")
        for name in names:
            failed = size.get(name, {}).get("failed")
            if failed:
                known = KNOWN_LIMITS.get(name, lambda n: None)(count)
                output = f"; its output ends: `{failed['output'][-1]}`" if failed.get("output") else ""
                print(f"\n{name} did not get there{f' ({known})' if known else ''}{output}")
        metrics = size.get("procmgr", {}).get("metrics")
        go = size.get("go", {})
        if metrics:
            print()
            print(f"The agent's /metrics at {count:,} programs beside client_golang {versions.get('client_golang', '')} "
                  f"serving the same number of series ({settings.get('scrapes')} scrapes on one keep-alive connection, "
                  f"server CPU per scrape):")
            print()
            print("| /metrics | procmgr | client_golang | procmgr / Go | goal |")
            print("|---|---|---|---|---|")
            gos = go.get("series", "n/a")
            print(f"| series (sample lines) | {metrics['series']:,} | {gos if isinstance(gos, str) else f'{gos:,}'} | | |")
            for encoding, goals in (("identity", ("", "")), ("gzip", ("≤ 0.5×", "≤ 1.2×"))):
                ours, theirs = metrics[encoding], go.get(encoding)

                def ratio(field):
                    return f"{ours[field] / theirs[field]:.2f}×" if theirs and theirs[field] else "n/a"

                go_cpu = f"{theirs['cpu_ms']:.2f} ms" if theirs else "n/a"
                go_bytes = f"{theirs['bytes']:,}" if theirs else "n/a"
                print(f"| CPU per scrape, {encoding} | {ours['cpu_ms']:.2f} ms | {go_cpu} | {ratio('cpu_ms')} | {goals[0]} |")
                print(f"| body bytes, {encoding} | {ours['bytes']:,} | {go_bytes} | {ratio('bytes')} | {goals[1]} |")
                if encoding == "gzip" and theirs:
                    summary.append((count, "/metrics", f"CPU/scrape gzip {ratio('cpu_ms')} Go's (goal ≤ 0.5×), "
                                                       f"gzip bytes {ratio('bytes')} Go's (goal ≤ 1.2×)"))
        print()
    print("### Summary")
    print()
    for count, name, text in summary:
        print(f"- {count:,}, {name}: {text}")


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--agent", help="procmgr executable (`procmgr run --config`)")
    common.add_argument("--limit", type=float, default=120, help="s to reach all running, and to stop all")
    common.add_argument("--scrape-every", type=float, default=15)
    common.add_argument("--tag", help="exported as PROCMGR_BENCH_TAG to everything started")
    common.add_argument("--versions", default="{}", help="JSON {peer: version}")
    run_parser = sub.add_parser("run", parents=[common])
    run_parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split()], default=[1000, 5000, 10000])
    run_parser.add_argument("--peers", type=lambda s: [p for p in s.split(",") if p], default=list(PEERS))
    run_parser.add_argument("--floor", help="bench/spawn-floor.c, built")
    run_parser.add_argument("--go-peer", help="bench/go-metrics-peer, built")
    run_parser.add_argument("--idle", type=float, default=60)
    run_parser.add_argument("--settle", type=float, default=10, help="s after all ran before the idle window")
    run_parser.add_argument("--scrapes", type=int, default=20)
    run_parser.add_argument("--restarts", type=int, default=200)
    run_parser.add_argument("--spacing", type=float, default=0.05)
    run_parser.add_argument("--out", required=True)
    flat = sub.add_parser("rss-flat", parents=[common])
    flat.add_argument("--count", type=int, default=10000)
    flat.add_argument("--duration", type=float, default=1800)
    flat.add_argument("--sample-every", type=float, default=30)
    tab = sub.add_parser("table")
    tab.add_argument("--results", required=True)
    args = parser.parse_args()

    if args.command == "table":
        table(args)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    peerbench.become_subreaper()
    peerbench.ProcmgrAgent.agent = args.agent
    peerbench.Floor.binary = getattr(args, "floor", None)
    try:
        if args.command == "rss-flat":
            return rss_flat(args)
        run(args)
        return 0
    finally:
        peerbench.kill_descendants(60)


if __name__ == "__main__":
    sys.exit(main())
