#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the benchmark table, write results.json, and plot delivered packets/s
against N with gnuplot: tools/bench/report.py RESULTS.csv OUT_DIR"""
import csv, json, os, shutil, subprocess, sys

rows = list(csv.DictReader(open(sys.argv[1])))
out = sys.argv[2]
json.dump(rows, open(os.path.join(out, "results.json"), "w"), indent=1)

print()
print(f"{'relay':<10} {'size':>5} {'N':>4} {'lossless in/s':>13} {'delivered/s (min-max)':>30} "
      f"{'us/copy @100k (min-max)':>26} {'overload /s':>12} {'ratio':>6}")
for r in rows:
    print(f"{r['relay']:<10} {r['size']:>5} {r['n']:>4} {r['lossless_pps_in']:>13} "
          f"{r['delivered_pps_med']:>10} ({r['delivered_pps_min']}-{r['delivered_pps_max']})".ljust(62) +
          f" {r['cpu_us_per_copy_med']:>8} ({r['cpu_us_per_copy_min']}-{r['cpu_us_per_copy_max']})".ljust(27) +
          f" {r['overload_delivered_pps_med']:>12} {r['overload_ratio']:>6}")

# Ratios the issue asks about, same run: CPU per copy at N=64, 1316-byte payloads.
def cpu(relay, n, size="1316"):
    for r in rows:
        if r["relay"] == relay and r["n"] == str(n) and r["size"] == size:
            return float(r["cpu_us_per_copy_med"])
bp, mm, gs = cpu("bpfcast", 64), cpu("mmsg", 64), cpu("gstreamer", 64)
if bp and mm and gs:
    print(f"\nCPU per copy at N=64, 1316 B: bpfcast/mmsg = {bp / mm:.2f}, bpfcast/gstreamer = {bp / gs:.2f}")

lat = os.path.join(out, "latency.csv")
if os.path.exists(lat):
    lrows = list(csv.DictReader(open(lat)))
    if lrows:
        print(f"\n{'relay':<10} {'size':>5} {'N':>4} {'latency p50/p99 us':>20} {'skew p50/p99 us':>18}")
        for r in lrows:
            print(f"{r['relay']:<10} {r['size']:>5} {r['n']:>4} "
                  f"{r['latency_us_p50'] + ' / ' + r['latency_us_p99']:>20} "
                  f"{r['skew_us_p50'] + ' / ' + r['skew_us_p99']:>18}")
        json.dump(lrows, open(os.path.join(out, "latency.json"), "w"), indent=1)

if shutil.which("gnuplot"):
    for size in sorted({r["size"] for r in rows}):
        dat = os.path.join(out, f"delivered-{size}.dat")
        relays = [x for x in ("bpfcast", "gstreamer", "mmsg") if any(r["relay"] == x for r in rows)]
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
                  f'set title "Max lossless delivered packets/s, {size}-byte payloads (one relay CPU)";'
                  'set xlabel "subscribers (N)"; set ylabel "delivered packets/s"; set logscale x 2;'
                  'set grid; set key top left;'
                  f'plot for [i=0:{len(relays) - 1}] "{dat}" index i using 1:2:3:4 with yerrorlines '
                  'title columnheader(1)')
        subprocess.run(["gnuplot", "-e", script], check=False)
        print(f"plot: {png}")
