#!/usr/bin/env python3
"""Is ostel serve's client ever the bottleneck? Side by side in one run, against
bench/fake_sse_server (127.0.0.1, every stream sends a token every 1/RATE s at absolute deadlines,
each chunk's text carrying its send time on CLOCK_MONOTONIC):

  * ostel serve --url … --concurrency C --requests C --save-tokens (one level, no warm-up)
  * bench/serve_client.py: the same load in Python asyncio + aiohttp, read the way vLLM's
    benchmark client reads SSE

For each: CPU time (user + system, from wait4's rusage) per streamed token, wall time, tokens, and
the ITL measurement error — for consecutive tokens of one stream, (arrival_k − arrival_k−1) −
(send_k − send_k−1), the client-observed gap minus the server's send gap — its |p50|, |p99| and max.

    python3 bench/serve_bench.py [--build build] [--streams 1000] [--tokens 40] [--rate 20]
"""
import argparse
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


def run(cmd, env=None):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed: {err}")
    return wall, ru.ru_utime + ru.ru_stime, err


def itl_errors(path):
    streams = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            text = r["text"]
            if "@" not in text:
                continue
            sent = int(text.rsplit("@", 1)[1])
            streams.setdefault(r["req_id"], []).append((int(r["index"]), int(r["arrival_mono_ns"]), sent))
    errs, delays, n = [], [], 0
    for toks in streams.values():
        toks.sort()
        n += len(toks)
        for (_, a0, s0), (_, a1, s1) in zip(toks, toks[1:]):
            errs.append(abs((a1 - a0) - (s1 - s0)) / 1e6)
        delays += [(a - s) / 1e6 for _, a, s in toks]
    return n, len(streams), errs, delays


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=40)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="the interpreter with Debian's python3-aiohttp")
    a = ap.parse_args()
    ostel = os.path.join(a.build, "ostel")
    fake = os.path.join(a.build, "fake_sse_server")
    tmp = tempfile.mkdtemp(prefix="ostel-serve-bench.")
    results, srv_notes = {}, {}

    def with_server(name, make_cmd, tokens_csv):
        """Each client gets a fresh fake server (none inherits the other's connections)."""
        port_file = os.path.join(tmp, name.split()[0] + ".port")
        server = subprocess.Popen([fake, "--port", "0", "--port-file", port_file, "--rate",
                                   str(a.rate)], stderr=subprocess.PIPE)
        try:
            for _ in range(100):
                if os.path.exists(port_file) and open(port_file).read().strip():
                    break
                time.sleep(0.05)
            url = "http://127.0.0.1:" + open(port_file).read().strip()
            wall, cpu, _ = run(make_cmd(url))
            results[name] = (wall, cpu, tokens_csv)
        finally:
            server.terminate()
            server.wait()
            srv_notes[name] = server.stderr.read().decode(errors="replace").strip()

    out = os.path.join(tmp, "ostel-run")
    with_server("ostel serve (C, libcurl multi)",
                lambda url: [ostel, "serve", "--url", url, "--concurrency", str(a.streams),
                             "--requests", str(a.streams), "--warmup", "0", "--prompt-tokens", "8",
                             "--output-tokens", str(a.tokens), "--interval", "1s", "--save-tokens",
                             "-q", "-o", out],
                os.path.join(out, "tokens.csv"))
    py_tokens = os.path.join(tmp, "python-tokens.csv")
    with_server("Python asyncio + aiohttp (vLLM's way)",
                lambda url: [a.python, os.path.join(HERE, "serve_client.py"), url, str(a.streams),
                             str(a.streams), str(a.tokens), py_tokens],
                py_tokens)
    print(f"# {a.streams} concurrent streams × {a.tokens} tokens, one token every "
          f"{1000 / a.rate:.0f} ms per stream, on {os.cpu_count()} CPUs")
    for name, note in srv_notes.items():
        print(f"# server beside {name}: {note}")
    print("| client | streams | tokens | wall s | CPU s | CPU µs/token | ITL error p50 ms | p99 ms | max ms | arrival − send p99 ms |")
    print("| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |")
    per_tok = {}
    for name, (wall, cpu, path) in results.items():
        n, ns, errs, delays = itl_errors(path)
        per_tok[name] = cpu / n * 1e6 if n else float("nan")
        print(f"| {name} | {ns} | {n} | {wall:.2f} | {cpu:.2f} | {per_tok[name]:.1f} | "
              f"{pct(errs, 0.5):.3f} | {pct(errs, 0.99):.3f} | {max(errs):.3f} | {pct(delays, 0.99):.3f} |")
    names = list(per_tok)
    print(f"# CPU per token, Python / ostel: {per_tok[names[1]] / per_tok[names[0]]:.1f}×")


main()
