#!/usr/bin/env python3
"""Writes the hand-made run directories of tests/data/runs/ (see README.md there).

Deterministic: no clock, no randomness beyond a fixed-seed generator. Each run's summary.json
telemetry is computed from the metrics.csv rows written beside it, as `ostel run` does, so the two
agree. Re-run it after changing it, then regenerate the golden files (tests/data/golden/README.md).
"""
import json, os, random, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20260926)
COLS = ["ts", "rss_mb", "cpu_pct", "vm_pressure_flag", "avail_mem_level", "pageins_delta",
        "pageouts_delta", "phase", "rss_anon_mb", "rss_file_mb", "swap_mb", "minflt_delta",
        "majflt_delta", "threads", "sys_avail_mb", "swapin_delta", "swapout_delta", "psi_some_pct",
        "psi_full_pct"]


def series(start, phases, interval, rss_of, cpu_of, pagein_of, pageout_of, pressure_of, avail_of,
           majflt_of, mac):
    """phases: [(name, seconds)]; the *_of callables get (phase, fraction through it, index)."""
    rows, t, i = [], start, 0
    for name, secs in phases:
        n = max(1, int(round(secs / interval)))
        for k in range(n):
            f = (k + 1) / n
            rss = rss_of(name, f, i)
            rows.append({
                "ts": round(t, 3), "rss_mb": round(rss, 1), "cpu_pct": round(cpu_of(name, f, i), 1),
                "vm_pressure_flag": pressure_of(name, f, i), "avail_mem_level": round(avail_of(name, f, i), 1),
                "pageins_delta": int(pagein_of(name, f, i)), "pageouts_delta": int(pageout_of(name, f, i)),
                "phase": name, "rss_anon_mb": round(rss * 0.3, 1), "rss_file_mb": round(rss * 0.7, 1),
                "swap_mb": "" if mac else 0, "minflt_delta": int(40 + 10 * f),
                "majflt_delta": int(majflt_of(name, f, i)), "threads": 9 if name != "load" else 3,
                "sys_avail_mb": int(avail_of(name, f, i) * 327.68),
                "swapin_delta": "" if mac else 0, "swapout_delta": "" if mac else 0,
                "psi_some_pct": "" if mac else round(0.5 * pressure_of(name, f, i) - 0.5, 2),
                "psi_full_pct": "" if mac else 0.0,
            })
            t += interval
            i += 1
    return rows


def num(v):
    return None if v == "" else float(v)


def phase_stats(rows):
    if not rows:
        return None
    def vals(k):
        return [num(r[k]) for r in rows if num(r[k]) is not None]
    def peak(k):
        v = vals(k); return max(v) if v else None
    def mean(k):
        v = vals(k); return round(sum(v) / len(v), 2) if v else None
    def total(k):
        v = vals(k); return int(sum(v)) if v else None
    def low(k):
        v = vals(k); return min(v) if v else None
    return {
        "start_ts": rows[0]["ts"], "end_ts": rows[-1]["ts"],
        "duration_s": round(rows[-1]["ts"] - rows[0]["ts"], 3), "samples": len(rows),
        "rss_peak_mib": peak("rss_mb"), "rss_mean_mib": mean("rss_mb"),
        "rss_anon_peak_mib": peak("rss_anon_mb"), "rss_file_peak_mib": peak("rss_file_mb"),
        "cpu_mean_pct": mean("cpu_pct"), "cpu_peak_pct": peak("cpu_pct"),
        "pageins": total("pageins_delta"), "pageouts": total("pageouts_delta"),
        "majflt": total("majflt_delta"), "minflt": total("minflt_delta"),
        "swapins": total("swapin_delta"), "swapouts": total("swapout_delta"),
        "pressure_worst": peak("vm_pressure_flag"), "avail_min_pct": low("avail_mem_level"),
        "sys_avail_min_mib": low("sys_avail_mb"), "psi_some_max_pct": peak("psi_some_pct"),
        "psi_full_max_pct": peak("psi_full_pct"), "swap_peak_mib": peak("swap_mb"),
        "threads_peak": peak("threads"),
    }


