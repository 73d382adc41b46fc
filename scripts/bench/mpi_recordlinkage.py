#!/usr/bin/env python3
"""Baseline for `caduceus bench mpi`: Python recordlinkage on the same labelled records.

Blocking on the same keys Caduceus uses (family Soundex + birth year, birth date, given Soundex + month/day, phone,
postal code + initials), comparison with Jaro-Winkler names (threshold 0.88), exact birth date, sex, postal code,
phone and Jaro-Winkler street, classified unsupervised with the ECM classifier (Fellegi-Sunter by EM).

Usage: mpi_recordlinkage.py RECORDS.csv. Prints JSON with pairwise precision, recall, F1 and seconds.
"""
import json
import sys
import time

import jellyfish
import pandas as pd
import recordlinkage

t0 = time.perf_counter()
df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
truth = df["truth"].astype(int)


def sx(s):
    return jellyfish.soundex(s) if s else ""


df["fsx"] = df["family"].map(sx)
df["gsx"] = df["given"].map(sx)
df["year"] = df["birth"].str[:4]
df["mmdd"] = df["birth"].str[4:8]
df["phone7"] = df["phone"].str[-7:]
df["k_fy"] = df["fsx"] + df["year"]
df["k_gm"] = df["gsx"] + df["mmdd"]
df["k_pz"] = df["postal"].str[:5] + df["given"].str[:1] + df["family"].str[:1]
df["k_gf"] = [a + b if a < b else b + a for a, b in zip(df["gsx"], df["fsx"])]

pairs = None
for key in ["k_fy", "birth", "k_gm", "phone7", "k_gf", "k_pz"]:
    sub = df[df[key].str.len() > 0]
    idx = recordlinkage.Index()
    idx.block(key)
    p = idx.index(sub)
    pairs = p if pairs is None else pairs.union(p)

compare = recordlinkage.Compare()
compare.string("family", "family", method="jarowinkler", threshold=0.88, label="family")
compare.string("given", "given", method="jarowinkler", threshold=0.88, label="given")
compare.exact("birth", "birth", label="birth")
compare.exact("sex", "sex", label="sex")
compare.string("street", "street", method="jarowinkler", threshold=0.9, label="street")
compare.exact("postal", "postal", label="postal")
compare.exact("phone7", "phone7", label="phone")
features = compare.compute(pairs, df)
ecm = recordlinkage.ECMClassifier(binarize=0.5)
links = ecm.fit_predict(features)
elapsed = time.perf_counter() - t0

tp = sum(1 for a, b in links if truth[a] == truth[b])
fp = len(links) - tp
by_truth = truth.value_counts()
true_pairs = int(sum(n * (n - 1) // 2 for n in by_truth))
fn = true_pairs - tp
precision = tp / (tp + fp) if tp + fp else 1.0
recall = tp / (tp + fn) if tp + fn else 1.0
f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
print(json.dumps({"precision": precision, "recall": recall, "f1": f1, "pairs": int(len(pairs)), "links": int(len(links)), "seconds": elapsed}))
