#!/usr/bin/env bash
# Runs the browser tests of the web console against an iocwatch binary.
#
#   tests/browser/run.sh [PATH-TO-IOCWATCH]
#
# The binary defaults to target/debug/iocwatch (or $CARGO_TARGET_DIR/debug/
# iocwatch); build it first with `cargo build -p iocwatch`. Needs node 18+,
# npm and Debian's chromium (`apt-get install chromium`); CHROMIUM overrides
# the browser path. Installs playwright-core from package-lock.json when
# node_modules is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/iocwatch}"
case "$bin" in
  /*) ;;
  *) bin="$PWD/$bin" ;;
esac

cd "$here"
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
IOCWATCH_BIN="$bin" exec node --test --test-reporter=spec console.test.mjs
