#!/bin/sh
# Installs the project on Node 24. A fresh machine may only have Node 20, on which
# npm silently skips nodejs-polars' native package (it declares node >= 22), so we
# first fetch Node 24 itself from the npm registry (the `node` package) into .node/
# and run the install under it. The `node` devDependency then puts Node 24 into
# node_modules/.bin, which `npm run` puts first on PATH for every script.
set -eu
cd "$(dirname "$0")/.."
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 24 ]; then
  if [ ! -x .node/node_modules/.bin/node ]; then
    echo "setup: Node $major found; fetching Node 24 into .node/ ..."
    npm install --prefix .node --no-save --no-package-lock --no-audit --no-fund node@24 >/dev/null
  fi
  PATH="$PWD/.node/node_modules/.bin:$PATH"
  export PATH
fi
echo "setup: installing dependencies with Node $(node --version)"
npm install --no-audit --no-fund
