#!/usr/bin/env python3
"""Driver of bench/fleet-bench.sh: the fleet on etcd (issue 13) measured from outside — one etcd
of its own (loopback, random ports, fresh data dir) and real `procmgr run` agents with
`agent.etcd`, nothing in their `processes:`; every desired process is a key
`/bench/nodes/<node>/processes/<id>` whose value is `{"command": ["sleep", "600.<marker>"]}`
(600 s; the marker makes this run's sleeps findable for cleanup). etcd is spoken to through its
v3 JSON gateway (keys and values base64), stdlib only.

Figures (issue 13's goals):
1. put → running: one agent, one put at a time (200): from just before the put's request to the
   agent's `event: state` with `"to":"running"` for that process on `GET /api/v1/events`, read in
   a thread (time.monotonic() on both sides). Floor: a posix_spawn of the same `sleep` (the call
   returns once the child has exec'd).
2. 50 agents × 100 processes: from the first put (one txn of 100 puts per node, 50 threads) until
   all 5,000 status keys `/bench/status/<node>/<id>` say `"state":"running"` (polled every
   250 ms: the benchmark's own observation). Then, with everything running and the status writes
   settled, the agents' PSS (each agent + its `procmgr-guard`; not the sleeps) and their CPU over
   a 30 s idle window (utime+stime from /proc/PID/stat, % of one core).
3. etcd writes from idle agents: the etcd revision before/after that same 30 s window (goal 0:
   lease keep-alives do not move it). Churn: 1,000 puts then 1,000 deletes as fast as one
   connection sends them, on one agent: that agent's `procmgr_fleet_status_writes_total` delta
   from the first put until its status keys are gone and the counter stopped moving, per second
   (goal ≤ 10/s), and the revision delta besides our own 2,000 writes.
4. watch resume: one agent connected; SIGKILL etcd, 3 s, etcd again on the same data dir; from
   `/health` answering to a newly put process running (goal ≤ 2 s), and from etcd's start to the
   agent's `procmgr_fleet_connected 1`.

Phases run in that order of need: the single agent (1, 4, churn), then the 50 (2, idle 3).
Cleanup: this process is a child subreaper (bench/peerbench.py), so etcd, the agents, their
guardians and every sleep stay its descendants and are SIGKILLed at exit, on Ctrl-C or SIGTERM;
the calling script also kills what carries the run's PROCMGR_BENCH_TAG or marker.
"""
import argparse
import base64
import http.client
import json
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerbench  # noqa: E402  (/proc helpers, subreaper, cleanup, free ports)
from peerbench import children, comm, free_port, now  # noqa: E402

PREFIX = "/bench"
TICKS = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"[fleetbench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def prefix_end(prefix):
    data = bytearray(prefix.encode())
    data[-1] += 1
    return bytes(data)


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


# ---------------------------------------------------------------- etcd

