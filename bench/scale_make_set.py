#!/usr/bin/env python3
"""bench/scale_make_set.py [--tag-variants K] DEST N RUN_DIR... — a study directory of N run
directories, copies of the given real runs taken in turn, each with a fresh run_id (summary.json's
run.run_id and config.txt's run_id=), named NNNNNN-<original name>. metrics.csv and
llama_output.log are hard-linked (they do not change), summary.json and config.txt are rewritten.
--tag-variants K spreads each tag over K groups (the j-th copy of a run gets the tag
"<tag>-<j mod K>"), for a report of many groups. Used by bench/scale.sh and by the 2,000-run test
(tests/e2e/test_report_scale.sh)."""
import json
import os
import shutil
import sys
import uuid


def main():
    args = sys.argv[1:]
    variants = 0
    if args[:1] == ["--tag-variants"] and len(args) >= 2:
        variants = int(args[1])
        args = args[2:]
    if len(args) < 3:
        sys.exit("usage: scale_make_set.py [--tag-variants K] DEST N RUN_DIR...")
    dest, n, srcs = args[0], int(args[1]), args[2:]
    runs = []
    for s in srcs:
        if os.path.isfile(os.path.join(s, "summary.json")):
            runs.append(s)
        else:
            runs += sorted(os.path.join(s, d) for d in os.listdir(s)
                           if os.path.isfile(os.path.join(s, d, "summary.json")))
    if not runs:
        sys.exit("scale_make_set: no run directory among " + " ".join(srcs))
    tmpl = []
    for r in runs:
        with open(os.path.join(r, "summary.json"), encoding="utf-8") as f:
            summ = json.load(f)
        cfg = ""
        if os.path.isfile(os.path.join(r, "config.txt")):
            with open(os.path.join(r, "config.txt"), encoding="utf-8") as f:
                cfg = f.read()
        tmpl.append((r, summ, cfg, summ["run"].get("tag")))
    os.makedirs(dest, exist_ok=True)
    for i in range(n):
        src, summ, cfg, tag = tmpl[i % len(tmpl)]
        rid = uuid.uuid4().hex
        d = os.path.join(dest, "%06d-%s" % (i, os.path.basename(os.path.normpath(src))))
        os.mkdir(d)
        summ["run"]["run_id"] = rid
        if variants and tag is not None:
            summ["run"]["tag"] = "%s-%d" % (tag, (i // len(tmpl)) % variants)
        with open(os.path.join(d, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summ, f, indent="\t")
        lines = [l for l in cfg.splitlines() if not l.startswith("run_id=")]
        lines.insert(0, "run_id=" + rid)
        if variants and tag is not None:
            lines = [("tag=" + summ["run"]["tag"]) if l.startswith("tag=") else l for l in lines]
        with open(os.path.join(d, "config.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        for name in ("metrics.csv", "llama_output.log"):
            p = os.path.join(src, name)
            if os.path.isfile(p):
                try:
                    os.link(p, os.path.join(d, name))
                except OSError:
                    shutil.copyfile(p, os.path.join(d, name))


if __name__ == "__main__":
    main()
