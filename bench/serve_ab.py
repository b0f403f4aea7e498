#!/usr/bin/env python3
"""Two or more builds of ostel serve's client side by side, interleaved, against
bench/fake_sse_server (each run on a fresh server): CPU time, the ITL measurement error (the same
definition as bench/serve_bench.py: the client's gap between two tokens of a stream against the
server's send gap), arrival − send, and TTFT. For a change to the client's event loop, where one
run says little and the machine's noise is as large as the change.

    python3 bench/serve_ab.py [--streams 300] [--tokens 60] [--rate 20] [--reps 5]
        [--fake build/fake_sse_server] [--pin] OSTEL_A OSTEL_B [...]

--pin puts the fake server on CPU 1 and the client on CPU 0 (taskset). Prints one line per run
and, per build, the median over the runs of each figure.
"""
import argparse
import csv
import os
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def bench_module():
    """bench/serve_bench.py's functions (run, itl_errors, pct, start_fake, fake_url), without
    running its main()."""
    path = os.path.join(HERE, "serve_bench.py")
    src = open(path).read().replace("\nmain()", "\n")
    ns = {"__file__": path, "__name__": "serve_bench"}
    exec(compile(src, path, "exec"), ns)
    return ns


def one(sb, a, ostel):
    tmp = tempfile.mkdtemp(prefix="ostel-serve-ab.")
    port_file = os.path.join(tmp, "port")
    pin_srv = ["taskset", "-c", "1"] if a.pin else []
    pin_cli = ["taskset", "-c", "0"] if a.pin else []
    srv = sb["start_fake"](a.fake, port_file, a.rate, subprocess.DEVNULL, pin_srv)
    try:
        url = sb["fake_url"](port_file, 200)
        out = os.path.join(tmp, "run")
        _, (user, sys_), _, _, rq, _ = sb["run"](pin_cli + [
            ostel, "serve", "--url", url, "--concurrency", str(a.streams), "--requests",
            str(a.streams), "--warmup", "0", "--prompt-tokens", "8", "--output-tokens",
            str(a.tokens), "--interval", "1s", "--save-tokens", "-q", "-o", out])
    finally:
        srv.terminate()
        srv.wait()
    _, _, errs, delays, _ = sb["itl_errors"](os.path.join(out, "tokens.csv"))
    ttft = [float(r["ttft_ms"]) for r in csv.DictReader(open(os.path.join(out, "requests.csv")))]
    pct = sb["pct"]
    return {"cpu s": user + sys_, "ITL err p50 ms": pct(errs, 0.5), "p99 ms": pct(errs, 0.99),
            "max ms": max(errs), "errors > 1 ms": sum(e > 1 for e in errs),
            "arrival − send p99 ms": pct(delays, 0.99), "TTFT p50 ms": pct(ttft, 0.5),
            "TTFT max ms": max(ttft), "run-queue wait s": rq}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=300)
    ap.add_argument("--tokens", type=int, default=60)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--fake", default=os.path.join("build", "fake_sse_server"))
    ap.add_argument("--pin", action="store_true")
    ap.add_argument("ostel", nargs="+")
    a = ap.parse_args()
    sb = bench_module()
    print(f"# {a.streams} streams × {a.tokens} tokens at {a.rate:g}/s each, {a.reps} rounds, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    res = {b: [] for b in a.ostel}
    for _ in range(a.reps):
        for b in a.ostel:  # interleaved: the machine's drift falls on every build alike
            r = one(sb, a, b)
            res[b].append(r)
            print(f"{b}: " + "; ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                       for k, v in r.items()), flush=True)
    keys = list(next(iter(res.values()))[0])
    print("| build | " + " | ".join(keys) + " |")
    print("| --- |" + " --: |" * len(keys))
    for b, runs in res.items():
        print(f"| {b} | " + " | ".join(f"{statistics.median(r[k] for r in runs):.3f}"
                                       for k in keys) + " |")


main()