class Etcd:
    """etcd of our own: a fresh data dir, loopback client and peer ports, killed at exit."""

    def __init__(self, binary, workdir, env):
        self.binary, self.env = binary, env
        self.data = os.path.join(workdir, "etcd-data")
        self.logfile = os.path.join(workdir, "etcd.log")
        self.client_port, self.peer_port = free_port(), free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self.url = f"http://127.0.0.1:{self.client_port}"
        self.process = None
        self.local = threading.local()

    def start(self):
        peer = f"http://127.0.0.1:{self.peer_port}"
        argv = [self.binary, "--name", "bench", "--data-dir", self.data,
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"bench={peer}", "--initial-cluster-state", "new",
                "--logger", "zap", "--log-level", "warn"]
        with open(self.logfile, "ab") as out:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=self.env)
        return now()

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=0.5) as r:
                return json.load(r).get("health") == "true"
        except (OSError, ValueError):
            return False

    def wait_healthy(self, timeout=30, step=0.01):
        deadline = now() + timeout
        while now() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.process.returncode}; see {self.logfile}")
            if self.healthy():
                return now()
            time.sleep(step)
        raise RuntimeError(f"etcd not healthy after {timeout} s; see {self.logfile}")

    def kill(self):
        self.process.kill()
        self.process.wait()
        self.local.__dict__.clear()

    def call(self, path, body):
        """One gateway call on this thread's keep-alive connection (a new one after a failure)."""
        data = json.dumps(body).encode()
        for attempt in (0, 1):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.client_port, timeout=30)
            try:
                conn.request("POST", path, data, {"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    raise RuntimeError(f"etcd {path}: HTTP {response.status}: {payload[:300]!r}")
                return json.loads(payload)
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise

    def put(self, key, value):
        return self.call("/v3/kv/put", {"key": b64(key), "value": b64(value)})

    def delete(self, key):
        return self.call("/v3/kv/deleterange", {"key": b64(key)})

    def txn_puts(self, pairs):
        ops = [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in pairs]
        return self.call("/v3/kv/txn", {"success": ops})

    def range(self, prefix, count_only=False, keys_only=False):
        body = {"key": b64(prefix), "range_end": b64(prefix_end(prefix))}
        if count_only:
            body["count_only"] = True
        if keys_only:
            body["keys_only"] = True
        return self.call("/v3/kv/range", body)

    def revision(self):
        return int(self.range("/", count_only=True)["header"]["revision"])

    def count(self, prefix):
        return int(self.range(prefix, count_only=True).get("count", 0))

    def running(self, prefix):
        """(status keys, of which "state":"running") under prefix."""
        kvs = self.range(prefix).get("kvs", [])
        run = 0
        for kv in kvs:
            try:
                run += json.loads(base64.b64decode(kv.get("value", ""))).get("state") == "running"
            except ValueError:
                pass
        return len(kvs), run


# ---------------------------------------------------------------- agents

class Agent:
    """`procmgr run --config` with agent.etcd and no local processes."""

    def __init__(self, binary, workdir, node, etcd, env, lease_ttl):
        self.binary, self.node, self.env = binary, node, env
        self.dir = os.path.join(workdir, node)
        os.makedirs(self.dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.conf = os.path.join(self.dir, "procmgr.yaml")
        self.logfile = os.path.join(self.dir, "agent.log")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "agent:",
                f"  listen: 127.0.0.1:{self.port}",
                f"  state_dir: {json.dumps(os.path.join(self.dir, 'state'))}",
                "  etcd:",
                f"    endpoints: [{json.dumps(etcd.url)}]",
                f"    prefix: {PREFIX}",
                f"    node: {node}",
                f"    lease_ttl: {lease_ttl}",
                "processes: []",
            ]) + "\n")
        self.process = None

    def start(self):
        with open(self.logfile, "ab") as out:
            self.process = subprocess.Popen([self.binary, "run", "--config", self.conf], cwd=self.dir,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=self.env)

    def metrics(self, timeout=2):
        """{series: value} from /metrics ({} when it does not answer)."""
        try:
            with urllib.request.urlopen(self.url + "/metrics", timeout=timeout) as r:
                text = r.read().decode()
        except OSError:
            return {}
        out = {}
        for line in text.split("\n"):
            if line.startswith("procmgr_fleet_"):
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
        return out

    def connected(self):
        return self.metrics().get("procmgr_fleet_connected") == 1

    def status_writes(self):
        m = self.metrics()
        return sum(v for k, v in m.items() if k.startswith("procmgr_fleet_status_writes_total"))

    def own_pids(self):
        """The agent and its guardian (not the sleeps)."""
        return [self.process.pid] + [c for c in children(self.process.pid) if comm(c) == "procmgr-guard"]

    def problems(self):
        with open(self.logfile, "rb") as f:
            return [line.decode(errors="replace").rstrip() for line in f
                    if peerbench.ProcmgrAgent.problem.match(line)]


def wait_connected(agents, timeout):
    deadline = now() + timeout
    pending = list(agents)
    while pending and now() < deadline:
        for agent in pending:
            if agent.process.poll() is not None:
                raise RuntimeError(f"agent {agent.node} exited with {agent.process.returncode}; see {agent.logfile}")
        pending = [a for a in pending if not a.connected()]
        if pending:
            time.sleep(0.1)
    if pending:
        raise RuntimeError(f"{len(pending)} agents not connected after {timeout} s (e.g. {pending[0].logfile})")


class EventStream(threading.Thread):
    """GET /api/v1/events of one agent: the first time each process was seen `running`."""

    def __init__(self, agent):
        super().__init__(daemon=True)
        self.agent = agent
        self.running = {}
        self.cond = threading.Condition()
        self.error = None

    def run(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.agent.port, timeout=None)
            conn.request("GET", "/api/v1/events", headers={"Accept": "text/event-stream"})
            response = conn.getresponse()
            kind = None
            while True:
                line = response.fp.readline()
                if not line:
                    raise RuntimeError("event stream closed")
                stamp = now()
                line = line.rstrip(b"\r\n")
                if line.startswith(b"event:"):
                    kind = line[6:].strip()
                elif line.startswith(b"data:") and kind == b"state":
                    event = json.loads(line[5:])
                    if event.get("to") == "running":
                        with self.cond:
                            self.running.setdefault(event.get("process"), stamp)
                            self.cond.notify_all()
                elif line.startswith(b"data:") and kind == b"dropped":
                    raise RuntimeError(f"event stream dropped: {line!r}")
                elif not line:
                    kind = None
        except Exception as error:  # noqa: BLE001  (reported by wait())
            with self.cond:
                self.error = error
                self.cond.notify_all()

    def wait(self, process, timeout):
        deadline = now() + timeout
        with self.cond:
            while process not in self.running:
                if self.error:
                    raise RuntimeError(f"{self.agent.node}: {self.error}")
                left = deadline - now()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.running[process]


