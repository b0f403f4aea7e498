#!/usr/bin/env bash
# e2e: `ostel report` on 2,000 runs — copies of the fixture runs of tests/data/runs with fresh run
# ids, their tags spread over 24 groups (bench/scale_make_set.py --tag-variants 4). Every format is
# produced and the database path gives the same report; the HTML page stays under its size bound
# (5 MB) and, extrapolated from its parts that grow with runs, under it at 10,000 runs too; it
# carries one overlay per group holding exactly that group's runs with samples (the first 16 drawn,
# the others in a list), draws 24 runs and lists the others, and pages through its long tables
# (every run's row embedded, 100 a page, "All runs" closed). Headless Chromium renders it without
# a JavaScript error, every chart drawn (the page's own pixel probe), a picked run decoded from the
# compact form, a picked group's overlay, every long table at its last page, and a screenshot that
# is not blank. A build without uPlot fails here (scripts/setup.sh installs it). No timing here:
# that is bench/scale.sh.
set -euo pipefail

: "${OSTEL_BIN:?run through ctest}" "${OSTEL_SRC_DIR:?run through ctest}"
. "$OSTEL_SRC_DIR/tests/e2e/lib.sh"

N=2000
RUNS="$OSTEL_SRC_DIR/tests/data/runs"
python3 "$OSTEL_SRC_DIR/bench/scale_make_set.py" --tag-variants 4 "$TMP/set" "$N" "$RUNS/real-tiny" "$RUNS/real-pred" \
    "$RUNS/study-metal" "$RUNS/cpu-paging" || fail "could not build the $N-run set"
assert_eq "$(find "$TMP/set" -mindepth 1 -maxdepth 1 -type d | wc -l)" "$N" "runs in the set"

for f in md csv json html; do
    "$OSTEL" report "$TMP/set" --format "$f" -o "$TMP/r.$f" 2>"$TMP/err" || fail "report --format $f: $(cat "$TMP/err")"
    assert_file "$TMP/r.$f"
done
assert_eq "$(json "$TMP/r.json" 'len(j["runs"])')" "$N" "runs in the JSON report"
assert_eq "$(json "$TMP/r.json" 'sum(g["n_runs"] for g in j["groups"])')" "$N" "runs over the groups"
assert_grep '^group,' "$TMP/r.csv"
assert_grep "$N runs" "$TMP/r.md"

