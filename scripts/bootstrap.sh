#!/usr/bin/env bash
# Installs what the tests need that a fresh machine may lack, idempotently: the `openssl` CLI (the interop oracle).
# Later test oracles (Python hl7/hl7apy/pydicom/lxml in a venv, xmllint, PostgreSQL) are added here as issues need them.
set -euo pipefail

need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "bootstrap: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "bootstrap: $(openssl version)"
