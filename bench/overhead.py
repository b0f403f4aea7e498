#!/usr/bin/env python3
"""bench/overhead.py — what watching costs: ostel's sampler against a psutil sampler and a
fork-per-sample shell sampler, and llama.cpp's generation speed with and without ostel watching.

Usage: bench/overhead.py [--only samplers|llama|interleaved] [--model M.gguf] [options; --help]

Part 1 (samplers) runs each sampler on an idle `sleep` for DURATION seconds at INTERVAL, REPS times
interleaved, and reports CPU time per sample (user+sys from wait4, less the same sampler's start-up
cost measured with a zero-length run). Part 2 (llama, with --model) runs llama-bench (or
llama-completion) unwatched and under `ostel run --interval MODE`, one run of each per round, and
compares generation tokens/s per round (paired) with a 95% confidence interval. Part 3
(interleaved, with --model) keeps one llama-bench process under `ostel run` and stops or continues
ostel for each repetition, in randomly ordered pairs: the precise comparison on a noisy machine
(see part3's docstring and bench/README.md). Everything runs side by side in one invocation so the
machine's state is shared; only ratios are meant to be compared across machines.
"""
import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_measured(argv, **kw):
    """Runs argv to completion; returns (stdout, cpu_seconds of it and its waited-for children)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, **kw)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"overhead: {argv[0]} failed with {p.returncode}")
    return out.decode(), ru.ru_utime + ru.ru_stime


def sampler_ostel(ostel, dur, interval, tmp):
    out = os.path.join(tmp, f"ostel-{time.monotonic_ns()}")
    _, cpu = run_measured([ostel, "run", "-q", "--interval", f"{interval*1000:g}ms", "--out", out,
                           "--", "sleep", f"{dur:g}"])
    with open(os.path.join(out, "metrics.csv")) as f:
        rows = sum(1 for _ in f) - 1
    shutil.rmtree(out)
    return cpu, rows


def sampler_external(cmd, dur, interval, tmp):
    target = subprocess.Popen(["sleep", f"{dur + 1:g}"])
    out = os.path.join(tmp, f"ext-{time.monotonic_ns()}.csv")
    stdout, cpu = run_measured(cmd + [str(target.pid), f"{interval:g}", f"{dur:g}", out])
    target.kill()
    target.wait()
    return cpu, int(stdout.strip().splitlines()[-1])


def python_with_psutil():
    """An interpreter that has psutil: this one, or Debian's (python3-psutil) when pyenv hides
    it."""
    for py in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(py) and subprocess.run([py, "-c", "import psutil"],
                                                 capture_output=True).returncode == 0:
            return py
    sys.exit("overhead: no python3 with psutil (Debian: apt-get install python3-psutil)")


def part1(args, tmp):
    interval = args.interval_ms / 1000.0
    samplers = {
        "ostel": lambda d: sampler_ostel(args.ostel, d, interval, tmp),
        "psutil (python3-psutil)": lambda d: sampler_external(
            [python_with_psutil(), os.path.join(HERE, "psutil_sampler.py")], d, interval, tmp),
        "shell (ps + /proc/vmstat, fork per sample)": lambda d: sampler_external(
            ["bash", os.path.join(HERE, "shell_sampler.sh")], d, interval, tmp),
    }
    startup = {name: min(f(0)[0] for _ in range(2)) for name, f in samplers.items()}
    per_sample = {name: [] for name in samplers}
    for _ in range(args.reps):
        for name, f in samplers.items():
            cpu, rows = f(args.duration)
            per_sample[name].append(max(cpu - startup[name], 0) / max(rows, 1))
    base = statistics.median(per_sample["ostel"])
    print(f"\n## Sampler cost: CPU time per sample, {args.interval_ms:g} ms interval, "
          f"{args.duration:g} s x {args.reps}\n")
    print("| sampler | CPU per sample (µs, median) | min–max | × ostel |")
    print("| --- | ---: | ---: | ---: |")
    for name, xs in per_sample.items():
        med = statistics.median(xs)
        print(f"| {name} | {med*1e6:.1f} | {min(xs)*1e6:.1f}–{max(xs)*1e6:.1f} | "
              f"{med/base:.1f} |")
    return per_sample


def gen_tps_from_summary(path):
    with open(path) as f:
        return json.load(f)["llama"]["timings"]["gen_tps"]


PROMPT = "The history of computing is a story of machines"


# Two-sided 95% quantiles of Student's t by degrees of freedom (larger df: the next one below).
T95 = [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447), (7, 2.365),
       (8, 2.306), (9, 2.262), (10, 2.228), (12, 2.179), (15, 2.131), (20, 2.086), (25, 2.060),
       (30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980)]


def t95(df):
    q = T95[0][1]
    for d, v in T95:
        if d <= df:
            q = v
    return q if df < 1000 else 1.96


def llama_bin_dir():
    return os.environ.get("OSTEL_LLAMA_BIN") or os.path.join(
        os.environ.get("OSTEL_CACHE", os.path.join(os.environ.get("XDG_CACHE_HOME",
                       os.path.expanduser("~/.cache")), "ostel")), "llama.cpp-nlc-3.21.1", "bin")


def part2(args, tmp):
    # "unwatched" is llama.cpp alone, its output into a file. "1h": ostel spawns, pipes and parses
    # as usual but takes only its first sample — it separates the cost of sampling from the cost
    # of being watched at all. Any other mode is an `ostel run --interval MODE`.
    modes = args.modes.split(",")
    if modes[0] != "unwatched":
        modes.insert(0, "unwatched")
    threads = (["-t", str(args.threads)] if args.threads else []) + shlex.split(args.llama_args)
    if args.tool == "llama-bench":
        # llama.cpp's own speed tool: a warm-up run, then --bench-reps generations of --gen tokens
        # in one process; its average is far steadier than one llama-completion's (see README)
        argv = [os.path.join(llama_bin_dir(), "llama-bench"), "-m", args.model, "-p", "0",
                "-n", str(args.gen), "-r", str(args.bench_reps), "-o", "json", *threads]
    else:
        # the same argv as `ostel run -m` builds (see its config.txt)
        argv = [os.path.join(llama_bin_dir(), "llama-completion"), "-m", args.model, "-c", "512",
                "-n", str(args.gen), "-p", PROMPT, "-no-cnv", "--perf", "--ignore-eos", "-lv", "4",
                "-s", "42", *threads]

    def one(mode, out):
        if mode == "unwatched":
            os.makedirs(out)
            with open(os.path.join(out, "llama_output.log"), "w") as f:
                subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, check=True)
        else:
            run_measured([args.ostel, "run", "-q", "--interval", mode, "--out", out, "--", *argv])
            with open(os.path.join(out, "summary.json")) as f:
                oc = json.load(f)["telemetry"].get("ostel_cpu") or {}
            if oc.get("pct_of_core") is not None:
                own[mode].append((oc["pct_of_core"], oc["us_per_sample"]))
        j = json.loads(subprocess.run([args.ostel, "parse", "--json",
                                       os.path.join(out, "llama_output.log")],
                                      capture_output=True, check=True).stdout)
        if args.tool == "llama-bench":
            return j["bench"][0]["avg_ts"] if j.get("bench") else None
        return j["timings"]["gen_tps"]

    tps = {m: [] for m in modes}
    own = {m: [] for m in modes}  # ostel's CPU while watching: (% of a core, µs per sample)
    lost = 0
    raw = open(args.raw, "w") if args.raw else None
    if raw:
        raw.write("round,position,mode,gen_tps\n")
    for i in range(args.llama_reps):
        order = modes[i % len(modes):] + modes[:i % len(modes)]  # rotate: no mode always first
        for pos, mode in enumerate(order):
            out = os.path.join(tmp, f"llama-{mode}-{i}")
            # the pinned llama.cpp can lose its log's last lines (issue 22142): run such a run again
            for _ in range(3):
                v = one(mode, out)
                shutil.rmtree(out)
                if v is not None:
                    break
                lost += 1
            tps[mode].append(v)
            if raw:
                raw.write(f"{i},{pos},{mode},{v}\n")
                raw.flush()
    n = args.llama_reps
    base = tps["unwatched"]
    mb, sb = statistics.mean(base), statistics.stdev(base)
    print(f"\n## llama.cpp generation speed, watched by ostel vs unwatched "
          f"({args.tool} {os.path.basename(args.model)}, "
          f"{f'-r {args.bench_reps} ' if args.tool == 'llama-bench' else '-c 512 '}-n {args.gen}"
          f"{f' -t {args.threads}' if args.threads else ''}"
          f"{f' {args.llama_args}' if args.llama_args else ''}; {n} rounds, one run of each mode "
          f"per round in rotated order)\n")
    print("| run | generation t/s (mean ± sd) | ratio to unwatched, paired (95% CI) | sd of the "
          "paired log-ratio | ostel's CPU while watching: % of a core, µs per sample (medians) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| unwatched {args.tool} | {mb:.2f} ± {sb:.2f} | 1 | | |")
    for mode in modes[1:]:
        m, sd = statistics.mean(tps[mode]), statistics.stdev(tps[mode])
        # Paired: the runs of one round ran minutes apart at most, so the machine's slow drift
        # cancels in their ratio. Geometric mean of the per-round ratios, t interval on the logs.
        d = [math.log(w / u) for w, u in zip(tps[mode], base)]
        md, sdd = statistics.mean(d), statistics.stdev(d)
        h = t95(n - 1) * sdd / math.sqrt(n)
        cpu = (f"{statistics.median(x[0] for x in own[mode]):.2f}%, "
               f"{statistics.median(x[1] for x in own[mode]):.0f} µs" if own[mode] else "n/a")
        print(f"| `ostel run --interval {mode}` | {m:.2f} ± {sd:.2f} | {math.exp(md):.4f} "
              f"({math.exp(md - h):.4f}–{math.exp(md + h):.4f}) | {sdd*100:.1f}% | {cpu} |")
    print(f"\nruns redone because llama.cpp's log lost its timings: {lost}")


def part3(args, tmp):
    """Watched and unwatched repetitions inside one llama-bench process, interleaved.

    Runs across processes (part 2) differ by several percent here for reasons of their own, and
    within one process this VM's speed jumps between levels ~10% apart every few seconds (its
    neighbours, presumably): both far more than the 1% to be resolved. So this part keeps one
    llama-bench process generating -n GEN tokens -r REPS times under `ostel run`, and decides for
    each repetition whether ostel watches it: llama-bench's --progress line announces each
    repetition as it starts (its stderr comes straight to this script through a FIFO, not through
    ostel), and this script then stops ostel (SIGSTOP: a stopped ostel takes no CPU, as if it were
    not there) or lets it go on (SIGCONT). Repetitions come in pairs, one watched and one not, the
    order drawn at random; llama-bench's JSON gives each one's duration. A pair lasts well under a
    second, so the machine's drift cancels inside it. `--interval 1h` (ostel running but not
    sampling) is the control: the method must give 1 there.
    """
    import random
    import re
    import signal
    import threading
    rng = random.Random(args.seed)
    # A stopped ostel must never be left behind: SIGTERM (as Ctrl-C already does) unwinds through
    # the `finally` below that continues it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = os.path.join(llama_bin_dir(), "llama-bench")
    extra = (["-t", str(args.threads)] if args.threads else []) + shlex.split(args.llama_args)
    reps = args.toggle_reps + args.toggle_reps % 2
    print(f"\n## llama.cpp generation speed, watched and unwatched repetitions interleaved in one "
          f"process (llama-bench {os.path.basename(args.model)} -p 0 -n {args.toggle_gen} -r {reps}"
          f"{' ' + ' '.join(extra) if extra else ''}; {args.toggle_procs} process(es) per "
          f"interval)\n")
    print("| ostel run --interval | pairs | ratio watched / unwatched (95% CI) | sd of a pair's "
          "log-ratio | ostel's CPU per sample (µs) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    raw = open(args.raw_toggle, "a") if args.raw_toggle else None
    if raw and raw.tell() == 0:
        raw.write("interval,process,rep,watched,duration_ns\n")
    results = {}
    for interval in args.toggle_intervals.split(","):
        diffs, cpu = [], []
        for proc in range(args.toggle_procs):
            # the schedule: True = watched; each pair of repetitions in a random order
            plan = []
            for _ in range(reps // 2):
                plan += [True, False] if rng.random() < 0.5 else [False, True]
            fifo = os.path.join(tmp, f"progress-{interval}-{proc}")
            os.mkfifo(fifo)
            out = os.path.join(tmp, f"toggle-{interval}-{proc}")
            cmd = [args.ostel, "run", "-q", "--interval", interval, "--out", out, "--",
                   "sh", "-c", 'exec "$@" 2>"$0"', fifo, bench, "-m", args.model, "-p", "0",
                   "-n", str(args.toggle_gen), "-r", str(reps), "--progress", "-o", "json",
                   *extra]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seen = set()
            state = [True]  # ostel runs

            def reader():
                with open(fifo, "rb", buffering=0) as f:
                    buf = b""
                    while True:
                        chunk = f.read(4096)
                        if not chunk:
                            break
                        buf += chunk
                        *lines, buf = buf.split(b"\n")
                        for line in lines:
                            m = re.search(rb"generation run (\d+)/(\d+)", line)
                            if not m:
                                continue
                            i = int(m.group(1)) - 1
                            want = plan[i] if i < len(plan) else True
                            if want != state[0]:
                                os.kill(p.pid, signal.SIGCONT if want else signal.SIGSTOP)
                                state[0] = want
                            seen.add(i)

            t = threading.Thread(target=reader, daemon=True)
            t.start()
            try:
                t.join()  # the FIFO ends when llama-bench exits
            finally:
                os.kill(p.pid, signal.SIGCONT)
            if p.wait() != 0:
                sys.exit(f"overhead: ostel run failed: {' '.join(cmd)}")
            os.unlink(fifo)
            with open(os.path.join(out, "llama_output.log")) as f:
                log = f.read()
            with open(os.path.join(out, "summary.json")) as f:
                oc = json.load(f)["telemetry"].get("ostel_cpu") or {}
            if oc.get("us_per_sample") is not None:
                cpu.append(oc["us_per_sample"])
            shutil.rmtree(out)
            m = re.search(r'"samples_ns": \[([^\]]*)\]', log)
            if not m:
                sys.exit("overhead: llama-bench printed no samples_ns")
            durs = [int(x) for x in m.group(1).split(",")]
            if len(durs) != reps or len(seen) != reps:
                sys.exit(f"overhead: {len(durs)} durations and {len(seen)} progress lines for "
                         f"{reps} repetitions")
            for i, d in enumerate(durs):
                if raw:
                    raw.write(f"{interval},{proc},{i},{int(plan[i])},{d}\n")
            for j in range(0, reps, 2):
                w, u = (durs[j], durs[j + 1]) if plan[j] else (durs[j + 1], durs[j])
                diffs.append(math.log(u / w))  # log(t/s watched / t/s unwatched)
        n = len(diffs)
        md, sdd = statistics.mean(diffs), statistics.stdev(diffs)
        h = t95(n - 1) * sdd / math.sqrt(n)
        results[interval] = (math.exp(md), math.exp(md - h), math.exp(md + h))
        print(f"| {interval} | {n} | {math.exp(md):.4f} ({math.exp(md - h):.4f}–"
              f"{math.exp(md + h):.4f}) | {sdd*100:.2f}% | "
              f"{statistics.median(cpu) if cpu else float('nan'):.0f} |")
        sys.stdout.flush()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ostel", default=os.path.join(ROOT, "build", "ostel"))
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--interval-ms", type=float, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--model")
    ap.add_argument("--llama-reps", type=int, default=5)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--only", choices=["samplers", "llama", "interleaved"],
                    help="run one part only")
    ap.add_argument("--modes", default="unwatched,1h,100ms,10ms",
                    help="part 2: unwatched, and ostel run intervals (e.g. 1h,100ms,10ms)")
    ap.add_argument("--tool", choices=["llama-bench", "llama-completion"], default="llama-bench",
                    help="part 2: what to run watched and unwatched")
    ap.add_argument("--bench-reps", type=int, default=4, help="part 2: llama-bench -r")
    ap.add_argument("--threads", type=int, help="part 2: llama.cpp -t (default: its own choice)")
    ap.add_argument("--llama-args", default="",
                    help="part 2: more llama.cpp arguments, e.g. '--cpu-strict 1'")
    ap.add_argument("--raw", help="part 2: write every run's generation t/s to this CSV")
    ap.add_argument("--toggle-intervals", default="1h,100ms,10ms",
                    help="part 3: ostel run intervals (1h: running but not sampling, the control)")
    ap.add_argument("--toggle-procs", type=int, default=2, help="part 3: processes per interval")
    ap.add_argument("--toggle-reps", type=int, default=400, help="part 3: llama-bench -r (even)")
    ap.add_argument("--toggle-gen", type=int, default=16, help="part 3: llama-bench -n")
    ap.add_argument("--seed", type=int, default=1, help="part 3: the pairs' random order")
    ap.add_argument("--raw-toggle", help="part 3: write every repetition used to this CSV")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ostel-bench-") as tmp:
        print(f"host: {os.uname().nodename}, {os.cpu_count()} CPUs, {os.uname().release}")
        if args.only in (None, "samplers"):
            part1(args, tmp)
        if args.model and args.only in (None, "llama"):
            part2(args, tmp)
        if args.model and args.only in (None, "interleaved"):
            part3(args, tmp)


if __name__ == "__main__":
    main()