# the database: import, then the same Markdown report from it
"$OSTEL" db import -q --db "$TMP/s.db" "$TMP"/set/* 2>"$TMP/err" || fail "db import: $(cat "$TMP/err")"
"$OSTEL" report --db "$TMP/s.db" --format md -o "$TMP/d.md" 2>"$TMP/err" || fail "report --db: $(cat "$TMP/err")"
# paths differ (the database keeps the directory names it was given, the same here)
cmp -s "$TMP/r.md" "$TMP/d.md" || fail "the report from the database differs from the directories' one"
"$OSTEL" report --db "$TMP/s.db" --format html -o "$TMP/d.html" 2>"$TMP/err" || fail "report --db html"
assert_file "$TMP/d.html"

# the page: size bound, overlays per group, what was drawn and what summarised
size=$(stat -c %s "$TMP/r.html")
[ "$size" -le 5000000 ] || fail "the HTML page is $size bytes, more than 5 MB"
grep -q 'id="ostel-data"' "$TMP/r.html" ||
    fail "the page has no charts: this ostel was built without uPlot (npm ci, or scripts/setup.sh, then rebuild), so its overlays, run charts and picker cannot be checked"
python3 - "$TMP/r.html" "$TMP/set" "$TMP/r.json" "$size" <<'PY' || fail "the page's overlays, runs or tables are wrong"
import html as H, json, os, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="ostel-data">(.*?)</script>', page, re.S)
d = json.loads(m.group(1))
rep = json.load(open(sys.argv[3]))
# runs with at least two samples, per group (a group is a tag here)
def samples(name):
    with open(os.path.join(sys.argv[2], name, "metrics.csv")) as f:
        return sum(1 for l in f if l.strip()) - 1
want = {g["label"]: sum(1 for r in g["runs"] if samples(r) >= 2) for g in rep["groups"]}
got = {d["groups"][o["group"]]["label"]: o["n_runs"] for o in d["overlays"]}
ngroups = len(rep["groups"])
assert ngroups == 24, ngroups
# every group has its overlay; the first 16 drawn at 160 points, the others listed
assert len(d["overlays"]) == ngroups and got == want, (got, want)
assert [o["drawn"] for o in d["overlays"]] == [i < 16 for i in range(ngroups)]
assert all(len(o["x"]) == 160 and len(o["m"]["rss_mib"]["med"]) == 160 for o in d["overlays"] if o["drawn"])
assert all(20 <= len(o["x"]) == len(o["m"]["cpu_pct"]["hi"]) <= 160 for o in d["overlays"])
assert page.count('<option value="">—</option>') == 2 and 'id="overlay-pick"' in page
s = d["summarised"]
assert s["runs"] == 2000 and s["charted"] == 24 and s["overlay_groups"] == 24, s
assert s["overlay_groups_drawn"] == 16, s
assert s["lazy"] == sum(want.values()) - 24, (s, sum(want.values()))
assert len(d["runs"]["name"]) == 2000 == len(d["lazy"])
assert sum(1 for x in d["lazy"] if x is not None) == s["lazy"]
assert len(re.findall(r'class="run-charts" id="run-\d+"', page)) == 24
assert 'This page summarises 2,000 runs' in page and 'each of 24 groups overlaid' in page
# the runs table: its first page as HTML, every row embedded for the pager; closed when long
sec = page[page.index('<section id="runs">'):]
sec = sec[:sec.index('</section>')]
assert re.search(r'<details id="runs-details"><summary>All runs \(2,000\)</summary>', page)
pg = re.search(r'class="caption pager" data-rows="(\d+)" data-rows-shown="(\d+)"', sec)
assert pg and pg.group(1) == "2000" and pg.group(2) == "100", pg
assert sec.count("<tr>") == 1 + 100, sec.count("<tr>")
rows = json.loads(re.search(r'<script type="application/json" class="table-rows">(.*?)</script>', sec, re.S).group(1))
assert rows["n"] == 2000 and rows["per"] == 100
col = rows["cols"][0]
names = [col["v"][i] for i in col["i"]] if "v" in col else col["s"]
assert sorted(names) == sorted(d["runs"]["name"]), "the pager's rows are not the runs"
first = re.findall(r'<tr><td class="">([^<]*)</td>', sec)[:100]
assert [H.unescape(x) for x in first] == names[:100], (first[:3], names[:3])
# within 5 MB at 10,000 runs: the parts that grow with runs (the tables' embedded rows, the
# runs' columns) times five, the compact runs at their fixed budget (2.6 MB), the rest as it is
size = int(sys.argv[4])
grow = sum(len(x) for x in re.findall(r'<script type="application/json" class="table-rows">.*?</script>', page, re.S))
grow += len(json.dumps(d["runs"], separators=(",", ":")))
lazy = len(json.dumps(d["lazy"], separators=(",", ":")))
est = size - grow - lazy + 5 * grow + 2600000
print("page %d bytes; at 10,000 runs about %d" % (size, est))
assert est <= 5000000, est
PY

# Chromium: the big page renders (lib.sh's helpers)
BROWSER=$(find_browser)
[ -n "$BROWSER" ] || fail "no headless browser: install Debian's 'chromium' (scripts/setup.sh does)"
dump_dom "$TMP/r.html#pick" "$TMP/dom.html"
attr() { dom_attr "$TMP/dom.html" "$1"; }
assert_charts_drawn "$TMP/dom.html"
[ "$CHARTS_EXPECTED" -ge 60 ] || fail "the page made '$CHARTS_EXPECTED' charts"
[ -n "$(attr data-overlays)" ] || fail "no overlay drawn"
[ "$(attr data-run-pick-options)" -ge 1000 ] || fail "the run list has $(attr data-run-pick-options) runs"
grep -q 'id="run-picked"><div class="card"' "$TMP/dom.html" || fail "the picked run was not drawn"
assert_eq "$(attr data-overlay-pick-options)" 8 "groups in the overlay list"
[ -n "$(attr data-overlay-picked)" ] || fail "the picked group's overlay was not drawn"
grep -q 'id="overlay-picked"><div class="card overlay"' "$TMP/dom.html" || fail "no chart for the picked group"
# "#pick" opens every long table at its last page: the runs table shows rows 1,901-2,000
grep -q '<section id="runs" data-page="20">' "$TMP/dom.html" || fail "the runs table did not page"
grep -q 'Rows 1,901–2,000 of 2,000' "$TMP/dom.html" || fail "the runs table's last page is not rows 1,901-2,000"
browser --window-size=1280,3000 --screenshot="$TMP/shot.png" "file://$TMP/r.html" >/dev/null
assert_file "$TMP/shot.png"
# not blank: the decoded pixels of the screenshot take many values
python3 - "$TMP/shot.png" <<'PY' || fail "the screenshot is blank"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w, h = 8, b"", 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h = struct.unpack(">II", body[:8])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
assert w >= 1000 and h >= 2000, (w, h)
distinct = len(set(raw[::7]))
assert distinct > 40, distinct
PY
echo "ok: $N runs, page $size bytes"
