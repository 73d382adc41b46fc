#!/usr/bin/env python3
"""Test oracle for HL7 v2 batches and undeclared character sets, with python-hl7 and hl7apy.

Usage:
  hl7_batch_oracle.py read FILE        python-hl7 reads a batch file (FHS/BHS … BTS/FTS, UTF-8) and prints, as JSON,
                                       {"batches": [{"header": ER7, "trailer": ER7, "messages": [[MSH-10, MSA-1, MSA-2, ERR-5]…]}…]}
  hl7_batch_oracle.py write FILE       hl7apy builds an ADT^A04 (no MSH-18) whose PID-5 has a non-ASCII family and given
                                       name, and a second whose PID-5 has a given name only, and writes them to FILE as
                                       UTF-8 ER7 (segments ended by CR); prints the names it wrote.
"""
import json
import sys

import hl7
from hl7apy.core import Message


def read(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    parsed = hl7.parse_file(text)
    batches = []
    for batch in parsed:
        messages = []
        for message in batch:
            def field(seg, n, comp=None):
                try:
                    value = message.segment(seg)[n]
                except (KeyError, IndexError):
                    return ""
                return str(value)
            messages.append([field("MSH", 10), field("MSA", 1), field("MSA", 2), field("ERR", 5)])
        batches.append({"header": str(batch.header), "trailer": str(batch.trailer), "messages": messages})
    json.dump({"file_header": str(parsed.header), "batches": batches}, sys.stdout)


def write(path):
    out = []
    names = [("MÜLLER-ŁUKASZEWICZ", "José"), ("", "María")]
    for i, (family, given) in enumerate(names, start=1):
        m = Message("ADT_A01", version="2.5.1")
        m.msh.msh_3 = "HL7APY"
        m.msh.msh_4 = "ORACLE"
        m.msh.msh_5 = "CAD"
        m.msh.msh_6 = "H1"
        m.msh.msh_7 = "20260101120000"
        m.msh.msh_9 = "ADT^A04^ADT_A01"
        m.msh.msh_10 = "APY%d" % i
        m.msh.msh_11 = "P"
        pid = m.add_segment("PID")
        pid.pid_1 = "1"
        pid.pid_3 = "APY-%d^^^X&1.2.840.114350.1&ISO^MR" % i
        pid.pid_5 = "%s^%s" % (family, given)
        pid.pid_7 = "19800214"
        pid.pid_8 = "F"
        out.append(m.to_er7())
    with open(path, "wb") as f:
        f.write("\r".join(out).replace("\n", "\r").encode("utf-8") + b"\r")
    json.dump({"names": [[f, g] for f, g in names]}, sys.stdout)


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
