#!/usr/bin/env bash
# bench/pg_import.sh [OSTEL] [ROWS] — one run directory of ROWS samples (default 100000) imported
# into SQLite and into a private PostgreSQL server (tests/e2e/pglib.sh: initdb in a temp dir, Unix
# socket, fsync off), three times interleaved; prints the wall time of each import.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export OSTEL_SRC_DIR=$ROOT OSTEL_BIN=${1:-$ROOT/build/ostel}
ROWS=${2:-100000}
source "$ROOT/tests/e2e/lib.sh"
source "$ROOT/tests/e2e/pglib.sh"
pg_start
big="$TMP/big/run"
mkdir -p "$big"
cp "$SRC/tests/data/runs/study-metal/q4km-1"/* "$big/"
python3 - "$big/metrics.csv" "$ROWS" <<'PY'
import sys
p, n = sys.argv[1], int(sys.argv[2])
lines = open(p).read().splitlines()
head, rows = lines[0], lines[1:]
out, t0 = [head], float(rows[0].split(',')[0])
for i in range(n):
    c = rows[i % len(rows)].split(','); c[0] = '%.3f' % (t0 + i * 0.01); out.append(','.join(c))
open(p, 'w').write('\n'.join(out) + '\n')
PY
for i in 1 2 3; do
    /usr/bin/time -f "sqlite      %e s" "$OSTEL" db import -q "$big" --db "$TMP/s$i.db"
    /usr/bin/time -f "postgresql  %e s" "$OSTEL" db import -q "$big" --db "$PG_URL"
    pg_sql "DELETE FROM samples; DELETE FROM phase_summaries; DELETE FROM memory_breakdown;
            DELETE FROM scenarios; DELETE FROM runs" >/dev/null
done
