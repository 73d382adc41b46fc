#!/usr/bin/env python3
"""Test oracle: reads DICOM files with pydicom and prints the attributes Caduceus reads, as JSON.

Usage: dicom_oracle.py FILE...   Prints {"FILE": {"ok": true, "TransferSyntaxUID": ..., ...} or {"ok": false}}.
Multi-valued attributes are joined with a backslash, as they are stored.
"""
import json
import sys

import pydicom
from pydicom.multival import MultiValue

FIELDS = ["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID", "PatientName",
          "PatientBirthDate", "PatientSex", "Modality", "StudyDate", "AccessionNumber", "StudyDescription"]


def text(value):
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


out = {}
for path in sys.argv[1:]:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        row = {"ok": True, "TransferSyntaxUID": text(ds.file_meta.get("TransferSyntaxUID"))}
        for f in FIELDS:
            row[f] = text(ds.get(f))
        row["preamble"] = "zeros" if ds.preamble is not None and not any(ds.preamble) else "nonzero"
    except Exception as e:  # noqa: BLE001 - the oracle reports failure, the test decides
        row = {"ok": False, "error": type(e).__name__}
    out[path] = row
json.dump(out, sys.stdout)
