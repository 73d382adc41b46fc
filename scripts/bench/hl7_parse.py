#!/usr/bin/env python3
"""Peer for `caduceus bench hl7`: python-hl7 parse rate on the same messages.

Usage: hl7_parse.py CORPUS BIG1 BIG2 ROUNDS
CORPUS: messages separated by 0x1C. BIG1/BIG2: one large ORU each. Prints JSON {"rate": msgs/s, "big1": s, "big2": s}.
"""
import json
import sys
import time

import hl7

corpus = open(sys.argv[1], "rb").read().decode("utf-8").split("\x1c")
big = [open(p, "rb").read().decode("utf-8") for p in sys.argv[2:4]]
rounds = int(sys.argv[4])

best = float("inf")
for _ in range(rounds):
    t = time.perf_counter()
    for m in corpus:
        hl7.parse(m)
    best = min(best, time.perf_counter() - t)
out = {"rate": len(corpus) / best}
for i, text in enumerate(big, start=1):
    b = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        hl7.parse(text)
        b = min(b, time.perf_counter() - t)
    out["big%d" % i] = b
print(json.dumps(out))