def cmp(pred, meas):
    """One predicted-vs-measured value as the runner writes it (src/llama/fit_compare.c)."""
    if meas is None:
        return {"predicted_mib": pred, "measured_mib": None, "error_pct": None}
    return {"predicted_mib": pred, "measured_mib": meas,
            "error_pct": round((pred - meas) / meas * 100.0, 2) if meas else 0.0}


def prediction(devices, output, n_ctx, source, backend, note=None):
    """devices: [(name, (pred, meas) for model, context, compute)]; output: (pred, meas)."""
    parts = ("model", "context", "compute")
    tot = {}
    for k, part in enumerate(parts):
        p = round(sum(d[1][k][0] for d in devices), 2)
        m = round(sum(d[1][k][1] for d in devices), 2)
        tot[part] = cmp(p, m)
    bars = {"model": 1.0, "context": 1.0, "compute": 15.0}
    within = all(abs(tot[k]["error_pct"]) <= bars[k] for k in parts)
    out = dict(tot)
    out["output"] = cmp(*output)
    out["devices"] = [dict({"device": name}, **{part: cmp(*v[k]) for k, part in enumerate(parts)})
                      for name, v in devices]
    out.update(n_ctx=n_ctx, source=source, backend=backend, within_bars=within, note=note)
    return out


