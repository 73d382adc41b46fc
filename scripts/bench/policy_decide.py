#!/usr/bin/env python3
"""Peer for `caduceus bench policy`: the same decisions by the Python rendering of the shipped policy
(scripts/policy/expected_decisions.py). Usage: policy_decide.py ROUNDS   Prints JSON {"rate": decisions/s}."""
import importlib.util
import json
import os
import sys
import time

spec = importlib.util.spec_from_file_location("expected", os.path.join(os.path.dirname(__file__), "..", "policy", "expected_decisions.py"))
src = open(spec.origin).read().split("w = csv.writer")[0]   # the rules, without the table writer
ns = {}
exec(src, ns)
combos = [(r, c, p, k) for r in ns["ROLES"] for c in ns["ORDER"] for p in ns["PURPOSES"] for k in ns["CONSENTS"]]
rounds = int(sys.argv[1])
decide = ns["decide"]
start = time.perf_counter()
for _ in range(rounds):
    for combo in combos:
        decide(*combo)
print(json.dumps({"rate": rounds * len(combos) / (time.perf_counter() - start)}))
