#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the benchmark table and the issue's targets, write results.json and
table.md, and plot delivered packets/s against N with gnuplot:
    tools/bench/report.py RESULTS.csv OUT_DIR"""
import csv, json, os, shutil, subprocess, sys

rows = list(csv.DictReader(open(sys.argv[1])))
out = sys.argv[2]
RELAYS = ("bpfcast", "bpfcast-tc", "gstreamer", "mmsg", "forward", "redirect")


def rng(r, key):
    return f"{r[key + '_med']} ({r[key + '_min']}-{r[key + '_max']})"


header = ("relay", "size", "N", "lossless in/s", "delivered copies/s (min-max)",
          "µs CPU/copy @100k (min-max)", "overload copies/s (min-max)", "ovl/lossless",
          "lost @80%")
table = []
for r in rows:
    table.append((r["relay"], r["size"], r["n"],
                  r["lossless_pps_in"] + ("*" if r["generator_limited"] == "1" else ""),
                  rng(r, "delivered_pps"), rng(r, "cpu_us_per_copy"),
                  rng(r, "overload_delivered_pps"), r["overload_ratio"],
                  r["knee_lost_copies"] or "-"))
widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
line = lambda cells: "  ".join(str(c).rjust(w) if i > 0 else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(cells, widths)))
print()
print(line(header))
for t in table:
    print(line(t))
print("* the generator's limit, not the relay's")

with open(os.path.join(out, "table.md"), "w") as f:
    f.write("| " + " | ".join(header) + " |\n")
    f.write("|" + "|".join("---" if i < 1 else "---:" for i in range(len(header))) + "|\n")
    for t in table:
        f.write("| " + " | ".join(str(c) for c in t) + " |\n")
json.dump(rows, open(os.path.join(out, "results.json"), "w"), indent=1)


def get(relay, n, key, size="1316"):
    for r in rows:
        if r["relay"] == relay and r["n"] == str(n) and r["size"] == size:
            return r[key]
    return None


# The targets of issue 5, from this run: 1316-byte payloads.
checks = []
bp, mm, gs = (get(x, 64, "cpu_us_per_copy_med") for x in ("bpfcast", "mmsg", "gstreamer"))
if bp and mm and gs:
    bp, mm, gs = float(bp), float(mm), float(gs)
    checks.append((f"CPU per copy at N=64: bpfcast/mmsg = {bp / mm:.2f} (<= 0.33)", bp <= mm / 3))
    checks.append((f"CPU per copy at N=64: bpfcast/gstreamer = {bp / gs:.2f} (<= 0.20)",
                   bp <= gs / 5))
for n in (64, 256):
    ratio = get("bpfcast", n, "overload_ratio")
    if ratio:
        checks.append((f"overload at N={n}: delivered {ratio} of lossless (>= 0.80)",
                       float(ratio) >= 0.8))
knee = get("bpfcast", 256, "knee_lost_copies")
if knee:
    checks.append((f"N=256 at 80% of the lossless rate: {knee} copies lost (0)", int(knee) == 0))
sock = os.path.join(out, "sockets.csv")
if os.path.exists(sock):
    for r in csv.DictReader(open(sock)):
        checks.append((f"socket variant {r['relay']} N={r['n']}: {r['subscribers_exact']} of "
                       f"{r['n']} subscribers byte-exact, in order",
                       r["subscribers_exact"] == r["n"]))
if checks:
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")

lat = os.path.join(out, "latency.csv")
if os.path.exists(lat):
    lrows = list(csv.DictReader(open(lat)))
    if lrows:
        print(f"\n{'relay':<11} {'size':>5} {'N':>4} {'added latency p50/p99 µs':>25} "
              f"{'fan-out skew p50/p99 µs':>24} {'packets':>8}")
        for r in lrows:
            print(f"{r['relay']:<11} {r['size']:>5} {r['n']:>4} "
                  f"{r['latency_us_p50'] + ' / ' + r['latency_us_p99']:>25} "
                  f"{r['skew_us_p50'] + ' / ' + r['skew_us_p99']:>24} {r['packets_complete']:>8}")
        json.dump(lrows, open(os.path.join(out, "latency.json"), "w"), indent=1)
        with open(os.path.join(out, "table.md"), "a") as f:
            f.write("\n| relay | size | N | added latency p50 / p99 µs | fan-out skew p50 / p99 µs |\n")
            f.write("|---|---:|---:|---:|---:|\n")
            for r in lrows:
                f.write(f"| {r['relay']} | {r['size']} | {r['n']} | {r['latency_us_p50']} / "
                        f"{r['latency_us_p99']} | {r['skew_us_p50']} / {r['skew_us_p99']} |\n")

if shutil.which("gnuplot"):
    for size in sorted({r["size"] for r in rows}):
        dat = os.path.join(out, f"delivered-{size}.dat")
        relays = [x for x in RELAYS if any(r["relay"] == x and r["size"] == size for r in rows)]
        with open(dat, "w") as f:
            for relay in relays:
                f.write(f'"{relay}"\n')
                for r in rows:
                    if r["relay"] == relay and r["size"] == size:
                        f.write(f"{r['n']} {r['delivered_pps_med']} {r['delivered_pps_min']} "
                                f"{r['delivered_pps_max']}\n")
                f.write("\n\n")
        png = os.path.join(out, f"delivered-{size}.png")
        script = (f'set terminal pngcairo size 900,520; set output "{png}";'
                  f'set title "Max lossless delivered packets/s, {size}-byte payloads, one relay CPU";'
                  'set xlabel "subscribers (N)"; set ylabel "delivered packets/s";'
                  'set logscale x 2; set xrange [0.7:360]; set yrange [0:*]; set grid;'
                  'set key outside right;'
                  f'plot for [i=0:{len(relays) - 1}] "{dat}" index i using 1:2:3:4 '
                  'with yerrorlines pointsize 1.2 title columnheader(1)')
        subprocess.run(["gnuplot", "-e", script], check=False)
        print(f"plot: {png}")
sys.exit(0 if all(ok for _, ok in checks) else 1)
