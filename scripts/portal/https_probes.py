#!/usr/bin/env python3
"""Raw HTTPS requests to the portal with a client card (Python's ssl; standard library only, no browser).

Usage: https_probes.py PLAN.json RESULT.json. The plan is {"probes": [...]}; each probe names "cert", "key", "root",
"port", "method", "path", optionally "body" (a form), and may take the session cookie ("cookieFrom") and the form
token ("csrfFrom") an earlier probe was given. The result lists each probe's status, headers and body.
"""

import http.client
import json
import ssl
import sys


def probe(p):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=p["root"])
    ctx.check_hostname = False  # the node is reached at 127.0.0.1; its certificate names node.*.caduceus.test
    ctx.load_cert_chain(p["cert"], p["key"])
    conn = http.client.HTTPSConnection("127.0.0.1", p["port"], context=ctx, timeout=30)
    headers = dict(p.get("headers", {}))
    body = p.get("body")
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(p.get("method", "GET"), p["path"], body=body, headers=headers)
    r = conn.getresponse()
    data = r.read().decode("utf-8", "replace")
    result = {"name": p["name"], "path": p["path"], "status": r.status, "headers": dict(r.getheaders()), "body": data}
    conn.close()
    return result


def main():
    plan = json.load(open(sys.argv[1]))
    results = []
    for p in plan["probes"]:
        if "cookieFrom" in p:
            prior = next(r for r in results if r["name"] == p["cookieFrom"])
            p.setdefault("headers", {})["Cookie"] = prior["headers"].get("Set-Cookie", "").split(";")[0]
        if "csrfFrom" in p:
            prior = next(r for r in results if r["name"] == p["csrfFrom"])
            marker = 'name="csrf" value="'
            start = prior["body"].find(marker)
            token = prior["body"][start + len(marker):prior["body"].find('"', start + len(marker))] if start >= 0 else ""
            p["body"] = (p.get("body") or "") + "&csrf=" + token
        try:
            results.append(probe(p))
        except Exception as e:  # a refused handshake is a result too
            results.append({"name": p["name"], "path": p["path"], "status": 0, "headers": {}, "body": repr(e)})
    json.dump({"probes": results}, open(sys.argv[2], "w"), indent=1)


if __name__ == "__main__":
    main()
