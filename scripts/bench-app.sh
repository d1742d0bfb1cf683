#!/usr/bin/env bash
# Start-up benchmark: cold start to interactive (ms) and whole-process-tree PSS (MB) of vmdeck
# beside a hello-world Tauri app generated and built in this run (outside the repo). Prints
# figures and ratios; never fails on them. Usage: scripts/bench-app.sh [--release] [RUNS]
# Env: BENCH_ARGS (vmdeck's arguments, default --session-only; try --demo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/vmdeck/target}"
profile=debug; cargo_profile=()
if [ "${1:-}" = "--release" ]; then profile=release; cargo_profile=(--release); shift; fi
runs=${1:-5}
bench_args=${BENCH_ARGS:---session-only}

if [ -z "${VMDECK_BENCH_INNER:-}" ]; then
  (cd "$root/ui" && npm run --silent build)
  (cd "$root" && cargo build -q "${cargo_profile[@]}" -p vmdeck --features custom-protocol)
  hello=$(mktemp -d /tmp/vmdeck-hello-XXXXXX)
  trap 'rm -rf "$hello"' EXIT
  mkdir -p "$hello/src" "$hello/dist"
  cat > "$hello/Cargo.toml" <<TOML
[package]
name = "hello-tauri"
version = "0.1.0"
edition = "2024"
[workspace]
[dependencies]
tauri = { version = "2", features = ["custom-protocol"] }
[build-dependencies]
tauri-build = "2"
[profile.dev]
debug = "line-tables-only"
[profile.dev.package."*"]
opt-level = 1
[profile.release]
debug = "line-tables-only"
TOML
  cp "$root/Cargo.lock" "$hello/Cargo.lock" # same crate versions as vmdeck: a fair comparison, shared build cache
  echo 'fn main() { tauri_build::build() }' > "$hello/build.rs"
  cat > "$hello/src/main.rs" <<'RS'
#[tauri::command]
fn ready() { println!("hello: interactive"); }
fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
        .expect("hello world runs");
}
RS
  cat > "$hello/dist/index.html" <<'HTML'
<!doctype html><html><head><meta charset="utf-8"><title>Hello</title></head>
<body><h1>Hello, world</h1><script>
addEventListener('DOMContentLoaded', () => requestAnimationFrame(() => window.__TAURI_INTERNALS__.invoke('ready')));
</script></body></html>
HTML
  cat > "$hello/tauri.conf.json" <<JSON
{"productName":"hello","version":"0.1.0","identifier":"io.vmdeck.bench.hello",
 "build":{"frontendDist":"dist"},
 "app":{"windows":[{"label":"main","title":"hello","width":1100,"height":720}],"security":{"csp":null}},
 "bundle":{"icon":["$root/icons/32x32.png","$root/icons/128x128.png","$root/icons/icon.png"]}}
JSON
  mkdir -p "$hello/capabilities"
  echo '{"identifier":"default","windows":["main"],"permissions":["core:default"]}' > "$hello/capabilities/default.json"
  (cd "$hello" && cargo build -q "${cargo_profile[@]}")
  VMDECK_BENCH_INNER=1 VMDECK_BENCH_HELLO="$CARGO_TARGET_DIR/$profile/hello-tauri" \
    VMDECK_BENCH_APP="$CARGO_TARGET_DIR/$profile/vmdeck" \
    xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" ${cargo_profile[@]+"${cargo_profile[@]}"} "$runs"
  exit $?
fi

# --- inside Xvfb + a private D-Bus session ---
tree_pss_kb() { # PSS of a process and all its descendants, in kB
  local pids=($1) queue=($1) total=0 p c
  while [ "${#queue[@]}" -gt 0 ]; do
    p=${queue[0]}; queue=("${queue[@]:1}")
    for c in $(pgrep -P "$p" || true); do pids+=("$c"); queue+=("$c"); done
  done
  for p in "${pids[@]}"; do
    total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

measure() { # measure BINARY ARGS...: prints "start_ms pss_kb"
  local out start now pid pss
  out=$(mktemp)
  start=$(date +%s%N)
  VMDECK_REPORT_READY=1 VMDECK_HOME=$(mktemp -d) "$@" >"$out" 2>/dev/null &
  pid=$!
  until grep -q interactive "$out"; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "bench: $1 exited early" >&2; return 1; fi
    sleep 0.005
  done
  now=$(date +%s%N)
  sleep 3 # let the web process settle before reading memory
  pss=$(tree_pss_kb "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$out"
  echo "$(( (now - start) / 1000000 )) $pss"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A ms kb
for app in hello vmdeck; do
  starts=(); mems=()
  for _ in $(seq "$runs"); do
    if [ "$app" = hello ]; then read -r s m < <(measure "$VMDECK_BENCH_HELLO")
    else read -r s m < <(measure "$VMDECK_BENCH_APP" $bench_args); fi
    starts+=("$s"); mems+=("$m")
  done
  ms[$app]=$(printf '%s\n' "${starts[@]}" | median)
  kb[$app]=$(printf '%s\n' "${mems[@]}" | median)
done
profile_name=$profile
echo "bench ($profile_name build, median of $runs runs, vmdeck args: $bench_args)"
printf '%-12s %10s %10s\n' app "start ms" "PSS MB"
for app in hello vmdeck; do
  printf '%-12s %10s %10s\n' "$app" "${ms[$app]}" "$(awk -v k="${kb[$app]}" 'BEGIN {printf "%.1f", k / 1024}')"
done
awk -v a="${ms[vmdeck]}" -v b="${ms[hello]}" -v c="${kb[vmdeck]}" -v d="${kb[hello]}" \
  'BEGIN {printf "ratio        %10.2f %10.2f   (goal: within 1.30 on both)\n", a / b, c / d}'