def write_run(path, run, llama, rows, log, host, interval_ms, pred=None):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    with open(os.path.join(path, "metrics.csv"), "w") as f:
        f.write(",".join(COLS) + "\n")
        for r in rows:
            f.write(",".join("%.3f" % r[c] if c == "ts" else str(r[c]) for c in COLS) + "\n")
    phases = {}
    for name in ("load", "prompt", "generate", "teardown"):
        phases[name] = phase_stats([r for r in rows if r["phase"] == name])
    summary = {
        "schema": "ostel.summary", "schema_version": 1, "ostel_version": "0.1.0",
        "run": run, "llama": llama, "model_file": None, "prediction": pred,
        "telemetry": {"samples": len(rows), "interval_ms": interval_ms,
                      "interval_ms_mean": float(interval_ms), "interval_ms_p99": interval_ms + 0.4,
                      "overall": phase_stats(rows), "phases": phases},
        "host": host,
    }
    with open(os.path.join(path, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    cfg = [("tag", run["tag"]), ("model", run["model"]), ("ctx", run["ctx"]), ("gen", run["gen"]),
           ("prompt_tokens", (llama or {}).get("timings", {}).get("prompt_tokens") or ""),
           ("tool", run["tool"]), ("command", " ".join("'%s'" % a for a in run["argv"])),
           ("llama_bin", run["argv"][0]), ("llama_version", "version: 7001 (80fb11a)"),
           ("ostel_version", "0.1.0"), ("host", host["hostname"]), ("os", host["os"]),
           ("kernel", host["kernel"]), ("cpu_model", host["cpu_model"]),
           ("cpu_cores", host["cpu_cores"]), ("ram_mib", host["ram_mib"]),
           ("start_time", "2026-09-26T10:%02d:00Z" % (int(run["start_ts"]) % 60)),
           ("interval_ms", interval_ms), ("scenario", run["scenario"]),
           ("repetition", run["repetition"]), ("status", run["status"])]
    with open(os.path.join(path, "config.txt"), "w") as f:
        for k, v in cfg:
            f.write("%s=%s\n" % (k, v))
    with open(os.path.join(path, "llama_output.log"), "w") as f:
        f.write(log)


MAC = {"hostname": "studio", "os": "Darwin", "kernel": "24.6.0", "cpu_model": "Apple M2 Max",
       "cpu_cores": 12, "ram_mib": 32768}
LINUX = {"hostname": "box1", "os": "Linux", "kernel": "6.1.0-18-amd64",
         "cpu_model": "Intel(R) Xeon(R) CPU @ 2.20GHz", "cpu_cores": 8, "ram_mib": 16000}


def metal_study():
    base = os.path.join(HERE, "study-metal")
    if os.path.isdir(base):
        shutil.rmtree(base)
    t0 = 1790000000.0
    specs = {
        # tag: model, size, breakdown (MTL0 self/model/context/compute, host), per-rep values
        "q4_k_m": ("/models/llama-3.1-8b-instruct-Q4_K_M.gguf", "Q4_K - Medium", 4685.3,
                   (5210, 4403, 512, 295), (302, 281, 0, 21),
                   [dict(pp=311.4, tg=38.9, load=3.9, pin=52000, rss=612),
                    dict(pp=402.8, tg=41.2, load=0.9, pin=120, rss=609),
                    dict(pp=398.1, tg=41.0, load=0.9, pin=80, rss=611),
                    dict(pp=405.6, tg=41.5, load=0.9, pin=95, rss=610)]),
        "q8_0": ("/models/llama-3.1-8b-instruct-Q8_0.gguf", "Q8_0", 8145.1,
                 (8900, 7695, 512, 693), (532, 532, 0, 0),
                 [dict(pp=371.0, tg=24.3, load=1.4, pin=310, rss=640),
                  dict(pp=366.2, tg=24.1, load=1.4, pin=290, rss=700),
                  dict(pp=369.9, tg=24.6, load=1.4, pin=305, rss=760, nomem=True),
                  dict(failed=True)]),
    }
    t = t0
    for tag, (model, ftype, size, dev, host, reps) in specs.items():
        for i, rep in enumerate(reps, 1):
            name = "%s-%d" % (tag.replace("_", ""), i)
            argv = ["/opt/llama/bin/llama-completion", "-m", model, "-c", "8192", "-n", "256",
                    "-p", "Summarise the history of the transistor."]
            run = {"tag": tag, "status": "ok", "exit_code": 0, "signal": None, "oom_killed": False,
                   "start_ts": t, "end_ts": None, "wall_s": None, "argv": argv,
                   "tool": "llama-completion", "model": model, "ctx": 8192, "gen": 256,
                   "scenario": "none", "repetition": i}
            if rep.get("failed"):
                rows = series(t, [("load", 1.2)], 0.25, lambda p, f, k: 180 + 400 * f,
                              lambda p, f, k: 95, lambda p, f, k: 40, lambda p, f, k: 0,
                              lambda p, f, k: 1, lambda p, f, k: 61, lambda p, f, k: 2, True)
                for r in rows:
                    r["phase"] = ""
                run.update(status="failed", exit_code=1, end_ts=round(t + 1.3, 3), wall_s=1.3)
                log = ("build: 7001 (80fb11a) with Apple clang version 17.0.0 for arm64-apple-darwin24.6.0\n"
                       "llama_model_loader: loaded meta data with 29 key-value pairs from %s\n"
                       "print_info: file type   = Q8_0\n"
                       "load_tensors: offloaded 33/33 layers to GPU\n"
                       "the prompt file said: <script>alert(1)</script> & \"quotes\" 'too'\n"
                       "ggml_metal_buffer_init: error: failed to allocate buffer, size = 7695.00 MiB\n"
                       "llama_model_load: error loading model: unable to allocate Metal buffer\n"
                       "main: error: unable to load model\n") % model
                write_run(os.path.join(base, name), run, None, rows, log, MAC, 250)
                t += 30
                continue
            load, pp_s, tg_s = rep["load"], 512 / rep["pp"], 256 / rep["tg"]
            cold = rep["pin"] > 10000
            rows = series(
                t, [("load", load), ("prompt", pp_s), ("generate", tg_s), ("teardown", 0.5)], 0.25,
                lambda p, f, k, rss=rep["rss"]: {"load": 90 + (rss - 120) * f, "prompt": rss - 8 + 4 * f,
                                                 "generate": rss - 2 + 2 * f, "teardown": rss * (1 - 0.8 * f)}[p],
                lambda p, f, k: {"load": 85, "prompt": 310, "generate": 118 + 6 * ((k * 7) % 3),
                                 "teardown": 30}[p],
                lambda p, f, k, pin=rep["pin"], n=int(round(load / 0.25)): (pin / n if p == "load" else 0),
                lambda p, f, k: 0,
                lambda p, f, k: 1, lambda p, f, k: 58.0 - 0.4 * f if p != "teardown" else 60.0,
                lambda p, f, k, cold=cold: (40 if cold and p == "load" else 0), True)
            wall = round(rows[-1]["ts"] - t + 0.25, 3)
            run.update(end_ts=round(t + wall, 3), wall_s=wall)
            llama = {
                "format": "common_perf", "platform": "metal", "truncated": False,
                "timings": {"load_ms": round(load * 1000, 2), "prompt_ms": round(pp_s * 1000, 2),
                            "prompt_tokens": 512, "prompt_tps": rep["pp"],
                            "gen_ms": round(tg_s * 1000, 2), "gen_tokens": 255, "gen_tps": rep["tg"]},
                "model": {"name": "Meta Llama 3.1 8B Instruct", "arch": "llama", "type": "8B",
                          "file_type": ftype, "size_mib": size, "params": 8.03e9},
                "context": {"n_ctx": 8192},
                "devices": [{"name": "MTL0 (Apple M2 Max)", "free_mib": 22906}],
                "buffers": [{"kind": "model", "backend": "MTL0_Mapped", "mib": dev[1]},
                            {"kind": "model", "backend": "CPU_Mapped", "mib": host[1]},
                            {"kind": "kv", "backend": "MTL0", "mib": dev[2]},
                            {"kind": "compute", "backend": "MTL0", "mib": dev[3]},
                            {"kind": "compute", "backend": "CPU", "mib": host[3]}],
                "memory_breakdown": [
                    {"device": "MTL0 (Apple M2 Max)", "total": 32768, "free": 22906 - dev[0],
                     "self": dev[0], "model": dev[1], "context": dev[2], "compute": dev[3],
                     "unaccounted": 32768 - (22906 - dev[0]) - dev[0], "suspect": False},
                    {"device": "Host", "total": None, "free": None, "self": host[0],
                     "model": host[1], "context": host[2], "compute": host[3],
                     "unaccounted": None, "suspect": False}],
                "build": {"text": "7001 (80fb11a)", "number": 7001, "commit": "80fb11a"},
            }
            # ostel fit's prediction: Metal, weights on the GPU but for the CPU-mapped input
            # layer; q8_0's compute buffer is under-predicted beyond the 15% bar (the flag).
            gpu_compute = 301.5 if tag == "q4_k_m" else 560.0
            pred = prediction([("host", ((round(host[1] + 0.02, 2), host[1]), (0.0, 0.0),
                                         (21.0 if host[3] else 0.0, host[3]))),
                               ("gpu", ((round(dev[1] + 0.12, 2), dev[1]), (512.0, dev[2]),
                                        (gpu_compute, dev[3])))],
                              (0.49, None), 8192, "gguf" if tag == "q4_k_m" else "log", "metal")
            if rep.get("nomem"):
                llama["memory_breakdown"] = None
                llama["buffers"] = []
                pred = None
            log = ("build: 7001 (80fb11a) with Apple clang version 17.0.0 for arm64-apple-darwin24.6.0\n"
                   "print_info: file type   = %s\n"
                   "common_perf_print:    prompt eval time = %.2f ms / 512 tokens (%.2f tokens per second)\n"
                   "common_perf_print:           eval time = %.2f ms / 255 runs (%.2f tokens per second)\n"
                   % (ftype, pp_s * 1000, rep["pp"], tg_s * 1000, rep["tg"]))
            write_run(os.path.join(base, name), run, llama, rows, log, MAC, 250, pred)
            t += 30


def cpu_paging():
    path = os.path.join(HERE, "cpu-paging")
    model = "/models/qwen2.5-14b-instruct-Q4_K_M.gguf"
    t = 1790003600.0
    argv = ["/opt/llama/bin/llama-completion", "-m", model, "-c", "32768", "-n", "128"]
    run = {"tag": "cpu-32k", "status": "ok", "exit_code": 0, "signal": None, "oom_killed": False,
           "start_ts": t, "end_ts": None, "wall_s": None, "argv": argv, "tool": "llama-completion",
           "model": model, "ctx": 32768, "gen": 128, "scenario": "mem70", "repetition": 1}
    load, pp_s, tg_s = 9.0, 512 / 11.8, 128 / 1.9
    rows = series(
        t, [("load", load), ("prompt", pp_s), ("generate", tg_s), ("teardown", 1.0)], 1.0,
        lambda p, f, k: {"load": 300 + 5400 * f, "prompt": 5900 + 300 * f,
                         "generate": 6100 - 900 * abs(((k % 6) / 3.0) - 1), "teardown": 5000 * (1 - f)}[p],
        lambda p, f, k: {"load": 60, "prompt": 640, "generate": 420 + 20 * (k % 3), "teardown": 20}[p],
        lambda p, f, k: {"load": 21000, "prompt": 2600, "generate": 3100 + 400 * (k % 4), "teardown": 0}[p],
        lambda p, f, k: {"generate": 900 + 100 * (k % 3)}.get(p, 0),
        lambda p, f, k: {"generate": 4 if k % 5 == 0 else 2, "prompt": 2}.get(p, 1),
        lambda p, f, k: {"load": 30 - 20 * f, "prompt": 8.0, "generate": 3.2 + (k % 4), "teardown": 40}[p],
        lambda p, f, k: {"load": 300, "prompt": 60, "generate": 80 + 10 * (k % 3)}.get(p, 0), False)
    wall = round(rows[-1]["ts"] - t + 1.0, 3)
    run.update(end_ts=round(t + wall, 3), wall_s=wall)
    llama = {
        "format": "common_perf", "platform": "cpu", "truncated": False,
        "timings": {"load_ms": 9000.0, "prompt_ms": round(pp_s * 1000, 2), "prompt_tokens": 512,
                    "prompt_tps": 11.8, "gen_ms": round(tg_s * 1000, 2), "gen_tokens": 127,
                    "gen_tps": 1.9},
        "model": {"name": "Qwen2.5 14B Instruct", "arch": "qwen2", "type": "14B",
                  "file_type": "Q4_K - Medium", "size_mib": 8570.9, "params": 14.77e9},
        "context": {"n_ctx": 32768},
        "buffers": [{"kind": "model", "backend": "CPU_Mapped", "mib": 8566.0},
                    {"kind": "kv", "backend": "CPU", "mib": 6144.0},
                    {"kind": "compute", "backend": "CPU", "mib": 696.0}],
        "memory_breakdown": [{"device": "Host", "total": None, "free": None, "self": 15406,
                              "model": 8566, "context": 6144, "compute": 696, "unaccounted": None,
                              "suspect": False}],
        "build": {"text": "7001 (80fb11a)", "number": 7001, "commit": "80fb11a"},
    }
    log = ("build: 7001 (80fb11a) with cc (Debian 12.2.0-14) 12.2.0 for x86_64-linux-gnu\n"
           "common_perf_print:    prompt eval time = %.2f ms / 512 tokens (11.80 tokens per second)\n"
           "common_perf_print:           eval time = %.2f ms / 127 runs (1.90 tokens per second)\n"
           % (pp_s * 1000, tg_s * 1000))
    pred = prediction([("host", ((8566.31, 8566.0), (6144.0, 6144.0), (742.2, 696.0)))],
                      (0.58, 0.58), 32768, "gguf", "cpu")
    write_run(path, run, llama, rows, log, LINUX, 1000, pred)


GPU_COLS = ["ts", "gpu", "phase", "mem_used_mb", "mem_total_mb", "proc_mem_mb", "util_pct",
            "mem_util_pct", "power_w", "power_instant_w", "energy_j", "sm_clock_mhz",
            "mem_clock_mhz", "temp_c", "clock_events"]
H200 = {"hostname": "gpubox", "os": "Linux", "kernel": "6.8.0-60-generic",
        "cpu_model": "Intel(R) Xeon(R) Platinum 8480+", "cpu_cores": 16, "ram_mib": 131072}


def gpu_rows(os_rows, t_off, self_mb, beyond, power_of):
    """gpu_metrics.csv's rows for one GPU at the OS samples' times (+t_off): the process's VRAM
    grows to llama.cpp's self + beyond while loading; proc_mem_mb every 5th row, as ostel reads it."""
    rows, prev = [], None
    n_load = sum(1 for r in os_rows if r["phase"] == "load")
    for i, r in enumerate(os_rows):
        ph = r["phase"]
        proc = (beyond + self_mb * min(1.0, (i + 1) / n_load)) if ph == "load" else self_mb + beyond
        if ph == "teardown":
            proc = (self_mb + beyond) * 0.2
        pw, pwi = power_of(ph, i)
        ts = r["ts"] + t_off
        rows.append({
            "ts": ts, "gpu": 0, "phase": ph, "mem_used_mb": round(proc + 310.0, 1),
            "mem_total_mb": 143771.0, "proc_mem_mb": round(proc, 1) if i % 5 == 0 or
            (ph == "generate" and i % 5 == 1) else "",
            "util_pct": {"load": 3, "prompt": 92, "generate": 97, "teardown": 0}[ph],
            "mem_util_pct": {"load": 1, "prompt": 45, "generate": 71, "teardown": 0}[ph],
            "power_w": pw, "power_instant_w": pwi,
            "energy_j": "" if prev is None else round(pwi * (ts - prev), 3),
            "sm_clock_mhz": 1980, "mem_clock_mhz": 3201, "temp_c": 38 + (ph == "generate") * 6,
            "clock_events": 0})
        prev = ts
    return rows


def gpu_acc(rows):
    def vals(k):
        return [float(r[k]) for r in rows if r[k] != ""]
    def peak(k, d):
        v = vals(k); return round(max(v), d) if v else None
    def mean(k, d):
        v = vals(k); return round(sum(v) / len(v), d) if v else None
    e = vals("energy_j")
    return {"samples": len(rows), "peak_mem_used_mb": peak("mem_used_mb", 1),
            "peak_proc_mem_mb": peak("proc_mem_mb", 1), "mean_util_pct": mean("util_pct", 1),
            "peak_util_pct": peak("util_pct", 1), "mean_mem_util_pct": mean("mem_util_pct", 1),
            "mean_power_w": mean("power_w", 2), "peak_power_w": peak("power_w", 2),
            "mean_power_instant_w": mean("power_instant_w", 2),
            "peak_power_instant_w": peak("power_instant_w", 2),
            "energy_j": round(sum(e), 3) if e else None, "peak_temp_c": peak("temp_c", 0),
            "mean_sm_clock_mhz": mean("sm_clock_mhz", 0)}


def gpu_summary(rows, self_mb, prompt_tokens, gen_tokens):
    """summary.json's "gpu" object as src/run/gpu_aggregate.c computes it (one GPU)."""
    phases = {p: gpu_acc([r for r in rows if r["phase"] == p])
              for p in ("load", "prompt", "generate", "teardown")}
    overall = gpu_acc(rows)
    proc_peak = overall["peak_proc_mem_mb"]
    beyond = round(proc_peak - self_mb, 1)
    gen_e, pr_e = phases["generate"]["energy_j"], phases["prompt"]["energy_j"]
    return {
        "backend": "nvml", "library": "libnvidia-ml.so.1", "driver": "580.159.04",
        "interval_ms": 100, "proc_every": 5,
        "calls": {"init": "nvmlInit_v2", "memory": "nvmlDeviceGetMemoryInfo_v2",
                  "processes": "nvmlDeviceGetComputeRunningProcesses_v3", "field_values": True,
                  "energy": True, "clock_events": True},
        "stop_timed_out": False, "rows": len(rows), "read_ms_mean": 1.9, "read_ms_max": 4.1,
        "thread_cpu_ms": 12.5, "write_failed": False,
        "devices": [{"index": 0, "name": "NVIDIA H200", "uuid": "GPU-fake-0000",
                     "mem_total_mb": 143771, "power_limit_w": 700, "samples": len(rows),
                     "failed_reads": 0, "first_error": None, "lost_at": None, "energy_resets": 0,
                     "proc_reads": sum(1 for r in rows if r["proc_mem_mb"] != ""),
                     "proc_matched_reads": sum(1 for r in rows if r["proc_mem_mb"] != ""),
                     "other_procs_max": 0, "procs_truncated": False}],
        "per_device": [{"index": 0, "overall": overall, "phases": phases,
                        "llama_self_mb": float(self_mb), "vram_beyond_llama_mb": beyond}],
        "run": {"generate_energy_j": gen_e, "prompt_energy_j": pr_e,
                "j_per_token": round(gen_e / gen_tokens, 5),
                "tokens_per_j": round(gen_tokens / gen_e, 4),
                "prompt_j_per_token": round(pr_e / prompt_tokens, 5) if pr_e else None,
                "peak_proc_mem_mb": proc_peak, "vram_beyond_llama_mb": beyond},
    }


def gpu_fake():
    """Q4_K_M vs Q8_0 on an imagined H200 (all layers offloaded, ctx 4096): an interim fixture
    until the real H200 study's run directories land in cuda-h200/."""
    base = os.path.join(HERE, "gpu-fake")
    if os.path.isdir(base):
        shutil.rmtree(base)
    t = 1796000000.0
    specs = {
        # tag: model, file type, size, CUDA0 (self, model, context, compute), host model, reps
        "q4": ("/models/llama-3.1-8b-Q4_K_M.gguf", "Q4_K - Medium", 4685.3,
               (5211, 4403, 512, 296), 281,
               [dict(tg=191.0, pp=5120.0, pw=331.0, beyond=510),
                dict(tg=189.5, pp=5090.0, pw=334.0, beyond=514),
                dict(tg=190.4, pp=5105.0, pw=332.5, beyond=512)]),
        "q8": ("/models/llama-3.1-8b-Q8_0.gguf", "Q8_0", 8145.1,
               (8503, 7695, 512, 296), 532,
               [dict(tg=139.8, pp=4870.0, pw=362.0, beyond=512),
                dict(tg=140.6, pp=4880.0, pw=359.0, beyond=516),
                dict(tg=139.1, pp=4860.0, pw=364.5, beyond=511)]),
    }
    for tag, (model, ftype, size, dev, host_model, reps) in specs.items():
        for i, rep in enumerate(reps, 1):
            name = "%s-%d" % (tag, i)
            argv = ["/opt/llama-cuda/bin/llama-completion", "-m", model, "-c", "4096", "-n", "256",
                    "-ngl", "99", "-p", "Summarise the history of the transistor."]
            run = {"tag": tag, "status": "ok", "exit_code": 0, "signal": None, "oom_killed": False,
                   "start_ts": t, "end_ts": None, "wall_s": None, "argv": argv,
                   "tool": "llama-completion", "model": model, "ctx": 4096, "gen": 256,
                   "scenario": "none", "repetition": i,
                   "tokens": {"prompt": 512, "generated": 256}}
            load, pp_s, tg_s = 2.0, 512 / rep["pp"], 255 / rep["tg"]
            rows = series(
                t, [("load", load), ("prompt", pp_s), ("generate", tg_s), ("teardown", 0.3)], 0.1,
                lambda p, f, k, sz=size: {"load": 200 + sz * f, "prompt": sz + 420,
                                          "generate": sz + 430, "teardown": (sz + 430) * (1 - 0.8 * f)}[p],
                lambda p, f, k: {"load": 100, "prompt": 100, "generate": 100, "teardown": 20}[p],
                lambda p, f, k: 0, lambda p, f, k: 0, lambda p, f, k: 1,
                lambda p, f, k: 88.0, lambda p, f, k: 0, False)
            # all layers on the GPU: the host's RSS is the mapped model file (file-backed) plus
            # a few hundred MiB of the process's own (CUDA runtime, host buffers)
            for r in rows:
                anon = round(min(r["rss_mb"], 180 + (240 if r["phase"] != "load" else 0)), 1)
                r["rss_anon_mb"], r["rss_file_mb"] = anon, round(r["rss_mb"] - anon, 1)
            wall = round(rows[-1]["ts"] - t + 0.1, 3)
            run.update(end_ts=round(t + wall, 3), wall_s=wall)
            pw = rep["pw"]
            grows = gpu_rows(rows, 0.013, dev[0], rep["beyond"],
                             lambda p, k, pw=pw: {"load": (78.5, 80.1), "prompt": (pw - 20, pw + 35),
                                                  "generate": (pw + (k % 3) - 1, pw + 2 * (k % 3) - 2),
                                                  "teardown": (95.0, 90.2)}[p])
            llama = {
                "format": "common_perf", "platform": "cuda", "truncated": False,
                "timings": {"load_ms": load * 1000, "prompt_ms": round(pp_s * 1000, 2),
                            "prompt_tokens": 512, "prompt_tps": rep["pp"],
                            "gen_ms": round(tg_s * 1000, 2), "gen_tokens": 255, "gen_tps": rep["tg"]},
                "model": {"name": "Llama 3.1 8B", "arch": "llama", "type": "8B",
                          "file_type": ftype, "size_mib": size, "params": 8.03e9},
                "context": {"n_ctx": 4096, "offloaded_layers": 33},
                "devices": [{"name": "CUDA0 (NVIDIA H200)", "free_mib": 142980}],
                "buffers": [{"kind": "model", "backend": "CUDA0", "mib": dev[1]},
                            {"kind": "model", "backend": "CPU_Mapped", "mib": host_model},
                            {"kind": "kv", "backend": "CUDA0", "mib": dev[2]},
                            {"kind": "compute", "backend": "CUDA0", "mib": dev[3]},
                            {"kind": "compute", "backend": "CUDA_Host", "mib": 16.0}],
                "memory_breakdown": [
                    {"device": "CUDA0 (NVIDIA H200)", "total": 143771, "free": 142980 - dev[0],
                     "self": dev[0], "model": dev[1], "context": dev[2], "compute": dev[3],
                     "unaccounted": 143771 - (142980 - dev[0]) - dev[0], "suspect": False},
                    {"device": "Host", "total": None, "free": None, "self": host_model + 16,
                     "model": host_model, "context": 0, "compute": 16, "unaccounted": None,
                     "suspect": False}],
                "build": {"text": "7001 (80fb11a)", "number": 7001, "commit": "80fb11a"},
            }
            log = ("build: 7001 (80fb11a) with cc (Ubuntu 13.3.0) 13.3.0 for x86_64-linux-gnu\n"
                   "print_info: file type   = %s\n"
                   "load_tensors: offloaded 33/33 layers to GPU\n"
                   "common_perf_print:    prompt eval time = %.2f ms / 512 tokens (%.2f tokens per second)\n"
                   "common_perf_print:           eval time = %.2f ms / 255 runs (%.2f tokens per second)\n"
                   % (ftype, pp_s * 1000, rep["pp"], tg_s * 1000, rep["tg"]))
            path = os.path.join(base, name)
            write_run(path, run, llama, rows, log, H200, 100)
            with open(os.path.join(path, "gpu_metrics.csv"), "w") as f:
                f.write(",".join(GPU_COLS) + "\n")
                for r in grows:
                    f.write(",".join("%.3f" % r[c] if c == "ts" else str(r[c])
                                     for c in GPU_COLS) + "\n")
            with open(os.path.join(path, "summary.json")) as f:
                summary = json.load(f)
            summary["gpu"] = gpu_summary(grows, dev[0], 512, 256)
            with open(os.path.join(path, "summary.json"), "w") as f:
                json.dump(summary, f, indent=2)
                f.write("\n")
            with open(os.path.join(path, "config.txt")) as f:
                cfg = f.read()
            cfg = cfg.replace("ram_mib=131072\n", "ram_mib=131072\n"
                              "gpu=nvml, driver 580.159.04: GPU 0 NVIDIA H200\n")
            with open(os.path.join(path, "config.txt"), "w") as f:
                f.write(cfg)
            t += 30


if __name__ == "__main__":
    metal_study()
    cpu_paging()
    gpu_fake()
