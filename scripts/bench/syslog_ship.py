"""Peer for `caduceus bench ship`: ships audit records (JSON lines: seq, prev, hash, body in base64) to an RFC 5425
listener over mutual TLS with rfc5424-logging-handler, one syslog message per record, and ends with a TLS
close_notify. Prints {"seconds": ...} (formatting and sending; the listener's ingest is timed by the caller)."""
import base64
import json
import logging
import socket
import ssl
import sys
import time

from rfc5424logging import Rfc5424SysLogHandler, FRAMING_OCTET_COUNTING

host, port, cert, key, ca, node, records_file = sys.argv[1:8]
make = ssl.create_default_context


def no_hostname(*args, **kwargs):
    context = make(*args, **kwargs)
    context.check_hostname = False  # the listener's certificate is checked against the root; its name is not 127.0.0.1
    return context


ssl.create_default_context = no_hostname
records = [json.loads(line) for line in open(records_file)]
start = time.perf_counter()
handler = Rfc5424SysLogHandler(address=(host, int(port)), socktype=socket.SOCK_STREAM, framing=FRAMING_OCTET_COUNTING,
                               hostname=node, appname="caduceus", facility=10, tls_enable=True, tls_ca_bundle=ca,
                               tls_verify=True, tls_client_cert=cert, tls_client_key=key)
log = logging.getLogger("ship")
log.propagate = False
log.handlers = [handler]
log.setLevel(logging.INFO)
for r in records:
    sd = {"caduceus@32473": {"seq": str(r["seq"]), "prev": r["prev"], "hash": r["hash"]}}
    log.info(base64.b64decode(r["body"]).decode("utf-8"), extra={"msgid": "CADUCEUS-AUDIT", "structured_data": sd})
handler.transport.socket.unwrap().close()
print(json.dumps({"seconds": time.perf_counter() - start}))
