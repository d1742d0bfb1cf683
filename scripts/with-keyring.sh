#!/usr/bin/env bash
# Runs CMD... inside a throwaway HOME with a private D-Bus session and an unlocked gnome-keyring,
# so keyring tests talk to a real Secret Service and never touch the user's own keyring.
# Needs: dbus (dbus-run-session), gnome-keyring. Usage: scripts/with-keyring.sh cargo test -p vmdeck-vault
set -euo pipefail
if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "with-keyring: $tool not found; install: apt-get install -y --no-install-recommends dbus dbus-x11 gnome-keyring" >&2
    exit 2
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m700 "$tmp/run"
# Keep cargo/rustup working with the throwaway HOME.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$tmp" XDG_DATA_HOME="$tmp/.local/share" XDG_CONFIG_HOME="$tmp/.config" \
  XDG_CACHE_HOME="$tmp/.cache" XDG_RUNTIME_DIR="$tmp/run"
export VMDECK_KEYRING_WRAPPED=1
exec dbus-run-session -- bash -c '
  # The unlock password must be non-empty; this keyring lives only in the throwaway HOME.
  eval "$(printf %s throwaway-keyring-password | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null
  exec "$@"
' with-keyring "$@"