# ---------------------------------------------------------------- the figures

class Bench:
    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ, PROCMGR_BENCH_TAG=args.tag)
        self.value = json.dumps({"command": ["sleep", f"600.{args.marker}"]})
        self.etcd = Etcd(args.etcd, args.work, self.env)
        self.results = {}

    def key(self, node, pid):
        return f"{PREFIX}/nodes/{node}/processes/{pid}"

    def agent(self, node):
        return Agent(self.args.agent, self.args.work, node, self.etcd, self.env, self.args.lease_ttl)

    def latency(self, agent, stream):
        """Figure 1."""
        samples = []
        for i in range(self.args.puts):
            pid = f"p{i:04d}"
            start = now()
            self.etcd.put(self.key(agent.node, pid), self.value)
            seen = stream.wait(pid, 30)
            if seen is None:
                raise RuntimeError(f"{pid} not running 30 s after its put")
            samples.append(seen - start)
        floor = []
        argv = ["sleep", f"600.{self.args.marker}"]
        for _ in range(50):
            start = now()
            child = os.posix_spawnp("sleep", argv, self.env)
            floor.append(now() - start)
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        self.results["latency"] = {"samples": len(samples), "p50": percentile(samples, 0.5),
                                   "p99": percentile(samples, 0.99), "max": max(samples),
                                   "floor_p50": percentile(floor, 0.5)}
        log(f"put → running: {self.results['latency']}")

    def resume(self, agent, stream):
        """Figure 4."""
        connected_at = {}

        def watch_connected(since):
            while now() - since < 60:
                if agent.connected():
                    connected_at["t"] = now()
                    return
                time.sleep(0.02)

        self.etcd.kill()
        killed = now()
        # Whether the agent noticed within the 3 s (else "connected" below proves nothing).
        noticed = None
        while now() - killed < 3:
            if noticed is None and not agent.connected():
                noticed = now() - killed
            time.sleep(0.05)
        started = self.etcd.start()
        watcher = threading.Thread(target=watch_connected, args=(started,), daemon=True)
        watcher.start()
        healthy = self.etcd.wait_healthy(step=0.005)
        pid = "resume"
        self.etcd.put(self.key(agent.node, pid), self.value)
        seen = stream.wait(pid, 60)
        watcher.join(60)
        r = {"disconnect_noticed": noticed, "healthy_after_start": healthy - started,
             "healthy_to_running": None if seen is None else seen - healthy,
             "start_to_connected": connected_at["t"] - started if "t" in connected_at else None}
        self.results["resume"] = r
        log(f"watch resume: {r}")

    def churn(self, agent):
        """Figure 3, churn half."""
        n = self.args.churn
        node = agent.node
        status = f"{PREFIX}/status/{node}/c"
        writes_before = agent.status_writes()
        rev_before = self.etcd.revision()
        start = now()
        for i in range(n):
            self.etcd.put(self.key(node, f"c{i:04d}"), self.value)
        puts_done = now()
        for i in range(n):
            self.etcd.delete(self.key(node, f"c{i:04d}"))
        deletes_done = now()
        # Settled: no churn status key left and the write counter still for 2 s.
        last_value, last_change = agent.status_writes(), now()
        deadline = now() + 180
        while now() < deadline:
            time.sleep(0.1)
            value = agent.status_writes()
            if value != last_value:
                last_value, last_change = value, now()
            elif now() - last_change >= 2 and self.etcd.count(status) == 0:
                break
        rev_after = self.etcd.revision()
        writes = last_value - writes_before
        duration = max(last_change, deletes_done) - start
        r = {"processes": n, "puts_s": puts_done - start, "deletes_s": deletes_done - puts_done,
             "settled_s": duration, "status_txns": writes, "txns_per_s": writes / duration,
             "revision_delta": rev_after - rev_before, "revision_delta_agent": rev_after - rev_before - 2 * n}
        self.results["churn"] = r
        log(f"churn: {r}")

    def fleet(self, agents):
        """Figures 2 and 3 (idle half)."""
        per = self.args.per_agent
        total = len(agents) * per
        barrier = threading.Barrier(len(agents) + 1)
        errors = []

        def send(agent):
            pairs = [(self.key(agent.node, f"p{i:04d}"), self.value) for i in range(per)]
            barrier.wait()
            try:
                for chunk in range(0, per, 100):
                    self.etcd.txn_puts(pairs[chunk:chunk + 100])
            except Exception as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=send, args=(a,), daemon=True) for a in agents]
        for t in threads:
            t.start()
        barrier.wait()
        start = now()
        for t in threads:
            t.join()
        sent = now() - start
        if errors:
            raise RuntimeError(f"puts failed: {errors[0]}")
        status = f"{PREFIX}/status/n"
        running = 0
        deadline = start + self.args.timeout
        while now() < deadline:
            if self.etcd.count(status) >= total:
                _, running = self.etcd.running(status)
                if running >= total:
                    break
            time.sleep(0.25)
        all_running = now() - start
        if running < total:
            log(f"warning: only {running} of {total} running after {self.args.timeout} s")
        r = {"agents": len(agents), "processes": total, "puts_sent_s": sent,
             "all_running_s": all_running if running >= total else None, "running": running}
        # Settle: every agent's status-write counter still for 3 s.
        before = [a.status_writes() for a in agents]
        quiet_since = now()
        while now() - quiet_since < 3 and now() - start < self.args.timeout + 60:
            time.sleep(1)
            current = [a.status_writes() for a in agents]
            if current != before:
                before, quiet_since = current, now()
        pids = [p for a in agents for p in a.own_pids()]
        pss, rss = peerbench.memory_mib(pids)
        r["pss_mib"], r["rss_mib"] = pss, rss
        r["sharing_executable"] = len(peerbench.sharing_executable(pids))
        # Idle: CPU and etcd revision over the same window, nothing else from us meanwhile.
        rev_before = self.etcd.revision()
        cpu_before = {a.node: self.cpu(a) for a in agents}
        window_start = now()
        time.sleep(self.args.idle)
        cpu_after = {a.node: self.cpu(a) for a in agents}
        window = now() - window_start
        rev_after = self.etcd.revision()
        per_agent = sorted((cpu_after[n] - cpu_before[n]) / window * 100 for n in cpu_before)
        r.update({"idle_window_s": window, "idle_cpu_total_pct": sum(per_agent),
                  "idle_cpu_agent_median_pct": percentile(per_agent, 0.5), "idle_cpu_agent_max_pct": per_agent[-1],
                  "idle_revision_delta": rev_after - rev_before,
                  "idle_writes_per_s": (rev_after - rev_before) / window})
        self.results["fleet"] = r
        log(f"fleet: {r}")

    @staticmethod
    def cpu(agent):
        """utime+stime of the agent and its guardian, in s."""
        total = 0
        for pid in agent.own_pids():
            data = peerbench.read(f"/proc/{pid}/stat")
            if data:
                rest = data[data.rindex(b")") + 2:].split()
                total += int(rest[11]) + int(rest[12])
        return total / TICKS

    def run(self):
        a = self.args
        self.etcd.start()
        self.etcd.wait_healthy()
        log(f"etcd {self.etcd.url} healthy")
        single = self.agent("lat")
        single.start()
        wait_connected([single], 60)
        stream = EventStream(single)
        stream.start()
        time.sleep(0.5)  # the stream is open before the first put
        self.latency(single, stream)
        self.resume(single, stream)
        self.churn(single)
        single.process.send_signal(signal.SIGTERM)
        try:
            single.process.wait(60)
        except subprocess.TimeoutExpired:
            single.process.kill()
        self.results["problems_single"] = single.problems()
        log(f"starting {a.agents} agents")
        agents = [self.agent(f"n{i:03d}") for i in range(a.agents)]
        t0 = now()
        for agent in agents:
            agent.start()
        wait_connected(agents, 120 + a.agents)
        log(f"{a.agents} agents connected in {now() - t0:.1f} s")
        self.fleet(agents)
        self.results["problems_fleet"] = [f"{agent.node}: {p}" for agent in agents for p in agent.problems()]
        with open(a.out, "w") as f:
            json.dump(self.results, f, indent=1)


