"""Syslog oracle for the tests: RFC 5424 parsing and RFC 5425 sending done by code nobody here wrote.

  parse              stdin: one RFC 5424 message -> stdout: JSON of its fields (syslog-rfc5424-parser)
  capture            stdout: the bytes rfc5424-logging-handler sends over TCP with octet counting for one record
  ship HOST PORT CERT KEY CA NODE SEQ PREV_HEX BODY_FILE
                     sends one Caduceus audit record (hash computed here, independently) to an RFC 5425 listener
                     over mutual TLS with rfc5424-logging-handler
"""
import hashlib
import json
import logging
import socket
import struct
import sys
import threading

from rfc5424logging import Rfc5424SysLogHandler, FRAMING_OCTET_COUNTING


def parse():
    from syslog_rfc5424_parser import SyslogMessage
    raw = sys.stdin.buffer.read().decode("utf-8")
    m = SyslogMessage.parse(raw)
    d = m.as_dict()
    print(json.dumps({
        "facility": m.facility.value, "severity": m.severity.value, "version": m.version,
        "timestamp": d["timestamp"], "hostname": d["hostname"], "appname": d["appname"], "procid": d["procid"],
        "msgid": d["msgid"], "sd": d["sd"], "msg": d["msg"],
    }, sort_keys=True))


class Strict(Rfc5424SysLogHandler):
    """Fails loudly: the logging module would otherwise print an error and carry on."""

    def handleError(self, record):
        raise


def handler_record(address, **kw):
    h = Strict(address=address, socktype=socket.SOCK_STREAM, framing=FRAMING_OCTET_COUNTING, **kw)
    log = logging.getLogger("oracle")
    log.propagate = False
    log.handlers = [h]
    log.setLevel(logging.INFO)
    return log, h


def capture():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    got = bytearray()

    def accept():
        conn, _ = server.accept()
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got.extend(chunk)
        conn.close()

    t = threading.Thread(target=accept)
    t.start()
    log, h = handler_record(server.getsockname(), hostname="node.python", appname="oracle", procid="42",
                            structured_data={"origin@32473": {"note": 'quote " backslash \\ bracket ]'}})
    log.info("audit test message", extra={"msgid": "ORACLE"})
    h.close()
    t.join(5)
    sys.stdout.buffer.write(bytes(got))


def ship(host, port, cert, key, ca, node, seq, prev_hex, body_file):
    # The repository's certificate is verified against the federation root; its DNS name is not the loopback
    # address the test connects to, so only the hostname check is turned off.
    import ssl
    make = ssl.create_default_context

    def no_hostname(*args, **kwargs):
        context = make(*args, **kwargs)
        context.check_hostname = False
        return context

    ssl.create_default_context = no_hostname
    body = open(body_file, "rb").read()
    seq = int(seq)
    prev = bytes.fromhex(prev_hex)
    h = hashlib.sha256()
    h.update(b"caduceus.audit.v1\x00")
    h.update(struct.pack(">Q", seq))
    h.update(prev)
    h.update(struct.pack(">Q", len(body)))
    h.update(body)
    log, handler = handler_record((host, int(port)), hostname=node, appname="caduceus", facility=10,
                                  tls_enable=True, tls_ca_bundle=ca, tls_verify=True,
                                  tls_client_cert=cert, tls_client_key=key,
                                  structured_data={"caduceus@32473": {"seq": str(seq), "prev": prev_hex, "hash": h.hexdigest()}})
    log.info(body.decode("utf-8"), extra={"msgid": "CADUCEUS-AUDIT"})
    # RFC 5425 section 4.4: a sender ends with a TLS close_notify (the handler itself would just drop the socket).
    # The handler's socket timeout is short; the listener answers the close_notify after it has read the frame, which
    # on a loaded machine (the whole test suite on two cores) can take longer.
    handler.transport.socket.settimeout(30)
    handler.transport.socket.unwrap().close()
    handler.close()
    print(h.hexdigest())


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "parse":
        parse()
    elif cmd == "capture":
        capture()
    elif cmd == "ship":
        ship(*sys.argv[2:])
    else:
        sys.exit("unknown command")
