#!/usr/bin/env python3
"""Test oracle: parses HL7 v2 files with python-hl7 and hl7apy and prints what they see as JSON.

Usage: hl7_oracle.py FILE...   (each file one ER7 message, segments ended by CR)
Output: {"FILE": {"hl7": [[seg_id, {field_no: er7}]...], "hl7apy": [...], "values": [[seg_id, field, rep, comp, value]...]}}
Only non-empty fields are listed (hl7apy drops empty ones). "values" are python-hl7's unescaped component values for
components without subcomponents.
"""
import json
import sys

import hl7
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message


def with_hl7(text):
    msg = hl7.parse(text)
    segments, values = [], []
    for seg in msg:
        fields = {}
        for n in range(1, len(seg)):
            er7 = str(seg[n])
            if er7:
                fields[str(n)] = er7
        segments.append([str(seg[0]), fields])
        for n in range(1 if str(seg[0]) != "MSH" else 3, len(seg)):
            field = seg[n]
            reps = field if isinstance(field, hl7.Field) and field and isinstance(field[0], hl7.Repetition) else [field]
            for r, rep in enumerate(reps, start=1):
                comps = rep if isinstance(rep, (hl7.Repetition, hl7.Field)) else [rep]
                for c, comp in enumerate(comps, start=1):
                    raw = str(comp)
                    if raw and "&" not in raw:
                        values.append([str(seg[0]), n, r, c, msg.unescape(raw)])
    return segments, values


def with_hl7apy(text):
    msg = parse_message(text, find_groups=False, validation_level=VALIDATION_LEVEL.QUIET)
    segments = []
    for seg in msg.children:
        fields = {}
        for child in seg.children:
            n = child.name.split("_")[-1]
            er7 = child.to_er7()
            fields[n] = fields[n] + "~" + er7 if n in fields else er7
        segments.append([seg.name, fields])
    return segments


out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    segments, values = with_hl7(text)
    out[path] = {"hl7": segments, "hl7apy": with_hl7apy(text), "values": values}
json.dump(out, sys.stdout)
