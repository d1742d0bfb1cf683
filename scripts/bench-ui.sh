#!/usr/bin/env bash
# UI benchmarks (print figures, never fail on them): the VMs screen with 10,000 VMs in Chromium
# (first rows, full list, frame times p50/p99 under 200 VM changes/s), noVNC fps and CPU per frame
# in the real app (WebKitGTK under Xvfb: a console window, and the main window for comparison)
# against headless Chromium on the same simcluster vnc-bench stream with the ratio, paste speed
# (characters/s with the us layout), and the app's memory with four console windows against idle.
# Usage: scripts/bench-ui.sh [SECONDS]   (each measurement's length, default 10; VMDECK_PREBUILT=1 skips the cargo builds)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh
seconds=${1:-10}

(cd ui && npm run --silent build)
if [ "${VMDECK_PREBUILT:-0}" != 1 ]; then # VMDECK_PREBUILT=1: use the binaries already built
  cargo build -q -p vmdeck-desktop-core --bins
  cargo build -q -p simcluster --bin simcluster
  cargo build -q -p vmdeck --features custom-protocol
fi

work=$(mktemp -d /tmp/vmdeck-bench-ui-XXXXXX)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# One cluster for both noVNC runs: staging/web-01 in vnc-bench mode (a full changed frame per update request).
"$CARGO_TARGET_DIR/debug/simcluster" serve --with-kubevirt --vms 8 --kubeconfig "$work/kc" >"$work/sim.log" 2>&1 &
sim_pid=$!
until grep -q current-context "$work/kc" 2>/dev/null; do
  kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log"; exit 1; }
  sleep 0.1
done
kubectl --kubeconfig "$work/kc" -n staging annotate vm web-01 simcluster.vmdeck.io/vnc-bench=true >/dev/null
kubectl --kubeconfig "$work/kc" -n staging wait vmi web-01 --for=jsonpath='{.status.phase}'=Running --timeout=60s >/dev/null

echo "== Chromium (dev server): VMs screen, noVNC, paste"
(cd tests/e2e && VMDECK_BENCH_KUBECONFIG="$work/kc" VMDECK_BENCH_VNC_VM=staging/web-01 \
  VMDECK_BENCH_OUT="$work/chromium.jsonl" VMDECK_BENCH_SECONDS="$seconds" \
  npx playwright test --config bench/playwright.bench.config.ts 2>&1 | grep -v 'kube_client::client::builder' | grep -E '^(vms|noVNC|paste|  [0-9]+ (passed|failed))|Error|error' || true)

echo "== WebKitGTK (the app under Xvfb, WebDriver): noVNC, memory"
xvfb-run -a -s "-screen 0 1280x1024x24" dbus-run-session -- \
  python3 tests/webdriver/bench_app.py "$CARGO_TARGET_DIR/debug/vmdeck" "$work/kc" staging/web-01 "$seconds" "$work/app.json"

python3 - "$work/chromium.jsonl" "$work/app.json" <<'PY'
import json, sys
chromium = {}
for line in open(sys.argv[1]):
    f = json.loads(line); chromium[f["key"]] = f["value"]
app = json.load(open(sys.argv[2]))
c = chromium["chromium_fps"]
print(f"noVNC fps ratio, console window (acceleration off) / headless Chromium: {app['webkit_window_fps'] / c:.2f}   [goal: at least 1.0]")
print(f"noVNC fps ratio, main window (default policy) / headless Chromium: {app['webkit_default_fps'] / c:.2f}")
print(f"CPU per frame: console window {app['webkit_window_cpu_ms_per_frame']:.1f} ms, main window {app['webkit_default_cpu_ms_per_frame']:.1f} ms, "
      f"Chromium + dev server {chromium['chromium_cpu_ms_per_frame']:.1f} ms")
PY
