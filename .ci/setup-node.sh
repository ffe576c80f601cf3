#!/bin/sh
# Installs exactly the versions package-lock.json holds (npm ci) on Node 24. A fresh machine may
# only have Node 20, on which npm silently skips nodejs-polars' native package (it declares
# node >= 22), so we first fetch Node 24 itself from the npm registry (the `node` package) into
# .node/ and run the install under it. The `node` devDependency then puts Node 24 into
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
echo "setup: installing the locked dependencies with Node $(node --version)"
# Dependencies' install scripts stay off: the one this project needs is the `node` package's, which
# downloads the Node 24 binary into node_modules/.bin (allowScripts in package.json records it;
# @scarf/scarf's is telemetry).
npm ci --ignore-scripts --no-audit --no-fund
npm rebuild node
# patches/: fixes to dependencies not yet released upstream (patches/README.md says which and why).
npx --no-install patch-package
