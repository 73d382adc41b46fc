#!/usr/bin/env python3
"""Peer for `caduceus bench mllp`: python-hl7's asyncio MLLP server storing each ADT in SQLite (WAL,
synchronous=FULL, one commit per message) before it ACKs, driven by the same number of concurrent python-hl7 MLLP
clients sending the same messages.

Usage: mllp_peer.py CORPUS CONNECTIONS DBPATH. Prints JSON {"rate": msgs/s, "acked": n}.
"""
import asyncio
import json
import sqlite3
import sys
import time

import hl7
from hl7.mllp import open_hl7_connection, start_hl7_server

corpus = open(sys.argv[1], "rb").read().decode("utf-8").split("\x1c")
connections = int(sys.argv[2])
db = sqlite3.connect(sys.argv[3], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS messages (control_id TEXT PRIMARY KEY, raw TEXT)")


async def process(hl7_reader, hl7_writer):
    try:
        while not hl7_writer.is_closing():
            message = await hl7_reader.readmessage()
            db.execute("BEGIN")
            db.execute("INSERT OR IGNORE INTO messages VALUES (?, ?)", (str(message.segment("MSH")[10]), str(message)))
            db.execute("COMMIT")
            hl7_writer.writemessage(message.create_ack())
            await hl7_writer.drain()
    except asyncio.IncompleteReadError:
        hl7_writer.close()


async def client(messages, acked):
    reader, writer = await open_hl7_connection("127.0.0.1", 0 or port)
    for m in messages:
        writer.writemessage(hl7.parse(m))
        await writer.drain()
        ack = await reader.readmessage()
        if str(ack.segment("MSA")[1]) == "AA":
            acked.append(1)
    writer.close()


async def main():
    global port
    server = await start_hl7_server(process, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    acked = []
    shares = [corpus[i::connections] for i in range(connections)]
    t = time.perf_counter()
    await asyncio.gather(*(client(s, acked) for s in shares))
    elapsed = time.perf_counter() - t
    server.close()
    print(json.dumps({"rate": len(acked) / elapsed, "acked": len(acked)}))


port = 0
asyncio.run(main())