# ---------------------------------------------------------------- summary

def machine():
    model = "?"
    for line in (peerbench.read("/proc/cpuinfo") or b"").decode(errors="replace").split("\n"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()
    return f"{os.cpu_count()} cores ({model}), Linux {platform.release()}; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def check(ok):
    return "n/a" if ok is None else ("✔" if ok else "✘")


def summary(results, args):
    lat, fl, ch, rs = (results.get(k) for k in ("latency", "fleet", "churn", "resume"))
    lines = [f"Fleet on etcd — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"machine: {machine()}",
             f"etcd: {args.etcd_version}; agent: {args.agent}"]

    def ms(v):
        return "n/a" if v is None else f"{v * 1000:.1f} ms"

    def s(v):
        return "n/a" if v is None else f"{v:.2f} s"

    if lat:
        lines.append(f"1. put → running (1 agent, {lat['samples']} puts, one at a time): p50 {ms(lat['p50'])}, "
                     f"p99 {ms(lat['p99'])}, max {ms(lat['max'])}; spawn floor (posix_spawn of sleep) p50 {ms(lat['floor_p50'])}  "
                     "[no goal: reference]")
    if fl:
        ok = fl["all_running_s"] is not None
        lines.append(f"2. {fl['agents']} agents × {args.per_agent} = {fl['processes']} processes: first put → all running "
                     f"{s(fl['all_running_s'])} (puts sent in {s(fl['puts_sent_s'])}; {fl['running']} running)  "
                     f"[all running within {args.timeout:.0f} s] {check(ok)}")
        lines.append(f"   agents' PSS (agent + guardian, all {fl['agents']}): {fl['pss_mib']:.1f} MiB "
                     f"({fl['pss_mib'] / fl['agents']:.2f} MiB per agent; RSS {fl['rss_mib']:.0f} MiB)"
                     + (f"; {fl['sharing_executable']} other processes map the same executable" if fl['sharing_executable'] else ""))
        lines.append(f"   idle CPU over {fl['idle_window_s']:.0f} s: {fl['idle_cpu_total_pct']:.2f} % of one core all together; "
                     f"per agent median {fl['idle_cpu_agent_median_pct']:.3f} %, max {fl['idle_cpu_agent_max_pct']:.3f} %")
        lines.append(f"3. etcd writes from {fl['agents']} idle agents: revision +{fl['idle_revision_delta']} over "
                     f"{fl['idle_window_s']:.0f} s = {fl['idle_writes_per_s']:.2f} writes/s  [goal: 0] "
                     f"{check(fl['idle_revision_delta'] == 0)}")
    if ch:
        lines.append(f"   churn of {ch['processes']} processes on one agent (puts {s(ch['puts_s'])}, deletes "
                     f"{s(ch['deletes_s'])}, settled after {s(ch['settled_s'])}): {ch['status_txns']:.0f} status txns = "
                     f"{ch['txns_per_s']:.2f}/s; revision +{ch['revision_delta']} ({ch['revision_delta_agent']} beyond our "
                     f"{2 * ch['processes']} writes)  [goal: ≤ 10 txns/s] {check(ch['txns_per_s'] <= 10)}")
    if rs:
        h = rs["healthy_to_running"]
        lines.append(f"4. watch resume after an etcd restart (SIGKILL, 3 s, same data dir): etcd healthy → new process running "
                     f"{s(h)}; etcd start → healthy {s(rs['healthy_after_start'])}, start → agent connected "
                     f"{s(rs['start_to_connected'])} (the agent reported disconnected {s(rs['disconnect_noticed'])} after the kill)  [goal: ≤ 2 s] {check(None if h is None else h <= 2)}")
    for key, what in (("problems_single", "the single agent (1, 4, churn; etcd was down in 4)"),
                      ("problems_fleet", "the fleet's agents (2, 3)")):
        if key not in results:
            continue
        problems = results[key]
        lines.append(f"log warnings/errors of {what}: {len(problems)}" + "".join(f"\n   {p[:200]}" for p in problems[:8]))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agent", required=True)
    parser.add_argument("--etcd", default="/usr/bin/etcd")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--per-agent", type=int, default=100)
    parser.add_argument("--puts", type=int, default=200)
    parser.add_argument("--churn", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=30)
    parser.add_argument("--timeout", type=float, default=300, help="s until the fleet must run")
    parser.add_argument("--lease-ttl", default="10s")
    parser.add_argument("--marker", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if shutil.which(args.etcd) is None:
        sys.exit(f"{args.etcd}: not found")
    args.etcd_version = subprocess.run([args.etcd, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    peerbench.become_subreaper()

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    bench = Bench(args)
    status = 0
    try:
        bench.run()
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001
        log(f"error: {error!r}")
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log("cleanup: SIGKILL etcd, agents, guardians and sleeps")
        peerbench.kill_descendants()
    print(summary(bench.results, args), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
