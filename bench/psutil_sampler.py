#!/usr/bin/env python3
"""A psutil-based sampler recording the fields of ostel's metrics.csv, for bench/overhead.py.

Samples the process tree of PID (children recursive) and the system every INTERVAL seconds until
the root exits or DURATION passes, writing CSV rows to stdout-like file. This is what a careful
Python tool would do; it is the yardstick for ostel's own cost per sample.
"""
import sys
import time

import psutil


def read_kv(path, keys):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(" ")
                if k in keys:
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def main():
    pid, interval = int(sys.argv[1]), float(sys.argv[2])
    duration, out_path = float(sys.argv[3]), sys.argv[4]
    root = psutil.Process(pid)
    rows = 0
    prev = None
    deadline = time.monotonic() + duration
    nxt = time.monotonic()
    with open(out_path, "w") as out:
        out.write("ts,rss_mb,cpu_pct,avail_mem_level,pageins_delta,pageouts_delta,rss_anon_mb,"
                  "rss_file_mb,swap_mb,minflt_delta,majflt_delta,threads,sys_avail_mb,psi\n")
        while time.monotonic() < deadline:
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            rss = shared = threads = cpu = minflt = majflt = 0
            for p in procs:
                try:
                    with p.oneshot():
                        mi = p.memory_info()
                        ct = p.cpu_times()
                        threads += p.num_threads()
                        rss += mi.rss
                        shared += mi.shared
                        cpu += ct.user + ct.system
                        # page faults: psutil exposes them only through /proc/<pid>/stat
                        with open(f"/proc/{p.pid}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                            minflt += int(fields[7])
                            majflt += int(fields[9])
                except (psutil.NoSuchProcess, OSError):
                    pass
            vm = psutil.virtual_memory()
            sw = psutil.swap_memory()
            vmstat = read_kv("/proc/vmstat", {"pgpgin", "pgpgout"})
            try:
                with open("/proc/pressure/memory") as f:
                    psi = f.readline().split()[1]
            except OSError:
                psi = ""
            now = time.time()
            cur = (now, cpu, vmstat.get("pgpgin", 0), vmstat.get("pgpgout", 0), minflt, majflt)
            if prev:
                dt = cur[0] - prev[0]
                out.write(f"{now:.3f},{rss/2**20:.2f},{(cur[1]-prev[1])/dt*100:.1f},"
                          f"{vm.available/vm.total*100:.2f},{cur[2]-prev[2]},{cur[3]-prev[3]},"
                          f"{(rss-shared)/2**20:.2f},{shared/2**20:.2f},{sw.used/2**20:.2f},"
                          f"{cur[4]-prev[4]},{cur[5]-prev[5]},{threads},"
                          f"{vm.available/2**20:.2f},{psi}\n")
            prev = cur
            rows += 1
            nxt += interval
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    print(rows)


if __name__ == "__main__":
    main()
