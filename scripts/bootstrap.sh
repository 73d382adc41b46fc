#!/usr/bin/env bash
# Installs what the tests need that a fresh machine may lack, idempotently:
#   - the `openssl` CLI (CMS/PKI interop oracle), libsqlite3-dev (GRDB links the system SQLite), `xmllint`
#     (libxml2-utils: validates generated CCDs against the CDA schema);
#   - a Python venv at .venv with the oracles (python-hl7, hl7apy, recordlinkage, pydicom, PyJWT), pinned.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
dpkg -s libsqlite3-dev >/dev/null 2>&1 || need+=(libsqlite3-dev)
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "bootstrap: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "bootstrap: $(openssl version)"

# Python oracles. Versions are pinned so a test's verdict does not move with PyPI.
PY_PINS=(hl7==0.4.5 hl7apy==1.3.5 recordlinkage==0.16 jellyfish==1.3.0 pydicom==3.0.2 "PyJWT[crypto]==2.10.1" cryptography==50.0.2
  syslog-rfc5424-parser==0.3.2 lark-parser==0.6.7 rfc5424-logging-handler==1.4.3 tzlocal==5.4.5)
if ! .venv/bin/python -c "import hl7, hl7apy, recordlinkage, pydicom, jwt, cryptography, syslog_rfc5424_parser, rfc5424logging" >/dev/null 2>&1; then
  echo "bootstrap: creating .venv with ${PY_PINS[*]}"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "${PY_PINS[@]}"
fi
echo "bootstrap: python oracles ready in .venv"
