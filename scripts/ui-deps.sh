#!/usr/bin/env bash
# Installs what the desktop app and its UI tests need, only when missing (idempotent):
# Debian packages (checked with dpkg -s) and the node modules of ui/ and tests/e2e/ (when absent or stale).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  # build the Tauri app
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libssl-dev libayatana-appindicator3-dev
  libxdo-dev build-essential pkg-config file
  # tests: virtual display, WebDriver, D-Bus session, browser
  xvfb xauth webkit2gtk-driver dbus dbus-x11 fonts-dejavu-core chromium
)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "ui-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Install ui/node_modules when missing or older than package-lock.json. `npm install` (with the
# committed lock) rather than `npm ci`: the registry reachable here does not serve the optional
# platform packages of other systems, which `npm ci` insists on seeing in the lock.
for dir in ui tests/e2e; do
  stamp="$root/$dir/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$root/$dir/package-lock.json" -nt "$stamp" ]; then
    echo "ui-deps: npm install in $dir/"
    (cd "$root/$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
done
echo "ui-deps: ready"
