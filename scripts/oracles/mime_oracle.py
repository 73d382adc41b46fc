#!/usr/bin/env python3
"""Test oracle for the exchange payload format, using Python's standard `email` package (not written here).

  mime_oracle.py read FILE    -> prints JSON [{"content_type", "content_id", "sha256", "size"}] for each part
  mime_oracle.py write FILE   -> writes a multipart/mixed entity with a JSON part and two 8-bit text parts
"""
import hashlib
import json
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage


def read(path):
    with open(path, "rb") as f:
        msg = message_from_bytes(f.read(), policy=policy.HTTP)
    if not msg.is_multipart():
        sys.exit("not multipart")
    out = []
    for part in msg.iter_parts():
        body = part.get_payload(decode=True)
        out.append({"content_type": part.get_content_type(), "content_id": part.get("Content-ID", ""),
                    "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)})
    print(json.dumps(out))


def write(path):
    msg = EmailMessage(policy=policy.HTTP)
    msg["MIME-Version"] = "1.0"
    msg.make_mixed()
    for cid, ctype, text in [("<header>", "application/json", '{"a": 1}'),
                             ("<doc-1>", "text/xml", "<ClinicalDocument>\u00e9\r\nline 2</ClinicalDocument>"),
                             ("<doc-2>", "text/plain", "second --part-- with dashes")]:
        part = EmailMessage(policy=policy.HTTP)
        maintype, subtype = ctype.split("/")
        part.set_content(text, subtype=subtype, cte="8bit") if maintype == "text" else \
            part.set_content(text.encode(), maintype=maintype, subtype=subtype, cte="7bit")
        part["Content-ID"] = cid
        msg.attach(part)
    with open(path, "wb") as f:
        f.write(msg.as_bytes())


{"read": read, "write": write}[sys.argv[1]](sys.argv[2])
