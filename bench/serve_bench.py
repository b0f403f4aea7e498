#!/usr/bin/env python3
"""Is ostel serve's client ever the bottleneck? Side by side in one run, against
bench/fake_sse_server (127.0.0.1, every stream sends a token every 1/RATE s at absolute deadlines,
each chunk's text carrying its send time on CLOCK_MONOTONIC):

  * ostel serve --url … --concurrency C --requests C --save-tokens (one level, no warm-up)
  * bench/serve_client.py: the same load in Python asyncio + aiohttp, read the way vLLM's
    benchmark client reads SSE

  * bench/sse_floor_client.c (built here with cc): epoll + one recv per ready socket, no HTTP or
    JSON — the kernel's cost per token that every client on this machine pays, and the ITL error
    such a client sees
  * bench/sse_uring_client.c (built here when liburing-dev is installed): the same least work
    with io_uring's multishot receives in place of epoll + recv — whether another way of reading
    the kernel offers costs less per token

For each: CPU time (user + system of the client process alone, from wait4's rusage; the user
part beyond setup apart) per streamed token, wall time, tokens, the ITL measurement error — for
consecutive tokens of one stream, (arrival_k − arrival_k−1) − (send_k − send_k−1), the
client-observed gap minus the server's send gap of the same pair — its |p50|, |p99| and max, and
how long the client's threads waited for a CPU while runnable (/proc/PID/task/*/schedstat, read
every 10 ms): time in which no token can be read.

    python3 bench/serve_bench.py [--build build] [--streams 1000] [--tokens 40] [--rate 20]
"""
import argparse
import bisect
import csv
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    h = q * (len(xs) - 1)
    lo = int(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])




