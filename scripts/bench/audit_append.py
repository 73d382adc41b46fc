#!/usr/bin/env python3
"""Peer for `caduceus bench audit`: the same hash-chained audit append in Python (sqlite3 + hashlib), WAL with
synchronous=FULL, one commit per batch, events encoded as JSON.

Usage: audit_append.py DB EVENTS BATCH   Prints JSON {"rate": events/s}.
"""
import hashlib
import json
import sqlite3
import struct
import sys
import time

path, events, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, prev BLOB, body BLOB, hash BLOB, at REAL, event_id TEXT, patient TEXT, user TEXT, outcome INTEGER)")
prev, seq = bytes(32), 0
start = time.perf_counter()
while seq < events:
    db.execute("BEGIN IMMEDIATE")
    for _ in range(min(batch, events - seq)):
        seq += 1
        event = {"action": "R", "errorCode": "", "eventID": {"code": "110110", "display": "Patient Record", "system": "DCM"},
                 "objects": [{"id": "P%d^^^&2.25.1&ISO" % (seq % 1000), "idType": {"code": "2", "display": "Patient Number", "system": "RFC-3881"}, "role": 1, "typeCode": 1}],
                 "outcome": 0, "participants": [{"isRequestor": True, "networkAccessPoint": "", "roles": [], "userID": "Dr %d" % (seq % 50)}],
                 "purposeOfUse": "TREAT", "sourceID": "node.a", "time": 1800000000000 + seq, "emergency": False, "eventTypes": []}
        body = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        h = hashlib.sha256(b"caduceus.audit.v1\x00" + struct.pack(">Q", seq) + prev + struct.pack(">Q", len(body)) + body).digest()
        db.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, '110110', ?, ?, 0)", (seq, prev, body, h, time.time(), "P%d" % (seq % 1000), "Dr %d" % (seq % 50)))
        prev = h
    db.execute("COMMIT")
elapsed = time.perf_counter() - start
print(json.dumps({"rate": events / elapsed}))
