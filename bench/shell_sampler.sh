#!/usr/bin/env bash
# A fork-per-sample shell sampler in the style of the original harness (ps plus /proc/vmstat), for
# bench/overhead.py: samples PID every INTERVAL seconds for DURATION seconds, rows to OUT.
pid=$1 interval=$2 duration=$3 out=$4
end=$(( $(date +%s%N) + ${duration%.*} * 1000000000 ))
rows=0
echo "ts,rss_kb,cpu_pct,threads,pgpgin,pgpgout,memavail_kb" >"$out"
while [ "$(date +%s%N)" -lt "$end" ] && kill -0 "$pid" 2>/dev/null; do
    read -r rss cpu nlwp < <(ps -o rss=,pcpu=,nlwp= -p "$pid")
    pin=$(awk '/^pgpgin /{print $2}' /proc/vmstat)
    pout=$(awk '/^pgpgout /{print $2}' /proc/vmstat)
    avail=$(awk '/^MemAvailable:/{print $2}' /proc/meminfo)
    echo "$(date +%s.%N),$rss,$cpu,$nlwp,$pin,$pout,$avail" >>"$out"
    rows=$((rows + 1))
    sleep "$interval"
done
echo "$rows"