def run(cmd, env=None, stdout=subprocess.DEVNULL):
    """Runs cmd to its end: wall s, CPU s (user + system), stderr, stdout, run-queue wait s, and
    the wait's timeline [(CLOCK_MONOTONIC ns, wait so far ns)], one point every 10 ms."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    waits = {}  # tid -> its last wait: threads that ended keep theirs
    timeline = []
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        try:
            for t in os.listdir(f"/proc/{p.pid}/task"):
                with open(f"/proc/{p.pid}/task/{t}/schedstat") as f:
                    waits[t] = int(f.read().split()[1])
        except (OSError, ValueError, IndexError):
            pass
        timeline.append((time.monotonic_ns(), sum(waits.values())))
        time.sleep(0.01)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    out = p.stdout.read().decode(errors="replace") if p.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed: {err}")
    return wall, (ru.ru_utime, ru.ru_stime), err, out, sum(waits.values()) / 1e9, timeline


def wait_in_gaps(timeline, pairs):
    """For ITL errors over 1 ms and under 0.1 ms (pairs: [(arrival before, arrival after, error
    ms)]): how many, the share of gaps in which the client waited for a CPU at least half the
    error (over 1 ms only), and the mean wait in a gap, ms — the gap widened by the 10 ms sampling
    step on each side, so that the small errors are the control for the large."""
    ts = [t for t, _ in timeline]

    def wait_ms(a0, a1):
        i = max(bisect.bisect_right(ts, a0 - 10_000_000) - 1, 0)
        j = min(bisect.bisect_left(ts, a1 + 10_000_000), len(ts) - 1)
        return (timeline[j][1] - timeline[i][1]) / 1e6 if ts else float("nan")

    big = [(wait_ms(a0, a1), e) for a0, a1, e in pairs if e > 1]
    small = [wait_ms(a0, a1) for a0, a1, e in pairs if e < 0.1]
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
    share = sum(w >= e / 2 for w, e in big) / len(big) if big else float("nan")
    return len(big), len(small), share, mean([w for w, _ in big]), mean(small)


def itl_errors(path):
    streams = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            text = r["text"]
            if "@" not in text:
                continue
            sent = int(text.rsplit("@", 1)[1])
            streams.setdefault(r["req_id"], []).append(
                (int(r["index"]), int(r["arrival_mono_ns"]), sent))
    errs, delays, pairs, n = [], [], [], 0
    for toks in streams.values():
        toks.sort()
        n += len(toks)
        for (_, a0, s0), (_, a1, s1) in zip(toks, toks[1:]):
            errs.append(abs((a1 - a0) - (s1 - s0)) / 1e6)
            pairs.append((a0, a1, errs[-1]))
        delays += [(a - s) / 1e6 for _, a, s in toks]
    return n, len(streams), errs, delays, pairs


def start_fake(fake, port_file, rate, stderr, prefix=()):
    """bench/fake_sse_server on a free port of 127.0.0.1, the port written to port_file."""
    return subprocess.Popen(list(prefix) + [fake, "--port", "0", "--port-file", port_file,
                                            "--rate", str(rate)], stderr=stderr)


def fake_url(port_file, tries):
    """The fake server's URL, once it has written its port (tries × 50 ms at most)."""
    for _ in range(tries):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.05)
    return "http://127.0.0.1:" + open(port_file).read().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=40)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--uring-cflags", default="",
                    help="extra cc flags for bench/sse_uring_client.c (-I, -L of an unpacked "
                         "liburing-dev)")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="the interpreter with Debian's python3-aiohttp")
    a = ap.parse_args()
    ostel = os.path.join(a.build, "ostel")
    fake = os.path.join(a.build, "fake_sse_server")
    tmp = tempfile.mkdtemp(prefix="ostel-serve-bench.")
    floor_bin = os.path.join(tmp, "sse_floor_client")
    uring_bin = os.path.join(tmp, "sse_uring_client")
    # the io_uring reader needs liburing-dev (>= 2.3) and a kernel >= 6.1: left out without them
    have_uring = subprocess.run(["cc", "-O2", "-o", uring_bin,
                                 os.path.join(HERE, "sse_uring_client.c"), "-luring", "-lm"]
                                + a.uring_cflags.split(), stderr=subprocess.DEVNULL).returncode == 0
    have_uring = have_uring and subprocess.run([uring_bin, "--probe"]).returncode == 0
    subprocess.run(["cc", "-O2", "-o", floor_bin, os.path.join(HERE, "sse_floor_client.c"), "-lm"],
                   check=True)
    srv_notes = {}

    def with_server(name, cmd_of, tokens):
        """Runs one client on a fresh fake server (none inherits another's connections):
        (wall s, CPU s, run-queue wait s, tokens, ITL errors ms, arrival − send ms)."""
        # one file per client and run: the two floors share a first word, and a stale file would
        # name a server already gone
        port_file = os.path.join(tmp, f"{len(srv_notes)}-{name.split()[0]}-{tokens}.port")
        server = start_fake(fake, port_file, a.rate, subprocess.PIPE)
        try:
            url = fake_url(port_file, 100)
            cmd, tokens_csv = cmd_of(url, tokens)
            if tokens_csv is None:  # the floor: "tokens N itl_err_p50_ms X p99 Y max Z"
                wall, cpu, _, out, rq, _ = run(cmd, stdout=subprocess.PIPE)
                f = out.split()
                return (wall, cpu, rq, int(f[1]), (float(f[3]), float(f[5]), float(f[7])), None,
                        None)
            wall, cpu, _, _, rq, timeline = run(cmd)
            n, _, errs, delays, pairs = itl_errors(tokens_csv)
            return (wall, cpu, rq, n, (pct(errs, 0.5), pct(errs, 0.99), max(errs, default=0)),
                    delays, (len(errs),) + wait_in_gaps(timeline, pairs))
        finally:
            try:  # the server's own wait for a CPU (one thread)
                with open(f"/proc/{server.pid}/schedstat") as f:
                    srv_rq = f"; its run-queue wait {int(f.read().split()[1]) / 1e9:.3f} s"
            except (OSError, ValueError, IndexError):
                srv_rq = ""
            server.terminate()
            server.wait()
            if tokens == a.tokens:
                srv_notes[name] = server.stderr.read().decode(errors="replace").strip() + srv_rq

    def ostel_cmd(url, tokens):
        out = os.path.join(tmp, f"ostel-run-{tokens}")
        return ([ostel, "serve", "--url", url, "--concurrency", str(a.streams), "--requests",
                 str(a.streams), "--warmup", "0", "--prompt-tokens", "8", "--output-tokens",
                 str(tokens), "--interval", "1s", "--save-tokens", "-q", "-o", out],
                os.path.join(out, "tokens.csv"))

    def python_cmd(url, tokens):
        path = os.path.join(tmp, f"python-tokens-{tokens}.csv")
        return ([a.python, os.path.join(HERE, "serve_client.py"), url, str(a.streams),
                 str(a.streams), str(tokens), path], path)

    def floor_cmd(url, tokens):
        return [floor_bin, url.rsplit(":", 1)[1], str(a.streams), str(tokens)], None

    def uring_cmd(url, tokens):
        return [uring_bin, url.rsplit(":", 1)[1], str(a.streams), str(tokens)], None

    clients = [("ostel serve (C, libcurl multi)", ostel_cmd),
               ("Python asyncio + aiohttp (vLLM's way)", python_cmd),
               ("floor (C, epoll + recv only)", floor_cmd)]
    if have_uring:
        clients.append(("floor (C, io_uring multishot recv)", uring_cmd))
    results = {}
    for name, cmd_of in clients:
        # the same load with one token per stream: start-up, connections and requests alone
        setup = with_server(name, cmd_of, 1)
        results[name] = (with_server(name, cmd_of, a.tokens), setup)
    print(f"# {a.streams} concurrent streams × {a.tokens} tokens, one token every "
          f"{1000 / a.rate:.0f} ms per stream, on {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    for name, note in srv_notes.items():
        print(f"# server beside {name}: {note}")
    if not have_uring:
        print("# the io_uring floor left out: bench/sse_uring_client.c did not build "
              "(liburing-dev) or this kernel lacks multishot receives with provided buffer rings "
              "(< 6.1)")
    print("| client | tokens | wall s | CPU s | CPU µs/token | setup CPU s (1 token each) | "
          "CPU µs/token beyond setup | of it user µs | ITL error p50 ms | p99 ms | max ms | "
          "arrival − send p99 ms | run-queue wait s |")
    print("| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |")
    per_tok, marginal, user_marg, notes = {}, {}, {}, []
    for name, ((wall, (user, sys_), rq, n, errs, delays, big), setup) in results.items():
        e50, e99, emax = errs
        cpu, setup_user = user + sys_, setup[1][0]
        setup = (setup[0], sum(setup[1])) + setup[2:]
        if big:
            npairs, nbig, nsmall, share, wbig, wsmall = big
            notes.append(f"# {name}: {nbig} of {npairs} ITL errors over 1 ms, in {share:.0%} of "
                         f"whose gaps the client waited at least half the error for a CPU; mean "
                         f"wait in those gaps {wbig:.1f} ms, in the {nsmall} gaps with an error "
                         f"under 0.1 ms {wsmall:.1f} ms")
        per_tok[name] = cpu / n * 1e6 if n else float("nan")
        marginal[name] = (cpu - setup[1]) / (n - setup[3]) * 1e6 if n > setup[3] else float("nan")
        user_marg[name] = ((user - setup_user) / (n - setup[3]) * 1e6 if n > setup[3]
                           else float("nan"))
        d99 = f"{pct(delays, 0.99):.3f}" if delays else ""
        print(f"| {name} | {n} | {wall:.2f} | {cpu:.2f} | {per_tok[name]:.1f} | {setup[1]:.2f} | "
              f"{marginal[name]:.1f} | {user_marg[name]:.1f} | {e50:.3f} | {e99:.3f} | "
              f"{emax:.3f} | {d99} | {rq:.3f} |")
    for line in notes:
        print(line)
    o, py, fl = (name for name, _ in clients[:3])
    print(f"# CPU per token, Python / ostel: {per_tok[py] / per_tok[o]:.1f}× (beyond setup "
          f"{marginal[py] / marginal[o]:.1f}×); ostel / floor: {per_tok[o] / per_tok[fl]:.2f}× "
          f"({marginal[o] / marginal[fl]:.2f}×); Python / floor, the most any client could "
          f"reach here: {per_tok[py] / per_tok[fl]:.1f}× ({marginal[py] / marginal[fl]:.1f}×); "
          f"user time alone beyond setup, Python / ostel: {user_marg[py] / user_marg[o]:.1f}×")
    if have_uring:
        ur = clients[3][0]
        print(f"# the io_uring floor / the epoll floor, CPU per token: "
              f"{per_tok[ur] / per_tok[fl]:.2f}× (beyond setup "
              f"{marginal[ur] / marginal[fl]:.2f}×)")

main()
