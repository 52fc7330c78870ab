#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check MPEG-TS captures: tscheck FILE...

For each file prints "NAME PACKETS CC_ERRORS STRAY_BYTES": continuity-counter
errors over every packet received, and bytes that are not whole TS packets.
Writes FILE.cc, one line per error: "packet PID expected got gap", gap the
packets missing if the break was a loss (15 for a repeat, so a reordering
shows as a gap and then its complement).
Writes FILE.ra, the part a decoder can take whole: from the first random-access
point (a video PES starting with an MPEG-2 sequence header) to the last whole
picture, for devices that join or leave mid-stream.
"""
import sys
def pid_of(p):
    return ((p[1] & 0x1f) << 8) | p[2]
def decodable(data):
    first = video = None
    for i in range(0, len(data) - 187, 188):
        p = data[i:i + 188]
        afc = (p[3] >> 4) & 3
        start = 4 + (1 + p[4] if afc & 2 else 0)
        if p[1] & 0x40 and afc & 1 and b"\0\0\1\xb3" in p[start:]:
            first, video = i, pid_of(p)
            break
    if first is None:
        return b""
    last = first
    for i in range(first, len(data) - 187, 188):
        if pid_of(data[i:i + 188]) == video and data[i + 1] & 0x40:
            last = i
    return data[first:last]
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    open(path + ".ra", "wb").write(decodable(data))
    last, errs, pkts, breaks = {}, 0, 0, []
    for i in range(0, len(data) - 187, 188):
        p = data[i:i + 188]
        pkts += 1
        if p[0] != 0x47:
            errs += 1
            breaks.append(f"{pkts - 1} - - - no-sync")
            continue
        pid, afc, cc = ((p[1] & 0x1f) << 8) | p[2], (p[3] >> 4) & 3, p[3] & 15
        if pid == 0x1fff or not afc & 1:
            continue
        want = (last[pid] + 1) % 16 if pid in last else cc
        if cc != want:
            errs += 1
            breaks.append(f"{pkts - 1} {pid:#x} {want} {cc} {(cc - want) % 16}")
        last[pid] = cc
    open(path + ".cc", "w").write("".join(b + "\n" for b in breaks))
    print(path.rsplit("/", 1)[1], pkts, errs, len(data) % 188)
