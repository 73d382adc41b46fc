#!/usr/bin/env bash
# Installs what the tests need that a fresh machine may lack, idempotently:
#   - the `openssl` CLI (CMS/PKI interop oracle), libsqlite3-dev (GRDB links the system SQLite), `xmllint`
#     (libxml2-utils: validates generated CCDs against the CDA schema);
#   - softhsm2 (a PKCS#11 token for the tests: each test run makes its own token directory, never the system's) and
#     opensc (its PKCS#11 module for PIV cards, loaded by a test; `pkcs11-tool`, the oracle that lists token objects);
#   - chromium, chromium-driver and libnss3-tools (certutil, pk12util): the portal's browser tests drive headless
#     Chromium through selenium, each person's card in an NSS database of their own;
#   - a Python venv at .venv with the oracles (python-hl7, hl7apy, recordlinkage, pydicom, PyJWT, prometheus-client)
#     and selenium, pinned.
set -euo pipefail
cd "$(dirname "$0")/.."

# The whole list goes to apt every time (apt skips what is there): a package installed by hand on a developer's
# machine must not hide a line missing here from a green CI.
packages=(openssl libsqlite3-dev libxml2-utils python3-venv strace softhsm2 opensc chromium chromium-driver libnss3-tools)
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# Refresh the package lists only when something must be fetched (an up-to-date machine makes no network call).
[ ${#missing[@]} -gt 0 ] && { echo "bootstrap: installing ${missing[*]}"; $SUDO apt-get update -qq; }
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "bootstrap: $(openssl version)"

# Python oracles. Versions are pinned so a test's verdict does not move with PyPI.
PY_PINS=(hl7==0.4.5 hl7apy==1.3.5 recordlinkage==0.16 jellyfish==1.3.0 pydicom==3.0.2 "PyJWT[crypto]==2.10.1" cryptography==50.0.2
  syslog-rfc5424-parser==0.3.2 lark-parser==0.6.7 rfc5424-logging-handler==1.4.3 tzlocal==5.4.5 prometheus-client==0.26.0
  selenium==4.50.0)
if ! .venv/bin/python -c "import hl7, hl7apy, recordlinkage, pydicom, jwt, cryptography, syslog_rfc5424_parser, rfc5424logging, prometheus_client, selenium" >/dev/null 2>&1; then
  echo "bootstrap: creating .venv with ${PY_PINS[*]}"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "${PY_PINS[@]}"
fi
echo "bootstrap: python oracles ready in .venv"
