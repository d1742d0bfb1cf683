# Shared by the project's scripts: where builds go, and installing what a fresh Debian/Ubuntu
# machine lacks (only when missing, so reruns cost nothing).

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vmdeck/target}"
export PATH="$HOME/.cargo/bin:$PATH:/usr/lib/google-cloud-sdk/bin"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_updated=0
# ensure_apt PKG... : install the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing ${missing[*]}"
  if [ "$apt_updated" -eq 0 ]; then
    $sudo apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The Rust toolchain comes with the machine (rustup); say so clearly when it does not.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust with rustup (https://rustup.rs) and run this again" >&2
    exit 1
  fi
}

# Build dependencies of the Rust workspace (the keyring crate talks D-Bus).
ensure_build_deps() {
  ensure_apt pkg-config libdbus-1-dev build-essential libxkbcommon-dev xkb-data
}

# What the tests need: a Secret Service to test against, qemu (a real VNC server behind the
# simulated consoles), tinyproxy (a real HTTP CONNECT proxy for the `proxy-url` tests), haproxy
# (the SNI router standing in for the Spectro proxy's frp server), and
# kubectl 1.27-1.33 (machine image).
ensure_test_deps() {
  ensure_apt dbus dbus-x11 gnome-keyring qemu-system-x86 tinyproxy haproxy
  local missing_kubectl=()
  for minor in 27 33; do
    command -v "kubectl.1.$minor" >/dev/null 2>&1 || missing_kubectl+=("kubectl.1.$minor")
  done
  if [ ${#missing_kubectl[@]} -gt 0 ]; then
    echo "missing ${missing_kubectl[*]}: the kubectl acceptance tests need the versioned kubectl binaries of the machine image (google-cloud-cli)" >&2
    exit 1
  fi
}

# ../shared/upstream holds the real upstream manifests the tests read.
ensure_shared() {
  if [ ! -d ../shared/upstream ]; then
    echo "../shared/upstream is missing: clone the project beside its shared/ folder" >&2
    exit 1
  fi
}
