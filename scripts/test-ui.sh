#!/usr/bin/env bash
# Builds the UI, the dev server and the real app, then runs vitest, Playwright (tests/e2e: dev
# server + Chromium) and the WebDriver tests of the real app in demo mode under Xvfb (the Demo
# cluster shown; an install killed mid-way and resumed to Ready). Exits non-zero on
# any failure and closes with "ui: N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/vmdeck/target}"
cd "$root"

passed=0
failed=0
step() { # step NAME CMD...: runs one suite and counts it
  local name=$1; shift
  echo "== ui: $name"
  if "$@"; then passed=$((passed + 1)); echo "== ui: $name passed"
  else failed=$((failed + 1)); echo "== ui: $name FAILED"; fi
}
finish() { echo "ui: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

if ! scripts/ui-deps.sh; then failed=1; finish; fi

build() {
  (cd ui && npm run --silent check && npm run --silent build) || return 1
  (cd tests/e2e && npm run --silent check) || return 1
  # scripts/test builds the whole workspace first (same features); building again per package
  # would compile shared dependencies a second time with other feature sets.
  [ "${VMDECK_PREBUILT:-0}" = 1 ] && return 0
  cargo build -q -p vmdeck-desktop-core --bins &&
    cargo build -q -p simcluster --bin simcluster &&
    cargo build -q -p vmdeck --features custom-protocol
}
echo "== ui: build"
if ! build; then echo "== ui: build FAILED"; failed=$((failed + 1)); finish; fi

step vitest bash -c 'cd ui && npx vitest run'
step playwright bash -c 'cd tests/e2e && npx playwright test'
step webdriver xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
  python3 tests/webdriver/demo.py "$CARGO_TARGET_DIR/debug/vmdeck" test-artifacts/webdriver-demo.png
# Install on the demo cluster, kill the app mid-install, restart, Resume, Ready (screenshots of the
# Plan, Install and Installed screens; time to Ready and memory printed), then on that installed
# Demo cluster the VMs screen, a VNC console (boot screen pixel check) and the serial login.
step webdriver-install xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
  python3 tests/webdriver/install.py "$CARGO_TARGET_DIR/debug/vmdeck" test-artifacts/webdriver-install "$root/../shared/upstream"
finish
