#!/usr/bin/env bash
# A real VS Code for test/editor/code-server.test.ts: npm `code-server` 4.100.3 (VS Code 1.100.3,
# the last line for Node 20) in .code-server/ (git-ignored). Idempotent: does nothing when it is
# there. Needs Debian's libkrb5-dev (kerberos), ripgrep, and a C++ toolchain (.ci/run installs them).
#
# code-server's postinstall is done by hand, step by step, because two of its steps download from
# GitHub (refused here): @vscode/ripgrep's binary (Debian's `rg` is used instead) and prebuilt
# native modules (they are built from source with npm's own node-gyp and Node's installed headers).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.100.3
dir=.code-server
entry="$dir/node_modules/code-server/out/node/entry.js"
# code-server writes a default config.yaml on any start: keep it in the folder, not in ~/.config.
export XDG_CONFIG_HOME="$PWD/$dir/.config"
if [ -f "$dir/.installed-$VERSION" ] && node "$entry" --version >/dev/null 2>&1; then
  echo "code-server $VERSION already in $dir"
  exit 0
fi
command -v rg >/dev/null || { echo "install Debian's ripgrep first (apt-get install ripgrep)" >&2; exit 1; }
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{ "name": "switchyard-code-server", "private": true }' >"$dir/package.json"

# npm's bundled node-gyp, so nothing fetches one; Node's headers from the system, so node-gyp
# downloads none.
npm_root="$(dirname "$(readlink -f "$(command -v npm)")")/.."
gyp="$(readlink -f "$npm_root/node_modules/node-gyp/bin/node-gyp.js")"
nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
[ -f "$nodedir/include/node/node_version.h" ] || nodedir=/usr
build() { (cd "$1" && node "$gyp" rebuild --nodedir="$nodedir" >/dev/null); }
mkdir -p "$dir/.bin"
printf '#!/bin/sh\nexec node %s "$@"\n' "$gyp" >"$dir/.bin/node-gyp"
chmod +x "$dir/.bin/node-gyp"

echo "code-server $VERSION: packages (install scripts off)"
npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts "code-server@$VERSION" >/dev/null
cs="$dir/node_modules/code-server"
echo "argon2 from source"
(cd "$dir" && PATH="$PWD/.bin:$PATH" npm_config_nodedir="$nodedir" npm rebuild argon2 --build-from-source >/dev/null)

echo "VS Code's own dependencies"
(cd "$cs/lib/vscode" && npm install --omit=dev --no-audit --no-fund --ignore-scripts >/dev/null)
for module in kerberos @vscode/spdlog @vscode/deviceid native-watchdog node-pty; do
  echo "  $module from source"
  build "$cs/lib/vscode/node_modules/$module"
done
mkdir -p "$cs/lib/vscode/node_modules/@vscode/ripgrep/bin"
cp "$(command -v rg)" "$cs/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
# What code-server's postinstall.sh does after its installs.
ln -sfn node_modules "$cs/lib/vscode/node_modules.asar"
ln -sfn code-linux.sh "$cs/lib/vscode/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$cs/lib/vscode/bin/helpers/browser.sh"
(cd "$cs/lib/vscode/extensions" && npm install --omit=dev --no-audit --no-fund >/dev/null)

node "$entry" --version
touch "$dir/.installed-$VERSION"
